//! The engine: executes a plan as a DAG of steps with gates, approvals,
//! triggers and reverse rollback, journaling every event before acting.
//!
//! `scheduler` owns the run (its loop, a step's life, failures); `core`
//! holds the pure scheduling rules; `effects`, `rollback`, `resume`, `prompt`
//! and `watch` (triggers, baselines) extend the scheduler; `step` runs one
//! step's action and gates as tasks; `process` is the only place touching pids;
//! `interrupt` turns OS signals into messages; `probe` is the seam to signals.

pub mod approval;
mod core;
mod effects;
mod gonogo;
mod interrupt;
mod notify;
mod pause;
mod probe;
mod process;
mod prompt;
mod resume;
mod rollback;
mod scheduler;
mod sink;
mod step;
#[cfg(test)]
mod tests;
mod watch;

pub use probe::{BoxFut, GateOutcome, NoSignals, Signals, SourceSignals, TriggerUpdate};
pub(crate) use rollback::rollback_failed_words;
pub use scheduler::{EngineError, Options, ResumeInput, Start, execute};
pub use sink::EventSink;
