//! The one `Event` enum: everything that happens in a run, as journaled.
//!
//! A journal line is a [`Record`]: an envelope (`seq`, `ts`, `run_id`, `actor`,
//! optional `as`) plus the event as `{"type": ..., "data": ...}`. Status,
//! resume, notifications and the report are all built from these records, so
//! every event carries what a reader needs without the runbook file.
//!
//! Versioning: the journal's first line is a [`Header`] with `format_version`.
//! New event kinds and new optional fields do not bump it; readers keep any
//! kind they do not know as [`Event::Unknown`] so an old binary can still read
//! a newer journal. Renaming or removing a field bumps it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

mod after;
pub mod float_serde;
mod measurement;
mod record;
mod schedule;
mod values;

pub use after::{
    ActionAdded, ActionClosed, HypercareDetached, HypercareEnd, HypercareEnded, HypercareStarted,
    OutcomeMeasured, OutcomeResult,
};
pub use measurement::{Measurement, Sample, Verdict};
pub use record::{FORMAT_VERSION, Header, Record, person};
pub use schedule::{PlannedSource, PlannedStep, SchedulePlanned};
pub use values::{
    AttemptResult, GateResultKind, OrphanAbsence, Phase, PipeHolder, ProcessIdentity, Stream,
};

/// Everything that happens in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Event {
    RunStarted(RunStarted),
    /// A process took over a run with `cutover resume`.
    RunResumed {
        pid: u32,
    },
    /// The journal's last line was torn (crash mid-write) and was cut off.
    JournalRepaired {
        line: usize,
        bytes: u64,
    },
    StepState {
        step: String,
        state: StepState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    AttemptStarted {
        step: String,
        /// 1-based.
        attempt: u32,
        attempts: u32,
        /// What runs, masked: the command line, `METHOD URL`, or the instructions.
        action: String,
    },
    AttemptFinished {
        step: String,
        attempt: u32,
        result: AttemptResult,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        duration_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A command of a step (or of its rollback) started, in its own process
    /// group: enough to find that group again after a crash, and to tell it
    /// apart from an unrelated process that reused the pid.
    ProcessStarted {
        step: String,
        phase: Phase,
        process: ProcessIdentity,
    },
    /// Resume found a command a crashed cutover left running, and stopped it
    /// (`stopped: false`: it survived SIGKILL; nothing was re-run).
    OrphanStopped {
        step: String,
        phase: Phase,
        pgid: i32,
        /// The signal that ended it: `SIGTERM` or `SIGKILL`.
        signal: String,
        stopped: bool,
    },
    /// Resume looked for a command a crashed cutover may have left running
    /// and found nothing of it.
    OrphanAbsent {
        step: String,
        phase: Phase,
        pgid: i32,
        why: OrphanAbsence,
        /// `elsewhere`: the host the command started on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
    },
    /// A command's group ended (or was stopped), but processes outside it
    /// (detached on purpose: `setsid`, `ssh -f`, a daemon) still held its
    /// output pipes: they were read for 500 ms more, then closed, and the
    /// run went on. Those processes were left running.
    OutputAbandoned {
        step: String,
        phase: Phase,
        /// Who held the pipes when cutover stopped reading (from `/proc`);
        /// empty if none could be named (it exited meanwhile, or belongs to
        /// another user).
        holders: Vec<PipeHolder>,
    },
    Output {
        step: String,
        stream: Stream,
        /// `step` or `rollback`.
        phase: Phase,
        line: String,
    },
    GateStarted {
        step: String,
        gate: String,
        when: String,
        source: String,
        query: String,
        condition: String,
        shadow: bool,
    },
    GateMeasurement {
        step: String,
        gate: String,
        measurement: Measurement,
    },
    GateFinished {
        step: String,
        gate: String,
        result: GateResultKind,
        shadow: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A value measured before the first step for `baseline` conditions.
    Baseline {
        /// The trigger id or `step.gate` the baseline is for.
        check: String,
        /// The baseline value (reduced as the condition says); none if it could not be measured.
        #[serde(default, with = "float_serde::option")]
        value: Option<f64>,
        measurement: Measurement,
    },
    TriggerArmed {
        trigger: String,
    },
    TriggerDisarmed {
        trigger: String,
    },
    TriggerMeasurement {
        trigger: String,
        measurement: Measurement,
    },
    TriggerFired {
        trigger: String,
        action: String,
        condition: String,
        #[serde(default, with = "float_serde::option")]
        value: Option<f64>,
        held_ms: u64,
    },
    TriggerSourceError {
        trigger: String,
        detail: String,
    },
    RollbackStarted {
        reason: RollbackReason,
        /// Steps whose rollback will run, in order.
        steps: Vec<String>,
        /// Those of `steps` rolled back although they did not finish
        /// (`rollback_partial`); they come first.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        partial: Vec<String>,
    },
    RollbackStepStarted {
        step: String,
        action: String,
        /// The step started its action but did not finish it (`rollback_partial`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        partial: bool,
    },
    RollbackStepFinished {
        step: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        duration_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    RollbackFinished {
        ok: bool,
        failed: Vec<String>,
    },
    Paused {
        reason: PauseReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        /// What to do next, as commands to copy.
        hint: String,
    },
    /// SIGINT or SIGTERM reached the engine.
    Interrupted {
        signal: String,
    },
    /// An operator's choice: on resume, at an `ask` failure, after Ctrl-C.
    Decision {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        choice: Choice,
        /// Where it was made: `resume`, `on_failure`, `interrupt`, `idempotent`.
        context: String,
        /// What the operator said about it (`cutover resume --reason`;
        /// masked): for `--skip-rollback`, how the step was undone by hand.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    ApprovalRequested {
        step: String,
        min: u32,
        approvers: Vec<String>,
    },
    ApprovalGranted {
        step: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Granted by `--yes` in a non-production env rather than by a person.
        auto: bool,
        /// In a production run: how the person was known (absent outside
        /// production and in older journals).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity: Option<Identity>,
    },
    ApprovalRejected {
        step: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// As on `approval_granted`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity: Option<Identity>,
    },
    /// The go/no-go of a step is decided: written once per go/no-go, under
    /// the append lock, by whoever closed it (in the same write as the vote
    /// that closed it). The step starts only after a `go`.
    ApprovalDecided {
        step: String,
        decision: GoNoGo,
        /// The people whose votes decided: every approver for a go, the one
        /// who rejected for a no-go; empty for a timeout.
        by: Vec<String>,
        /// The `seq` of the vote that closed it; absent when no vote did
        /// (a timeout).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vote_seq: Option<u64>,
        /// Why it closed without a vote: `timeout`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A go/no-go still open `escalate_after` after this process began
    /// waiting: its approvers reminded (this), and `escalate_to` called in
    /// (`approval_escalated`, in the same write). Once per go/no-go.
    ApprovalReminder {
        step: String,
        waited_ms: u64,
        approvers: Vec<String>,
    },
    ApprovalEscalated {
        step: String,
        waited_ms: u64,
        to: Vec<String>,
    },
    /// The driving terminal asks its operator to choose (`context`:
    /// `interrupt`, `on_failure`, `resume`) until a `decision` or the run's end.
    DecisionPending {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        context: String,
        choices: Vec<String>,
    },
    /// No go/no-go within the approval's `timeout`; `on_timeout` is what follows.
    ApprovalTimedOut {
        step: String,
        waited_ms: u64,
        /// `pause` or `abort`.
        on_timeout: String,
    },
    /// A webhook could not be told about an event (after its retries). The
    /// run goes on regardless.
    NotifyFailed {
        /// The `[notify.NAME]` name.
        notify: String,
        /// What it was to be told: `run_started`, `approval_pending`, ...
        about: String,
        attempts: u32,
        /// Why, masked (never the webhook URL).
        detail: String,
    },
    /// A manual step marked done (at the prompt or with `cutover done`).
    ManualDone {
        step: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    Note {
        text: String,
    },
    Milestone {
        name: String,
        /// When it happened, if not when it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<String>,
        /// The step whose completion this is (`milestone = "..."` on a step);
        /// none when a person marked it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
    },
    /// A readiness checklist evaluated before the first step.
    Readiness {
        checklist: String,
        ready: bool,
        overridden: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default)]
        summary: Value,
    },
    RunFinished(RunFinished),
    /// The schedule the run starts with (planned durations and their sources).
    SchedulePlanned(Box<SchedulePlanned>),
    /// The run waits until `at` (RFC 3339) before its first step; `by`:
    /// `--at` or `[schedule] start`.
    RunScheduled {
        at: String,
        by: String,
    },
    /// The scheduled start came after `waited_ms`: the first steps start.
    StartReached {
        waited_ms: u64,
    },
    /// Steps skipped before the start (`run --skip`, `--from STEP`), and why.
    StepsSkipped {
        steps: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        reason: String,
    },
    /// The run started although its window or a freeze refused it
    /// (`--override-window`): why, and what it overrode.
    WindowOverride {
        reason: String,
        refused: Vec<String>,
    },
    /// The projected end first fell past the change window's end.
    OverrunProjected {
        projected_end: String,
        window_end: String,
        over_ms: u64,
    },
    /// After the last step: the watch goes on (`[hypercare]`), then ends.
    HypercareStarted(HypercareStarted),
    HypercareEnded(HypercareEnded),
    HypercareDetached(HypercareDetached),
    /// `cutover verify`: an `[[outcome]]` against its target.
    OutcomeMeasured(Box<OutcomeMeasured>),
    /// `cutover action`: follow-up action items.
    ActionAdded(ActionAdded),
    ActionClosed(ActionClosed),
    /// A kind this binary does not know (written by a newer one).
    #[serde(skip)]
    Unknown {
        kind: String,
        data: Value,
    },
}

impl Event {
    /// `(type, data)` as written on the wire.
    pub fn to_parts(&self) -> (String, Value) {
        if let Event::Unknown { kind, data } = self {
            return (kind.clone(), data.clone());
        }
        match serde_json::to_value(self) {
            Ok(Value::Object(mut map)) => {
                let kind = match map.remove("type") {
                    Some(Value::String(s)) => s,
                    _ => "unknown".into(),
                };
                (kind, map.remove("data").unwrap_or(Value::Null))
            }
            Ok(other) => ("unknown".into(), other),
            Err(e) => ("unserializable".into(), Value::String(e.to_string())),
        }
    }

    pub fn from_parts(kind: String, data: Value) -> Event {
        let mut map = serde_json::Map::new();
        map.insert("type".into(), Value::String(kind.clone()));
        if !data.is_null() {
            map.insert("data".into(), data.clone());
        }
        serde_json::from_value(Value::Object(map)).unwrap_or(Event::Unknown { kind, data })
    }

    /// The wire name of this kind.
    pub fn kind(&self) -> String {
        self.to_parts().0
    }

    /// The step this event is about, if any.
    pub fn step(&self) -> Option<&str> {
        match self {
            Event::StepState { step, .. }
            | Event::AttemptStarted { step, .. }
            | Event::AttemptFinished { step, .. }
            | Event::Output { step, .. }
            | Event::ProcessStarted { step, .. }
            | Event::OrphanStopped { step, .. }
            | Event::OrphanAbsent { step, .. }
            | Event::OutputAbandoned { step, .. }
            | Event::GateStarted { step, .. }
            | Event::GateMeasurement { step, .. }
            | Event::GateFinished { step, .. }
            | Event::RollbackStepStarted { step, .. }
            | Event::RollbackStepFinished { step, .. }
            | Event::ApprovalRequested { step, .. }
            | Event::ApprovalGranted { step, .. }
            | Event::ApprovalRejected { step, .. }
            | Event::ApprovalTimedOut { step, .. }
            | Event::ApprovalDecided { step, .. }
            | Event::ApprovalReminder { step, .. }
            | Event::ApprovalEscalated { step, .. }
            | Event::ManualDone { step, .. } => Some(step),
            Event::Paused { step, .. }
            | Event::Decision { step, .. }
            | Event::DecisionPending { step, .. } => step.as_deref(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStarted {
    pub plan_hash: String,
    pub runbook_name: String,
    pub runbook_path: String,
    pub runbook_sha256: String,
    #[serde(default)]
    pub change: Option<String>,
    #[serde(default)]
    pub env: Option<String>,
    #[serde(default)]
    pub production: bool,
    pub dry_run: bool,
    pub pid: u32,
    /// `--set` overrides as given (masked), so `resume` can rebuild the same plan.
    #[serde(default)]
    pub set: Vec<String>,
    /// The whole resolved plan, masked: reports never need the runbook file.
    pub plan: Value,
    /// A dress rehearsal (`run --rehearsal`): its step durations plan later runs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rehearsal: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFinished {
    pub outcome: Outcome,
    pub exit_code: u8,
    pub dry_run: bool,
    /// Steps that failed but were let through by `on_failure = "continue"`.
    #[serde(default)]
    pub failed_steps: Vec<String>,
    /// Dry run: whether every gate and trigger query worked against the env.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries_ok: Option<bool>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    BeforeGates,
    AwaitingApproval,
    /// A manual step waiting for a person.
    AwaitingOperator,
    Running,
    AfterGates,
    Done,
    Failed,
    /// Skipped by an operator decision.
    Skipped,
    /// Stopped while in flight (rollback, abort).
    Stopped,
    /// Dry run: a step with side effects that was not run.
    WouldRun,
    /// Dry run: a `dry_run = "run"` step that ran.
    RanReadOnly,
    /// Dry run: `dry_run = "simulate"`, pretended success.
    Simulated,
    /// Never journaled: how `status` shows a step a rollback left unrun.
    Cancelled,
}

impl StepState {
    /// The step needs nothing more (for `needs` and for the run's end).
    pub fn is_complete(self) -> bool {
        matches!(
            self,
            StepState::Done
                | StepState::Skipped
                | StepState::WouldRun
                | StepState::RanReadOnly
                | StepState::Simulated
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::BeforeGates => "before-gates",
            StepState::AwaitingApproval => "awaiting approval",
            StepState::AwaitingOperator => "awaiting operator",
            StepState::Running => "running",
            StepState::AfterGates => "after-gates",
            StepState::Done => "done",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
            StepState::Stopped => "stopped",
            StepState::WouldRun => "would run",
            StepState::RanReadOnly => "ran (read-only)",
            StepState::Simulated => "simulated",
            StepState::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum RollbackReason {
    StepFailed { step: String },
    Trigger { trigger: String },
    Operator,
    Rejected { step: String },
}

impl std::fmt::Display for RollbackReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RollbackReason::StepFailed { step } => write!(f, "step `{step}` failed"),
            RollbackReason::Trigger { trigger } => write!(f, "trigger `{trigger}` fired"),
            RollbackReason::Operator => f.write_str("operator chose rollback"),
            RollbackReason::Rejected { step } => write!(f, "approval of `{step}` rejected"),
        }
    }
}

/// What a go/no-go decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoNoGo {
    Go,
    NoGo,
}

impl GoNoGo {
    /// `go` / `no-go`, as operators read it.
    pub fn label(self) -> &'static str {
        match self {
            GoNoGo::Go => "go",
            GoNoGo::NoGo => "no-go",
        }
    }
}

/// How the person behind a vote in a production run is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// The login user of the process that voted.
    Login,
    /// A name given with `--as` / `CUTOVER_ACTOR` (the runbook allows it
    /// with `declared_identities`): declared, not verified.
    Declared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    AwaitingApproval,
    ManualStep,
    StepFailed,
    GateInconclusive,
    Trigger,
    Interrupted,
    /// Resume found a non-idempotent step that was in flight.
    NeedsDecision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Rerun,
    Retry,
    Skip,
    Rollback,
    Abort,
    Continue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    RolledBack,
    RollbackFailed,
    Paused,
    Aborted,
    /// The engine itself failed (journal write error, internal error).
    Failed,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        use crate::exit;
        match self {
            Outcome::Completed => exit::OK,
            Outcome::RolledBack => exit::ROLLED_BACK,
            Outcome::RollbackFailed => exit::ROLLBACK_FAILED,
            Outcome::Paused | Outcome::Aborted => exit::PAUSED,
            Outcome::Failed => exit::INTERNAL,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::RolledBack => "rolled back",
            Outcome::RollbackFailed => "rollback FAILED",
            Outcome::Paused => "paused",
            Outcome::Aborted => "aborted",
            Outcome::Failed => "failed",
        }
    }
}

/// A unit enum value as operators read it: its serde name with spaces
/// (`AwaitingApproval` → `awaiting approval`), never a Rust Debug dump.
pub fn words<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s.replace('_', " "),
        Ok(other) => other.to_string(),
        Err(_) => String::from("?"),
    }
}

#[cfg(test)]
mod tests;
