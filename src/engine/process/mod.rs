//! Child processes. Only `unix.rs` touches pids and process groups.

mod unix;

pub(crate) use unix::{CommandOutcome, KillLevel, Piece, run_shell};
