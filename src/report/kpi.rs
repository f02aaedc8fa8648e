//! Honest KPIs for `cutover report --summary`: which runs count toward the
//! change failure rate (real, not rehearsals, in a production env, or in
//! the envs `--env` names; the rest listed apart with why), the filters
//! (`--env`, `--runbook`, `--since`, `--until`), the action-item closure
//! rate and the `--by month` trend, each figure naming its runs.

use serde::Serialize;

use super::summary::{RunRow, Summary};
use super::time::Ts;

/// Which runs a summary is over, and how it is laid out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SummaryOptions {
    /// Only runs in these envs (`default` names runs without `--env`);
    /// their real runs count toward the change failure rate even when the
    /// env is not a production one.
    pub env: Vec<String>,
    pub runbook: Vec<String>,
    pub since: Option<Ts>,
    pub until: Option<Ts>,
    /// `--by month`: a trend table.
    pub by_month: bool,
}

impl SummaryOptions {
    /// Whether run `r` is in the summary at all.
    pub fn keeps(&self, r: &RunRow) -> bool {
        let env = r.env.as_deref().unwrap_or("default");
        (self.env.is_empty() || self.env.iter().any(|e| e == env))
            && (self.runbook.is_empty() || self.runbook.contains(&r.runbook))
            && self.since.is_none_or(|s| r.started.is_some_and(|t| t >= s))
            && self.until.is_none_or(|u| r.started.is_some_and(|t| t < u))
    }

    /// Why run `r` does not count toward the change failure rate; `None`
    /// when it does.
    pub fn not_counted(&self, r: &RunRow) -> Option<&'static str> {
        if r.dry_run {
            Some("dry run")
        } else if r.rehearsal {
            Some("rehearsal")
        } else if !r.production && self.env.is_empty() {
            Some("not a production env (`--env` counts it)")
        } else if !r.finished {
            Some("not finished")
        } else {
            None
        }
    }
}

/// A run left out of the change failure rate, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotCounted {
    pub run_id: String,
    pub why: &'static str,
}

/// One month of the trend (`--by month`).
#[derive(Debug, Clone, Serialize)]
pub struct MonthRow {
    /// `2026-11`.
    pub month: String,
    /// The runs counted that month, and those that failed.
    pub counted_runs: Vec<String>,
    pub failed_runs: Vec<String>,
    pub change_failure_rate: Option<f64>,
    pub mean_ttm_ms: Option<u64>,
}

/// The honest figures of `s` (its runs already filtered by `opts`).
pub fn apply(s: &mut Summary, opts: &SummaryOptions) {
    let mut counted = Vec::new();
    let mut failed = Vec::new();
    let mut apart = Vec::new();
    for r in &s.runs {
        if let Some(why) = opts.not_counted(r) {
            apart.push(NotCounted {
                run_id: r.run_id.clone(),
                why,
            });
            continue;
        }
        counted.push(r.run_id.clone());
        if r.failed_change {
            failed.push(r.run_id.clone());
        }
    }
    s.failed_changes = failed.len() as u32;
    s.change_failure_rate = rate(failed.len(), counted.len());
    s.counted_runs = counted;
    s.failed_change_runs = failed;
    s.not_counted = apart;
    s.rehearsals = s.runs.iter().filter(|r| r.rehearsal).count() as u32;
    let due: u32 = s.runs.iter().map(|r| r.actions_due).sum();
    let on_time: u32 = s.runs.iter().map(|r| r.actions_closed_on_time).sum();
    s.action_items_due = due;
    s.action_items_closed_on_time = on_time;
    s.action_closure_rate = (due > 0).then(|| f64::from(on_time) / f64::from(due));
    s.action_item_runs = s
        .runs
        .iter()
        .filter(|r| r.actions_due > 0)
        .map(|r| r.run_id.clone())
        .collect();
    if opts.by_month {
        s.by_month = Some(by_month(s));
    }
    s.filters = opts.clone();
}

fn rate(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

/// `2026-11` of a time.
fn month(t: Ts) -> String {
    t.rfc3339().get(..7).unwrap_or_default().to_string()
}

fn by_month(s: &Summary) -> Vec<MonthRow> {
    let mut months: std::collections::BTreeMap<String, MonthRow> =
        std::collections::BTreeMap::new();
    for r in &s.runs {
        if !s.counted_runs.contains(&r.run_id) {
            continue;
        }
        let Some(started) = r.started else { continue };
        let m = months.entry(month(started)).or_insert_with(|| MonthRow {
            month: month(started),
            counted_runs: Vec::new(),
            failed_runs: Vec::new(),
            change_failure_rate: None,
            mean_ttm_ms: None,
        });
        m.counted_runs.push(r.run_id.clone());
        if r.failed_change {
            m.failed_runs.push(r.run_id.clone());
        }
    }
    months
        .into_values()
        .map(|mut m| {
            m.change_failure_rate = rate(m.failed_runs.len(), m.counted_runs.len());
            let ttm: Vec<u64> = s
                .runs
                .iter()
                .filter(|r| m.counted_runs.contains(&r.run_id))
                .filter_map(|r| r.ttm_ms)
                .collect();
            m.mean_ttm_ms = (!ttm.is_empty()).then(|| ttm.iter().sum::<u64>() / ttm.len() as u64);
            m
        })
        .collect()
}

/// The Markdown of what `kpi` adds: the runs not counted, the trend.
pub fn markdown_extra(o: &mut String, s: &Summary) {
    use std::fmt::Write as _;
    if !s.not_counted.is_empty() {
        let _ = writeln!(
            o,
            "\n## Not counted in the change failure rate\n\n| run | why |\n|---|---|"
        );
        for n in &s.not_counted {
            let _ = writeln!(
                o,
                "| `{}` | {} |",
                crate::text::markdown::cell(&n.run_id),
                n.why
            );
        }
    }
    if let Some(months) = &s.by_month {
        let _ = writeln!(
            o,
            "\n## By month\n\n| month | counted runs | failed | change failure rate | mean TTM |\n|---|---|---|---|---|"
        );
        for m in months {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                m.month,
                m.counted_runs.len(),
                m.failed_runs.len(),
                m.change_failure_rate
                    .map_or_else(|| "n/a".into(), |v| format!("{:.1}%", v * 100.0)),
                m.mean_ttm_ms
                    .map_or_else(|| "n/a".into(), crate::text::duration::precise)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_utc_year_and_month() {
        assert_eq!(month(Ts::parse("2026-11-30T23:59:59Z").unwrap()), "2026-11");
    }
}
