//! What a runbook gets for a field it leaves out, and the source kinds it may name.

use std::time::Duration;

pub const DEFAULT_GATE_INTERVAL: Duration = Duration::from_secs(10);
pub const DEFAULT_TRIGGER_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_SOURCE_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);
pub const DEFAULT_ERROR_LIMIT: u32 = 3;

pub(super) const SOURCE_KINDS: &[&str] = &["prometheus", "datadog", "http", "command"];
