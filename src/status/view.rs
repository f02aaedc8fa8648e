//! What the war-room view holds: the run's headline facts and a row per
//! step, gate, trigger, go/no-go, note and milestone (`cutover status
//! --format json` prints these), and what they say about the run.

use std::fmt::Write as _;

use serde::Serialize;

use crate::event::{GateResultKind, GoNoGo, Identity, Outcome, StepState, Verdict};
use crate::journal::SKIPPED_WHY;
pub use crate::journal::{RollbackRunState as RollbackState, TriggerHealth};

/// Version of `status --format json`'s shape (docs/war-room.md); bumped only
/// when a field is renamed or removed.
pub const STATUS_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    /// [`STATUS_FORMAT_VERSION`].
    pub format_version: u32,
    pub run_id: String,
    pub runbook: Option<String>,
    pub env: Option<String>,
    pub dry_run: bool,
    pub started_at: Option<String>,
    pub started_by: Option<String>,
    /// `running`, `stopped` (no end journaled and no process drives it), or
    /// how the run ended (`completed`, `paused`, ...).
    pub state: String,
    /// Whether a process holds the run's driving lock; `None` when not probed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driven: Option<bool>,
    pub outcome: Option<Outcome>,
    pub message: Option<String>,
    /// From `run_started` to the last `run_finished`; for a run still going,
    /// to now (or its last record). For a paused run: until it paused.
    pub duration_ms: Option<u64>,
    /// A paused run: how long since it paused (only when built with `now`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_for_ms: Option<u64>,
    pub last_seq: u64,
    pub updated_at: Option<String>,
    pub steps: Vec<StepView>,
    pub gates: Vec<GateView>,
    pub triggers: Vec<TriggerView>,
    pub approvals: Vec<ApprovalView>,
    pub notes: Vec<NoteView>,
    pub milestones: Vec<MilestoneView>,
    /// The last pause's instructions, while paused.
    pub paused_hint: Option<String>,
    /// What the run waits for, each with the commands that give it (only
    /// when built for the room: `status`; empty when it waits for nothing).
    pub waiting_for: Vec<WaitView>,
    /// The run against its schedule (a start waited for, the ETA, the
    /// window, skips); absent for a run without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<super::ScheduleView>,
    /// After the last step: the watch that goes on (`[hypercare]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hypercare: Option<super::after::HypercareView>,
    /// `[[outcome]]`s: pending with their due times, or their verdicts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<super::after::OutcomeView>,
}

/// One thing a run waits for: a go/no-go, a manual step, the operator's
/// choice at the driving terminal, a resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitView {
    /// `approval`, `manual`, `decision`, `drain` (running steps finishing
    /// after a Ctrl-C), `resume`, `rollback` (a failed one to finish).
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// What it is, as the room reads it.
    pub text: String,
    /// The commands that give it, to copy (none for a choice at the
    /// driving terminal).
    pub commands: Vec<String>,
    /// Since when (RFC 3339), where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

impl StatusView {
    /// The run ended (for `--follow`): a `run_finished` not followed by a resume.
    pub fn ended(&self) -> bool {
        self.outcome.is_some()
    }

    /// Record whether a process drives the run (holds its lock). A run with
    /// no end journaled and no driver crashed or was killed: `stopped`.
    /// `run_ref` names the run in the printed `cutover resume` command.
    pub fn set_driven(&mut self, driven: bool, run_ref: &str) {
        self.driven = Some(driven);
        if !driven && !self.ended() {
            self.state = "stopped".into();
            self.message = Some(format!(
                "no process drives it; continue with `cutover resume {run_ref}`"
            ));
        }
    }

    /// No end journaled and no process drives it (crashed or killed).
    pub fn stopped(&self) -> bool {
        !self.ended() && self.driven == Some(false)
    }

    /// Ended for good: completed or rolled back. Every other end (paused,
    /// aborted, a failed rollback) waits for someone to resume it.
    pub fn finished_for_good(&self) -> bool {
        matches!(self.outcome, Some(Outcome::Completed | Outcome::RolledBack))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub id: String,
    /// Its `owner` (`alice`, `team:dba`), if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// As the journal says, but `done` as soon as `cutover done` marked a
    /// manual step done, and `cancelled` for a step a rollback left unrun.
    pub state: StepState,
    pub detail: Option<String>,
    pub attempts: u32,
    pub started_at: Option<String>,
    /// Until it ended, or until the last record for a step still going.
    pub duration_ms: Option<u64>,
    /// How long it is planned to take (absent without a plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_ms: Option<u64>,
    /// Its rollback, once started; `None` if it was not rolled back.
    pub rollback: Option<StepRollbackView>,
    /// What an operator should know about it (`output_abandoned`: a
    /// detached process held its output). In JSON only when there are some.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A step's rollback as far as the journal goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRollbackView {
    pub state: RollbackState,
    /// Rolled back although the step did not finish (`rollback_partial`).
    pub partial: bool,
    /// How many times its rollback action started (`cutover resume
    /// --rollback` runs a failed one again); 0 if skipped before it ran.
    /// In JSON only when not 1.
    #[serde(skip_serializing_if = "is_one")]
    pub attempts: u32,
    /// `skipped`: who skipped it (`cutover resume --skip-rollback`), the
    /// `--as` name if one was given. In JSON only when skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_by: Option<String>,
    /// `skipped`: what the operator said they did (`--reason`). In JSON
    /// only when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_one(n: &u32) -> bool {
    *n == 1
}

impl StepRollbackView {
    /// `rolled back`, `rolling back`, `rollback FAILED`, `rollback skipped
    /// (by NAME: REASON)` (REASON: `--reason`, else "undone by hand"), with `(partial)` and the attempt if
    /// it ran more than once.
    pub fn label(&self) -> String {
        let mut out = match self.state {
            RollbackState::RollingBack => "rolling back".to_string(),
            RollbackState::RolledBack => "rolled back".to_string(),
            RollbackState::Failed => "rollback FAILED".to_string(),
            RollbackState::Skipped => format!(
                "rollback skipped (by {}: {})",
                self.skipped_by.as_deref().unwrap_or("the operator"),
                self.skip_reason.as_deref().unwrap_or(SKIPPED_WHY)
            ),
        };
        if self.partial {
            out.push_str(" (partial)");
        }
        if self.attempts > 1 {
            let _ = write!(out, " (attempt {})", self.attempts);
        }
        out
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GateView {
    pub step: String,
    pub gate: String,
    pub condition: String,
    pub shadow: bool,
    pub measurements: u32,
    pub latest_value: Option<f64>,
    pub latest_verdict: Option<Verdict>,
    pub result: Option<GateResultKind>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TriggerView {
    pub id: String,
    pub armed: bool,
    pub fired: bool,
    pub condition: Option<String>,
    pub latest_value: Option<f64>,
    /// What the latest measurement says about the system. A trigger's
    /// measurement "passes" when its `fire_if` holds, which is bad news, so
    /// it is shown as `breaching`, never as pass/fail. `None`: not measured yet.
    pub health: Option<TriggerHealth>,
    /// Source errors since the last good measurement.
    pub errors: u32,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApprovalView {
    pub step: String,
    pub needed: u32,
    pub approvers: Vec<String>,
    pub votes: Vec<Vote>,
    /// Still waiting for votes.
    pub pending: bool,
    pub timed_out: bool,
    /// The go/no-go's `approval_decided`; absent while it is open (and in
    /// journals older than that record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided: Option<DecidedView>,
}

/// How a go/no-go was decided.
#[derive(Debug, Clone, Serialize)]
pub struct DecidedView {
    pub decision: GoNoGo,
    /// The `approval_decided` record's seq.
    pub seq: u64,
    pub by: Vec<String>,
    /// Why no vote closed it (`timeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Vote {
    /// Who voted (`ops@jump (as alice)`; `, declared` when a production
    /// run took the name as declared).
    pub who: String,
    pub at: String,
    pub approve: bool,
    pub reason: Option<String>,
    /// In a production run: `login` or `declared` (not verified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoteView {
    pub at: String,
    pub who: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MilestoneView {
    pub name: String,
    pub at: String,
    pub who: String,
}
