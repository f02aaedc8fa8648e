//! The schedule a plan forecasts, for `cutover plan` (text and JSON) and
//! `cutover run` (journaled as `schedule_planned`): each step's planned
//! duration from its `expected` or its rehearsals under `.cutover/runs`,
//! its planned start and end, the planned total; and the plan's window and
//! freezes, in words.

use std::fmt::Write as _;
use std::path::Path;

use crate::event::SchedulePlanned;
use crate::journal::{RUNS_DIR, StepPlan, forecast as project, rehearsals};
use crate::plan::Plan;
use crate::text::duration::short;

/// The planned schedule of `plan`, planned to start at `start` (RFC 3339;
/// the plan's `[schedule] start` when `None`), the `skipped` steps taking
/// no time.
pub(crate) fn forecast(plan: &Plan, start: Option<String>, skipped: &[String]) -> SchedulePlanned {
    let history = rehearsals(Path::new(RUNS_DIR), &plan.runbook.name);
    let steps: Vec<StepPlan<'_>> = plan
        .runbook
        .steps
        .iter()
        .map(|s| StepPlan {
            id: &s.id,
            needs: &s.needs,
            expected: s.expected,
            skipped: skipped.contains(&s.id),
        })
        .collect();
    project(
        &steps,
        plan.runbook.max_parallel,
        &history,
        start.or_else(|| plan.schedule.start.clone()),
    )
}

/// `+1:02:03`: an offset from the run's start.
fn offset(ms: u64) -> String {
    let s = ms / 1000;
    format!("+{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// The plan's schedule for people: window, freezes, planned start and
/// total, and each step's planned duration (with its source) and offsets.
/// Empty when the plan has no schedule and no step a planned duration.
pub(crate) fn text(plan: &Plan, f: &SchedulePlanned, skipped: &[String]) -> String {
    let planned = f.steps.iter().any(|s| s.planned_ms.is_some());
    let sch = &plan.schedule;
    if !planned && sch.is_empty() && skipped.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nschedule\n");
    if let Some(start) = &f.planned_start {
        let _ = writeln!(out, "  planned start  {start}");
    }
    if let Some(w) = &sch.window {
        let _ = writeln!(out, "  change window  {} → {}", w.start, w.end);
    }
    for p in &sch.freeze {
        let _ = writeln!(
            out,
            "  freeze         {} → {}: {}{}",
            p.start,
            p.end,
            p.reason,
            p.file
                .as_ref()
                .map(|file| format!(" (from {file})"))
                .unwrap_or_default()
        );
    }
    if !planned && skipped.is_empty() {
        let _ = writeln!(
            out,
            "  planned total  — (no step has `expected`, and no rehearsal of `{}` ran)",
            plan.runbook.name
        );
        return out;
    }
    let _ = writeln!(
        out,
        "  planned total  {}{}",
        short(f.planned_total_ms),
        if f.critical_path.is_empty() {
            String::new()
        } else {
            format!(", along {}", f.critical_path.join(" → "))
        }
    );
    let width = f
        .steps
        .iter()
        .map(|s| s.step.len())
        .max()
        .unwrap_or(4)
        .max(4);
    for s in &f.steps {
        let what = match (s.planned_ms, s.source) {
            _ if skipped.contains(&s.step) => "skipped (`--skip`/`--from`)".into(),
            (Some(ms), source) => {
                format!("{} ({})", short(ms), planned_source(source, s.rehearsals))
            }
            (None, _) => "— (no `expected`, no rehearsal)".into(),
        };
        let _ = writeln!(
            out,
            "  {:<width$}  {:<34} {} → {}{}",
            s.step,
            what,
            offset(s.start_ms),
            offset(s.end_ms),
            if f.critical_path.contains(&s.step) {
                "  critical path"
            } else {
                ""
            }
        );
    }
    out
}

/// `expected`, `median of 3 rehearsals`.
fn planned_source(source: crate::event::PlannedSource, rehearsals: u32) -> String {
    match source {
        crate::event::PlannedSource::Rehearsal => format!(
            "median of {rehearsals} rehearsal{}",
            if rehearsals == 1 { "" } else { "s" }
        ),
        other => other.label().to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn offsets_read_as_hours_minutes_seconds() {
        assert_eq!(super::offset(0), "+0:00:00");
        assert_eq!(super::offset(3_723_000), "+1:02:03");
    }
}
