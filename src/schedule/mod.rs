//! The schedule's arithmetic, pure and unit-tested: times and zones as
//! people write them (`time`, `tz`), projecting steps on the time axis
//! (`project`: a plan's offsets, a run's projected end), the change window
//! and freeze periods (`window`), skipping steps before the start (`skip`),
//! and the median of rehearsals (`stats`). A leaf: the runbook, the
//! journal's fold, the engine and the views all use it, and the words are
//! `describe`'s.

pub mod project;
pub mod skip;
pub mod stats;
pub mod time;
pub mod tz;
pub mod window;

pub use project::{Known, Node, Projection, Slot, project};
pub use stats::median;
pub use time::{AtError, TimeError, format_at, format_utc, parse_clock, parse_rfc3339, start_at};
pub use tz::{Zone, ZoneError};
pub use window::{Period, Refusal, check};
