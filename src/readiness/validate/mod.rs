//! Checking a raw checklist and building the typed model. Sources and signal
//! checks go through the runbook's own `Validator`, so a source or a query is
//! judged by the same rules (and the same messages) in both file kinds:
//! `checklist` checks the file as a whole (ids, waivers), `item` each item
//! by its kind.

mod checklist;
mod item;
#[cfg(test)]
mod tests;

pub use checklist::validate;
pub use item::{DEFAULT_ITEM_TIMEOUT, DEFAULT_RUNS_DIR};
