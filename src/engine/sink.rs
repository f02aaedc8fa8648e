//! Where the engine sends what the operator should see: the interface only.
//! The terminal views (`ui`) implement it, so the engine never depends on
//! how its records are shown.

use crate::event::Record;

/// Receives every journaled record (after it is durable) and operator notices.
pub trait EventSink: Send {
    fn record(&mut self, record: &Record);
    /// A message for the operator that is not an event (hints, prompts).
    fn notice(&mut self, text: &str);
    fn finish(&mut self) {}
}
