//! The timeline voice: how a significant record reads in the post-launch
//! report's timeline (who has a column of their own), what a deviation says,
//! and how a go/no-go or decision reads in the approvals table.

use super::phrases;
use crate::event::{Choice, Event, StepState};
use crate::journal::{DeviationEntry, DeviationText, Entry, RunState, SKIPPED_WHY};
use crate::text::{duration, number};

/// One line of the timeline: its kind and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: &'static str,
    pub text: String,
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "every arm of the describers returns an Option"
)]
fn line(kind: &'static str, text: String) -> Option<Line> {
    Some(Line { kind, text })
}

/// `: detail`, or nothing.
fn colon(detail: Option<&String>) -> String {
    detail.map(|d| format!(": {d}")).unwrap_or_default()
}

/// The timeline line of `entry`; `None` for records the timeline leaves
/// out (a step back to pending, a first attempt, a successful one, a gate
/// starting).
pub fn timeline(entry: &Entry) -> Option<Line> {
    match &entry.event {
        Event::RunStarted(s) => line(
            "run_started",
            format!(
                "run started: runbook `{}`{}{}",
                s.runbook_name,
                s.env
                    .as_ref()
                    .map(|e| format!(", env `{e}`"))
                    .unwrap_or_default(),
                if s.dry_run {
                    " (dry run)"
                } else if s.rehearsal {
                    " (rehearsal)"
                } else {
                    ""
                }
            ),
        ),
        Event::RunResumed { .. } => line("run_resumed", "run resumed".into()),
        Event::RunFinished(f) => {
            let said = if entry.resumed_after {
                "run stopped, resumed later"
            } else {
                "run finished"
            };
            let text = format!("{said}: {} ({})", f.outcome.label(), f.message);
            line("run_finished", text)
        }
        Event::OrphanStopped { .. } => line("orphan_stopped", phrases::orphan(&entry.event)?),
        Event::OrphanAbsent { .. } => line("orphan_absent", phrases::orphan(&entry.event)?),
        Event::OutputAbandoned { .. } => {
            line("output_abandoned", phrases::abandoned(&entry.event)?)
        }
        Event::JournalRepaired { line: n, bytes } => line(
            "journal_repaired",
            format!("torn journal line {n} ({bytes} bytes) cut off on resume"),
        ),
        Event::StepState {
            state: StepState::Pending,
            ..
        } => None,
        Event::StepState {
            step,
            state,
            detail,
        } => line(
            "step_state",
            format!("step `{step}` {}{}", state.label(), colon(detail.as_ref())),
        ),
        Event::AttemptStarted {
            step,
            attempt,
            attempts,
            ..
        } if *attempt > 1 => line(
            "retry",
            format!("step `{step}`: attempt {attempt} of {attempts}"),
        ),
        Event::AttemptFinished {
            step,
            attempt,
            result,
            detail,
            ..
        } => {
            let label = crate::event::words(result);
            (label != "succeeded").then(|| Line {
                kind: "attempt_finished",
                text: format!(
                    "step `{step}` attempt {attempt} {label}{}",
                    colon(detail.as_ref())
                ),
            })
        }
        _ => checks(entry)
            .or_else(|| rollback(entry))
            .or_else(|| people(entry))
            .or_else(|| {
                let text = super::schedule::record(&entry.event, &entry.who.name_or_actor())?;
                line(schedule_kind(&entry.event), text)
            })
            .or_else(|| super::after::timeline(entry)),
    }
}

fn checks(entry: &Entry) -> Option<Line> {
    match &entry.event {
        Event::GateFinished {
            step,
            gate,
            result,
            shadow,
            detail,
        } => line(
            "gate_finished",
            format!(
                "gate `{step}.{gate}`{} {}{}",
                if *shadow { " (shadow)" } else { "" },
                crate::event::words(result),
                colon(detail.as_ref())
            ),
        ),
        Event::Baseline { check, value, .. } => {
            let v = value.map_or_else(|| "not measured".into(), number::short);
            line("baseline", format!("baseline for `{check}`: {v}"))
        }
        Event::TriggerArmed { trigger } => {
            line("trigger_armed", format!("trigger `{trigger}` armed"))
        }
        Event::TriggerDisarmed { trigger } => {
            line("trigger_disarmed", format!("trigger `{trigger}` disarmed"))
        }
        Event::TriggerFired {
            trigger,
            action,
            condition,
            value,
            held_ms,
        } => {
            let v = value.map_or_else(|| "?".into(), number::short);
            line(
                "trigger_fired",
                format!(
                    "TRIGGER `{trigger}` FIRED: value {v} {condition} held {held_ms} ms, action {action}"
                ),
            )
        }
        Event::TriggerSourceError { trigger, detail } => line(
            "trigger_source_error",
            format!("trigger `{trigger}` source error: {detail}"),
        ),
        _ => None,
    }
}

fn rollback(entry: &Entry) -> Option<Line> {
    match &entry.event {
        Event::RollbackStarted {
            reason,
            steps,
            partial,
        } => line(
            "rollback_started",
            format!(
                "ROLLBACK started ({reason}): {}",
                phrases::rollback_steps(steps, partial, ", ")
            ),
        ),
        Event::RollbackStepStarted { step, partial, .. } => {
            let again = if entry.nth > 1 {
                format!(" again (attempt {})", entry.nth)
            } else {
                String::new()
            };
            let text = if *partial {
                format!("rollback of `{step}` started{again} (partial: it did not finish)")
            } else {
                format!("rollback of `{step}` started{again}")
            };
            line("rollback_step_started", text)
        }
        Event::RollbackStepFinished {
            step, ok, detail, ..
        } => line(
            "rollback_step_finished",
            format!(
                "rollback of `{step}` {}{}",
                if *ok { "done" } else { "FAILED" },
                colon(detail.as_ref())
            ),
        ),
        Event::RollbackFinished { ok, failed } => line(
            "rollback_finished",
            if *ok {
                "rollback finished".to_string()
            } else {
                format!("rollback FAILED for {}", failed.join(", "))
            },
        ),
        Event::Decision {
            step,
            choice,
            context,
            reason,
        } if context == crate::journal::ROLLBACK_CONTEXT => {
            let name = step.as_deref().unwrap_or_default();
            let text = if *choice == Choice::Skip {
                format!(
                    "rollback of `{name}` skipped by {}: {}",
                    entry.who.name_or_actor(),
                    reason.as_deref().unwrap_or(SKIPPED_WHY)
                )
            } else {
                format!(
                    "operator chose {} for the rollback of `{name}`{}",
                    crate::event::words(choice),
                    colon(reason.as_ref())
                )
            };
            line("decision", text)
        }
        _ => None,
    }
}

fn people(entry: &Entry) -> Option<Line> {
    match &entry.event {
        Event::Paused { reason, step, hint } => line(
            "paused",
            format!(
                "paused ({}){}: {hint}",
                crate::event::words(reason),
                step.as_ref()
                    .map(|s| format!(" at `{s}`"))
                    .unwrap_or_default()
            ),
        ),
        Event::Interrupted { signal } => line(
            "interrupted",
            format!("{signal} received: scheduling stopped"),
        ),
        Event::Decision {
            step,
            choice,
            context,
            reason,
        } => line(
            "decision",
            format!(
                "operator chose {}{} ({context}){}",
                crate::event::words(choice),
                step.as_ref()
                    .map(|s| format!(" for `{s}`"))
                    .unwrap_or_default(),
                colon(reason.as_ref())
            ),
        ),
        Event::NotifyFailed {
            notify,
            about,
            detail,
            ..
        } => line(
            "notify_failed",
            format!("notify `{notify}` failed ({about}): {detail}"),
        ),
        Event::ManualDone { step, note } => line(
            "manual_done",
            format!("manual step `{step}` marked done{}", colon(note.as_ref())),
        ),
        Event::Note { text } => line("note", format!("note: {text}")),
        Event::Milestone {
            name,
            at: when,
            step,
        } => {
            let happened = when.as_deref().and_then(crate::journal::Ts::parse);
            let text = match (step, happened) {
                (Some(step), _) => format!("milestone `{name}` (step `{step}` done)"),
                (None, Some(t)) if t != entry.at => {
                    format!("milestone `{name}` (recorded at {})", entry.at.clock())
                }
                (None, _) => format!("milestone `{name}`"),
            };
            line("milestone", text)
        }
        Event::Readiness {
            checklist,
            ready,
            overridden,
            ..
        } => line(
            "readiness",
            format!(
                "readiness `{checklist}`: {}{}",
                if *ready { "ready" } else { "NOT ready" },
                if *overridden { " (overridden)" } else { "" }
            ),
        ),
        _ => approvals(entry),
    }
}

fn approvals(entry: &Entry) -> Option<Line> {
    match &entry.event {
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
            line(
                "approval_requested",
                format!("approval of `{step}` requested ({min} needed{list})"),
            )
        }
        Event::ApprovalGranted {
            step, reason, auto, ..
        } => line(
            "approval_granted",
            format!(
                "`{step}` {}{}",
                if *auto {
                    "approved (auto, --yes)"
                } else {
                    "approved"
                },
                colon(reason.as_ref())
            ),
        ),
        Event::ApprovalRejected { step, reason, .. } => line(
            "approval_rejected",
            format!("`{step}` REJECTED{}", colon(reason.as_ref())),
        ),
        Event::ApprovalDecided {
            step,
            decision,
            by,
            reason,
            ..
        } => {
            let label = decision.label();
            let text = match reason {
                Some(why) => format!("go/no-go of `{step}` decided: {label} ({why})"),
                None => format!(
                    "go/no-go of `{step}` decided: {label} (by {})",
                    by.join(", ")
                ),
            };
            line("approval_decided", text)
        }
        Event::ApprovalTimedOut {
            step,
            waited_ms,
            on_timeout,
        } => line(
            "approval_timed_out",
            format!(
                "approval of `{step}` timed out after {}; {on_timeout}",
                duration::precise(*waited_ms)
            ),
        ),
        Event::ApprovalEscalated {
            step,
            waited_ms,
            to,
        } => line(
            "approval_escalated",
            format!(
                "go/no-go of `{step}` escalated to {} after {}",
                to.join(", "),
                duration::precise(*waited_ms)
            ),
        ),
        _ => None,
    }
}

/// The timeline kind of a schedule record.
fn schedule_kind(event: &Event) -> &'static str {
    match event {
        Event::SchedulePlanned(_) => "schedule_planned",
        Event::RunScheduled { .. } => "run_scheduled",
        Event::StartReached { .. } => "start_reached",
        Event::StepsSkipped { .. } => "steps_skipped",
        Event::WindowOverride { .. } => "window_override",
        _ => "overrun_projected",
    }
}

/// What a deviation says.
pub fn deviation(d: &DeviationEntry, state: &RunState) -> String {
    match &d.text {
        DeviationText::Record => state
            .entry(d.seq)
            .and_then(timeline)
            .map(|l| l.text)
            .unwrap_or_default(),
        DeviationText::Retry { attempt, attempts } => format!("attempt {attempt} of {attempts}"),
        DeviationText::Waived {
            checklist,
            count,
            items,
        } => {
            let list = if items.is_empty() {
                String::new()
            } else {
                format!(": {}", items.join(", "))
            };
            format!("checklist `{checklist}`: {count} item(s) waived{list}")
        }
        DeviationText::ReadinessOverride { checklist, reason } => format!(
            "checklist `{checklist}` not ready, overridden{}",
            colon(reason.as_ref())
        ),
        DeviationText::FailedContinued => format!(
            "step `{}` failed and was let through (`on_failure = \"continue\"`)",
            d.step.as_deref().unwrap_or_default()
        ),
    }
}

/// How a go/no-go record, a decision or a manual step's completion reads
/// in the approvals table: what was decided, and the words given with it.
pub fn approval_row(entry: &Entry) -> Option<(String, Option<String>)> {
    match &entry.event {
        Event::Decision {
            choice,
            context,
            reason,
            ..
        } if context == crate::journal::ROLLBACK_CONTEXT => Some((
            format!("decision: {} rollback", crate::event::words(choice)),
            Some(match (choice, reason) {
                (_, Some(said)) => said.clone(),
                (Choice::Skip, None) => SKIPPED_WHY.to_string(),
                (_, None) => context.clone(),
            }),
        )),
        Event::Decision {
            choice,
            context,
            reason,
            ..
        } => Some((
            format!("decision: {}", crate::event::words(choice)),
            Some(reason.clone().unwrap_or_else(|| context.clone())),
        )),
        Event::ApprovalRequested { .. } => Some(("requested".into(), None)),
        Event::ApprovalGranted { reason, auto, .. } => Some((
            if *auto {
                "approved (auto, --yes)"
            } else {
                "approved"
            }
            .into(),
            reason.clone(),
        )),
        Event::ApprovalRejected { reason, .. } => Some(("rejected".into(), reason.clone())),
        Event::ApprovalDecided {
            decision, reason, ..
        } => Some((format!("decided: {}", decision.label()), reason.clone())),
        Event::ApprovalTimedOut { .. } => Some(("timed out".into(), None)),
        Event::ApprovalEscalated { to, .. } => {
            Some((format!("escalated to {}", to.join(", ")), None))
        }
        Event::ManualDone { note, .. } => Some(("manual step done".into(), note.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Record;

    #[test]
    fn an_approval_timeout_reads_in_the_reports_durations() {
        let record = Record {
            seq: 1,
            ts: "2026-01-01T00:15:00.000Z".into(),
            run_id: "r".into(),
            actor: "op@host".into(),
            on_behalf: None,
            event: Event::ApprovalTimedOut {
                step: "switch".into(),
                waited_ms: 900_000,
                on_timeout: "pause".into(),
            },
        };
        let state = RunState::replay(&[record]);
        let entry = state.entry(1).expect("the fold keeps it");
        assert_eq!(
            timeline(entry).expect("on the timeline").text,
            "approval of `switch` timed out after 15m 00s; pause"
        );
    }
}
