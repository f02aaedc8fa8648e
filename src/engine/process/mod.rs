//! Child processes. Only this module touches pids and process groups.

mod orphan;
mod unix;

pub(crate) use orphan::{OrphanFate, stop_orphan};
pub(crate) use unix::{CommandOutcome, KillLevel, Piece, run_shell};
