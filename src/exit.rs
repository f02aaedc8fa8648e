//! The exit codes users and CI pipelines script against (DESIGN.md): one
//! table, below every layer, so any of them can name the code it ends with.

// `run` and `resume`; `validate` and `plan` use 0 and 1.
pub const OK: u8 = 0;
pub const INVALID: u8 = 1;
pub const INTERNAL: u8 = 2;
pub const ROLLED_BACK: u8 = 3;
pub const PAUSED: u8 = 4;
pub const ROLLBACK_FAILED: u8 = 5;

/// `cutover check`: the launch is ready.
pub const READY: u8 = 0;
/// `cutover check`: a blocker (or, with `--fail-on-warn`, a warning) fails.
pub const NOT_READY: u8 = 1;
/// `cutover check`: the checklist could not be evaluated.
pub const CHECK_ERROR: u8 = 2;

/// `query` / `gate`: the measurement passed.
pub const PASS: u8 = 0;
/// `query` / `gate`: the measurement failed or errored.
pub const FAIL: u8 = 1;
