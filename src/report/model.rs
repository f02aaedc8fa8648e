//! The report model: everything the post-launch report shows, as plain
//! data. `builder` fills it from journal records; the renderers read it.
//!
//! No raw output is kept: per step, line counts and the last few lines.
//! Measurements are kept as `(time, value, verdict)` points for the charts.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Serialize;

use super::analysis::Impact;
use super::time::Ts;
use crate::event::Outcome;
pub use crate::journal::{CheckKind, Fired, LAST_LINES, OutputTail, Point, VerdictCounts};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub run_id: String,
    pub journal: String,
    pub runbook: Option<String>,
    pub change: Option<String>,
    pub owner: Option<String>,
    pub env: Option<String>,
    pub production: bool,
    pub dry_run: bool,
    pub plan_hash: Option<String>,
    /// Who started the run (`user@host`, with `(as NAME)`).
    pub started_by: Option<String>,
    /// Who resumed it, in order.
    pub resumed_by: Vec<String>,
    pub started: Option<Ts>,
    /// When it finished; for a run in progress, the last event.
    pub ended: Option<Ts>,
    pub duration_ms: Option<u64>,
    pub outcome: Option<Outcome>,
    pub outcome_label: String,
    pub message: Option<String>,
    /// No `run_finished` after the last start or resume.
    pub in_progress: bool,
    /// 1-based line of a torn last line.
    pub truncated_at: Option<usize>,
    /// Lines that did not parse (`line N: error`), skipped.
    pub bad_lines: Vec<String>,
    /// Event kinds this binary does not know, with their counts (ignored).
    pub unknown_kinds: BTreeMap<String, u64>,
    pub events: u64,
    pub output_lines: u64,
    pub measurements: u64,
    pub steps: IndexMap<String, StepReport>,
    pub checks: IndexMap<String, CheckReport>,
    pub milestones: Vec<Milestone>,
    pub timeline: Vec<TimelineEntry>,
    pub approvals: Vec<ApprovalEntry>,
    pub deviations: Vec<Deviation>,
    pub notes: Vec<NoteEntry>,
    pub readiness: Vec<ReadinessEntry>,
    pub rollback: Option<RollbackReport>,
    pub critical_path: CriticalPathReport,
    pub impact: Impact,
    /// The run against its schedule (absent for a run without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<super::schedule::ScheduleReport>,
    /// `--compare OTHER_RUN`: this run against the other (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<super::compare::Comparison>,
    /// `--tz`: the zone of the headline's human times (JSON stays UTC).
    #[serde(skip)]
    pub tz: Option<crate::schedule::Zone>,
    /// A rehearsal, not a real change (`RunState::is_rehearsal`).
    pub rehearsal: bool,
    /// After the last step (`[hypercare]`).
    pub hypercare: Option<super::after::HypercareReport>,
    /// `[[outcome]]`s against their targets (`cutover verify`).
    pub outcomes: Vec<super::after::OutcomeRow>,
    /// `cutover action`.
    pub action_items: Vec<super::after::ActionRow>,
    /// What the run's deviations suggest following up (`adopted_by`: the
    /// action item that took it on).
    pub suggested_follow_ups: Vec<crate::describe::Suggestion>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StepReport {
    pub id: String,
    /// Who owns the step (`owner` in the runbook): a person or `team:NAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `run`, `http` or `manual`.
    pub kind: String,
    pub needs: Vec<String>,
    pub planned_timeout_ms: Option<u64>,
    pub planned_retries: u32,
    pub has_rollback: bool,
    pub approval_required: bool,
    /// The last state journaled (`pending` if never started).
    pub state: String,
    /// When it started running (first attempt; a manual step: awaiting its
    /// operator). A step that never ran: its first state after any approval wait.
    pub started: Option<Ts>,
    pub ended: Option<Ts>,
    /// Execution time: `started` to `ended` less `paused_ms` (not the approval wait).
    pub duration_ms: Option<u64>,
    /// Time between `started` and `ended` when no cutover process ran (paused, then resumed).
    pub paused_ms: u64,
    /// From `awaiting approval` to the approval decision; `None` if it never waited.
    pub waited_for_approval_ms: Option<u64>,
    pub attempts: Vec<AttemptReport>,
    pub output: OutputTail,
    pub rollback: Option<RollbackStepReport>,
    pub on_critical_path: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttemptReport {
    pub attempt: u32,
    pub started: Ts,
    pub result: Option<String>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<u64>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RollbackStepReport {
    pub action: String,
    /// The step started its action but did not finish it (`rollback_partial`).
    pub partial: bool,
    pub started: Ts,
    pub ended: Option<Ts>,
    pub ok: Option<bool>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<u64>,
    pub detail: Option<String>,
    pub output: OutputTail,
    /// How many times its rollback action ran (`cutover resume --rollback`
    /// runs a failed one again); 0 if it was skipped before it ran. The
    /// fields above are about the last of them.
    pub attempts: u32,
    /// Every attempt before the last, oldest first: each failed (only a
    /// failed rollback is run again).
    pub failed_attempts: Vec<RollbackAttemptReport>,
    /// Who skipped it with `cutover resume --skip-rollback` (it was undone by
    /// hand); `None` if it was not skipped.
    pub skipped_by: Option<String>,
    /// When it was skipped.
    pub skipped_at: Option<Ts>,
    /// What the operator said they did (`--reason`); in JSON only when given
    /// (without it: "undone by hand").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
}

/// A rollback attempt that was followed by another one.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackAttemptReport {
    /// 1-based.
    pub attempt: u32,
    pub started: Ts,
    pub ended: Option<Ts>,
    pub ok: Option<bool>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<u64>,
    pub detail: Option<String>,
}

/// A gate or trigger with every measured value against its target.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// `step.gate` or the trigger id.
    pub key: String,
    pub kind: CheckKind,
    pub step: Option<String>,
    /// `before` / `after` for gates.
    pub when: Option<String>,
    pub source: String,
    pub query: String,
    /// `pass_if` for a gate, `fire_if` for a trigger.
    pub condition: String,
    pub shadow: bool,
    pub action: Option<String>,
    pub baseline: Option<f64>,
    /// `pass` / `fail` / `inconclusive` / `error` for gates.
    pub result: Option<String>,
    pub detail: Option<String>,
    pub started: Option<Ts>,
    pub finished: Option<Ts>,
    /// Raw verdicts of the check's condition. For a trigger that is `fire_if`:
    /// `pass` means the fire condition held, a breach; `trigger_counts` says so.
    pub counts: VerdictCounts,
    /// Triggers only: the measurements as breaches and not.
    pub trigger_counts: Option<TriggerCounts>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub last: Option<f64>,
    /// First measurement that breached the target (a gate failing, a trigger's condition holding).
    pub first_breach: Option<Ts>,
    pub first_breach_value: Option<f64>,
    pub fired: Option<Fired>,
    pub source_errors: u64,
    /// Every measurement, in journal order (numbers only; charts downsample).
    #[serde(skip)]
    pub points: Vec<Point>,
}

/// A trigger's measurements: `breach` (its `fire_if` held), `ok` (it did not),
/// `inconclusive`, `error`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TriggerCounts {
    pub breach: u64,
    pub ok: u64,
    pub inconclusive: u64,
    pub error: u64,
}

/// A trigger's verdicts as breaches and not: its `fire_if` holding is a breach.
pub fn trigger_counts(c: VerdictCounts) -> TriggerCounts {
    TriggerCounts {
        breach: c.pass,
        ok: c.fail,
        inconclusive: c.inconclusive,
        error: c.error,
    }
}

impl CheckReport {
    /// The measurement counts in words for people: a gate's pass / fail, a
    /// trigger's breach / ok.
    pub fn counts_text(&self) -> String {
        let c = self.counts;
        match self.kind {
            CheckKind::Gate => format!(
                "{} pass, {} fail, {} inconclusive, {} error",
                c.pass, c.fail, c.inconclusive, c.error
            ),
            CheckKind::Trigger => {
                let t = trigger_counts(c);
                format!(
                    "{} breach, {} ok, {} inconclusive, {} error",
                    t.breach, t.ok, t.inconclusive, t.error
                )
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Milestone {
    pub name: String,
    pub at: Ts,
    /// `mark` (recorded by a person) or `derived` (from the run's events).
    pub origin: String,
    pub who: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub seq: u64,
    pub at: Ts,
    pub who: String,
    pub kind: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApprovalEntry {
    pub at: Ts,
    pub who: String,
    pub step: Option<String>,
    /// `requested`, `approved`, `rejected`, `decision: <choice>`, `manual step done`.
    pub decision: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Deviation {
    pub at: Ts,
    pub who: String,
    /// `retry`, `skipped`, `failed`, `stopped`, `waiver`, `readiness-override`,
    /// `resume-decision`, `ctrl-c`, `ctrl-c-decision`, `failure-decision`,
    /// `failed-continued`, `paused`, `resumed`, `gate-failed`, `trigger-fired`, `rollback`.
    pub kind: String,
    pub step: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoteEntry {
    pub at: Ts,
    pub who: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReadinessEntry {
    pub at: Ts,
    pub checklist: String,
    pub ready: bool,
    pub overridden: bool,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    pub started: Ts,
    pub reason: String,
    /// Steps whose rollback was planned, in order.
    pub steps: Vec<String>,
    /// Those of `steps` rolled back although they did not finish
    /// (`rollback_partial`); they come first.
    pub partial: Vec<String>,
    pub finished: Option<Ts>,
    pub ok: Option<bool>,
    pub failed: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CriticalPathReport {
    pub steps: Vec<String>,
    pub duration_ms: u64,
    /// Share of the run's duration, 0..=1.
    pub share: Option<f64>,
}
