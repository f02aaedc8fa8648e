//! The live voice: how a record reads on the operator's terminal, as it
//! happens (who is named in the line; the time is the reporter's).

use crate::event::{Event, Phase, Record, StepState, Stream};

/// How a record reads in the terminal; `None` for records not worth a line.
/// Control characters (from step output, notes, names) are shown visibly,
/// and text people or commands wrote stays on its line.
pub fn live(record: &Record) -> Option<String> {
    live_raw(record).map(|text| crate::text::visible(&text).into_owned())
}
fn live_raw(record: &Record) -> Option<String> {
    run_and_steps(record)
        .or_else(|| checks(record))
        .or_else(|| rollback(record))
        .or_else(|| people(record))
        .or_else(|| votes(record))
        .or_else(|| super::schedule::record(&record.event, &record.who()))
        .or_else(|| super::after::live(record))
}

/// The run's start and end of life, steps, attempts, processes, output.
fn run_and_steps(record: &Record) -> Option<String> {
    let text = match &record.event {
        Event::RunStarted(s) => format!(
            "run `{}` started{}{} by {} (plan {})",
            record.run_id,
            s.env
                .as_ref()
                .map(|e| format!(" in env `{e}`"))
                .unwrap_or_default(),
            if s.dry_run {
                " as a DRY RUN"
            } else if s.rehearsal {
                " as a dress REHEARSAL"
            } else {
                ""
            },
            record.who(),
            s.plan_hash.get(..12).unwrap_or(&s.plan_hash)
        ),
        Event::RunResumed { .. } => format!("run `{}` resumed by {}", record.run_id, record.who()),
        Event::JournalRepaired { line, .. } => {
            format!(
                "journal truncated at line {line} (a crash mid-write); the torn line was cut off"
            )
        }
        Event::StepState {
            step,
            state,
            detail,
        } => {
            if *state == StepState::Pending {
                return None;
            }
            let detail = detail
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            let loud = if *state == StepState::Failed {
                "FAILED"
            } else {
                state.label()
            };
            format!("step `{step}` {loud}{detail}")
        }
        Event::AttemptStarted {
            step,
            attempt,
            attempts,
            ..
        } => {
            if *attempt == 1 {
                return None;
            }
            format!("step `{step}` attempt {attempt}/{attempts}")
        }
        Event::AttemptFinished {
            step,
            attempt,
            detail: Some(detail),
            ..
        } => format!("step `{step}` attempt {attempt}: {detail}"),
        Event::OrphanStopped { .. } | Event::OrphanAbsent { .. } => {
            super::phrases::orphan(&record.event)?
        }
        Event::OutputAbandoned { .. } => {
            format!("warning: {}", super::phrases::abandoned(&record.event)?)
        }
        Event::Output {
            step,
            stream,
            phase,
            line,
        } => {
            let mark = match stream {
                Stream::Stdout => '|',
                Stream::Stderr => '!',
            };
            let phase = if *phase == Phase::Rollback {
                " (rollback)"
            } else {
                ""
            };
            format!("  {step}{phase} {mark} {}", crate::text::one_line(line))
        }
        _ => return None,
    };
    Some(text)
}

/// Gates, baselines and triggers.
fn checks(record: &Record) -> Option<String> {
    let text = match &record.event {
        Event::GateStarted {
            step,
            gate,
            source,
            query,
            condition,
            shadow,
            ..
        } => format!(
            "gate `{step}.{gate}`{}: {source} `{query}` must be {condition}",
            if *shadow { " (shadow)" } else { "" }
        ),
        Event::GateMeasurement {
            step,
            gate,
            measurement,
        } => format!(
            "  gate `{step}.{gate}` {} -> {}{}",
            measurement
                .value
                .map_or_else(|| "no value".into(), |v| format!("{v}")),
            crate::event::words(&measurement.verdict),
            measurement
                .detail
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        Event::GateFinished {
            step,
            gate,
            result,
            detail,
            ..
        } => format!(
            "gate `{step}.{gate}` {}{}",
            crate::event::words(result),
            detail
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
        Event::Baseline {
            check,
            value,
            measurement,
        } => format!(
            "baseline for `{check}`: {}",
            value.map_or_else(
                || format!("none ({})", crate::event::words(&measurement.verdict)),
                |v| v.to_string()
            )
        ),
        Event::TriggerArmed { trigger } => format!("trigger `{trigger}` armed"),
        Event::TriggerDisarmed { trigger } => format!("trigger `{trigger}` disarmed"),
        Event::TriggerFired {
            trigger,
            action,
            condition,
            value,
            ..
        } => format!(
            "TRIGGER `{trigger}` FIRED: value {} {condition} -> {action}",
            value.map_or_else(|| "?".into(), |v| v.to_string())
        ),
        Event::TriggerSourceError { trigger, detail } => {
            format!("trigger `{trigger}`: source error: {detail}")
        }
        _ => return None,
    };
    Some(text)
}

/// The rollback and its steps.
fn rollback(record: &Record) -> Option<String> {
    let text = match &record.event {
        Event::RollbackStarted {
            reason,
            steps,
            partial,
        } => format!(
            "ROLLBACK started ({reason}): {}",
            if steps.is_empty() {
                "nothing to roll back".into()
            } else {
                super::phrases::rollback_steps(steps, partial, " <- ")
            }
        ),
        Event::RollbackStepStarted {
            step,
            partial: true,
            ..
        } => format!("rolling back `{step}` (it did not finish)"),
        Event::RollbackStepStarted { step, .. } => format!("rollback of `{step}` running"),
        Event::RollbackStepFinished { step, ok: true, .. } => format!("rollback of `{step}` done"),
        Event::RollbackStepFinished { step, detail, .. } => format!(
            "!!! ROLLBACK OF `{step}` FAILED{} !!!",
            detail
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
        Event::RollbackFinished { ok: true, .. } => "rollback finished".into(),
        Event::RollbackFinished { failed, .. } => format!(
            "!!! ROLLBACK FAILED at {}: the system may be half rolled back; act by hand !!!",
            failed.join(", ")
        ),
        _ => return None,
    };
    Some(text)
}

/// Pauses, decisions, votes, manual steps, notes, milestones, readiness.
fn people(record: &Record) -> Option<String> {
    let text = match &record.event {
        Event::Paused { reason, step, hint } => format!(
            "run paused ({}{})\n{hint}",
            crate::event::words(reason),
            step.as_ref()
                .map(|s| format!(", step `{s}`"))
                .unwrap_or_default()
        ),
        Event::Interrupted { signal } => format!("{signal} received"),
        Event::Decision {
            step,
            choice,
            context,
            reason,
        } => format!(
            "decision by {}: {}{} ({context}){}",
            record.who(),
            crate::event::words(choice),
            step.as_ref()
                .map(|s| format!(" step `{s}`"))
                .unwrap_or_default(),
            reason
                .as_deref()
                .map(|r| format!(": {}", crate::text::one_line(r)))
                .unwrap_or_default()
        ),
        Event::ManualDone { step, note } => format!(
            "manual step `{step}` marked done by {}{}",
            record.who(),
            note.as_deref()
                .map(|n| format!(": {}", crate::text::one_line(n)))
                .unwrap_or_default()
        ),
        Event::Note { text } => {
            format!("note by {}: {}", record.who(), crate::text::one_line(text))
        }
        Event::Milestone {
            name,
            step: Some(step),
            ..
        } => format!("milestone `{name}` (step `{step}` done)"),
        Event::Milestone { name, .. } => format!("milestone `{name}` by {}", record.who()),
        Event::Readiness {
            checklist, ready, ..
        } => {
            format!(
                "readiness `{checklist}`: {}",
                if *ready { "ready" } else { "NOT ready" }
            )
        }
        Event::RunFinished(f) => format!("run {}: {}", f.outcome.label(), f.message),
        Event::Unknown { kind, .. } => format!("({kind})"),
        _ => return None,
    };
    Some(text)
}

/// Go/no-go votes, decisions, escalations and timeouts, and failed notifications.
fn votes(record: &Record) -> Option<String> {
    let text = match &record.event {
        Event::ApprovalRequested { step, min, .. } => {
            format!("step `{step}` needs {min} approval(s)")
        }
        Event::ApprovalGranted { step, auto, .. } => format!(
            "step `{step}` approved by {}{}",
            record.voter(),
            if *auto { " (--yes)" } else { "" }
        ),
        Event::ApprovalDecided {
            step,
            decision,
            reason,
            ..
        } => format!(
            "go/no-go of `{step}` decided: {}{}",
            decision.label(),
            reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
        Event::ApprovalEscalated {
            step,
            waited_ms,
            to,
        } => format!(
            "go/no-go of `{step}` ESCALATED to {} after {}",
            to.join(", "),
            super::phrases::secs(*waited_ms)
        ),
        Event::ApprovalTimedOut {
            step,
            waited_ms,
            on_timeout,
        } => format!(
            "approval of `{step}` TIMED OUT after {}; {on_timeout}",
            super::phrases::secs(*waited_ms)
        ),
        Event::NotifyFailed {
            notify,
            about,
            attempts,
            detail,
        } => format!(
            "notify `{notify}` failed ({about}, {attempts} attempts): {detail}; the run goes on"
        ),
        Event::ApprovalRejected { step, reason, .. } => format!(
            "step `{step}` REJECTED by {}{}",
            record.voter(),
            reason
                .as_deref()
                .map(|r| format!(": {}", crate::text::one_line(r)))
                .unwrap_or_default()
        ),
        _ => return None,
    };
    Some(text)
}
