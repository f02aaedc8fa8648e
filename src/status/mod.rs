//! The war-room view of a run, rebuilt from its journal only: steps with
//! state and duration, gates with their latest value against the target,
//! triggers and their health, approvals with who voted, notes, milestones.
//! `cutover status` renders it as text or JSON; `cutover runs` uses its summary.

mod after;
mod build;
mod fit;
mod panel;
#[cfg(test)]
mod panel_tests;
mod render;
mod schedule;
#[cfg(test)]
mod tests;
mod view;
mod waiting;

pub use after::{HypercareView, OutcomeView};
pub use panel::{PanelLine, panel};
pub use schedule::{EtaView, OverrideView, ScheduleView, SkippedView, StepEtaView};
pub use view::{
    ApprovalView, DecidedView, GateView, MilestoneView, NoteView, RollbackState,
    STATUS_FORMAT_VERSION, StatusView, StepRollbackView, StepView, TriggerHealth, TriggerView,
    Vote, WaitView,
};
