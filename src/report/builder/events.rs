//! The significant events (everything but output lines and measurements):
//! each becomes timeline entries, milestones, approvals, deviations, notes
//! and the step, check and rollback state the report shows.

use serde_json::Value;

use super::{Builder, MeasuredCheck};
use crate::event::{Choice, Event};
use crate::report::model::{
    AttemptReport, Fired, NoteEntry, ReadinessEntry, RollbackAttemptReport, RollbackReport,
    RollbackStepReport,
};

use crate::journal::ROLLBACK_CONTEXT;
/// What skipping a rollback (`cutover resume --skip-rollback`) means when
/// the operator did not say (`--reason`).
pub(crate) use crate::journal::SKIPPED_WHY;

/// The person behind `who`: the `--as` name if one was given, else `user@host`.
fn person(who: &str) -> String {
    who.rsplit_once(" (as ")
        .and_then(|(_, n)| n.strip_suffix(')'))
        .unwrap_or(who)
        .to_string()
}
use crate::report::time::Ts;

impl Builder {
    pub(super) fn significant(&mut self, seq: u64, at: Ts, who: &str, event: Event) {
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
                // The run did not end where it last finished: that was a pause.
                let paused_as = match r.outcome {
                    Some(crate::event::Outcome::Aborted) => "aborted",
                    Some(crate::event::Outcome::Failed) => "interrupted",
                    _ => "paused",
                };
                if let Some(m) = r
                    .milestones
                    .iter_mut()
                    .rev()
                    .find(|m| m.origin == "derived" && m.name == "run-finished")
                {
                    m.name = paused_as.to_string();
                }
                if let Some(e) = r
                    .timeline
                    .iter_mut()
                    .rev()
                    .find(|e| e.kind == "run_finished")
                    && let Some(rest) = e.text.strip_prefix("run finished: ")
                {
                    e.text = format!("run stopped, resumed later: {rest}");
                }
                r.resumed_by.push(who.to_string());
                self.milestone("resumed", at, "derived", Some(who));
                self.report.in_progress = true;
                self.deviation(at, who, "resumed", None, "run resumed".into());
                self.line(seq, at, who, "run_resumed", "run resumed".into());
            }
            Event::OrphanStopped { ref step, .. } => {
                let text = crate::event::orphan_text(&event).unwrap_or_default();
                self.deviation(at, who, "orphan-stopped", Some(step), text.clone());
                self.line(seq, at, who, "orphan_stopped", text);
            }
            Event::OrphanAbsent {
                ref step, ref why, ..
            } => {
                let text = crate::event::orphan_text(&event).unwrap_or_default();
                if *why == crate::event::OrphanAbsence::Elsewhere {
                    // Maybe still running where it started: worth a look.
                    self.deviation(at, who, "orphan-elsewhere", Some(step), text.clone());
                }
                self.line(seq, at, who, "orphan_absent", text);
            }
            Event::OutputAbandoned { ref step, .. } => {
                let text = crate::event::abandoned_text(&event).unwrap_or_default();
                self.deviation(at, who, "output-abandoned", Some(step), text.clone());
                self.line(seq, at, who, "output_abandoned", text);
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
                let label = crate::event::words(&result);
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
                let label = crate::event::words(&result);
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
                let v = value.map_or_else(|| "not measured".into(), crate::report::fmt_value);
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
                let v = value.map_or_else(|| "?".into(), crate::report::fmt_value);
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
            Event::RollbackStarted {
                reason,
                steps,
                partial,
            } => {
                let reason = reason.to_string();
                let text = format!(
                    "ROLLBACK started ({reason}): {}",
                    crate::event::rollback_steps_text(&steps, &partial, ", ")
                );
                if self.report.rollback.is_none() {
                    self.deviation(at, who, "rollback", None, text.clone());
                    self.milestone("rollback-started", at, "derived", Some(who));
                    self.report.rollback = Some(RollbackReport {
                        started: at,
                        reason,
                        steps,
                        partial,
                        finished: None,
                        ok: None,
                        failed: Vec::new(),
                    });
                }
                self.line(seq, at, who, "rollback_started", text);
            }
            Event::RollbackStepStarted {
                step,
                action,
                partial,
            } => {
                let rb = self
                    .step_mut(&step)
                    .rollback
                    .get_or_insert_with(|| RollbackStepReport::new(String::new(), partial, at));
                // Run again (`resume --rollback`): the earlier attempt is kept.
                if rb.attempts > 0 {
                    rb.failed_attempts.push(RollbackAttemptReport {
                        attempt: rb.attempts,
                        started: rb.started,
                        ended: rb.ended,
                        ok: rb.ok,
                        exit_code: rb.exit_code,
                        duration_ms: rb.duration_ms,
                        detail: rb.detail.take(),
                    });
                }
                rb.attempts += 1;
                rb.action = action;
                rb.partial = partial;
                rb.started = at;
                rb.ended = None;
                rb.ok = None;
                rb.exit_code = None;
                rb.duration_ms = None;
                let attempt = rb.attempts;
                let again = if attempt > 1 {
                    format!(" again (attempt {attempt})")
                } else {
                    String::new()
                };
                self.line(
                    seq,
                    at,
                    who,
                    "rollback_step_started",
                    if partial {
                        format!("rollback of `{step}` started{again} (partial: it did not finish)")
                    } else {
                        format!("rollback of `{step}` started{again}")
                    },
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
                let rb = s.rollback.get_or_insert_with(|| {
                    let mut rb = RollbackStepReport::new(String::new(), false, at);
                    rb.attempts = 1;
                    rb
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
                let reason = crate::event::words(&reason);
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
                reason,
            } if context == ROLLBACK_CONTEXT => {
                // After a failed rollback: `--skip-rollback STEP` (undone by
                // hand) or `--rollback` (its rollback runs again).
                let name = step.clone().unwrap_or_default();
                let (kind, text) = if choice == Choice::Skip {
                    let by = person(who);
                    let rb = self
                        .step_mut(&name)
                        .rollback
                        .get_or_insert_with(|| RollbackStepReport::new(String::new(), false, at));
                    rb.skipped_by = Some(by.clone());
                    rb.skipped_at = Some(at);
                    rb.skip_reason.clone_from(&reason);
                    let what = reason.as_deref().unwrap_or(SKIPPED_WHY);
                    (
                        "rollback-skipped",
                        format!("rollback of `{name}` skipped by {by}: {what}"),
                    )
                } else {
                    (
                        "rollback-retried",
                        format!(
                            "operator chose {} for the rollback of `{name}`{}",
                            crate::event::words(&choice),
                            reason
                                .as_deref()
                                .map(|r| format!(": {r}"))
                                .unwrap_or_default()
                        ),
                    )
                };
                self.deviation(at, who, kind, step.as_deref(), text.clone());
                self.approval(
                    at,
                    who,
                    step.as_deref(),
                    &format!("decision: {} rollback", crate::event::words(&choice)),
                    Some(match (choice, reason) {
                        (_, Some(said)) => said,
                        (Choice::Skip, None) => SKIPPED_WHY.to_string(),
                        (_, None) => context,
                    }),
                );
                self.line(seq, at, who, "decision", text);
            }
            Event::Decision {
                step,
                choice,
                context,
                reason,
            } => {
                let choice_label = crate::event::words(&choice);
                let kind = match context.as_str() {
                    "resume" | "idempotent" => "resume-decision",
                    "interrupt" => "ctrl-c-decision",
                    "on_failure" => "failure-decision",
                    _ => "decision",
                };
                let text = format!(
                    "operator chose {choice_label}{} ({context}){}",
                    step.as_ref()
                        .map(|s| format!(" for `{s}`"))
                        .unwrap_or_default(),
                    reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
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
                    Some(reason.unwrap_or(context)),
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
                self.gonogo.entry(step.clone()).or_default().min = min;
                self.approval(at, who, Some(&step), "requested", None);
                self.line(seq, at, who, "approval_requested", text);
            }
            Event::ApprovalGranted {
                step, reason, auto, ..
            } => {
                let decision = if auto {
                    "approved (auto, --yes)"
                } else {
                    "approved"
                };
                self.approval(at, who, Some(&step), decision, reason.clone());
                self.approval_decided(&step, at);
                let go = self
                    .gonogo
                    .entry(step.clone())
                    .or_default()
                    .vote(true, auto);
                if go && !self.go_decision_seen {
                    self.go_decision_seen = true;
                    self.milestone("go-decision", at, "derived", Some(who));
                }
                let text = format!(
                    "`{step}` {decision}{}",
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                );
                self.line(seq, at, who, "approval_granted", text);
            }
            Event::ApprovalRejected { step, reason, .. } => {
                self.approval(at, who, Some(&step), "rejected", reason.clone());
                self.approval_decided(&step, at);
                self.gonogo
                    .entry(step.clone())
                    .or_default()
                    .vote(false, false);
                let text = format!(
                    "`{step}` REJECTED{}",
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                );
                self.line(seq, at, who, "approval_rejected", text);
            }
            Event::ApprovalDecided {
                step,
                decision,
                by,
                reason,
                ..
            } => {
                let label = decision.label();
                let text = match &reason {
                    Some(why) => format!("go/no-go of `{step}` decided: {label} ({why})"),
                    None => format!(
                        "go/no-go of `{step}` decided: {label} (by {})",
                        by.join(", ")
                    ),
                };
                self.approval(at, who, Some(&step), &format!("decided: {label}"), reason);
                self.line(seq, at, who, "approval_decided", text);
            }
            Event::ApprovalTimedOut {
                step,
                waited_ms,
                on_timeout,
            } => {
                let text = format!(
                    "approval of `{step}` timed out after {}s; {on_timeout}",
                    waited_ms / 1000
                );
                self.approval(at, who, Some(&step), "timed out", None);
                self.approval_decided(&step, at);
                self.deviation(at, who, "approval-timeout", Some(&step), text.clone());
                self.line(seq, at, who, "approval_timed_out", text);
            }
            Event::NotifyFailed {
                notify,
                about,
                detail,
                ..
            } => {
                let text = format!("notify `{notify}` failed ({about}): {detail}");
                self.line(seq, at, who, "notify_failed", text);
            }
            Event::ManualDone { step, note } => {
                self.manual_done_by.insert(step.clone(), who.to_string());
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
            Event::Milestone {
                name,
                at: when,
                step,
            } => {
                // `--at` is when it happened: the timeline shows it there
                // (sorted by time at the end), saying when it was recorded.
                let t = when.as_deref().and_then(Ts::parse).unwrap_or(at);
                let origin = if step.is_some() { "step" } else { "mark" };
                let by = step
                    .as_ref()
                    .and_then(|s| self.manual_done_by.get(s))
                    .cloned();
                self.milestone(&name, t, origin, Some(by.as_deref().unwrap_or(who)));
                let text = match &step {
                    Some(step) => format!("milestone `{name}` (step `{step}` done)"),
                    None if t == at => format!("milestone `{name}`"),
                    None => format!("milestone `{name}` (recorded at {})", at.clock()),
                };
                self.line(seq, t, who, "milestone", text);
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
            // Handled by the fast paths in `push`; a process id says nothing
            // to a report reader.
            Event::ProcessStarted { .. }
            | Event::Output { .. }
            | Event::GateMeasurement { .. }
            | Event::TriggerMeasurement { .. }
            | Event::Unknown { .. } => {}
        }
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
