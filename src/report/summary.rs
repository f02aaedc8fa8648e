//! `cutover report --summary RUNS_DIR`: program KPIs over many runs, each
//! read from its journal (streamed, one at a time) and reduced to a `RunRow`;
//! `summarize` is plain code over those rows.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::ReportError;
use super::escape::html as esc_html;
use super::model::Report;
use super::time::Ts;
use crate::event::Outcome;
use crate::text::duration;
use crate::text::markdown::cell as esc_md;

/// One run, as the KPIs need it.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub run_id: String,
    pub journal: String,
    pub runbook: String,
    pub started: Option<Ts>,
    pub dry_run: bool,
    /// `--env` of the run (`None`: the default).
    pub env: Option<String>,
    /// Its env is a production one.
    pub production: bool,
    pub rehearsal: bool,
    /// Action items whose due date passed or that are closed.
    pub actions_due: u32,
    /// Of those, closed by their due date.
    pub actions_closed_on_time: u32,
    /// `completed`, `rolled back`, ... or `in progress`.
    pub outcome: String,
    /// Rolled back, rollback failed, or failed: a change failure.
    pub failed_change: bool,
    /// Finished with an outcome other than paused.
    pub finished: bool,
    pub readiness_checks: u32,
    pub readiness_passed: u32,
    pub ttd_ms: Option<u64>,
    pub ttm_ms: Option<u64>,
    /// Real runs: dry runs of the same runbook since its previous real run.
    pub dry_runs_before: Option<u32>,
    /// Finished within its window, else by its planned end (`null`: neither known).
    pub on_time: Option<bool>,
    /// Its actual end minus the end forecast at its start.
    pub forecast_error_ms: Option<i64>,
    /// The planned total it started with.
    pub planned_total_ms: Option<u64>,
}

impl RunRow {
    pub fn from_report(r: &Report) -> RunRow {
        let finished = !r.in_progress && r.outcome.is_some_and(|o| o != Outcome::Paused);
        RunRow {
            run_id: r.run_id.clone(),
            journal: r.journal.clone(),
            runbook: r.runbook.clone().unwrap_or_default(),
            started: r.started,
            dry_run: r.dry_run,
            env: r.env.clone(),
            production: r.production,
            rehearsal: r.rehearsal,
            actions_due: super::after::actions_due(r).0,
            actions_closed_on_time: super::after::actions_due(r).1,
            outcome: r.outcome_label.clone(),
            failed_change: !r.in_progress
                && matches!(
                    r.outcome,
                    Some(Outcome::RolledBack | Outcome::RollbackFailed | Outcome::Failed)
                ),
            finished,
            readiness_checks: r.readiness.len() as u32,
            readiness_passed: r.readiness.iter().filter(|x| x.ready).count() as u32,
            ttd_ms: r.impact.ttd_ms,
            ttm_ms: r.impact.ttm_ms,
            dry_runs_before: None,
            on_time: r.schedule.as_ref().and_then(|x| x.on_time),
            forecast_error_ms: r.schedule.as_ref().and_then(|x| x.forecast_error_ms),
            planned_total_ms: r.schedule.as_ref().and_then(|x| x.planned_total_ms),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub report_format: &'static str,
    pub format_version: u32,
    pub runs_dir: String,
    pub runs: Vec<RunRow>,
    pub real_runs: u32,
    pub real_runs_finished: u32,
    pub dry_runs: u32,
    pub rehearsals: u32,
    /// Of the counted runs (`counted_runs`), those that failed.
    pub failed_changes: u32,
    /// Failed changes / counted runs; `None` when none counts.
    pub change_failure_rate: Option<f64>,
    /// The runs the change failure rate is over: finished real runs (not
    /// rehearsals) in a production env, or in the envs `--env` names.
    pub counted_runs: Vec<String>,
    pub failed_change_runs: Vec<String>,
    /// The runs left out of it, each with why.
    pub not_counted: Vec<super::kpi::NotCounted>,
    /// Action items due (due date passed, or closed) and those closed by
    /// their due date, with the runs they belong to.
    pub action_items_due: u32,
    pub action_items_closed_on_time: u32,
    pub action_closure_rate: Option<f64>,
    pub action_item_runs: Vec<String>,
    /// `--by month`: the trend of the counted runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_month: Option<Vec<super::kpi::MonthRow>>,
    /// The filters it was built with.
    pub filters: super::kpi::SummaryOptions,
    /// Readiness evaluations journaled by runs that started (a run refused
    /// for not being ready has no journal: see `readiness_history`).
    pub readiness_checks: u32,
    /// Passed readiness checks / all, of runs that started; `None` ("n/a")
    /// when no journal has any.
    pub readiness_pass_rate: Option<f64>,
    /// Every readiness check of the project (`cutover check` and runs,
    /// refused ones included), from `.cutover/checks/history.jsonl` next to
    /// the runs dir; `None` when there is no such file.
    pub readiness_history: Option<ReadinessHistory>,
    pub mean_ttd_ms: Option<u64>,
    pub mean_ttm_ms: Option<u64>,
    /// Mean over real runs of the dry runs before them.
    pub mean_dry_runs_before: Option<f64>,
    /// Real runs finished within their window (else by their planned end)
    /// / real runs where that is known; `None` when none is.
    pub on_time_rate: Option<f64>,
    /// Forecast accuracy over real runs with a plan: the mean of
    /// `1 - |actual end - forecast end| / planned total` (0 at worst).
    pub forecast_accuracy: Option<f64>,
    /// The mean of `|actual end - forecast end|` over the same runs.
    pub mean_forecast_error_ms: Option<u64>,
    /// Journals that could not be read, with why.
    pub unreadable: Vec<String>,
}

/// The readiness checks in the project's `history.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessHistory {
    pub path: String,
    /// One per checklist per check.
    pub checks: u32,
    /// Those that were ready.
    pub passed: u32,
    /// `passed / checks`; `None` when the file has no record.
    pub pass_rate: Option<f64>,
    /// Lines that did not parse, skipped.
    pub skipped: u32,
}

/// Where the readiness history of the project owning `runs_dir` is: for the
/// default `PROJECT/.cutover/runs` it is `PROJECT/.cutover/checks/history.jsonl`
/// (what `cutover check` writes, run from `PROJECT`). Another runs dir has
/// no known project: `None`.
pub fn history_path(runs_dir: &Path) -> Option<PathBuf> {
    let dir = std::fs::canonicalize(runs_dir).unwrap_or_else(|_| runs_dir.to_path_buf());
    let dot = dir.parent()?;
    (dot.file_name()? == ".cutover").then(|| {
        dot.join(
            Path::new(crate::readiness::history::HISTORY_PATH)
                .strip_prefix(".cutover")
                .unwrap_or(Path::new("checks/history.jsonl")),
        )
    })
}

/// Read the readiness history at `path`; `None` if there is no such file.
pub fn readiness_history(path: &Path) -> Result<Option<ReadinessHistory>, ReportError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ReportError::io("read", path, e)),
    };
    let (records, skipped) = crate::readiness::history::parse(&text);
    let checks = records.len() as u32;
    let passed = records
        .iter()
        .filter(|r| r.readiness == crate::readiness::result::Readiness::Ready)
        .count() as u32;
    Ok(Some(ReadinessHistory {
        path: path.display().to_string(),
        checks,
        passed,
        pass_rate: (checks > 0).then(|| f64::from(passed) / f64::from(checks)),
        skipped: skipped as u32,
    }))
}

fn mean(values: impl Iterator<Item = u64>) -> Option<u64> {
    let (sum, n) = values.fold((0u128, 0u128), |(s, n), v| (s + u128::from(v), n + 1));
    (n > 0).then(|| (sum / n) as u64)
}

/// The KPIs over `rows` (any order; they are sorted by start time).
pub fn summarize(runs_dir: &str, mut rows: Vec<RunRow>, unreadable: Vec<String>) -> Summary {
    rows.sort_by(|a, b| {
        a.started
            .cmp(&b.started)
            .then_with(|| a.run_id.cmp(&b.run_id))
    });
    let mut dry_since: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
    for row in &mut rows {
        let count = dry_since.entry(row.runbook.clone()).or_default();
        if row.dry_run {
            *count += 1;
        } else {
            row.dry_runs_before = Some(*count);
            *count = 0;
        }
    }
    let real: Vec<&RunRow> = rows.iter().filter(|r| !r.dry_run).collect();
    let finished: Vec<&&RunRow> = real.iter().filter(|r| r.finished).collect();
    let failed = finished.iter().filter(|r| r.failed_change).count() as u32;
    let checks: u32 = rows.iter().map(|r| r.readiness_checks).sum();
    let passed: u32 = rows.iter().map(|r| r.readiness_passed).sum();
    let dry_before: Vec<u32> = real.iter().filter_map(|r| r.dry_runs_before).collect();
    Summary {
        report_format: "cutover-summary",
        format_version: super::json::REPORT_FORMAT_VERSION,
        runs_dir: runs_dir.to_string(),
        real_runs: real.len() as u32,
        real_runs_finished: finished.len() as u32,
        dry_runs: rows.iter().filter(|r| r.dry_run).count() as u32,
        rehearsals: 0,
        counted_runs: Vec::new(),
        failed_change_runs: Vec::new(),
        not_counted: Vec::new(),
        action_items_due: 0,
        action_items_closed_on_time: 0,
        action_closure_rate: None,
        action_item_runs: Vec::new(),
        by_month: None,
        filters: super::kpi::SummaryOptions::default(),
        failed_changes: failed,
        change_failure_rate: (!finished.is_empty())
            .then(|| f64::from(failed) / finished.len() as f64),
        readiness_checks: checks,
        readiness_pass_rate: (checks > 0).then(|| f64::from(passed) / f64::from(checks)),
        readiness_history: None,
        mean_ttd_ms: mean(real.iter().filter_map(|r| r.ttd_ms)),
        mean_ttm_ms: mean(real.iter().filter_map(|r| r.ttm_ms)),
        mean_dry_runs_before: (!dry_before.is_empty())
            .then(|| f64::from(dry_before.iter().sum::<u32>()) / dry_before.len() as f64),
        on_time_rate: rate(real.iter().filter_map(|r| r.on_time)),
        forecast_accuracy: forecast_accuracy(&real),
        mean_forecast_error_ms: mean(
            real.iter()
                .filter(|r| r.planned_total_ms.is_some())
                .filter_map(|r| r.forecast_error_ms.map(i64::unsigned_abs)),
        ),
        runs: rows,
        unreadable,
    }
}

/// The share of `true`; `None` for none.
fn rate(values: impl Iterator<Item = bool>) -> Option<f64> {
    let (yes, n) = values.fold((0u32, 0u32), |(y, n), v| (y + u32::from(v), n + 1));
    (n > 0).then(|| f64::from(yes) / f64::from(n))
}

/// The mean of `1 - |error| / planned total` (at least 0) over runs with both.
fn forecast_accuracy(runs: &[&RunRow]) -> Option<f64> {
    let scores: Vec<f64> = runs
        .iter()
        .filter_map(|r| {
            let total = r.planned_total_ms.filter(|t| *t > 0)?;
            let err = r.forecast_error_ms?.unsigned_abs();
            Some((1.0 - err as f64 / total as f64).max(0.0))
        })
        .collect();
    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
}

/// Every journal under `dir`: `*/journal.jsonl` and `*.jsonl` directly in
/// it. A symbolic link among them is listed as itself, so that reading it
/// is refused (cutover never follows one to a run directory or journal).
pub fn journals(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::NotARunsDir(dir.display().to_string()));
    }
    let listed = crate::journal::list_runs(dir).map_err(|e| ReportError::io("list", dir, e))?;
    Ok(listed.iter().map(|l| l.path().to_path_buf()).collect())
}

/// Read every run under `dir` that `opts` keeps and summarize.
pub fn summary_of(dir: &Path, opts: &super::kpi::SummaryOptions) -> Result<Summary, ReportError> {
    let reports = journals(dir)?
        .into_iter()
        .map(|j| super::read_report(&j).map_err(|e| e.to_string()));
    let mut s = summary_of_reports(&dir.display().to_string(), reports, opts);
    if let Some(path) = history_path(dir) {
        s.readiness_history = readiness_history(&path)?;
    }
    Ok(s)
}

/// Summarize the runs of `reports` that `opts` keeps (one read at a time),
/// listing those that did not read; `source` says where they are.
pub fn summary_of_reports(
    source: &str,
    reports: impl IntoIterator<Item = Result<super::Report, String>>,
    opts: &super::kpi::SummaryOptions,
) -> Summary {
    let mut rows = Vec::new();
    let mut unreadable = Vec::new();
    for report in reports {
        match report {
            Ok(r) => rows.push(RunRow::from_report(&r)),
            Err(e) => unreadable.push(e),
        }
    }
    rows.retain(|r| opts.keeps(r));
    let mut s = summarize(source, rows, unreadable);
    super::kpi::apply(&mut s, opts);
    s
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{:.1}%", v * 100.0))
}

fn ms(x: Option<u64>) -> String {
    x.map_or_else(|| "n/a".into(), duration::precise)
}

fn kpis(s: &Summary) -> Vec<(&'static str, String)> {
    vec![
        (
            "Change failure rate",
            format!(
                "{} ({} of {} finished real runs{}; {} not counted)",
                pct(s.change_failure_rate),
                s.failed_changes,
                s.counted_runs.len(),
                if s.filters.env.is_empty() {
                    " in production envs"
                } else {
                    " in the envs asked for"
                },
                s.not_counted.len()
            ),
        ),
        (
            "Action items closed by their due date",
            format!(
                "{} ({} of {} due)",
                pct(s.action_closure_rate),
                s.action_items_closed_on_time,
                s.action_items_due
            ),
        ),
        (
            "Readiness gate pass rate (runs that started)",
            format!(
                "{}{}",
                pct(s.readiness_pass_rate),
                if s.readiness_checks > 0 {
                    format!(" ({} checks)", s.readiness_checks)
                } else {
                    String::new()
                }
            ),
        ),
        (
            "Readiness checks passed (all checks)",
            match &s.readiness_history {
                Some(h) if h.checks > 0 => format!(
                    "{} ({} of {} checks in .cutover/checks/history.jsonl)",
                    pct(h.pass_rate),
                    h.passed,
                    h.checks
                ),
                Some(_) => "n/a (no check in .cutover/checks/history.jsonl)".into(),
                None => "n/a (no .cutover/checks/history.jsonl)".into(),
            },
        ),
        ("Mean time to detect", ms(s.mean_ttd_ms)),
        ("Mean time to mitigate", ms(s.mean_ttm_ms)),
        (
            "Dry runs before each real run (mean)",
            s.mean_dry_runs_before
                .map_or_else(|| "n/a".into(), |m| format!("{m:.1}")),
        ),
        (
            "On-time rate (within window or planned end)",
            pct(s.on_time_rate),
        ),
        (
            "Forecast accuracy (end forecast at start vs actual)",
            match (s.forecast_accuracy, s.mean_forecast_error_ms) {
                (Some(a), Some(e)) => format!("{} (mean error {})", pct(Some(a)), ms(Some(e))),
                _ => "n/a".into(),
            },
        ),
        (
            "Runs",
            format!(
                "{} real, {} dry, {} rehearsals",
                s.real_runs, s.dry_runs, s.rehearsals
            ),
        ),
    ]
}

pub fn markdown(s: &Summary) -> String {
    let mut o = format!(
        "# Cutover program summary: {}\n\n| KPI | value |\n|---|---|\n",
        esc_md(&s.runs_dir)
    );
    for (k, v) in kpis(s) {
        let _ = writeln!(o, "| {k} | {v} |");
    }
    let _ = writeln!(
        o,
        "\n## Runs\n\n| run | runbook | started | mode | outcome | dry runs before | TTD | TTM |\n|---|---|---|---|---|---|---|---|"
    );
    for r in &s.runs {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            crate::text::markdown::code_cell(&r.run_id),
            esc_md(&r.runbook),
            r.started.map_or("—".into(), Ts::rfc3339),
            if r.dry_run { "dry" } else { "real" },
            esc_md(&r.outcome),
            r.dry_runs_before.map_or(String::new(), |n| n.to_string()),
            ms(r.ttd_ms),
            ms(r.ttm_ms)
        );
    }
    super::kpi::markdown_extra(&mut o, s);
    for u in &s.unreadable {
        let _ = writeln!(o, "\n> unreadable: {}", esc_md(u));
    }
    o
}

pub fn html(s: &Summary) -> String {
    let mut o = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{}<title>Cutover program summary</title><style>body{{font:14px system-ui,sans-serif;max-width:1000px;margin:24px auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 6px;text-align:left}}</style></head><body><h1>Cutover program summary: {}</h1><table>",
        super::html::CSP,
        esc_html(&s.runs_dir)
    );
    for (k, v) in kpis(s) {
        let _ = write!(o, "<tr><th>{k}</th><td>{}</td></tr>", esc_html(&v));
    }
    o.push_str("</table><h2>Runs</h2><table><tr><th>run</th><th>runbook</th><th>started</th><th>mode</th><th>outcome</th><th>dry runs before</th><th>TTD</th><th>TTM</th></tr>");
    for r in &s.runs {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc_html(&r.run_id),
            esc_html(&r.runbook),
            r.started.map_or("—".into(), Ts::rfc3339),
            if r.dry_run { "dry" } else { "real" },
            esc_html(&r.outcome),
            r.dry_runs_before.map_or(String::new(), |n| n.to_string()),
            ms(r.ttd_ms),
            ms(r.ttm_ms)
        );
    }
    o.push_str("</table></body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, book: &str, at: i64, dry: bool, failed: bool, ttd: Option<u64>) -> RunRow {
        RunRow {
            run_id: id.into(),
            journal: String::new(),
            runbook: book.into(),
            started: Some(Ts { ms: at }),
            dry_run: dry,
            env: None,
            production: true,
            rehearsal: false,
            actions_due: 0,
            actions_closed_on_time: 0,
            outcome: String::new(),
            failed_change: failed,
            finished: true,
            readiness_checks: 0,
            readiness_passed: 0,
            ttd_ms: ttd,
            ttm_ms: ttd.map(|t| t * 2),
            dry_runs_before: None,
            on_time: None,
            forecast_error_ms: None,
            planned_total_ms: None,
        }
    }

    #[test]
    fn on_time_rate_and_forecast_accuracy_over_real_runs_with_a_plan() {
        let mut rows = vec![
            row("r1", "a", 1, false, false, None),
            row("r2", "a", 2, false, false, None),
            row("r3", "a", 3, false, false, None),
            row("d1", "a", 4, true, false, None),
        ];
        // r1: on time, 10 min planned, ended 1 min late of the forecast (0.9).
        rows[0].on_time = Some(true);
        rows[0].planned_total_ms = Some(600_000);
        rows[0].forecast_error_ms = Some(60_000);
        // r2: past its window, 10 min planned, ended 3 min early (0.7).
        rows[1].on_time = Some(false);
        rows[1].planned_total_ms = Some(600_000);
        rows[1].forecast_error_ms = Some(-180_000);
        // r3: no schedule; d1: a dry run, on time: neither counts.
        rows[3].on_time = Some(true);
        rows[3].planned_total_ms = Some(600_000);
        rows[3].forecast_error_ms = Some(0);
        let s = summarize("runs", rows, Vec::new());
        assert_eq!(s.on_time_rate, Some(0.5));
        assert!((s.forecast_accuracy.unwrap() - 0.8).abs() < 1e-9);
        assert_eq!(s.mean_forecast_error_ms, Some(120_000));
        let k = kpis(&s);
        assert!(
            k.iter()
                .any(|(name, v)| name.starts_with("On-time") && v == "50.0%"),
            "{k:?}"
        );
    }

    #[test]
    fn kpis_over_runs() {
        let rows = vec![
            row("d1", "a", 1, true, false, None),
            row("d2", "a", 2, true, false, None),
            row("r1", "a", 3, false, true, Some(100)),
            row("r2", "a", 5, false, false, None),
            row("d3", "b", 4, true, true, None),
            row("r3", "b", 6, false, false, Some(300)),
        ];
        let mut s = summarize("runs", rows, vec![]);
        crate::report::kpi::apply(&mut s, &crate::report::kpi::SummaryOptions::default());
        assert_eq!(s.real_runs, 3);
        assert_eq!(s.dry_runs, 3);
        assert_eq!(s.change_failure_rate, Some(1.0 / 3.0));
        assert_eq!(s.mean_ttd_ms, Some(200));
        assert_eq!(s.mean_ttm_ms, Some(400));
        let before: Vec<_> = s
            .runs
            .iter()
            .filter(|r| !r.dry_run)
            .map(|r| (r.run_id.as_str(), r.dry_runs_before))
            .collect();
        assert_eq!(
            before,
            vec![("r1", Some(2)), ("r2", Some(0)), ("r3", Some(1))]
        );
        assert_eq!(s.mean_dry_runs_before, Some(1.0));
        assert_eq!(s.readiness_pass_rate, None);
        assert!(markdown(&s).contains("| Readiness gate pass rate (runs that started) | n/a |"));
        assert!(markdown(&s).contains("| Readiness checks passed (all checks) | n/a (no "));
    }

    #[test]
    fn a_run_id_in_its_code_span_reads_as_written() {
        // CommonMark decodes no entity and no backslash escape inside a code
        // span: `\_` or `&lt;` there would show literally.
        let s = summarize(
            "runs",
            vec![row("pay_db-1", "a<b", 1, false, false, None)],
            vec![],
        );
        let md = markdown(&s);
        assert!(md.contains("| `pay_db-1` | a&lt;b |"), "{md}");
    }
}
