//! Child processes. Only this module touches pids and process groups.

mod orphan;
mod unix;

pub(crate) use orphan::{Here, Judgement, groups_alive, judge_now, signal_orphan};
pub(crate) use unix::{CommandOutcome, KillLevel, Piece, run_shell};
