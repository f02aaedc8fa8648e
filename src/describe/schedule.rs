//! The schedule's words, for every voice: the schedule records (planned,
//! scheduled, start reached, skipped, window overridden, overrun projected),
//! why a window or freeze refuses a start, and where a run stands against
//! its plan (the ETA line of the terminal and `status`).

use std::fmt::Write as _;

use crate::event::{Event, PlannedSource};
use crate::journal::{Eta, Ts};
use crate::schedule::{Refusal, format_utc};
use crate::text::duration::short;

/// A schedule time as people read it: `2026-12-12T22:00:00Z`.
pub fn time(t: Ts) -> String {
    format_utc(t.ms)
}

/// `` `a` → `b` → `c` ``.
fn chain(steps: &[String]) -> String {
    steps
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(" → ")
}

/// How a schedule record reads, in the terminal and on the report's
/// timeline alike; `None` for other records. `who` names who wrote it.
pub fn record(event: &Event, who: &str) -> Option<String> {
    Some(match event {
        Event::SchedulePlanned(p) => {
            let from = |source| p.steps.iter().filter(|s| s.source == source).count();
            let (expected, rehearsed) = (
                from(PlannedSource::Expected),
                from(PlannedSource::Rehearsal),
            );
            let mut sources = Vec::new();
            if expected > 0 {
                sources.push(format!("{expected} from `expected`"));
            }
            if rehearsed > 0 {
                sources.push(format!("{rehearsed} from rehearsals"));
            }
            format!(
                "planned: {} to the last step's end{} ({})",
                short(p.planned_total_ms),
                if p.critical_path.is_empty() {
                    String::new()
                } else {
                    format!(", along {}", chain(&p.critical_path))
                },
                if sources.is_empty() {
                    "no step has a planned duration".into()
                } else {
                    format!("planned durations: {}", sources.join(", "))
                }
            )
        }
        Event::RunScheduled { at, by } => {
            format!("scheduled to start at {at} (by {by}); nothing runs before")
        }
        Event::StartReached { waited_ms } => {
            format!(
                "scheduled start reached after waiting {}: starting",
                short(*waited_ms)
            )
        }
        Event::StepsSkipped {
            steps,
            from,
            reason,
        } => format!(
            "skipped before the start by {who}{}: {} ({reason})",
            from.as_ref()
                .map(|f| format!(" (`--from {f}`)"))
                .unwrap_or_default(),
            if steps.is_empty() {
                "no step".into()
            } else {
                steps
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        Event::WindowOverride { reason, refused } => format!(
            "change window OVERRIDDEN by {who}: {reason} (it refused the start: {})",
            refused.join("; ")
        ),
        Event::OverrunProjected {
            projected_end,
            window_end,
            over_ms,
        } => format!(
            "OVERRUN projected: the run would end at {projected_end}, {} past the change window's end ({window_end})",
            short(*over_ms)
        ),
        _ => return None,
    })
}

/// Why the window or a freeze refuses a start, as the operator is told.
pub fn refusal(r: &Refusal) -> String {
    let t = |ms: i64| format_utc(ms);
    match r {
        Refusal::StartsInFreeze(p) => format!(
            "it would start in the freeze period {} → {} ({})",
            t(p.start),
            t(p.end),
            p.reason
        ),
        Refusal::RunsIntoFreeze {
            period,
            planned_end,
        } => format!(
            "its planned end {} runs into the freeze period {} → {} ({})",
            t(*planned_end),
            t(period.start),
            t(period.end),
            period.reason
        ),
        Refusal::BeforeWindow { opens } => {
            format!("the change window opens at {}", t(*opens))
        }
        Refusal::AfterWindow { closed } => {
            format!("the change window closed at {}", t(*closed))
        }
        Refusal::Overrun {
            window_end,
            planned_end,
            by_ms,
        } => format!(
            "its planned end {} is {} past the change window's end ({})",
            t(*planned_end),
            short(*by_ms),
            t(*window_end)
        ),
    }
}

/// `3m10s behind`, `2m00s ahead`, `on schedule` (within a second).
pub fn slip(ms: i64) -> String {
    if ms.unsigned_abs() < 1000 {
        "on schedule".into()
    } else if ms > 0 {
        format!("{} behind", short(ms.unsigned_abs()))
    } else {
        format!("{} ahead", short(ms.unsigned_abs()))
    }
}

/// The run against its plan in a line: `12m03s elapsed of 41m00s planned,
/// 3m10s behind; projected end 2026-12-12T22:44:10Z (window ends ...)`.
pub fn eta(e: &Eta) -> String {
    let mut out = format!("{} elapsed", short(e.elapsed_ms));
    if let Some(total) = e.planned_total_ms {
        let _ = write!(out, " of {} planned", short(total));
    }
    if let Some(s) = e.slip_ms {
        let _ = write!(out, ", {}", slip(s));
    }
    match e.projected_end {
        Some(end) => {
            let _ = write!(out, "; projected end {}", time(end));
        }
        None if e.planned_total_ms.is_some() => out.push_str("; no projected end (a step failed)"),
        None => {}
    }
    if let Some(w) = e.window_end {
        let _ = match e.overrun_ms {
            Some(over) => write!(out, " ({} PAST the window's end, {})", short(over), time(w)),
            None => write!(out, " (window ends {})", time(w)),
        };
    }
    out
}

/// A step in flight against its plan: `3m10s of 8m00s planned`, or
/// `9m05s, 1m05s over its 8m00s`.
pub fn step_against_plan(elapsed_ms: u64, planned_ms: Option<u64>) -> String {
    match planned_ms {
        Some(p) if elapsed_ms > p => format!(
            "{}, {} over its {} planned",
            short(elapsed_ms),
            short(elapsed_ms - p),
            short(p)
        ),
        Some(p) => format!("{} of {} planned", short(elapsed_ms), short(p)),
        None => short(elapsed_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slips_read_as_ahead_or_behind() {
        assert_eq!(slip(190_000), "3m10s behind");
        assert_eq!(slip(-120_000), "2m00s ahead");
        assert_eq!(slip(400), "on schedule");
        assert_eq!(
            step_against_plan(545_000, Some(480_000)),
            "9m05s, 1m05s over its 8m00s planned"
        );
        assert_eq!(
            step_against_plan(190_000, Some(480_000)),
            "3m10s of 8m00s planned"
        );
    }

    #[test]
    fn refusals_name_the_period_or_the_overrun() {
        let p = crate::schedule::Period {
            start: 1_797_112_800_000,
            end: 1_797_199_200_000,
            reason: "year-end freeze".into(),
        };
        assert_eq!(
            refusal(&Refusal::StartsInFreeze(p)),
            "it would start in the freeze period 2026-12-12T22:00:00Z → 2026-12-13T22:00:00Z (year-end freeze)"
        );
        assert_eq!(
            refusal(&Refusal::Overrun {
                window_end: 1_797_112_800_000,
                planned_end: 1_797_113_520_000,
                by_ms: 720_000
            }),
            "its planned end 2026-12-12T22:12:00Z is 12m00s past the change window's end (2026-12-12T22:00:00Z)"
        );
    }
}
