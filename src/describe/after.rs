//! The words of what happens after the last step: hypercare starting,
//! handed over and ending, an outcome measured against its target, action
//! items added and closed (live and timeline voices), and the follow-ups a
//! run's deviations suggest.

use super::timeline::Line;
use crate::event::{Event, HypercareEnd, OutcomeResult, Record};
use crate::journal::{Entry, RunState, Ts, Who};
use crate::text::{duration, number};

/// How a record of after the last step reads on the terminal.
pub(super) fn live(record: &Record) -> Option<String> {
    let who = record.who();
    Some(match &record.event {
        Event::HypercareStarted(h) => format!(
            "HYPERCARE: every step is done; watching {} for {} (until {}); the run ends after it (end it early: cutover resume {} --end-hypercare --reason \"...\")",
            watched(&h.triggers),
            duration::precise(h.duration_ms),
            h.until,
            record.run_id
        ),
        Event::HypercareDetached(d) => format!(
            "hypercare watch handed to a background process{} (its output: {})",
            d.pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
            d.log
        ),
        _ => return shared(&record.event, &who),
    })
}

/// How a record of after the last step reads in the report's timeline.
pub(super) fn timeline(entry: &Entry) -> Option<Line> {
    let who = entry.who.label();
    let (kind, text) = match &entry.event {
        Event::HypercareStarted(h) => (
            "hypercare_started",
            format!(
                "hypercare started: watching {} for {} (until {})",
                watched(&h.triggers),
                duration::precise(h.duration_ms),
                h.until
            ),
        ),
        Event::HypercareDetached(d) => (
            "hypercare_detached",
            format!(
                "hypercare watch handed to a background process{} (log {})",
                d.pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
                d.log
            ),
        ),
        Event::HypercareEnded(_) => ("hypercare_ended", shared(&entry.event, &who)?),
        Event::OutcomeMeasured(_) => ("outcome_measured", shared(&entry.event, &who)?),
        Event::ActionAdded(_) => ("action_added", shared(&entry.event, &who)?),
        Event::ActionClosed(_) => ("action_closed", shared(&entry.event, &who)?),
        _ => return None,
    };
    Some(Line { kind, text })
}

/// The words both voices use.
fn shared(event: &Event, who: &str) -> Option<String> {
    Some(match event {
        Event::HypercareEnded(e) => match e.reason {
            HypercareEnd::Elapsed => "hypercare over: its time is up".to_string(),
            HypercareEnd::EndedEarly => format!(
                "hypercare ended early by {who}{}",
                e.why
                    .as_deref()
                    .map(|w| format!(": {}", crate::text::one_line(w)))
                    .unwrap_or_default()
            ),
            HypercareEnd::Rollback => "hypercare cut short by the rollback".to_string(),
        },
        Event::OutcomeMeasured(m) => format!(
            "outcome `{}`: {} (target {}) -> {}{}{}",
            m.outcome,
            m.value.map_or_else(|| "no value".into(), number::short),
            m.target,
            m.result.label(),
            if m.result == OutcomeResult::Unmeasured {
                m.measurement
                    .detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            } else {
                String::new()
            },
            if m.early {
                " (measured before it was due)"
            } else {
                ""
            }
        ),
        Event::ActionAdded(a) => format!(
            "action #{} added by {who}: {} (owner {}{}{})",
            a.id,
            crate::text::one_line(&a.text),
            a.owner,
            a.due
                .as_deref()
                .map(|d| format!(", due {d}"))
                .unwrap_or_default(),
            a.suggestion
                .as_deref()
                .map(|s| format!(", from suggestion {s}"))
                .unwrap_or_default()
        ),
        Event::ActionClosed(c) => format!(
            "action #{} closed by {who}{}",
            c.id,
            c.note
                .as_deref()
                .map(|n| format!(": {}", crate::text::one_line(n)))
                .unwrap_or_default()
        ),
        _ => return None,
    })
}

/// `` `a`, `b` `` or "no trigger".
fn watched(triggers: &[String]) -> String {
    if triggers.is_empty() {
        "no trigger".into()
    } else {
        triggers
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A follow-up the run's deviations suggest, until someone adds it as an
/// action item (`cutover action RUN --from KEY --owner NAME`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Suggestion {
    /// `S` and the `seq` of the record it comes from: stable, the journal
    /// only grows.
    pub key: String,
    /// What it comes from: `gate-failed`, `readiness-override`, `waiver`,
    /// `skipped`, `failed-continued`, `trigger-fired`, `rollback`,
    /// `rollback-skipped`, `outcome-missed`.
    pub from: &'static str,
    pub step: Option<String>,
    pub text: String,
    /// Who should own it, when the run knows (an outcome's `owner`).
    pub owner: Option<String>,
    /// The action item that adopted it; `None` while it is only suggested.
    pub adopted_by: Option<u32>,
}

/// The follow-ups a run's deviations suggest, in journal order.
pub fn suggestions(state: &RunState) -> Vec<Suggestion> {
    let mut out: Vec<Suggestion> = state
        .deviations
        .iter()
        .filter_map(|d| {
            let (from, text) =
                deviation_follow_up(state, &d.kind, d.seq, d.step.as_deref(), &d.who)?;
            Some(Suggestion {
                key: format!("S{}", d.seq),
                from,
                step: d.step.clone(),
                text,
                owner: None,
                adopted_by: None,
            })
        })
        .collect();
    out.extend(missed_outcomes(state));
    out.sort_by_key(|s| s.key[1..].parse::<u64>().unwrap_or(0));
    for s in &mut out {
        s.adopted_by = state
            .after
            .actions
            .iter()
            .find(|a| a.suggestion.as_deref() == Some(s.key.as_str()))
            .map(|a| a.id);
    }
    out
}

/// What a deviation suggests doing, if anything: `(from, text)`.
fn deviation_follow_up(
    state: &RunState,
    kind: &str,
    seq: u64,
    step: Option<&str>,
    who: &Who,
) -> Option<(&'static str, String)> {
    let step = step.unwrap_or_default();
    let event = state.entry(seq).map(|e| &e.event);
    Some(match (kind, event) {
        (
            "gate-failed",
            Some(Event::GateFinished {
                gate,
                detail,
                result,
                ..
            }),
        ) => (
            "gate-failed",
            format!(
                "Find out why gate `{step}.{gate}` {}{} and fix the cause (or its target) before the next run",
                crate::event::words(result),
                detail
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
        ),
        (
            "readiness-override",
            Some(Event::Readiness {
                checklist, reason, ..
            }),
        ) => (
            "readiness-override",
            format!(
                "Make checklist `{checklist}` ready: it was overridden by {}{}",
                who.name_or_actor(),
                reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
        ),
        ("waiver", Some(Event::Readiness { checklist, .. })) => (
            "waiver",
            format!("Close the readiness items waived in checklist `{checklist}`"),
        ),
        ("skipped", _) => (
            "skipped",
            format!(
                "Step `{step}` was skipped: make sure its change was made or is not needed, and fix what made it skip"
            ),
        ),
        ("failed-continued", _) => (
            "failed-continued",
            format!(
                "Step `{step}` failed and was let through (`on_failure = \"continue\"`): fix it"
            ),
        ),
        (
            "trigger-fired",
            Some(Event::TriggerFired {
                trigger,
                action,
                value,
                condition,
                ..
            }),
        ) if action != "rollback" => (
            "trigger-fired",
            format!(
                "Find out why trigger `{trigger}` fired (value {} {condition})",
                value.map_or_else(|| "?".into(), number::short)
            ),
        ),
        ("rollback", Some(Event::RollbackStarted { reason, .. })) => (
            "rollback",
            format!("The run rolled back ({reason}): write up the cause and plan the retry"),
        ),
        ("rollback-skipped", _) => (
            "rollback-skipped",
            format!(
                "The rollback of `{step}` was done by hand: fix its rollback so it runs next time"
            ),
        ),
        _ => return None,
    })
}

/// One suggestion per outcome whose last verdict is a miss, from its first
/// missed measurement.
fn missed_outcomes(state: &RunState) -> Vec<Suggestion> {
    let mut out = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for m in &state.after.measured {
        let name = m.measured.outcome.as_str();
        if m.measured.result != OutcomeResult::Missed || names.contains(&name) {
            continue;
        }
        names.push(name);
        let last_missed = state
            .outcome_verdict(name)
            .is_some_and(|v| v.measured.result == OutcomeResult::Missed);
        if !last_missed {
            continue;
        }
        let owner = state.plan.outcome(name).and_then(|o| o.owner.clone());
        out.push(Suggestion {
            key: format!("S{}", m.seq),
            from: "outcome-missed",
            step: None,
            text: format!(
                "Outcome `{name}` missed its target: {} against {} (measured {}); find out why",
                m.measured
                    .value
                    .map_or_else(|| "no value".into(), number::short),
                m.measured.target,
                m.at.raw
            ),
            owner,
            adopted_by: None,
        });
    }
    out
}

/// A due time in words: `2026-11-26T21:00:00.000Z (in 3h 10m)` / `(2h ago)`.
pub fn due_words(due: Ts, now: Ts) -> String {
    if due > now {
        format!(
            "{} (in {})",
            due.rfc3339(),
            duration::precise(due.since(now))
        )
    } else {
        format!(
            "{} ({} ago)",
            due.rfc3339(),
            duration::precise(now.since(due))
        )
    }
}
