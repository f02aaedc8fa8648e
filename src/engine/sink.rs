//! Where the engine sends what the operator should see: the interface only.
//! The terminal views (`ui`) implement it, so the engine never depends on
//! how its records are shown.

use crate::event::Record;
use crate::journal::{Eta, RunState, Ts};

/// Receives every journaled record (after it is durable) and operator notices.
pub trait EventSink: Send {
    /// The run as its journal had it when this process took it over (a
    /// resume); every record after comes through `record`.
    fn begin(&mut self, _state: &RunState) {}
    fn record(&mut self, record: &Record);
    /// A message for the operator that is not an event (hints, prompts).
    fn notice(&mut self, text: &str);
    fn finish(&mut self) {}
    /// The run waits for its scheduled start at `at`, `left_ms` from now
    /// (called about every second while it waits).
    fn waiting(&mut self, _at: Ts, _left_ms: u64) {}
    /// Where the run stands against its schedule (about every second
    /// while steps run, when it has a plan or a window).
    fn schedule(&mut self, _eta: &Eta) {}
}
