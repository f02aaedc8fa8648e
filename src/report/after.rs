//! The report's after-the-last-step parts: hypercare, outcomes vs targets,
//! action items and the follow-ups the run's deviations suggest (model,
//! built from the fold, and the words of their tables).

use serde::Serialize;

use super::model::Report;
use super::view::{Cell, Span, Table, Tone, text};
use crate::describe::Suggestion;
use crate::event::{HypercareEnd, OutcomeResult};
use crate::journal::{Due, RunState, Ts};
use crate::text::number;

/// Hypercare as it went.
#[derive(Debug, Clone, Serialize)]
pub struct HypercareReport {
    pub started: Ts,
    pub duration_ms: u64,
    pub triggers: Vec<String>,
    pub ended: Option<Ts>,
    pub ended_how: Option<HypercareEnd>,
    pub ended_by: Option<String>,
    pub reason: Option<String>,
}

/// An outcome against its target: its last verdict, or when it is due.
#[derive(Debug, Clone, Serialize)]
pub struct OutcomeRow {
    pub name: String,
    pub target: String,
    pub owner: Option<String>,
    /// `met`, `missed`, `unmeasured`, `pending` or `void`.
    pub result: String,
    pub value: Option<f64>,
    pub measured_at: Option<Ts>,
    pub measured_by: Option<String>,
    pub due: Option<Ts>,
    pub early: bool,
}

/// An action item added with `cutover action`.
#[derive(Debug, Clone, Serialize)]
pub struct ActionRow {
    pub id: u32,
    pub text: String,
    pub owner: String,
    pub due: Option<String>,
    pub added_at: Ts,
    pub added_by: String,
    pub closed_at: Option<Ts>,
    pub closed_by: Option<String>,
    pub note: Option<String>,
    /// Closed by its due date (`None`: no due date).
    pub closed_on_time: Option<bool>,
    /// The last moment it counts as closed on time.
    pub due_by: Option<Ts>,
    pub suggestion: Option<String>,
}

/// The after-the-last-step parts of report `r`.
pub(super) fn fill(r: &mut Report, state: &RunState) {
    r.rehearsal = state.is_rehearsal();
    r.hypercare = hypercare(state);
    r.outcomes = outcomes(state);
    r.action_items = actions(state);
    r.suggested_follow_ups = crate::describe::suggestions(state);
}

fn hypercare(state: &RunState) -> Option<HypercareReport> {
    let h = state.after.hypercare.as_ref()?;
    Some(HypercareReport {
        started: h.started_at,
        duration_ms: h.duration_ms,
        triggers: h.triggers.clone(),
        ended: h.ended.as_ref().map(|e| e.at),
        ended_how: h.ended.as_ref().map(|e| e.reason),
        ended_by: h.ended.as_ref().map(|e| e.who.label()),
        reason: h.ended.as_ref().and_then(|e| e.why.clone()),
    })
}

fn outcomes(state: &RunState) -> Vec<OutcomeRow> {
    state
        .plan
        .runbook
        .outcomes
        .iter()
        .map(|o| {
            let verdict = state.outcome_verdict(&o.name);
            let last = state.outcome_last(&o.name);
            let due = o.at().map_or(Due::NotYet, |at| state.outcome_due(at));
            let shown = verdict.or(last);
            let result = match (shown.map(|m| m.measured.result), due) {
                (Some(r), _) => match r {
                    OutcomeResult::Met => "met",
                    OutcomeResult::Missed => "missed",
                    OutcomeResult::Unmeasured => "unmeasured",
                },
                (None, Due::Void) => "void",
                (None, _) => "pending",
            };
            OutcomeRow {
                name: o.name.clone(),
                target: o.check.condition_text.clone(),
                owner: o.owner.clone(),
                result: result.into(),
                value: shown.and_then(|m| m.measured.value),
                measured_at: shown.map(|m| m.at.ts),
                measured_by: shown.map(|m| m.who.label()),
                due: due.time(),
                early: shown.is_some_and(|m| m.measured.early),
            }
        })
        .collect()
}

fn actions(state: &RunState) -> Vec<ActionRow> {
    state
        .after
        .actions
        .iter()
        .map(|a| ActionRow {
            id: a.id,
            text: a.text.clone(),
            owner: a.owner.clone(),
            due: a.due.clone(),
            added_at: a.at,
            added_by: a.who.label(),
            closed_at: a.closed.as_ref().map(|c| c.at),
            closed_by: a.closed.as_ref().map(|c| c.who.label()),
            note: a.closed.as_ref().and_then(|c| c.note.clone()),
            closed_on_time: a.closed_on_time(),
            due_by: a.due_by,
            suggestion: a.suggestion.clone(),
        })
        .collect()
}

/// `(due, closed on time)`: action items whose due date passed (or that
/// are closed, with a due date), and those closed by it.
pub fn actions_due(r: &Report) -> (u32, u32) {
    let now = Ts::from_system(crate::journal::Clock::from_env().now());
    let due = r
        .action_items
        .iter()
        .filter(|a| a.due_by.is_some_and(|d| a.closed_at.is_some() || d < now));
    let (mut n, mut on_time) = (0, 0);
    for a in due {
        n += 1;
        if a.closed_on_time == Some(true) {
            on_time += 1;
        }
    }
    (n, on_time)
}

/// The summary's line: `1 of 2 met (1 missed)`; `None` without outcomes.
pub fn outcomes_headline(r: &Report) -> Option<String> {
    if r.outcomes.is_empty() {
        return None;
    }
    let count = |what: &str| r.outcomes.iter().filter(|o| o.result == what).count();
    let mut rest = Vec::new();
    for (what, label) in [
        ("missed", "missed"),
        ("unmeasured", "could not be measured"),
        ("pending", "pending"),
        ("void", "not measured (the change did not stay)"),
    ] {
        let n = count(what);
        if n > 0 {
            rest.push(format!("{n} {label}"));
        }
    }
    Some(format!(
        "{} of {} met{}",
        count("met"),
        r.outcomes.len(),
        if rest.is_empty() {
            String::new()
        } else {
            format!(" ({})", rest.join(", "))
        }
    ))
}

/// The table of outcomes vs targets.
pub fn outcomes_table(r: &Report) -> Table {
    Table {
        head: &["outcome", "target", "value", "result", "when", "owner"],
        rows: r
            .outcomes
            .iter()
            .map(|o| {
                let tone = match o.result.as_str() {
                    "met" => Tone::Ok,
                    "missed" => Tone::Bad,
                    "unmeasured" => Tone::Warn,
                    _ => Tone::Muted,
                };
                let when = match (o.measured_at, o.due) {
                    (Some(at), _) => format!(
                        "{}{}",
                        at.rfc3339(),
                        if o.early { " (before due)" } else { "" }
                    ),
                    (None, Some(due)) => format!("due {}", due.rfc3339()),
                    (None, None) => "—".into(),
                };
                vec![
                    vec![Span::Id(o.name.clone())],
                    vec![Span::Code(o.target.clone())],
                    vec![Span::Value(
                        o.value.map_or_else(|| "—".into(), number::short),
                    )],
                    vec![Span::Tone(tone, o.result.clone())],
                    vec![text(when)],
                    vec![text(o.owner.clone().unwrap_or_else(|| "—".into()))],
                ]
            })
            .collect(),
    }
}

/// Action items, then the suggested follow-ups no item adopted; `None`
/// when there are neither (the renderers show a table to fill in).
pub fn actions_table(r: &Report) -> Option<Table> {
    let open: Vec<&Suggestion> = r
        .suggested_follow_ups
        .iter()
        .filter(|s| s.adopted_by.is_none())
        .collect();
    if r.action_items.is_empty() && open.is_empty() {
        return None;
    }
    let mut rows: Vec<Vec<Cell>> = r
        .action_items
        .iter()
        .map(|a| {
            let status = match (&a.closed_at, a.closed_on_time) {
                (Some(at), Some(false)) => {
                    vec![Span::Tone(
                        Tone::Warn,
                        format!("closed late {}", at.rfc3339()),
                    )]
                }
                (Some(at), _) => vec![Span::Tone(Tone::Ok, format!("closed {}", at.rfc3339()))],
                (None, _) => vec![Span::Tone(Tone::Bad, "open".into())],
            };
            vec![
                vec![text(format!("#{}", a.id))],
                vec![text(a.text.clone())],
                vec![text(a.owner.clone())],
                vec![text(a.due.clone().unwrap_or_else(|| "—".into()))],
                status,
            ]
        })
        .collect();
    rows.extend(open.into_iter().map(|s| {
        vec![
            vec![text(s.key.clone())],
            vec![text(s.text.clone())],
            vec![text(s.owner.clone().unwrap_or_else(|| "—".into()))],
            vec![text("—")],
            vec![Span::Tone(Tone::Muted, "suggested".into())],
        ]
    }));
    Some(Table {
        head: &["#", "action", "owner", "due", "status"],
        rows,
    })
}
