//! The war-room view of after the last step: hypercare (time left, what
//! it watches, how it ended) and the outcomes with their due times and
//! verdicts.

use std::fmt::Write as _;

use serde::Serialize;

use super::view::StatusView;
use crate::event::{HypercareEnd, OutcomeResult};
use crate::journal::{Due, RunState, Ts};
use crate::text::{duration, number};

#[derive(Debug, Clone, Serialize)]
pub struct HypercareView {
    pub started_at: String,
    pub until: String,
    pub duration_ms: u64,
    pub triggers: Vec<String>,
    /// While it goes on (built with `now`): how long is left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining_ms: Option<u64>,
    /// `elapsed`, `ended_early` or `rollback`, once over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<HypercareEnd>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// While it goes on in a background process (`--detach-hypercare`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background: Option<BackgroundView>,
}

/// The background process watching the hypercare, as journaled.
#[derive(Debug, Clone, Serialize)]
pub struct BackgroundView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    pub log: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutcomeView {
    pub name: String,
    pub target: String,
    /// `pending`, `met`, `missed`, `unmeasured` (its last try could not
    /// measure) or `void` (the run did not stay: rolled back, dry run).
    pub state: String,
    /// When it is (or is expected to be) due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// Hypercare as far as the journal goes.
pub(super) fn hypercare_view(state: &RunState, now: Option<Ts>) -> Option<HypercareView> {
    let h = state.after.hypercare.as_ref()?;
    let going = state.in_hypercare();
    Some(HypercareView {
        started_at: h.started_at.rfc3339(),
        until: h.until.rfc3339(),
        duration_ms: h.duration_ms,
        triggers: h.triggers.clone(),
        remaining_ms: now
            .filter(|_| going)
            .map(|n| u64::try_from(h.until.ms.saturating_sub(n.ms)).unwrap_or(0)),
        ended: h.ended.as_ref().map(|e| e.reason),
        ended_by: h.ended.as_ref().map(|e| e.who.label()),
        reason: h.ended.as_ref().and_then(|e| e.why.clone()),
        background: state.hypercare_background().map(|d| BackgroundView {
            pid: d.pid,
            log: d.log.clone(),
        }),
    })
}

/// Every planned outcome: its verdict, or when it is due.
pub(super) fn outcome_views(state: &RunState) -> Vec<OutcomeView> {
    state
        .plan
        .runbook
        .outcomes
        .iter()
        .map(|o| {
            let last = state.outcome_last(&o.name);
            let verdict = state.outcome_verdict(&o.name);
            let due = o.at().map_or(Due::NotYet, |at| state.outcome_due(at));
            let label = match (verdict, last, due) {
                (Some(v), _, _) => match v.measured.result {
                    OutcomeResult::Met => "met",
                    _ => "missed",
                },
                (None, _, Due::Void) => "void",
                (None, Some(_), _) => "unmeasured",
                (None, None, _) => "pending",
            };
            OutcomeView {
                name: o.name.clone(),
                target: o.check.condition_text.clone(),
                state: label.into(),
                due_at: due.time().map(Ts::rfc3339),
                value: verdict.and_then(|v| v.measured.value),
                owner: o.owner.clone(),
            }
        })
        .collect()
}

impl StatusView {
    /// `hypercare: 1h 10m left (until ...), watching `a`` or how it ended,
    /// then the outcomes.
    pub(super) fn write_after(&self, out: &mut String) {
        if let Some(h) = &self.hypercare {
            let watching = if h.triggers.is_empty() {
                "no trigger".to_string()
            } else {
                h.triggers
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = match (h.ended, h.remaining_ms) {
                (Some(end), _) => writeln!(
                    out,
                    "\nhypercare\n  {} ({} from {})",
                    match end {
                        HypercareEnd::Elapsed => "over: its time is up".to_string(),
                        HypercareEnd::Rollback => "cut short by the rollback".to_string(),
                        HypercareEnd::EndedEarly => format!(
                            "ended early by {}{}",
                            h.ended_by.as_deref().unwrap_or("?"),
                            h.reason
                                .as_deref()
                                .map(|r| format!(": {r}"))
                                .unwrap_or_default()
                        ),
                    },
                    duration::short(h.duration_ms),
                    h.started_at
                ),
                (None, Some(left)) => writeln!(
                    out,
                    "\nhypercare\n  HYPERCARE: {} left (until {}), watching {watching}",
                    duration::short(left),
                    h.until
                ),
                (None, None) => {
                    writeln!(out, "\nhypercare\n  until {}, watching {watching}", h.until)
                }
            };
            if let Some(b) = &h.background {
                let _ = writeln!(
                    out,
                    "  in the background{}, log {}",
                    b.pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
                    b.log
                );
            }
        }
        if self.outcomes.is_empty() {
            return;
        }
        out.push_str("\noutcomes\n");
        for o in &self.outcomes {
            let _ = writeln!(
                out,
                "  {:<24} {:<10} target {}{}{}",
                o.name,
                o.state,
                o.target,
                o.value
                    .map(|v| format!(", value {}", number::short(v)))
                    .unwrap_or_default(),
                match (&o.due_at, o.state.as_str()) {
                    (Some(d), "pending" | "unmeasured") => format!(", due {d}"),
                    _ => String::new(),
                }
            );
        }
    }
}
