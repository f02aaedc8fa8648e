//! Folding journal records into a [`Report`] by plain synchronous code
//! (`Builder::push`), so it can be unit-tested without files. The reader
//! hands output lines and measurements over through `output` and
//! `measurement`, which keep counts and points only.

mod events;

pub(crate) use events::SKIPPED_WHY;

use std::collections::HashMap;

use serde_json::Value;

use super::analysis;
use super::model::{
    ApprovalEntry, CheckKind, CheckReport, CriticalPathReport, Deviation, Milestone, Point, Report,
    StepReport, TimelineEntry,
};
use super::time::Ts;
use crate::event::Verdict;
use crate::event::{Event, Outcome, Phase, RunStarted, StepState, Stream};

/// Folds records into a [`Report`].
#[derive(Debug, Default)]
pub struct Builder {
    report: Report,
    last_ts: Option<Ts>,
    /// The time of the last event a running cutover process wrote (not a
    /// note, mark, approval, manual step done or journal repair, which other
    /// commands write while the run is paused): where a pause began.
    last_engine_ts: Option<Ts>,
    first_step_seen: bool,
    go_decision_seen: bool,
    /// Per step with an approval: what its go/no-go needs and has so far.
    gonogo: HashMap<String, GoNoGo>,
    /// Intervals when no cutover process ran: from the run's last event
    /// before a `run_resumed` to it.
    down: Vec<(Ts, Ts)>,
    /// Per step, what its execution time and approval wait are computed from.
    timing: HashMap<String, StepTiming>,
    /// Who marked each manual step done: its `milestone` is theirs, not the
    /// resume's that journaled it.
    manual_done_by: HashMap<String, String>,
}

/// A step's go/no-go as the journal tells it: the decision is made by the
/// vote that reaches `min`, and never if the step was rejected first.
#[derive(Debug, Default)]
struct GoNoGo {
    /// From `approval_requested` (else the plan's `approval.min`); at least 1.
    min: u32,
    granted: u32,
    rejected: bool,
    decided: bool,
}

impl GoNoGo {
    /// Count one vote; whether it is the one that decides "go".
    fn vote(&mut self, granted: bool, auto: bool) -> bool {
        if self.rejected || self.decided {
            return false;
        }
        if !granted {
            self.rejected = true;
            return false;
        }
        self.granted += 1;
        // `--yes` outside production grants the whole approval at once.
        if auto || self.granted >= self.min.max(1) {
            self.decided = true;
        }
        self.decided
    }
}

/// What a step's times are computed from at the end.
#[derive(Debug, Default)]
struct StepTiming {
    /// First `running` (or `awaiting operator` for a manual step).
    exec_start: Option<Ts>,
    /// First state other than `pending`, `skipped` or `awaiting approval`
    /// (for a step that never ran: before-gates that failed, a dry run).
    first_active: Option<Ts>,
    /// Open approval wait: since when, and the last decision in it.
    awaiting_since: Option<Ts>,
    decided_at: Option<Ts>,
    waited_ms: u64,
    waited: bool,
}

impl StepTiming {
    fn close_wait(&mut self, at: Ts) {
        if let Some(since) = self.awaiting_since.take() {
            let until = self.decided_at.take().unwrap_or(at).max(since);
            self.waited_ms += until.since(since);
        }
    }
}

/// How much of `[from, to]` the intervals cover (they do not overlap each other).
fn overlap(intervals: &[(Ts, Ts)], from: Ts, to: Ts) -> u64 {
    intervals
        .iter()
        .map(|&(a, b)| {
            let (a, b) = (a.max(from), b.min(to));
            if b > a { b.since(a) } else { 0 }
        })
        .sum()
}

impl Builder {
    pub fn new(journal: &str, run_id: &str) -> Self {
        let mut b = Builder::default();
        b.report.journal = journal.to_string();
        b.report.run_id = run_id.to_string();
        // Until a `run_finished` says otherwise (a journal cut short before
        // `run_started` has not finished either).
        b.report.in_progress = true;
        b
    }

    fn stamp(&mut self, ts: &str) -> Ts {
        let t = Ts::parse(ts).or(self.last_ts).unwrap_or_default();
        self.last_ts = Some(t);
        t
    }

    /// A line of command output: counted, the last few kept.
    pub fn output(&mut self, step: &str, stream: Stream, phase: Phase, line: &str) {
        self.report.events += 1;
        self.report.output_lines += 1;
        let s = self.step_mut(step);
        let tail = match phase {
            Phase::Step => &mut s.output,
            Phase::Rollback => match &mut s.rollback {
                Some(r) => &mut r.output,
                None => &mut s.output,
            },
        };
        tail.push(stream, line.to_string());
    }

    /// A gate or trigger measurement (`step` is `None` for a trigger).
    pub fn measurement(
        &mut self,
        check: MeasuredCheck<'_>,
        at: &str,
        value: Option<f64>,
        verdict: Verdict,
        baseline: Option<f64>,
    ) {
        self.report.events += 1;
        self.report.measurements += 1;
        let ms = Ts::parse(at).map_or(0, |t| t.ms);
        let key = check.key();
        let c = self.check_mut(&key, check);
        if baseline.is_some() {
            c.baseline = baseline;
        }
        let p = Point { ms, value, verdict };
        match verdict {
            Verdict::Pass => c.counts.pass += 1,
            Verdict::Fail => c.counts.fail += 1,
            Verdict::Inconclusive => c.counts.inconclusive += 1,
            Verdict::Error => c.counts.error += 1,
        }
        if let Some(v) = value.filter(|v| v.is_finite()) {
            c.min = Some(c.min.map_or(v, |m| m.min(v)));
            c.max = Some(c.max.map_or(v, |m| m.max(v)));
            c.last = Some(v);
        }
        if p.breach(c.kind) && c.first_breach.is_none() {
            c.first_breach = Some(Ts { ms });
            c.first_breach_value = value;
        }
        c.points.push(p);
    }

    /// A record that is neither output nor a measurement (those have fast paths).
    pub fn push(&mut self, seq: u64, ts: &str, who: &str, event: Event) {
        self.report.events += 1;
        let at = self.stamp(ts);
        let by_engine = !matches!(
            event,
            Event::Note { .. }
                | Event::Milestone { .. }
                | Event::ApprovalGranted { .. }
                | Event::ApprovalRejected { .. }
                // Written with the vote that closed it, often by `cutover approve`.
                | Event::ApprovalDecided { .. }
                | Event::ManualDone { .. }
                | Event::JournalRepaired { .. }
        );
        if by_engine && let Event::RunResumed { .. } = event {
            // No cutover process ran from its last event until this resume.
            if let Some(from) = self.last_engine_ts.filter(|t| *t <= at) {
                self.down.push((from, at));
            }
        }
        if by_engine {
            self.last_engine_ts = Some(at);
        }
        match event {
            Event::Output {
                step,
                stream,
                phase,
                line,
            } => {
                self.report.events -= 1;
                self.output(&step, stream, phase, &line);
            }
            Event::GateMeasurement {
                step,
                gate,
                measurement: m,
            } => {
                self.report.events -= 1;
                self.measurement(
                    MeasuredCheck::Gate {
                        step: &step,
                        gate: &gate,
                    },
                    &m.at,
                    m.value,
                    m.verdict,
                    m.baseline,
                );
            }
            Event::TriggerMeasurement {
                trigger,
                measurement: m,
            } => {
                self.report.events -= 1;
                self.measurement(
                    MeasuredCheck::Trigger { trigger: &trigger },
                    &m.at,
                    m.value,
                    m.verdict,
                    m.baseline,
                );
            }
            Event::Unknown { kind, .. } => {
                *self.report.unknown_kinds.entry(kind).or_default() += 1;
            }
            other => self.significant(seq, at, who, other),
        }
    }

    fn line(&mut self, seq: u64, at: Ts, who: &str, kind: &str, text: String) {
        self.report.timeline.push(TimelineEntry {
            seq,
            at,
            who: who.to_string(),
            kind: kind.to_string(),
            text,
        });
    }

    fn milestone(&mut self, name: &str, at: Ts, origin: &str, who: Option<&str>) {
        self.report.milestones.push(Milestone {
            name: name.to_string(),
            at,
            origin: origin.to_string(),
            who: who.map(str::to_string),
        });
    }

    fn deviation(&mut self, at: Ts, who: &str, kind: &str, step: Option<&str>, text: String) {
        self.report.deviations.push(Deviation {
            at,
            who: who.to_string(),
            kind: kind.to_string(),
            step: step.map(str::to_string),
            text,
        });
    }

    fn approval(
        &mut self,
        at: Ts,
        who: &str,
        step: Option<&str>,
        decision: &str,
        reason: Option<String>,
    ) {
        self.report.approvals.push(ApprovalEntry {
            at,
            who: who.to_string(),
            step: step.map(str::to_string),
            decision: decision.to_string(),
            reason,
        });
    }

    fn step_state(
        &mut self,
        seq: u64,
        at: Ts,
        who: &str,
        step: &str,
        state: StepState,
        detail: Option<String>,
    ) {
        let starts = !matches!(state, StepState::Pending | StepState::Skipped);
        let t = self.timing.entry(step.to_string()).or_default();
        if state == StepState::AwaitingApproval {
            t.awaiting_since.get_or_insert(at);
            t.waited = true;
        } else {
            t.close_wait(at);
            if starts {
                t.first_active.get_or_insert(at);
            }
        }
        if matches!(state, StepState::Running | StepState::AwaitingOperator) {
            t.exec_start.get_or_insert(at);
        }
        let s = self.step_mut(step);
        s.state = state.label().to_string();
        let ends = matches!(
            state,
            StepState::Done
                | StepState::Failed
                | StepState::Skipped
                | StepState::Stopped
                | StepState::WouldRun
                | StepState::RanReadOnly
                | StepState::Simulated
        );
        if ends {
            s.ended = Some(at);
        } else if starts {
            // Retried or resumed: the step is running again.
            s.ended = None;
        }
        if starts && !self.first_step_seen {
            self.first_step_seen = true;
            self.milestone("first-step", at, "derived", Some(who));
        }
        if state == StepState::Pending {
            return;
        }
        let text = format!(
            "step `{step}` {}{}",
            state.label(),
            detail.map(|d| format!(": {d}")).unwrap_or_default()
        );
        if matches!(
            state,
            StepState::Skipped | StepState::Stopped | StepState::Failed
        ) {
            self.deviation(at, who, state.label(), Some(step), text.clone());
        }
        self.line(seq, at, who, "step_state", text);
    }

    /// An approval decision for `step`: its wait for approval ends here (the
    /// last decision before it moves on counts, for `min` > 1).
    fn approval_decided(&mut self, step: &str, at: Ts) {
        if let Some(t) = self.timing.get_mut(step)
            && t.awaiting_since.is_some()
        {
            t.decided_at = Some(at);
        }
    }

    fn step_mut(&mut self, id: &str) -> &mut StepReport {
        if !self.report.steps.contains_key(id) {
            self.report.steps.insert(
                id.to_string(),
                StepReport {
                    id: id.to_string(),
                    kind: "run".into(),
                    state: "pending".into(),
                    ..StepReport::default()
                },
            );
        }
        self.report.steps.get_mut(id).expect("inserted just above")
    }

    fn check_mut(&mut self, key: &str, check: MeasuredCheck<'_>) -> &mut CheckReport {
        if !self.report.checks.contains_key(key) {
            let (kind, step) = match check {
                MeasuredCheck::Gate { step, .. } => (CheckKind::Gate, Some(step.to_string())),
                MeasuredCheck::Trigger { .. } => (CheckKind::Trigger, None),
            };
            self.report
                .checks
                .insert(key.to_string(), CheckReport::new(key, kind, step));
        }
        self.report
            .checks
            .get_mut(key)
            .expect("inserted just above")
    }

    /// Steps, gates and triggers as planned, so the report lists them even if they never ran.
    fn apply_plan(&mut self, started: &RunStarted) {
        let r = &mut self.report;
        r.runbook = Some(started.runbook_name.clone());
        r.change.clone_from(&started.change);
        r.env.clone_from(&started.env);
        r.production = started.production;
        r.dry_run = started.dry_run;
        r.plan_hash = Some(started.plan_hash.clone());
        let book = started.plan.get("runbook");
        r.owner = book
            .and_then(|b| b.get("owner"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let steps = book
            .and_then(|b| b.get("steps"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for step in steps {
            let Some(id) = step.get("id").and_then(Value::as_str) else {
                continue;
            };
            let s = self.step_mut(id);
            s.kind = step
                .pointer("/action/kind")
                .and_then(Value::as_str)
                .unwrap_or("run")
                .to_string();
            s.needs = step
                .get("needs")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            s.planned_timeout_ms = step
                .get("timeout")
                .and_then(Value::as_str)
                .and_then(|t| humantime::parse_duration(t).ok())
                .map(|d| d.as_millis() as u64);
            s.planned_retries = step
                .pointer("/retries/attempts")
                .and_then(Value::as_u64)
                .unwrap_or(0) as u32;
            s.has_rollback = step.get("rollback").is_some_and(|r| !r.is_null());
            s.approval_required = step.get("approval").is_some_and(|a| !a.is_null());
            if let Some(min) = step.pointer("/approval/min").and_then(Value::as_u64) {
                self.gonogo.entry(id.to_string()).or_default().min =
                    u32::try_from(min).unwrap_or(u32::MAX);
            }
            for gate in step
                .get("gates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(gid) = gate.get("id").and_then(Value::as_str) else {
                    continue;
                };
                let key = format!("{id}.{gid}");
                let c = self.check_mut(
                    &key,
                    MeasuredCheck::Gate {
                        step: id,
                        gate: gid,
                    },
                );
                fill_check(c, gate);
                c.when = gate.get("when").and_then(Value::as_str).map(str::to_string);
                c.shadow = gate.get("shadow").and_then(Value::as_bool).unwrap_or(false);
            }
        }
        let triggers = book
            .and_then(|b| b.get("triggers"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for t in triggers {
            let Some(id) = t.get("id").and_then(Value::as_str) else {
                continue;
            };
            let c = self.check_mut(id, MeasuredCheck::Trigger { trigger: id });
            fill_check(c, t);
            c.action = t.get("action").and_then(Value::as_str).map(str::to_string);
        }
    }

    /// The report, with what can only be computed at the end.
    pub fn finish(mut self, truncated_at: Option<usize>, bad_lines: Vec<String>) -> Report {
        let r = &mut self.report;
        r.truncated_at = truncated_at;
        r.bad_lines = bad_lines;
        if r.ended.is_none() || r.in_progress {
            r.ended = self.last_ts;
        }
        r.duration_ms = match (r.started, r.ended) {
            (Some(s), Some(e)) => Some(e.since(s)),
            _ => None,
        };
        r.outcome_label = if r.in_progress {
            "in progress".into()
        } else {
            r.outcome.map_or("unknown", Outcome::label).to_string()
        };
        let end = r.ended;
        for s in r.steps.values_mut() {
            let Some(t) = self.timing.get_mut(&s.id) else {
                continue;
            };
            // Timed from its execution, not from its wait for approval.
            s.started = t.exec_start.or(t.first_active);
            if let Some(e) = end {
                t.close_wait(e);
            }
            s.waited_for_approval_ms = t.waited.then_some(t.waited_ms);
            // A step still going at the end of an unfinished journal runs until its last event.
            let until = s.ended.or(if r.in_progress { end } else { None });
            if let (Some(a), Some(b)) = (s.started, until) {
                let paused = overlap(&self.down, a, b);
                s.paused_ms = paused;
                s.duration_ms = Some(b.since(a).saturating_sub(paused));
            }
        }
        for c in r.checks.values_mut() {
            if c.kind == CheckKind::Trigger {
                c.trigger_counts = Some(c.counts.as_trigger());
            }
        }
        let dag: Vec<analysis::DagStep> = r
            .steps
            .values()
            .map(|s| analysis::DagStep {
                id: s.id.clone(),
                needs: s.needs.clone(),
                duration_ms: s.duration_ms.unwrap_or(0),
            })
            .collect();
        let (path, total) = analysis::critical_path(&dag);
        for id in &path {
            if let Some(s) = r.steps.get_mut(id) {
                s.on_critical_path = true;
            }
        }
        r.critical_path = CriticalPathReport {
            share: r
                .duration_ms
                .filter(|d| *d > 0)
                .map(|d| total as f64 / d as f64),
            steps: path,
            duration_ms: total,
        };
        r.milestones.sort_by_key(|m| m.at.ms);
        // Stable: events at the same time keep their journal order.
        r.timeline.sort_by_key(|e| e.at.ms);
        r.impact = analysis::impact(&analysis::ImpactInput::from_report(r));
        self.report
    }
}

/// Which check a measurement belongs to.
#[derive(Debug, Clone, Copy)]
pub enum MeasuredCheck<'a> {
    Gate { step: &'a str, gate: &'a str },
    Trigger { trigger: &'a str },
}

impl MeasuredCheck<'_> {
    fn key(&self) -> String {
        match self {
            MeasuredCheck::Gate { step, gate } => format!("{step}.{gate}"),
            MeasuredCheck::Trigger { trigger } => (*trigger).to_string(),
        }
    }
}

/// Source, query and condition of a planned gate or trigger.
fn fill_check(c: &mut CheckReport, planned: &Value) {
    if let Some(s) = planned.get("source").and_then(Value::as_str) {
        c.source = s.to_string();
    }
    if let Some(t) = planned.get("condition_text").and_then(Value::as_str) {
        c.condition = t.to_string();
    }
    let probe = planned.get("probe");
    let query = probe
        .and_then(|p| {
            p.get("query")
                .or_else(|| p.get("url"))
                .or_else(|| p.get("monitor"))
        })
        .map(|q| q.as_str().map_or_else(|| q.to_string(), str::to_string));
    if let Some(q) = query {
        c.query = q;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Choice, PauseReason};

    fn build(events: Vec<(&str, &str, Event)>) -> Report {
        let mut b = Builder::new("j", "r");
        for (i, (ts, who, e)) in events.into_iter().enumerate() {
            b.push(i as u64 + 1, ts, who, e);
        }
        b.finish(None, Vec::new())
    }

    fn state(step: &str, state: StepState) -> Event {
        Event::StepState {
            step: step.into(),
            state,
            detail: None,
        }
    }

    #[test]
    fn war_room_events_become_approvals_deviations_notes_and_milestones() {
        let r = build(vec![
            (
                "2026-01-01T00:00:00.000Z",
                "op@h",
                state("a", StepState::Running),
            ),
            (
                "2026-01-01T00:00:01.000Z",
                "op@h",
                Event::ApprovalRequested {
                    step: "a".into(),
                    min: 1,
                    approvers: vec!["alice".into()],
                },
            ),
            (
                "2026-01-01T00:00:02.000Z",
                "alice@laptop (as alice)",
                Event::ApprovalGranted {
                    step: "a".into(),
                    reason: Some("dashboards green".into()),
                    auto: false,
                    identity: None,
                },
            ),
            (
                "2026-01-01T00:00:03.000Z",
                "ic@h",
                Event::Milestone {
                    name: "impact-start".into(),
                    at: Some("2026-01-01T00:00:02.500Z".into()),
                    step: None,
                },
            ),
            (
                "2026-01-01T00:00:04.000Z",
                "op@h",
                Event::Interrupted {
                    signal: "SIGINT".into(),
                },
            ),
            (
                "2026-01-01T00:00:05.000Z",
                "op@h",
                Event::Decision {
                    step: None,
                    choice: Choice::Rollback,
                    context: "interrupt".into(),
                    reason: None,
                },
            ),
            (
                "2026-01-01T00:00:06.000Z",
                "op@h",
                Event::Paused {
                    reason: PauseReason::NeedsDecision,
                    step: Some("a".into()),
                    hint: "cutover resume r".into(),
                },
            ),
            (
                "2026-01-01T00:00:07.000Z",
                "scribe@h",
                Event::Note {
                    text: "<b>bold</b>".into(),
                },
            ),
            (
                "2026-01-01T00:00:08.000Z",
                "ic@h",
                Event::Milestone {
                    name: "mitigated".into(),
                    at: None,
                    step: None,
                },
            ),
            (
                "2026-01-01T00:00:09.000Z",
                "op@h",
                Event::Readiness {
                    checklist: "launch".into(),
                    ready: false,
                    overridden: true,
                    reason: Some("vp said go".into()),
                    summary: serde_json::json!({"waived": ["backups"]}),
                },
            ),
        ]);
        assert!(r.in_progress, "no run_finished: in progress");
        let decisions: Vec<&str> = r.approvals.iter().map(|a| a.decision.as_str()).collect();
        assert_eq!(decisions, ["requested", "approved", "decision: rollback"]);
        assert_eq!(r.approvals[1].who, "alice@laptop (as alice)");
        assert_eq!(r.approvals[1].reason.as_deref(), Some("dashboards green"));
        let kinds: Vec<&str> = r.deviations.iter().map(|d| d.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "ctrl-c",
                "ctrl-c-decision",
                "paused",
                "waiver",
                "readiness-override"
            ]
        );
        let names: Vec<&str> = r.milestones.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["first-step", "go-decision", "impact-start", "mitigated"]
        );
        // `--at` wins over the time the mark was recorded.
        assert_eq!(r.milestones[2].at.rfc3339(), "2026-01-01T00:00:02.500Z");
        // The timeline lists it at its `--at` time too, in time order.
        let times: Vec<i64> = r.timeline.iter().map(|e| e.at.ms).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
        let mark = r
            .timeline
            .iter()
            .position(|e| e.kind == "milestone" && e.text.contains("impact-start"))
            .expect("the mark is in the timeline");
        assert_eq!(r.timeline[mark].at.rfc3339(), "2026-01-01T00:00:02.500Z");
        assert_eq!(r.timeline[mark - 1].kind, "approval_granted");
        assert_eq!(r.timeline[mark + 1].kind, "interrupted");
        assert!(
            r.timeline[mark].text.contains("recorded at"),
            "{}",
            r.timeline[mark].text
        );
        assert_eq!(r.impact.ttm_ms, Some(5_500));
        assert_eq!(r.impact.ttd_ms, None, "nothing detected it");
        assert_eq!(r.notes[0].text, "<b>bold</b>");
        assert_eq!(
            r.deviations[3].text,
            "checklist `launch`: 1 item(s) waived: backups"
        );
        // Still running at the last event: its duration runs to it.
        assert_eq!(r.steps["a"].duration_ms, Some(9_000));
    }

    #[test]
    fn a_retried_step_counts_its_attempts_and_its_retries_as_deviations() {
        let attempt = |n| Event::AttemptStarted {
            step: "a".into(),
            attempt: n,
            attempts: 3,
            action: "x".into(),
        };
        let r = build(vec![
            (
                "2026-01-01T00:00:00.000Z",
                "op@h",
                state("a", StepState::Running),
            ),
            ("2026-01-01T00:00:00.000Z", "op@h", attempt(1)),
            ("2026-01-01T00:00:01.000Z", "op@h", attempt(2)),
            ("2026-01-01T00:00:02.000Z", "op@h", attempt(3)),
            (
                "2026-01-01T00:00:03.000Z",
                "op@h",
                state("a", StepState::Done),
            ),
        ]);
        assert_eq!(r.steps["a"].attempts.len(), 3);
        assert_eq!(r.deviations.iter().filter(|d| d.kind == "retry").count(), 2);
        assert_eq!(r.steps["a"].duration_ms, Some(3_000));
        assert_eq!(r.critical_path.steps, ["a"]);
    }

    fn finished(outcome: Outcome) -> Event {
        Event::RunFinished(crate::event::RunFinished {
            outcome,
            exit_code: outcome.exit_code(),
            dry_run: false,
            failed_steps: Vec::new(),
            queries_ok: None,
            message: "m".into(),
        })
    }

    #[test]
    fn a_step_is_timed_from_running_without_its_approval_wait_or_a_pause() {
        let t = |s: &str| format!("2026-01-01T00:{s}.000Z");
        let attempt = |n| Event::AttemptStarted {
            step: "a".into(),
            attempt: n,
            attempts: 2,
            action: "x".into(),
        };
        let (t00, t20, t30, t31, t40, t41) = (
            t("00:00"),
            t("00:20"),
            t("00:30"),
            t("00:31"),
            t("00:40"),
            t("00:41"),
        );
        let (t141, t142, t150, t151) = (t("01:41"), t("01:42"), t("01:50"), t("01:51"));
        let r = build(vec![
            (&t00, "op@h", state("b", StepState::Running)),
            (&t00, "op@h", state("a", StepState::AwaitingApproval)),
            (&t20, "op@h", state("b", StepState::Done)),
            (
                &t30,
                "alice@h",
                Event::ApprovalGranted {
                    step: "a".into(),
                    reason: None,
                    auto: false,
                    identity: None,
                },
            ),
            (&t31, "op@h", state("a", StepState::Running)),
            (&t31, "op@h", attempt(1)),
            (&t40, "op@h", state("a", StepState::Failed)),
            (
                &t41,
                "op@h",
                Event::Paused {
                    reason: PauseReason::NeedsDecision,
                    step: Some("a".into()),
                    hint: "cutover resume r".into(),
                },
            ),
            (&t41, "op@h", finished(Outcome::Paused)),
            // Other commands write while no run is going; the pause still runs from 00:41.
            (&t("01:00"), "scribe@h", Event::Note { text: "n".into() }),
            // A go/no-go closed by `cutover approve` while paused is not the engine.
            (
                &t("01:10"),
                "alice@h",
                Event::ApprovalDecided {
                    step: "c".into(),
                    decision: crate::event::GoNoGo::Go,
                    by: vec!["alice".into()],
                    vote_seq: Some(9),
                    reason: None,
                },
            ),
            (&t141, "op@h", Event::JournalRepaired { line: 9, bytes: 3 }),
            (&t141, "op@h", Event::RunResumed { pid: 2 }),
            (&t142, "op@h", state("a", StepState::Running)),
            (&t142, "op@h", attempt(2)),
            (&t150, "op@h", state("a", StepState::Done)),
            (&t151, "op@h", finished(Outcome::Completed)),
        ]);
        let a = &r.steps["a"];
        assert_eq!(a.started.map(Ts::rfc3339).as_deref(), Some(t31.as_str()));
        assert_eq!(a.waited_for_approval_ms, Some(30_000));
        assert_eq!(a.paused_ms, 60_000, "00:41 to 01:41 no process ran");
        // 00:31 → 01:50 is 79 s, less the 60 s pause.
        assert_eq!(a.duration_ms, Some(19_000));
        assert_eq!(r.steps["b"].duration_ms, Some(20_000));
        assert_eq!(r.steps["b"].waited_for_approval_ms, None);
        // `b` ran longer than `a` executed: it is the critical path.
        assert_eq!(r.critical_path.steps, ["b"]);
        assert_eq!(r.critical_path.duration_ms, 20_000);

        // The pause is a milestone of its own; only the last finish is the end.
        let names: Vec<&str> = r.milestones.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "first-step",
                "go-decision",
                "paused",
                "resumed",
                "run-finished"
            ]
        );
        assert_eq!(r.milestones[2].at.rfc3339(), t41);
        assert_eq!(r.milestones[4].at.rfc3339(), t151);
        let finishes: Vec<&str> = r
            .timeline
            .iter()
            .filter(|e| e.kind == "run_finished")
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(
            finishes,
            [
                "run stopped, resumed later: paused (m)",
                "run finished: completed (m)"
            ]
        );
        assert!(!r.in_progress);
        assert_eq!(r.outcome, Some(Outcome::Completed));
    }

    #[test]
    fn a_run_that_ends_paused_ends_with_its_run_finished() {
        let r = build(vec![
            (
                "2026-01-01T00:00:00.000Z",
                "op@h",
                state("a", StepState::AwaitingApproval),
            ),
            (
                "2026-01-01T00:00:05.000Z",
                "op@h",
                finished(Outcome::Paused),
            ),
        ]);
        let names: Vec<&str> = r.milestones.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["first-step", "run-finished"]);
        // Still waiting when the run stopped: the wait runs to the end, nothing executed.
        assert_eq!(r.steps["a"].waited_for_approval_ms, Some(5_000));
        assert_eq!(r.steps["a"].duration_ms, None);
    }

    fn requested(min: u32) -> Event {
        Event::ApprovalRequested {
            step: "a".into(),
            min,
            approvers: Vec::new(),
        }
    }

    fn granted() -> Event {
        Event::ApprovalGranted {
            step: "a".into(),
            reason: None,
            auto: false,
            identity: None,
        }
    }

    fn go_decision(r: &Report) -> Option<(String, Option<String>)> {
        r.milestones
            .iter()
            .find(|m| m.name == "go-decision")
            .map(|m| (m.at.rfc3339(), m.who.clone()))
    }

    #[test]
    fn the_go_decision_is_the_vote_that_reaches_min() {
        let r = build(vec![
            ("2026-01-01T00:00:00.000Z", "op@h", requested(2)),
            ("2026-01-01T00:00:01.000Z", "alice@h", granted()),
            ("2026-01-01T00:00:05.000Z", "bob@h", granted()),
            (
                "2026-01-01T00:00:06.000Z",
                "op@h",
                state("a", StepState::Running),
            ),
        ]);
        assert_eq!(
            go_decision(&r),
            Some(("2026-01-01T00:00:05.000Z".into(), Some("bob@h".into())))
        );
    }

    #[test]
    fn a_rejected_go_no_go_has_no_go_decision() {
        let r = build(vec![
            ("2026-01-01T00:00:00.000Z", "op@h", requested(2)),
            ("2026-01-01T00:00:01.000Z", "alice@h", granted()),
            (
                "2026-01-01T00:00:02.000Z",
                "bob@h",
                Event::ApprovalRejected {
                    step: "a".into(),
                    reason: Some("error rate".into()),
                    identity: None,
                },
            ),
            // A vote after the rejection decides nothing.
            ("2026-01-01T00:00:03.000Z", "carol@h", granted()),
        ]);
        assert_eq!(go_decision(&r), None);
        // One vote short of `min` is no decision either.
        let r = build(vec![
            ("2026-01-01T00:00:00.000Z", "op@h", requested(2)),
            ("2026-01-01T00:00:01.000Z", "alice@h", granted()),
        ]);
        assert_eq!(go_decision(&r), None);
        // `--yes` grants the approval at once.
        let r = build(vec![(
            "2026-01-01T00:00:04.000Z",
            "op@h",
            Event::ApprovalGranted {
                step: "a".into(),
                reason: Some("--yes".into()),
                auto: true,
                identity: None,
            },
        )]);
        assert_eq!(
            go_decision(&r).map(|g| g.0).as_deref(),
            Some("2026-01-01T00:00:04.000Z")
        );
    }
}
