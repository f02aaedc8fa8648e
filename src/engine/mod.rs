//! The engine: executes a plan as a DAG of steps with gates, approvals,
//! triggers and reverse rollback, journaling every event before acting.
//!
//! `scheduler` owns the run; `core` holds its pure rules; `step` runs one
//! step's action and gates; `process` is the only place touching pids;
//! `interrupt` turns OS signals into messages; `probe` is the seam to signals.

mod core;
mod interrupt;
mod probe;
mod process;
mod scheduler;
mod step;
#[cfg(test)]
mod tests;

pub use probe::{BoxFut, GateOutcome, NoSignals, Signals, SourceSignals, TriggerUpdate};
pub use scheduler::{EngineError, Options, ResumeInput, Start, execute};
