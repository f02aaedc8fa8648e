//! The engine: executes a plan as a DAG of steps with gates, approvals,
//! triggers and reverse rollback, journaling every event before acting.
//!
//! `execute` is the entry (options, the edges it talks to); `scheduler`
//! owns the run (its loop, messages) with its state in owned `parts`;
//! `lifecycle` is a step's life, `finish` how a run ends; `core` holds the
//! pure scheduling rules; `effects`, `rollback`, `resume` (with `orphans`),
//! `prompt`, `pause`, `gonogo` and `watch` (triggers, baselines) extend the
//! scheduler; `resume_rules` and `approval` are the pure rules `cutover
//! resume` and `cutover approve` share with it; `step` runs one step's
//! action and gates as tasks; `process` is the only place touching pids;
//! `interrupt` turns OS signals into messages; `operator` is the seam to the
//! person at the terminal, `probe` the seam to signals.

pub mod approval;
mod channels;
mod core;
mod effects;
mod execute;
mod finish;
mod gonogo;
mod hypercare;
mod interrupt;
mod lifecycle;
mod notify;
mod operator;
mod orphans;
mod parts;
mod pause;
mod probe;
mod process;
mod prompt;
mod resume;
pub mod resume_rules;
mod rollback;
mod scheduler;
mod sink;
mod step;
#[cfg(test)]
mod tests;
mod timing;
mod waits;
mod watch;

pub use execute::{Edges, Ended, EngineError, Options, ResumeInput, Start, execute};
pub use operator::{Absent, Answers, Operator, Prompt};
pub use probe::{BoxFut, GateOutcome, NoSignals, Signals, SourceSignals, TriggerUpdate};
pub use resume_rules::{ResumeError, ResumeOptions};
pub use sink::EventSink;
pub use timing::{Scheduling, Skips};
