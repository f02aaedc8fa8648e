//! `RunState`: the one fold of a run's journal. Every view reads it, never
//! the journal on its own: `resume` and the engine (what is done, in flight,
//! decided), `status`, `runs`, the report, readiness's dry-run check, and
//! the checks of `approve` / `done` / `note`.
//!
//! [`RunState::apply`] takes one record at a time (pure, unit-tested record
//! by record); the tolerant reader feeds output lines and measurements
//! through [`RunState::apply_output`] and [`RunState::apply_measurement`]
//! without building whole records. The fold keeps facts, typed; turning
//! them into words is `describe`'s job.
//!
//! One file per area: `step` (a step's record), `steps` (its events),
//! `approvals`, `checks` (gates and triggers), `rollback`, `run` (the run's
//! start, end, pauses, notes, milestones, readiness, deviations).

mod after;
mod approvals;
mod checks;
mod rollback;
mod run;
mod schedule;
mod step;
mod steps;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

pub use after::{
    ActionClose, ActionEntry, AfterLaunch, Detached, Due, HypercareEndEntry, HypercareRecord,
    OutcomeEntry, due_by,
};
pub use checks::{CheckKind, CheckRecord, Fired, GateRound, Point, TriggerHealth, VerdictCounts};
pub use rollback::{RollbackProgress, RollbackRun, RollbackRunAttempt, RollbackRunState};
pub use run::{
    Deciding, DeviationEntry, DeviationText, MilestoneEntry, MilestoneOrigin, NoteEntry,
    ReadinessEntry,
};
pub use schedule::{
    Eta, OverrideEntry, OverrunEntry, ScheduleState, Scheduled, SkipEntry, StepEta,
};
pub use step::{
    AttemptEntry, Decided, LAST_LINES, OutputTail, SkippedRollback, StepRecord, StepTiming, Vote,
};

use super::snapshot::PlanSnapshot;
use super::time::Ts;
use super::who::Who;
use crate::event::Verdict;
use crate::event::{
    Event, Outcome, PauseReason, Phase, ProcessIdentity, Record, RunFinished, RunStarted, Stream,
};

/// A journal time as written (for display) and parsed (for arithmetic).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamped {
    pub raw: String,
    pub ts: Ts,
}

/// One significant record (everything but output lines, measurements and
/// process ids), in journal order: the timeline the views describe.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub seq: u64,
    pub at: Ts,
    pub who: Who,
    pub event: Event,
    /// A `run_finished` that a resume followed: the run stopped there, it
    /// did not end.
    pub resumed_after: bool,
    /// For a `rollback_step_started`: which time the step's rollback
    /// started (1 the first time; `resume --rollback` runs it again).
    pub nth: u32,
}

/// How many records of each sort the journal held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub events: u64,
    pub output_lines: u64,
    pub measurements: u64,
    /// Event kinds this binary does not know, with their counts.
    pub unknown_kinds: BTreeMap<String, u64>,
}

/// A command that started and was not journaled as finished: after a crash
/// it may still be running.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenProcess {
    pub step: String,
    pub phase: Phase,
    pub process: ProcessIdentity,
}

/// A point on a run's timeline (`RunState::timeline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The step's action started (`running`).
    Started,
    /// The step became done.
    Done,
}

/// The `context` of a `decision` about a step's rollback (`--skip-rollback`,
/// `--rollback` retrying a failed one).
pub const ROLLBACK_CONTEXT: &str = "rollback";

/// What a skipped rollback (`cutover resume --skip-rollback`) says when the
/// operator gave no `--reason`.
pub const SKIPPED_WHY: &str = "undone by hand";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunState {
    pub run_id: String,
    /// The first `run_started`, as journaled but for its `plan`, which is
    /// kept typed in `plan` only.
    pub started: Option<RunStarted>,
    /// Its plan, typed.
    pub plan: PlanSnapshot,
    /// When and by whom the run started (the first `run_started`).
    pub started_at: Option<Stamped>,
    pub started_by: Option<Who>,
    /// The first record's time (the last one's: [`RunState::last_at`]).
    pub first_at: Option<Stamped>,
    /// The last record's time as written; parsed only when asked for (most
    /// records are output lines).
    last_raw: String,
    /// The last time parsed: a record whose time does not parse gets it.
    last_ts: Option<Ts>,
    /// `last_raw` is the record `last_ts` was parsed from.
    last_parsed: bool,
    /// Who resumed it, in order.
    pub resumed_by: Vec<Who>,
    /// The last `run_finished`, unless a resume came after it.
    pub finished: Option<RunFinished>,
    /// The last `run_finished` ever journaled, and when (a resumed run's
    /// last stop included).
    pub last_finished: Option<RunFinished>,
    pub finished_at: Option<Stamped>,
    pub paused: Option<PauseReason>,
    /// A Ctrl-C the driver has not acted on yet (no `decision` about it, no
    /// end, no resume): its steps drain, then its operator decides.
    pub interrupted: Option<Stamped>,
    /// A question open at the driving terminal (`decision_pending`).
    pub deciding: Option<Deciding>,
    /// The last pause's instructions (cleared by a resume).
    pub pause_hint: Option<String>,
    /// Steps: the plan's first, in runbook order, then any other the journal names.
    pub steps: IndexMap<String, StepRecord>,
    /// Gates (`step.gate`) and triggers: the plan's first, then as seen.
    pub checks: IndexMap<String, CheckRecord>,
    /// The checks in the order they were first measured or armed.
    pub checks_seen: Vec<String>,
    /// Each step's last action start and last completion on one timeline,
    /// oldest first. Rollback undoes in reverse.
    pub timeline: Vec<(String, Change)>,
    pub rollback: Option<RollbackProgress>,
    pub notes: Vec<NoteEntry>,
    pub milestones: Vec<MilestoneEntry>,
    pub readiness: Vec<ReadinessEntry>,
    pub deviations: Vec<DeviationEntry>,
    /// The planned schedule, a start waited for, skips, overrides.
    pub schedule: ScheduleState,
    /// Hypercare, outcomes measured, action items.
    pub after: AfterLaunch,
    pub history: Vec<Entry>,
    pub counts: Counts,
    pub last_seq: u64,
    /// `seq` values that did not follow their predecessor (should be empty).
    pub seq_gaps: Vec<(u64, u64)>,
    /// The people who drove the run (started or resumed it), for `no_self_approval`.
    pub operators: Vec<String>,
    /// Baseline values by check (`trigger` or `step.gate`).
    pub baselines: BTreeMap<String, f64>,
    /// Gates, triggers and baselines whose query errored at least once.
    pub query_errors: BTreeSet<String>,
    /// Commands started and not known to be over, in start order.
    pub open_processes: Vec<OpenProcess>,
    /// Intervals when no cutover process drove the run: from its last
    /// event before a `run_resumed` to it.
    pub down: Vec<(Ts, Ts)>,
    /// The last event a driving process wrote (not a note, vote, mark or
    /// `done` from another terminal): where a pause began.
    last_engine: Option<Ts>,
    first_step_seen: bool,
    go_decision_seen: bool,
    /// Scratch space for a gate's `step.gate` key, so a measurement of a
    /// known gate allocates nothing.
    key_buf: String,
}

impl RunState {
    pub fn replay<'a>(records: impl IntoIterator<Item = &'a Record>) -> RunState {
        let mut state = RunState::default();
        for r in records {
            state.apply(r);
        }
        state
    }

    /// Fold one record.
    pub fn apply(&mut self, r: &Record) {
        match &r.event {
            // Nearly all of a long journal: counted and kept without parsing
            // their record's time, like the reader's fast path.
            Event::Output {
                step,
                stream,
                phase,
                line,
            } => {
                self.stamp_quick(r.seq, &r.ts, &r.run_id);
                self.output(step, *stream, *phase, line);
            }
            Event::GateMeasurement {
                step,
                gate,
                measurement: m,
            } => {
                self.stamp_quick(r.seq, &r.ts, &r.run_id);
                self.measurement(
                    &checks::Measured::Gate { step, gate },
                    &m.at,
                    m.value,
                    m.verdict,
                    m.baseline,
                    m.condition.as_deref(),
                    m.detail.as_deref(),
                );
            }
            Event::TriggerMeasurement {
                trigger,
                measurement: m,
            } => {
                self.stamp_quick(r.seq, &r.ts, &r.run_id);
                self.measurement(
                    &checks::Measured::Trigger { trigger },
                    &m.at,
                    m.value,
                    m.verdict,
                    m.baseline,
                    m.condition.as_deref(),
                    m.detail.as_deref(),
                );
            }
            _ => {
                let at = self.stamp(r);
                match &r.event {
                    Event::Unknown { kind, .. } => {
                        *self.counts.unknown_kinds.entry(kind.clone()).or_default() += 1;
                    }
                    Event::ProcessStarted { .. } => self.apply_step_event(r, at),
                    _ => self.significant(r, at),
                }
            }
        }
    }

    /// A line of output, from the reader's fast path (no whole record built).
    #[expect(clippy::too_many_arguments, reason = "the fields of one output record")]
    pub fn apply_output(
        &mut self,
        seq: u64,
        ts: &str,
        run_id: &str,
        step: &str,
        stream: Stream,
        phase: Phase,
        line: &str,
    ) {
        self.stamp_quick(seq, ts, run_id);
        self.output(step, stream, phase, line);
    }

    /// A measurement of a gate (`step` and `gate`) or trigger, from the
    /// reader's fast path.
    pub fn apply_measurement(&mut self, seq: u64, ts: &str, run_id: &str, m: &LiteMeasurement<'_>) {
        self.stamp_quick(seq, ts, run_id);
        let measured = match (m.step, m.gate, m.trigger) {
            (Some(step), Some(gate), _) => checks::Measured::Gate { step, gate },
            (_, _, Some(trigger)) => checks::Measured::Trigger { trigger },
            _ => return,
        };
        self.measurement(
            &measured,
            m.at,
            m.value,
            m.verdict,
            m.baseline,
            m.condition,
            m.detail,
        );
    }

    fn significant(&mut self, r: &Record, at: Ts) {
        let event = match &r.event {
            // The timeline needs the run's start, not its whole plan again.
            Event::RunStarted(s) => Event::RunStarted(RunStarted {
                plan: serde_json::Value::Null,
                ..s.clone()
            }),
            other => other.clone(),
        };
        self.history.push(Entry {
            seq: r.seq,
            at,
            who: Who::of(r),
            event,
            resumed_after: false,
            nth: 0,
        });
        match &r.event {
            Event::StepState { .. }
            | Event::AttemptStarted { .. }
            | Event::AttemptFinished { .. }
            | Event::OrphanStopped { .. }
            | Event::OrphanAbsent { .. }
            | Event::OutputAbandoned { .. }
            | Event::ManualDone { .. }
            | Event::Decision { .. } => self.apply_step_event(r, at),
            Event::ApprovalRequested { .. }
            | Event::ApprovalGranted { .. }
            | Event::ApprovalRejected { .. }
            | Event::ApprovalDecided { .. }
            | Event::ApprovalEscalated { .. }
            | Event::ApprovalTimedOut { .. } => self.apply_approval(r, at),
            Event::GateStarted { .. }
            | Event::GateFinished { .. }
            | Event::Baseline { .. }
            | Event::TriggerArmed { .. }
            | Event::TriggerDisarmed { .. }
            | Event::TriggerFired { .. }
            | Event::TriggerSourceError { .. } => self.apply_check(r, at),
            Event::RollbackStarted { .. }
            | Event::RollbackStepStarted { .. }
            | Event::RollbackStepFinished { .. }
            | Event::RollbackFinished { .. } => self.apply_rollback(r, at),
            Event::SchedulePlanned(_)
            | Event::RunScheduled { .. }
            | Event::StartReached { .. }
            | Event::StepsSkipped { .. }
            | Event::WindowOverride { .. }
            | Event::OverrunProjected { .. } => self.apply_schedule(r, at),
            Event::HypercareStarted(_)
            | Event::HypercareEnded(_)
            | Event::HypercareDetached(_)
            | Event::OutcomeMeasured(_)
            | Event::ActionAdded(_)
            | Event::ActionClosed(_) => self.apply_after(r, at),
            _ => self.apply_run(r, at),
        }
    }

    /// Sequence, run id and times of every record; which process wrote it.
    fn stamp(&mut self, r: &Record) -> Ts {
        let by_engine = !matches!(
            r.event,
            Event::Note { .. }
                | Event::Milestone { .. }
                | Event::ApprovalGranted { .. }
                | Event::ApprovalRejected { .. }
                // Written with the vote that closed it, often by `cutover approve`.
                | Event::ApprovalDecided { .. }
                | Event::ManualDone { .. }
                | Event::JournalRepaired { .. }
                // `cutover verify`, `cutover action`, `resume --end-hypercare`.
                | Event::OutcomeMeasured(_)
                | Event::ActionAdded(_)
                | Event::ActionClosed(_)
                | Event::HypercareEnded(crate::event::HypercareEnded {
                    reason: crate::event::HypercareEnd::EndedEarly,
                    ..
                })
        );
        let engine_before = self.last_engine;
        let at = self.stamp_raw(r.seq, &r.ts, &r.run_id, by_engine);
        if let Event::RunResumed { pid } = r.event
            && !self.is_hypercare_takeover(pid)
            && let Some(from) = engine_before.filter(|t| *t <= at)
        {
            // No cutover process ran from its last event until this resume.
            self.down.push((from, at));
        }
        at
    }

    fn stamp_raw(&mut self, seq: u64, ts: &str, run_id: &str, by_engine: bool) -> Ts {
        self.count(seq, ts, run_id);
        let at = Ts::parse(ts).or(self.last_ts).unwrap_or_default();
        self.last_ts = Some(at);
        self.last_parsed = true;
        if self.first_at.is_none() {
            self.first_at = Some(Stamped {
                raw: ts.to_string(),
                ts: at,
            });
        }
        if by_engine {
            self.last_engine = Some(at);
        }
        at
    }

    /// An output line or a measurement: counted, its time kept as written.
    fn stamp_quick(&mut self, seq: u64, ts: &str, run_id: &str) {
        self.count(seq, ts, run_id);
        self.last_parsed = false;
        if self.first_at.is_none() {
            self.first_at = Some(Stamped {
                raw: ts.to_string(),
                ts: Ts::parse(ts).unwrap_or_default(),
            });
        }
    }

    fn count(&mut self, seq: u64, ts: &str, run_id: &str) {
        self.counts.events += 1;
        if self.last_seq != 0 && seq != self.last_seq + 1 {
            self.seq_gaps.push((self.last_seq, seq));
        }
        self.last_seq = seq;
        if self.run_id.is_empty() {
            self.run_id = run_id.to_string();
        }
        self.last_raw.clear();
        self.last_raw.push_str(ts);
    }

    /// The last record's time (the first one's is `first_at`).
    pub fn last_at(&self) -> Option<Stamped> {
        if self.last_seq == 0 && self.last_raw.is_empty() {
            return None;
        }
        let ts = if self.last_parsed {
            self.last_ts
        } else {
            Ts::parse(&self.last_raw).or(self.last_ts)
        };
        Some(Stamped {
            raw: self.last_raw.clone(),
            ts: ts.unwrap_or_default(),
        })
    }

    pub fn step(&mut self, id: &str) -> &mut StepRecord {
        // Looked up first: an output line names a known step, and a new key
        // costs an allocation.
        match self.steps.get_index_of(id) {
            Some(i) => &mut self.steps[i],
            None => self.steps.entry(id.to_string()).or_default(),
        }
    }

    /// The record with `seq` among the significant ones.
    pub fn entry(&self, seq: u64) -> Option<&Entry> {
        self.history
            .binary_search_by_key(&seq, |e| e.seq)
            .ok()
            .map(|i| &self.history[i])
    }

    /// The outcome of the last `run_finished`, unless something happened after it
    /// (a resume in progress).
    pub fn outcome(&self) -> Option<Outcome> {
        self.finished.as_ref().map(|f| f.outcome)
    }

    /// No `run_finished` after the last start or resume.
    pub fn in_progress(&self) -> bool {
        self.finished.is_none()
    }

    /// The step's action finished OK in some attempt since it was last
    /// rolled back, but the step is not complete: its after-gates failed,
    /// were stopped, or had not run at a crash, or a later attempt (a
    /// rerun) failed. Its change is live.
    pub fn action_finished(&self, id: &str) -> bool {
        self.steps
            .get(id)
            .is_some_and(|r| r.action_started && r.action_succeeded_once && !r.state.is_complete())
    }

    fn add_operator(&mut self, who: &Who) {
        let person = who.person();
        if !self.operators.contains(&person) {
            self.operators.push(person);
        }
    }

    fn mark(&mut self, step: &str, change: Change) {
        self.timeline.retain(|(s, c)| !(s == step && *c == change));
        self.timeline.push((step.to_string(), change));
    }

    fn close_process(&mut self, step: &str, phase: Phase) {
        self.open_processes
            .retain(|p| !(p.step == step && p.phase == phase));
    }

    fn output(&mut self, step: &str, stream: Stream, phase: Phase, line: &str) {
        self.counts.output_lines += 1;
        let rec = self.step(step);
        let tail = match (phase, &mut rec.rollback_run) {
            (Phase::Rollback, Some(rb)) => &mut rb.output,
            _ => &mut rec.output,
        };
        tail.push(stream, line.to_string());
    }

    fn deviate(&mut self, seq: u64, at: Ts, who: &Who, kind: &str, step: Option<&str>) {
        self.deviate_with(seq, at, who, kind, step, DeviationText::Record);
    }

    fn deviate_with(
        &mut self,
        seq: u64,
        at: Ts,
        who: &Who,
        kind: &str,
        step: Option<&str>,
        text: DeviationText,
    ) {
        self.deviations.push(DeviationEntry {
            seq,
            at,
            who: who.clone(),
            kind: kind.to_string(),
            step: step.map(str::to_string),
            text,
        });
    }
}

/// A measurement as the reader's fast path borrows it from the line.
#[derive(Debug, Clone, Copy)]
pub struct LiteMeasurement<'a> {
    pub step: Option<&'a str>,
    pub gate: Option<&'a str>,
    pub trigger: Option<&'a str>,
    pub at: &'a str,
    pub value: Option<f64>,
    pub baseline: Option<f64>,
    pub verdict: Verdict,
    pub condition: Option<&'a str>,
    pub detail: Option<&'a str>,
}
