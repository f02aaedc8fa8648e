//! Checking a raw runbook and building the typed model. Every problem is
//! collected as a diagnostic pointing into the file; nothing stops at the
//! first: `runbook` checks the whole, `steps`, `checks` (gates, triggers)
//! and `sources` their parts, all through the shared `Validator`.

mod after;
mod checks;
mod defaults;
mod runbook;
mod schedule;
mod sources;
mod steps;
mod validator;

use defaults::SOURCE_KINDS;
pub use defaults::{
    DEFAULT_BACKOFF, DEFAULT_ERROR_LIMIT, DEFAULT_GATE_INTERVAL, DEFAULT_GRACE,
    DEFAULT_SOURCE_TIMEOUT, DEFAULT_TRIGGER_INTERVAL,
};
pub(crate) use runbook::declare_dropped;
pub use runbook::validate;
pub(crate) use validator::{Environment, Validator, is_identifier};
