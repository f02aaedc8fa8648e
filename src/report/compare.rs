//! `cutover report RUN --compare OTHER`: two runs of a runbook side by side
//! (live against its last rehearsal, say): per step the durations, the
//! outcome and the delta, both runs' deviations, and one summary line
//! ("`live` took 41m00s vs 35m00s in `rehearsal-3`; `migrate-ledger` +6m00s").

use std::fmt::Write as _;

use serde::Serialize;

use super::Report;
use super::schedule::signed_short;
use crate::text::duration::short;

/// The comparison of a report with another run.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The other run.
    pub other_run_id: String,
    pub other_rehearsal: bool,
    pub other_outcome: String,
    pub duration_ms: Option<u64>,
    pub other_duration_ms: Option<u64>,
    /// This run's duration minus the other's: longer when positive.
    pub delta_ms: Option<i64>,
    pub deviations: usize,
    pub other_deviations: usize,
    /// Every step of either run, this run's order first.
    pub steps: Vec<StepComparison>,
    /// The whole comparison in one line.
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepComparison {
    pub step: String,
    pub state: Option<String>,
    pub other_state: Option<String>,
    pub duration_ms: Option<u64>,
    pub other_duration_ms: Option<u64>,
    pub delta_ms: Option<i64>,
}

fn delta(a: Option<u64>, b: Option<u64>) -> Option<i64> {
    let (a, b) = (a?, b?);
    Some(i64::try_from(a).ok()? - i64::try_from(b).ok()?)
}

/// A run's duration for the comparison: its steps' span on the schedule,
/// else start to end.
fn run_ms(r: &Report) -> Option<u64> {
    r.schedule
        .as_ref()
        .and_then(|s| s.actual_ms)
        .or(r.duration_ms)
}

/// `r` against `other`.
pub fn compare(r: &Report, other: &Report) -> Comparison {
    let mut ids: Vec<&String> = r.steps.keys().collect();
    ids.extend(other.steps.keys().filter(|k| !r.steps.contains_key(*k)));
    let steps: Vec<StepComparison> = ids
        .into_iter()
        .map(|id| {
            let a = r.steps.get(id);
            let b = other.steps.get(id);
            let duration_ms = a.and_then(|s| s.duration_ms);
            let other_duration_ms = b.and_then(|s| s.duration_ms);
            StepComparison {
                step: id.clone(),
                state: a.map(|s| s.state.clone()),
                other_state: b.map(|s| s.state.clone()),
                duration_ms,
                other_duration_ms,
                delta_ms: delta(duration_ms, other_duration_ms),
            }
        })
        .collect();
    let (duration_ms, other_duration_ms) = (run_ms(r), run_ms(other));
    let other_rehearsal = other.schedule.as_ref().is_some_and(|s| s.rehearsal);
    let mut c = Comparison {
        other_run_id: other.run_id.clone(),
        other_rehearsal,
        other_outcome: other.outcome_label.clone(),
        duration_ms,
        other_duration_ms,
        delta_ms: delta(duration_ms, other_duration_ms),
        deviations: r.deviations.len(),
        other_deviations: other.deviations.len(),
        steps,
        summary: String::new(),
    };
    c.summary = summary_line(&r.run_id, &c);
    c
}

/// "`live` took 41m00s vs 35m00s in rehearsal `r3`; `migrate-ledger` +6m00s".
fn summary_line(run_id: &str, c: &Comparison) -> String {
    let ms = |d: Option<u64>| d.map_or_else(|| "—".to_string(), short);
    let mut line = format!(
        "`{run_id}` took {} vs {} in {}`{}`",
        ms(c.duration_ms),
        ms(c.other_duration_ms),
        if c.other_rehearsal { "rehearsal " } else { "" },
        c.other_run_id
    );
    let worst = c
        .steps
        .iter()
        .filter_map(|s| s.delta_ms.map(|d| (s, d)))
        .filter(|(_, d)| d.unsigned_abs() >= 1000)
        .max_by_key(|(_, d)| d.unsigned_abs());
    if let Some((s, d)) = worst {
        let _ = write!(line, "; `{}` {}", s.step, signed_short(d));
    }
    line
}

fn rows(c: &Comparison) -> Vec<Vec<String>> {
    let ms = |d: Option<u64>| d.map_or_else(|| "—".to_string(), short);
    c.steps
        .iter()
        .map(|s| {
            vec![
                s.step.clone(),
                format!(
                    "{} ({})",
                    ms(s.duration_ms),
                    s.state.as_deref().unwrap_or("not in this run")
                ),
                format!(
                    "{} ({})",
                    ms(s.other_duration_ms),
                    s.other_state.as_deref().unwrap_or("not in that run")
                ),
                s.delta_ms.map(signed_short).unwrap_or_default(),
            ]
        })
        .collect()
}

fn head(c: &Comparison) -> [String; 4] {
    [
        "Step".into(),
        "This run".into(),
        format!("`{}`", c.other_run_id),
        "Delta".into(),
    ]
}

fn deviations_line(c: &Comparison) -> String {
    format!(
        "Deviations: {} in this run, {} in `{}`; outcome there: {}.",
        c.deviations, c.other_deviations, c.other_run_id, c.other_outcome
    )
}

/// The comparison section in Markdown (nothing without `--compare`).
pub fn markdown(o: &mut String, r: &Report) {
    use crate::text::markdown::{cell, line};
    let Some(c) = &r.compare else { return };
    let _ = write!(o, "## Compared with `{}`\n\n", c.other_run_id);
    let _ = write!(o, "{}\n\n{}\n\n", c.summary, line(&deviations_line(c)));
    let head = head(c);
    let _ = writeln!(o, "| {} |\n|{}", head.join(" | "), "---|".repeat(4));
    for row in rows(c) {
        let cells: Vec<String> = row.iter().map(|t| cell(t)).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    o.push('\n');
}

/// The comparison section in HTML.
pub fn html(o: &mut String, r: &Report) {
    use super::escape::html as esc;
    let Some(c) = &r.compare else { return };
    let _ = write!(
        o,
        "<section><h2 id=\"compare\">Compared with {}</h2><p>{}</p><p>{}</p><table><thead><tr>",
        esc(&c.other_run_id),
        esc(&c.summary),
        esc(&deviations_line(c))
    );
    for h in head(c) {
        let _ = write!(o, "<th>{}</th>", esc(&h));
    }
    o.push_str("</tr></thead><tbody>");
    for row in rows(c) {
        o.push_str("<tr>");
        for t in row {
            let _ = write!(o, "<td>{}</td>", esc(&t));
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></section>");
}

#[cfg(test)]
mod tests {
    use super::super::model::StepReport;
    use super::*;

    fn report(id: &str, steps: &[(&str, u64)], total: u64) -> Report {
        let mut r = Report {
            run_id: id.into(),
            duration_ms: Some(total),
            outcome_label: "completed".into(),
            ..Report::default()
        };
        for (step, ms) in steps {
            r.steps.insert(
                (*step).into(),
                StepReport {
                    id: (*step).into(),
                    state: "done".into(),
                    duration_ms: Some(*ms),
                    ..StepReport::default()
                },
            );
        }
        r
    }

    #[test]
    fn the_summary_names_the_step_that_moved_most() {
        let live = report(
            "live",
            &[("a", 60_000), ("migrate-ledger", 960_000)],
            2_460_000,
        );
        let rehearsal = report(
            "r3",
            &[("a", 65_000), ("migrate-ledger", 600_000), ("extra", 1)],
            2_100_000,
        );
        let c = compare(&live, &rehearsal);
        assert_eq!(
            c.summary,
            "`live` took 41m00s vs 35m00s in `r3`; `migrate-ledger` +6m00s"
        );
        assert_eq!(c.delta_ms, Some(360_000));
        let ids: Vec<&str> = c.steps.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(ids, ["a", "migrate-ledger", "extra"]);
        assert_eq!(c.steps[0].delta_ms, Some(-5_000));
        assert_eq!(c.steps[2].state, None);
    }
}
