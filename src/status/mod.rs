//! The war-room view of a run, rebuilt from its journal only: steps with
//! state and duration, gates with their latest value against the target,
//! triggers and their health, approvals with who voted, notes, milestones.
//! `cutover status` renders it as text or JSON; `cutover runs` uses its summary.

mod after;
mod build;
mod render;
#[cfg(test)]
mod tests;
mod view;

pub use after::{HypercareView, OutcomeView};
pub use view::{
    ApprovalView, DecidedView, GateView, MilestoneView, NoteView, RollbackState, StatusView,
    StepRollbackView, StepView, TriggerHealth, TriggerView, Vote,
};
