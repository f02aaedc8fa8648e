//! One step's record in the fold: its state and times, attempts, go/no-go,
//! manual completion, output, and its rollback.

use std::collections::VecDeque;

use serde::Serialize;

use super::Stamped;
use super::rollback::RollbackRun;
use crate::event::{AttemptResult, Choice, GoNoGo, Identity, StepState, Stream};
use crate::journal::time::Ts;
use crate::journal::who::Who;

/// Output lines kept per step and phase (the rest are only counted).
pub const LAST_LINES: usize = 5;

#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub state: StepState,
    /// The detail of the last state journaled.
    pub detail: Option<String>,
    /// When it first left `pending` (its first state after it, skipped included).
    pub first_state_at: Option<Stamped>,
    /// When it last ended (done, failed, skipped, stopped, a dry-run state);
    /// `None` while it goes on again.
    pub ended_at: Option<Stamped>,
    /// What its execution time and approval wait are computed from.
    pub timing: StepTiming,
    /// Attempts started (across processes).
    pub attempts: u32,
    /// Every attempt, in order.
    pub attempt_log: Vec<AttemptEntry>,
    /// An attempt started and never finished: the process died with it running.
    pub attempt_open: bool,
    /// The last finished attempt succeeded (its command must not run again).
    pub last_attempt_ok: bool,
    /// Some attempt's action succeeded since the step was last rolled back:
    /// its change may be live even if a later attempt failed.
    pub action_succeeded_once: bool,
    pub approval_requested: bool,
    /// Approvals the go/no-go needs (`approval_requested`'s `min`; 0 before
    /// it is requested).
    pub approval_needed: u32,
    /// Who may vote, as the request named them.
    pub approvers: Vec<String>,
    /// Approvals in the current go/no-go.
    pub approvals: u32,
    /// The people who approved in the current go/no-go, in order.
    pub approved_by: Vec<String>,
    /// Someone rejected the current go/no-go.
    pub rejected: bool,
    /// The votes of the current go/no-go, in journal order.
    pub votes: Vec<Vote>,
    /// How the current go/no-go was decided (`approval_decided`); `None`
    /// while it is open, and in journals older than the record (see
    /// [`StepRecord::decided_by_votes`]).
    pub decided: Option<Decided>,
    /// The approval's `timeout` ran out (`approval_timed_out`).
    pub approval_timed_out: bool,
    /// The current go/no-go was escalated (`approval_escalated`): when, to whom.
    pub escalated: Option<(Ts, Vec<String>)>,
    pub manual_done: bool,
    pub manual_note: Option<String>,
    /// When the step was marked done (the `manual_done` record's time).
    pub manual_done_at: Option<String>,
    /// Who marked it done: its `milestone` is theirs.
    pub manual_done_by: Option<Who>,
    pub rolled_back: bool,
    /// Who skipped its rollback (`--skip-rollback`: the operator said it is
    /// not to run): the name given (`--as`), else the actor.
    pub rollback_skipped_by: Option<String>,
    /// What they said they did (`cutover resume --reason`), if anything.
    pub rollback_skip_reason: Option<String>,
    /// Its rollback as it ran (or was skipped).
    pub rollback_run: Option<RollbackRun>,
    /// The step's action (command, request) started at some point in this
    /// run: a step stopped in its before-gates or approval never touched
    /// anything. For `rollback_partial`.
    pub action_started: bool,
    /// The last operator decision about this step not yet acted on.
    pub decision: Option<Choice>,
    /// Output counted, the last lines kept.
    pub output: OutputTail,
    /// The `seq` of each `output_abandoned` about it.
    pub warnings: Vec<u64>,
}

impl Default for StepRecord {
    fn default() -> Self {
        StepRecord {
            state: StepState::Pending,
            detail: None,
            first_state_at: None,
            ended_at: None,
            timing: StepTiming::default(),
            attempts: 0,
            attempt_log: Vec::new(),
            attempt_open: false,
            last_attempt_ok: false,
            action_succeeded_once: false,
            approval_requested: false,
            approval_needed: 0,
            approvers: Vec::new(),
            approvals: 0,
            approved_by: Vec::new(),
            rejected: false,
            votes: Vec::new(),
            decided: None,
            approval_timed_out: false,
            escalated: None,
            manual_done: false,
            manual_note: None,
            manual_done_at: None,
            manual_done_by: None,
            rolled_back: false,
            rollback_skipped_by: None,
            rollback_skip_reason: None,
            rollback_run: None,
            action_started: false,
            decision: None,
            output: OutputTail::default(),
            warnings: Vec::new(),
        }
    }
}

/// One attempt of a step's action.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptEntry {
    /// 1-based.
    pub attempt: u32,
    pub started: Ts,
    pub result: Option<AttemptResult>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<u64>,
    pub detail: Option<String>,
}

/// What a step's execution time and approval wait are computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepTiming {
    /// First `running` (or `awaiting operator` for a manual step).
    pub exec_start: Option<Ts>,
    /// First state other than `pending`, `skipped` or `awaiting approval`
    /// (for a step that never ran: before-gates that failed, a dry run).
    pub first_active: Option<Ts>,
    /// Open approval wait: since when, and the last vote or timeout in it.
    pub awaiting_since: Option<Ts>,
    pub decided_at: Option<Ts>,
    /// Closed approval waits, added up.
    pub waited_ms: u64,
    /// It waited for approval at some point.
    pub waited: bool,
}

impl StepTiming {
    pub(super) fn close_wait(&mut self, at: Ts) {
        if let Some(since) = self.awaiting_since.take() {
            let until = self.decided_at.take().unwrap_or(at).max(since);
            self.waited_ms += until.since(since);
        }
    }

    /// The approval wait in total, an open one counted until `end`.
    pub fn waited_until(&self, end: Option<Ts>) -> Option<u64> {
        if !self.waited {
            return None;
        }
        let open = match (self.awaiting_since, end) {
            (Some(since), Some(end)) => self.decided_at.unwrap_or(end).max(since).since(since),
            _ => 0,
        };
        Some(self.waited_ms + open)
    }

    /// When it started for the report: its execution, else its first activity.
    pub fn started(&self) -> Option<Ts> {
        self.exec_start.or(self.first_active)
    }
}

/// Output counted, the last lines kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutputTail {
    pub stdout_lines: u64,
    pub stderr_lines: u64,
    pub last_lines: VecDeque<String>,
}

impl OutputTail {
    pub(crate) fn push(&mut self, stream: Stream, line: String) {
        match stream {
            Stream::Stdout => self.stdout_lines += 1,
            Stream::Stderr => self.stderr_lines += 1,
        }
        if self.last_lines.len() == LAST_LINES {
            self.last_lines.pop_front();
        }
        self.last_lines.push_back(line);
    }
}

/// One vote of a go/no-go, as journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    pub person: String,
    pub seq: u64,
    pub approve: bool,
    /// `--yes` stood in for the approval.
    pub auto: bool,
    /// Who cast it and when, as written.
    pub who: Who,
    pub at: String,
    pub reason: Option<String>,
    /// In a production run: `login` or `declared`.
    pub identity: Option<Identity>,
}

impl Vote {
    /// Who voted, as people read it (see [`Who::label`]).
    pub fn voter(&self) -> String {
        self.who.label()
    }
}

/// A go/no-go's `approval_decided` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub decision: GoNoGo,
    /// The `seq` of the `approval_decided` record.
    pub seq: u64,
    pub by: Vec<String>,
    /// The vote that closed it; `None` for a timeout.
    pub vote_seq: Option<u64>,
    /// Why it closed without a vote (`timeout`).
    pub reason: Option<String>,
}

/// A rollback the operator skipped (`cutover resume --skip-rollback`): it
/// was undone by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRollback {
    pub step: String,
    /// The `--as` name, else the actor.
    pub by: String,
    /// What they did (`--reason`), if they said.
    pub reason: Option<String>,
}

impl StepRecord {
    /// What the journaled votes of the current go/no-go decide, whether or
    /// not an `approval_decided` says so (journals written before the
    /// record, or a vote whose decision was torn off by a crash): the first
    /// rejection is a no-go; `needed` approvals (or one by `--yes`) are a
    /// go. `(decision, by, seq of the closing vote)`.
    pub fn decided_by_votes(&self, needed: u32) -> Option<(GoNoGo, Vec<String>, u64)> {
        let mut approvers = Vec::new();
        for v in &self.votes {
            if !v.approve {
                return Some((GoNoGo::NoGo, vec![v.person.clone()], v.seq));
            }
            approvers.push(v.person.clone());
            if v.auto || approvers.len() >= needed.max(1) as usize {
                return Some((GoNoGo::Go, approvers, v.seq));
            }
        }
        None
    }

    /// The go/no-go's decision: the journaled one, else what the votes
    /// decide (older journals), with the `seq` to name.
    pub fn go_no_go(&self, needed: u32) -> Option<(GoNoGo, u64)> {
        match &self.decided {
            Some(d) => Some((d.decision, d.seq)),
            None => self
                .decided_by_votes(needed)
                .map(|(decision, _, seq)| (decision, seq)),
        }
    }

    /// A rerun of a step whose go/no-go was a no-go ends that go/no-go:
    /// the step asks again when it gets to its approval.
    pub(super) fn reopen_go_no_go(&mut self) {
        self.approval_requested = false;
        self.approvals = 0;
        self.approved_by.clear();
        self.rejected = false;
        self.votes.clear();
        self.decided = None;
        self.escalated = None;
    }

    /// The operator said its rollback is not to run (`--skip-rollback`).
    pub fn rollback_skipped(&self) -> bool {
        self.rollback_skipped_by.is_some()
    }

    /// Still waiting for votes: asked, not decided.
    pub fn awaiting_votes(&self) -> bool {
        self.state == StepState::AwaitingApproval
            && self.go_no_go(self.approval_needed.max(1)).is_none()
    }
}
