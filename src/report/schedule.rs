//! The report's schedule: the run against its plan, from the fold alone
//! (`journal::RunState`): planned start and total (the forecast the run
//! started with), when the steps began and ended, slip, the change window
//! and whether the run stayed in it, steps skipped, a window override, an
//! overrun projected; per step its planned duration and source, the
//! rehearsal median, the actual span and the slip (`headline` leads with
//! the run-level figures).

use std::fmt::Write as _;

use serde::Serialize;

use super::time::Ts;
use crate::event::PlannedSource;
use crate::journal::RunState;
use crate::text::duration::short;

/// The run against its schedule; absent for a run that had none.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScheduleReport {
    /// A dress rehearsal (`run --rehearsal`).
    pub rehearsal: bool,
    /// The planned start (`run --at`, `[schedule] start`); `null`: none.
    pub planned_start: Option<Ts>,
    /// When the steps began (the scheduled start that came, else the run's start).
    pub began: Option<Ts>,
    /// `began` minus `planned_start`: late when positive.
    pub start_slip_ms: Option<i64>,
    /// The planned total the run started with (`null`: no step had a planned duration).
    pub planned_total_ms: Option<u64>,
    /// The planned start (else `began`) plus the planned total: the
    /// forecast end at the start.
    pub planned_end: Option<Ts>,
    /// When the last step ended (`began` to it is `actual_ms`).
    pub ended: Option<Ts>,
    pub actual_ms: Option<u64>,
    /// `actual_ms` minus `planned_total_ms`: over when positive.
    pub duration_slip_ms: Option<i64>,
    /// `ended` minus `planned_end`: how far off the forecast at the start was.
    pub forecast_error_ms: Option<i64>,
    pub window_start: Option<Ts>,
    pub window_end: Option<Ts>,
    /// The run ended by the window's end (`null`: no window, or not ended).
    pub within_window: Option<bool>,
    /// Finished by its window's end, else by its planned end (`null`: neither known).
    pub on_time: Option<bool>,
    pub skipped: Vec<SkippedReport>,
    pub window_override: Option<OverrideReport>,
    pub overrun_projected: Option<OverrunReport>,
    /// When no cutover process drove the run (paused, then resumed; a crash).
    pub pauses: Vec<PauseReport>,
    pub steps: Vec<StepScheduleReport>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct PauseReport {
    pub from: Ts,
    pub to: Ts,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedReport {
    pub steps: Vec<String>,
    pub from: Option<String>,
    pub reason: String,
    pub by: String,
    pub at: Ts,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverrideReport {
    pub reason: String,
    /// What the window or the freeze periods refused, in words.
    pub refused: Vec<String>,
    pub by: String,
    pub at: Ts,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverrunReport {
    pub at: Ts,
    pub projected_end: Ts,
    pub window_end: Ts,
    pub over_ms: u64,
}

/// One step against its plan.
#[derive(Debug, Clone, Serialize)]
pub struct StepScheduleReport {
    pub step: String,
    pub planned_ms: Option<u64>,
    /// Where the plan put its start, from when the steps began.
    pub planned_offset_ms: Option<u64>,
    /// `expected`, `rehearsal` or `none`.
    pub planned_source: PlannedSource,
    pub rehearsal_median_ms: Option<u64>,
    pub rehearsals: u32,
    /// From its first state to its end, less the time no process drove the
    /// run (`null`: skipped, or not over).
    pub actual_ms: Option<u64>,
    /// `actual_ms` minus `planned_ms`: over when positive.
    pub slip_ms: Option<i64>,
    pub skipped: bool,
}

pub(super) fn signed(a: u64, b: u64) -> i64 {
    i64::try_from(a).unwrap_or(i64::MAX) - i64::try_from(b).unwrap_or(i64::MAX)
}

/// The schedule part of the report of `state`, whose last record is at
/// `ended`; `None` for a run without a planned schedule, a start, a
/// window or skips (an older journal, a runbook without a schedule).
pub(super) fn build(
    state: &RunState,
    ended: Option<Ts>,
    in_progress: bool,
) -> Option<ScheduleReport> {
    let s = &state.schedule;
    let window = state.plan.schedule.window_ms();
    let has = s.planned.is_some()
        || s.scheduled.is_some()
        || window.is_some()
        || !s.skipped.is_empty()
        || s.window_override.is_some();
    if !has {
        return None;
    }
    let began = state.steps_began();
    let planned_start = state.planned_start();
    let planned_total_ms = s
        .planned
        .as_ref()
        .filter(|p| p.steps.iter().any(|st| st.planned_ms.is_some()))
        .map(|p| p.planned_total_ms);
    let planned_end = planned_total_ms
        .zip(planned_start.or(began))
        .map(|(t, from)| Ts {
            ms: from.ms + i64::try_from(t).unwrap_or(0),
        });
    let ended = ended.filter(|_| !in_progress && !s.waiting());
    let actual_ms = began.zip(ended).map(|(b, e)| e.since(b));
    let window_end = window.map(|(_, e)| Ts { ms: e });
    let within_window = window_end.zip(ended).map(|(w, e)| e <= w);
    Some(ScheduleReport {
        rehearsal: s.rehearsal,
        planned_start,
        began,
        start_slip_ms: began.zip(planned_start).map(|(b, p)| b.ms - p.ms),
        planned_total_ms,
        planned_end,
        ended,
        actual_ms,
        duration_slip_ms: actual_ms.zip(planned_total_ms).map(|(a, p)| signed(a, p)),
        forecast_error_ms: ended.zip(planned_end).map(|(e, p)| e.ms - p.ms),
        window_start: window.map(|(st, _)| Ts { ms: st }),
        window_end,
        within_window,
        on_time: within_window.or_else(|| ended.zip(planned_end).map(|(e, p)| e <= p)),
        skipped: s
            .skipped
            .iter()
            .map(|k| SkippedReport {
                steps: k.steps.clone(),
                from: k.from.clone(),
                reason: k.reason.clone(),
                by: k.who.label(),
                at: k.at,
            })
            .collect(),
        window_override: s.window_override.as_ref().map(|o| OverrideReport {
            reason: o.reason.clone(),
            refused: o.refused.clone(),
            by: o.who.label(),
            at: o.at,
        }),
        overrun_projected: s.overrun.as_ref().map(|o| OverrunReport {
            at: o.at,
            projected_end: o.projected_end,
            window_end: o.window_end,
            over_ms: o.over_ms,
        }),
        pauses: state
            .down
            .iter()
            .map(|&(from, to)| PauseReport { from, to })
            .collect(),
        steps: steps(state),
    })
}

fn steps(state: &RunState) -> Vec<StepScheduleReport> {
    let planned = state.schedule.planned.as_ref();
    state
        .plan
        .step_ids()
        .map(|id| {
            let p = planned.and_then(|p| p.steps.iter().find(|s| s.step == id));
            let planned_ms = state.planned_ms(id);
            let actual_ms = state.schedule_span(id);
            StepScheduleReport {
                step: id.to_string(),
                planned_ms,
                planned_offset_ms: p.map(|p| p.start_ms),
                planned_source: p.map_or(
                    if planned_ms.is_some() {
                        PlannedSource::Expected
                    } else {
                        PlannedSource::None
                    },
                    |p| p.source,
                ),
                rehearsal_median_ms: p.and_then(|p| p.rehearsal_median_ms),
                rehearsals: p.map_or(0, |p| p.rehearsals),
                actual_ms,
                slip_ms: actual_ms.zip(planned_ms).map(|(a, p)| signed(a, p)),
                skipped: state
                    .steps
                    .get(id)
                    .is_some_and(|r| r.state == crate::event::StepState::Skipped),
            }
        })
        .collect()
}

/// `+3m10s` / `-2m00s` / `±0`.
pub fn signed_short(ms: i64) -> String {
    if ms.unsigned_abs() < 1000 {
        "±0".into()
    } else if ms > 0 {
        format!("+{}", short(ms.unsigned_abs()))
    } else {
        format!("-{}", short(ms.unsigned_abs()))
    }
}

/// The per-step table: header and rows of plain text.
pub fn table(s: &ScheduleReport) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let head = vec![
        "Step",
        "Planned",
        "Source",
        "Rehearsal (median, n)",
        "Actual",
        "Slip",
    ];
    let rows = s
        .steps
        .iter()
        .map(|st| {
            vec![
                st.step.clone(),
                st.planned_ms.map_or("—".into(), short),
                st.planned_source.label().to_string(),
                st.rehearsal_median_ms.map_or("—".into(), |m| {
                    format!("{}, n={}", short(m), st.rehearsals)
                }),
                if st.skipped {
                    "skipped".into()
                } else {
                    st.actual_ms.map_or("—".into(), short)
                },
                st.slip_ms.map_or(String::new(), signed_short),
            ]
        })
        .collect();
    (head, rows)
}

/// The schedule table in Markdown (nothing for a
/// run without a schedule).
pub fn markdown(o: &mut String, r: &super::Report) {
    use crate::text::markdown::cell;
    let Some(s) = &r.schedule else { return };
    o.push_str("## Schedule\n\n");
    let (head, rows) = table(s);
    let _ = write!(
        o,
        "| {} |\n|{}\n",
        head.join(" | "),
        "---|".repeat(head.len())
    );
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    o.push('\n');
}

/// The schedule table in HTML.
pub fn html(o: &mut String, r: &super::Report) {
    use super::escape::html as esc;
    let Some(s) = &r.schedule else { return };
    o.push_str("<section><h2 id=\"schedule\">Schedule</h2><table><thead><tr>");
    let (head, rows) = table(s);
    for h in head {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>");
    for row in rows {
        o.push_str("<tr>");
        for c in row {
            let _ = write!(o, "<td>{}</td>", esc(&c));
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slips_read_with_their_sign() {
        assert_eq!(signed_short(120_000), "+2m00s");
        assert_eq!(signed_short(-61_000), "-1m01s");
        assert_eq!(signed_short(400), "±0");
    }
}
