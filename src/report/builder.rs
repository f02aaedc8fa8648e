//! Folding journal records into a [`Report`] by plain synchronous code
//! (`Builder::push`), so it can be unit-tested without files. The reader
//! hands output lines and measurements over through `output` and
//! `measurement`, which keep counts and points only.

use serde_json::Value;

use super::analysis;
use super::model::{
    ApprovalEntry, AttemptReport, CheckKind, CheckReport, CriticalPathReport, Deviation, Fired,
    Milestone, NoteEntry, OutputTail, Point, ReadinessEntry, Report, RollbackReport,
    RollbackStepReport, StepReport, TimelineEntry,
};
use super::time::Ts;
use crate::event::{Choice, Event, Outcome, Phase, RollbackReason, RunStarted, StepState, Stream};
use crate::signals::Verdict;

/// Folds records into a [`Report`].
#[derive(Debug, Default)]
pub struct Builder {
    report: Report,
    last_ts: Option<Ts>,
    first_step_seen: bool,
    go_decision_seen: bool,
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

    fn significant(&mut self, seq: u64, at: Ts, who: &str, event: Event) {
        let r = &mut self.report;
        match event {
            Event::RunStarted(started) => {
                if r.started.is_none() {
                    r.started = Some(at);
                    r.started_by = Some(who.to_string());
                    self.milestone("run-started", at, "derived", Some(who));
                }
                let text = format!(
                    "run started: runbook `{}`{}{}",
                    started.runbook_name,
                    started
                        .env
                        .as_ref()
                        .map(|e| format!(", env `{e}`"))
                        .unwrap_or_default(),
                    if started.dry_run { " (dry run)" } else { "" }
                );
                self.apply_plan(&started);
                self.report.in_progress = true;
                self.line(seq, at, who, "run_started", text);
            }
            Event::RunResumed { .. } => {
                r.resumed_by.push(who.to_string());
                r.in_progress = true;
                self.deviation(at, who, "resumed", None, "run resumed".into());
                self.line(seq, at, who, "run_resumed", "run resumed".into());
            }
            Event::JournalRepaired { line, bytes } => {
                let text = format!("torn journal line {line} ({bytes} bytes) cut off on resume");
                self.line(seq, at, who, "journal_repaired", text);
            }
            Event::StepState {
                step,
                state,
                detail,
            } => {
                self.step_state(seq, at, who, &step, state, detail);
            }
            Event::AttemptStarted {
                step,
                attempt,
                attempts,
                ..
            } => {
                let s = self.step_mut(&step);
                s.attempts.push(AttemptReport {
                    attempt,
                    started: at,
                    result: None,
                    exit_code: None,
                    duration_ms: None,
                    detail: None,
                });
                if attempt > 1 {
                    let text = format!("attempt {attempt} of {attempts}");
                    self.deviation(at, who, "retry", Some(&step), text.clone());
                    self.line(seq, at, who, "retry", format!("step `{step}`: {text}"));
                }
            }
            Event::AttemptFinished {
                step,
                attempt,
                result,
                exit_code,
                duration_ms,
                detail,
            } => {
                let s = self.step_mut(&step);
                let label = crate::report::label(&result);
                if let Some(a) = s.attempts.iter_mut().rev().find(|a| a.attempt == attempt) {
                    a.result = Some(label.clone());
                    a.exit_code = exit_code;
                    a.duration_ms = Some(duration_ms);
                    a.detail.clone_from(&detail);
                }
                if label != "succeeded" {
                    let text = format!(
                        "step `{step}` attempt {attempt} {label}{}",
                        detail.map(|d| format!(": {d}")).unwrap_or_default()
                    );
                    self.line(seq, at, who, "attempt_finished", text);
                }
            }
            Event::GateStarted {
                step,
                gate,
                when,
                source,
                query,
                condition,
                shadow,
            } => {
                let key = format!("{step}.{gate}");
                let c = self.check_mut(
                    &key,
                    MeasuredCheck::Gate {
                        step: &step,
                        gate: &gate,
                    },
                );
                c.when = Some(when);
                c.source = source;
                c.query = query;
                c.condition = condition;
                c.shadow = shadow;
                if c.started.is_none() {
                    c.started = Some(at);
                }
            }
            Event::GateFinished {
                step,
                gate,
                result,
                shadow,
                detail,
            } => {
                let key = format!("{step}.{gate}");
                let label = crate::report::label(&result);
                let c = self.check_mut(
                    &key,
                    MeasuredCheck::Gate {
                        step: &step,
                        gate: &gate,
                    },
                );
                c.result = Some(label.clone());
                c.detail.clone_from(&detail);
                c.shadow = shadow;
                c.finished = Some(at);
                let shadow_label = if shadow { " (shadow)" } else { "" };
                let text = format!(
                    "gate `{key}`{shadow_label} {label}{}",
                    detail.map(|d| format!(": {d}")).unwrap_or_default()
                );
                if label != "pass" && !shadow {
                    self.deviation(at, who, "gate-failed", Some(&step), text.clone());
                }
                self.line(seq, at, who, "gate_finished", text);
            }
            Event::Baseline { check, value, .. } => {
                if let Some(c) = self.report.checks.get_mut(&check) {
                    c.baseline = value;
                }
                let v = value.map_or_else(|| "not measured".into(), super::fmt_value);
                self.line(
                    seq,
                    at,
                    who,
                    "baseline",
                    format!("baseline for `{check}`: {v}"),
                );
            }
            Event::TriggerArmed { trigger } => {
                self.check_mut(
                    &trigger.clone(),
                    MeasuredCheck::Trigger { trigger: &trigger },
                );
                self.line(
                    seq,
                    at,
                    who,
                    "trigger_armed",
                    format!("trigger `{trigger}` armed"),
                );
            }
            Event::TriggerDisarmed { trigger } => {
                let text = format!("trigger `{trigger}` disarmed");
                self.line(seq, at, who, "trigger_disarmed", text);
            }
            Event::TriggerFired {
                trigger,
                action,
                condition,
                value,
                held_ms,
            } => {
                let c = self.check_mut(
                    &trigger.clone(),
                    MeasuredCheck::Trigger { trigger: &trigger },
                );
                if c.fired.is_none() {
                    c.fired = Some(Fired {
                        at,
                        action: action.clone(),
                        condition: condition.clone(),
                        value,
                        held_ms,
                    });
                }
                if c.condition.is_empty() {
                    c.condition.clone_from(&condition);
                }
                let v = value.map_or_else(|| "?".into(), super::fmt_value);
                let text = format!(
                    "TRIGGER `{trigger}` FIRED: value {v} {condition} held {held_ms} ms, action {action}"
                );
                self.milestone(
                    &format!("trigger-fired: {trigger}"),
                    at,
                    "derived",
                    Some(who),
                );
                self.deviation(at, who, "trigger-fired", None, text.clone());
                self.line(seq, at, who, "trigger_fired", text);
            }
            Event::TriggerSourceError { trigger, detail } => {
                let c = self.check_mut(
                    &trigger.clone(),
                    MeasuredCheck::Trigger { trigger: &trigger },
                );
                c.source_errors += 1;
                let text = format!("trigger `{trigger}` source error: {detail}");
                self.line(seq, at, who, "trigger_source_error", text);
            }
            Event::RollbackStarted { reason, steps } => {
                let reason = match reason {
                    RollbackReason::StepFailed { step } => format!("step `{step}` failed"),
                    RollbackReason::Trigger { trigger } => format!("trigger `{trigger}` fired"),
                    RollbackReason::Operator => "operator chose rollback".into(),
                    RollbackReason::Rejected { step } => format!("approval of `{step}` rejected"),
                };
                let text = format!("ROLLBACK started ({reason}): {}", steps.join(", "));
                if self.report.rollback.is_none() {
                    self.deviation(at, who, "rollback", None, text.clone());
                    self.milestone("rollback-started", at, "derived", Some(who));
                    self.report.rollback = Some(RollbackReport {
                        started: at,
                        reason,
                        steps,
                        finished: None,
                        ok: None,
                        failed: Vec::new(),
                    });
                }
                self.line(seq, at, who, "rollback_started", text);
            }
            Event::RollbackStepStarted { step, action } => {
                self.step_mut(&step).rollback = Some(RollbackStepReport {
                    action,
                    started: at,
                    ended: None,
                    ok: None,
                    exit_code: None,
                    duration_ms: None,
                    detail: None,
                    output: OutputTail::default(),
                });
                self.line(
                    seq,
                    at,
                    who,
                    "rollback_step_started",
                    format!("rollback of `{step}` started"),
                );
            }
            Event::RollbackStepFinished {
                step,
                ok,
                exit_code,
                duration_ms,
                detail,
            } => {
                let s = self.step_mut(&step);
                let rb = s.rollback.get_or_insert_with(|| RollbackStepReport {
                    action: String::new(),
                    started: at,
                    ended: None,
                    ok: None,
                    exit_code: None,
                    duration_ms: None,
                    detail: None,
                    output: OutputTail::default(),
                });
                rb.ended = Some(at);
                rb.ok = Some(ok);
                rb.exit_code = exit_code;
                rb.duration_ms = Some(duration_ms);
                rb.detail.clone_from(&detail);
                let text = format!(
                    "rollback of `{step}` {}{}",
                    if ok { "done" } else { "FAILED" },
                    detail.map(|d| format!(": {d}")).unwrap_or_default()
                );
                self.line(seq, at, who, "rollback_step_finished", text);
            }
            Event::RollbackFinished { ok, failed } => {
                if let Some(rb) = &mut self.report.rollback {
                    rb.finished = Some(at);
                    rb.ok = Some(ok);
                    rb.failed.clone_from(&failed);
                }
                self.milestone("rollback-finished", at, "derived", Some(who));
                let text = if ok {
                    "rollback finished".to_string()
                } else {
                    format!("rollback FAILED for {}", failed.join(", "))
                };
                self.line(seq, at, who, "rollback_finished", text);
            }
            Event::Paused { reason, step, hint } => {
                let reason = crate::report::label(&reason);
                let text = format!(
                    "paused ({reason}){}: {hint}",
                    step.as_ref()
                        .map(|s| format!(" at `{s}`"))
                        .unwrap_or_default()
                );
                self.deviation(at, who, "paused", step.as_deref(), text.clone());
                self.line(seq, at, who, "paused", text);
            }
            Event::Interrupted { signal } => {
                let text = format!("{signal} received: scheduling stopped");
                self.deviation(at, who, "ctrl-c", None, text.clone());
                self.line(seq, at, who, "interrupted", text);
            }
            Event::Decision {
                step,
                choice,
                context,
            } => {
                let choice_label = crate::report::label(&choice);
                let kind = match context.as_str() {
                    "resume" | "idempotent" => "resume-decision",
                    "interrupt" => "ctrl-c-decision",
                    "on_failure" => "failure-decision",
                    _ => "decision",
                };
                let text = format!(
                    "operator chose {choice_label}{} ({context})",
                    step.as_ref()
                        .map(|s| format!(" for `{s}`"))
                        .unwrap_or_default()
                );
                if choice != Choice::Continue || kind != "decision" {
                    self.deviation(at, who, kind, step.as_deref(), text.clone());
                }
                self.approval(
                    at,
                    who,
                    step.as_deref(),
                    &format!("decision: {choice_label}"),
                    Some(context),
                );
                self.line(seq, at, who, "decision", text);
            }
            Event::ApprovalRequested {
                step,
                min,
                approvers,
            } => {
                let list = if approvers.is_empty() {
                    String::new()
                } else {
                    format!(" from {}", approvers.join(", "))
                };
                let text = format!("approval of `{step}` requested ({min} needed{list})");
                self.approval(at, who, Some(&step), "requested", None);
                self.line(seq, at, who, "approval_requested", text);
            }
            Event::ApprovalGranted { step, reason, auto } => {
                let decision = if auto {
                    "approved (auto, --yes)"
                } else {
                    "approved"
                };
                self.approval(at, who, Some(&step), decision, reason.clone());
                if !self.go_decision_seen {
                    self.go_decision_seen = true;
                    self.milestone("go-decision", at, "derived", Some(who));
                }
                let text = format!(
                    "`{step}` {decision}{}",
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                );
                self.line(seq, at, who, "approval_granted", text);
            }
            Event::ApprovalRejected { step, reason } => {
                self.approval(at, who, Some(&step), "rejected", reason.clone());
                let text = format!(
                    "`{step}` REJECTED{}",
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                );
                self.line(seq, at, who, "approval_rejected", text);
            }
            Event::ManualDone { step, note } => {
                self.approval(at, who, Some(&step), "manual step done", note.clone());
                let text = format!(
                    "manual step `{step}` marked done{}",
                    note.map(|n| format!(": {n}")).unwrap_or_default()
                );
                self.line(seq, at, who, "manual_done", text);
            }
            Event::Note { text } => {
                self.report.notes.push(NoteEntry {
                    at,
                    who: who.to_string(),
                    text: text.clone(),
                });
                self.line(seq, at, who, "note", format!("note: {text}"));
            }
            Event::Milestone { name, at: when } => {
                let t = when.as_deref().and_then(Ts::parse).unwrap_or(at);
                self.milestone(&name, t, "mark", Some(who));
                self.line(seq, at, who, "milestone", format!("milestone `{name}`"));
            }
            Event::Readiness {
                checklist,
                ready,
                overridden,
                reason,
                summary,
            } => {
                let (waived, ids) = waived_items(&summary);
                if waived > 0 {
                    let list = if ids.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", ids.join(", "))
                    };
                    let text = format!("checklist `{checklist}`: {waived} item(s) waived{list}");
                    self.deviation(at, who, "waiver", None, text);
                }
                if overridden {
                    let text = format!(
                        "checklist `{checklist}` not ready, overridden{}",
                        reason
                            .as_ref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    );
                    self.deviation(at, who, "readiness-override", None, text);
                }
                let text = format!(
                    "readiness `{checklist}`: {}{}",
                    if ready { "ready" } else { "NOT ready" },
                    if overridden { " (overridden)" } else { "" }
                );
                self.report.readiness.push(ReadinessEntry {
                    at,
                    checklist,
                    ready,
                    overridden,
                    reason,
                });
                self.line(seq, at, who, "readiness", text);
            }
            Event::RunFinished(f) => {
                let r = &mut self.report;
                r.outcome = Some(f.outcome);
                r.message = Some(f.message.clone());
                r.ended = Some(at);
                r.in_progress = false;
                for step in &f.failed_steps {
                    let text = format!(
                        "step `{step}` failed and was let through (`on_failure = \"continue\"`)"
                    );
                    self.deviation(at, who, "failed-continued", Some(step), text);
                }
                self.milestone("run-finished", at, "derived", Some(who));
                let text = format!("run finished: {} ({})", f.outcome.label(), f.message);
                self.line(seq, at, who, "run_finished", text);
            }
            // Handled by the fast paths in `push`.
            Event::Output { .. }
            | Event::GateMeasurement { .. }
            | Event::TriggerMeasurement { .. }
            | Event::Unknown { .. } => {}
        }
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
        let s = self.step_mut(step);
        s.state = state.label().to_string();
        let starts = !matches!(state, StepState::Pending | StepState::Skipped);
        if starts && s.started.is_none() {
            s.started = Some(at);
        }
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
        if matches!(
            state,
            StepState::Skipped | StepState::Stopped | StepState::Failed
        ) {
            let text = format!(
                "step `{step}` {}{}",
                state.label(),
                detail
                    .as_ref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            );
            self.deviation(at, who, state.label(), Some(step), text);
        }
        if state == StepState::Pending {
            return;
        }
        let text = format!(
            "step `{step}` {}{}",
            state.label(),
            detail.map(|d| format!(": {d}")).unwrap_or_default()
        );
        self.line(seq, at, who, "step_state", text);
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
            .cloned()
            .unwrap_or_default();
        for step in &steps {
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
            .cloned()
            .unwrap_or_default();
        for t in &triggers {
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
            // A step still going at the end of an unfinished journal runs until its last event.
            let until = s.ended.or(if r.in_progress { end } else { None });
            if let (Some(a), Some(b)) = (s.started, until) {
                s.duration_ms = Some(b.since(a));
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

/// How many checklist items a readiness summary says were waived (its shape
/// is the checklist's own; a number or a list under `waived` is understood).
fn waived_items(summary: &Value) -> (u64, Vec<String>) {
    match summary.get("waived") {
        Some(Value::Number(n)) => (n.as_u64().unwrap_or(0), Vec::new()),
        Some(Value::Array(a)) => (
            a.len() as u64,
            a.iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect(),
        ),
        _ => (0, Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::PauseReason;

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
                },
            ),
            (
                "2026-01-01T00:00:03.000Z",
                "ic@h",
                Event::Milestone {
                    name: "impact-start".into(),
                    at: Some("2026-01-01T00:00:02.500Z".into()),
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
}
