//! `cutover report RUN... [--format md|html|json] [--output FILE]` and
//! `cutover report --summary RUNS_DIR`: the post-launch report, from the
//! journal alone (the runbook file may have changed since; the journal
//! records what ran), local or in the shared journal (`--summary` alone:
//! every run in it).

use std::io::Write as _;
use std::process::ExitCode;

use super::journal_at::RunsAt;
use crate::cli::{ReportArgs, ReportFormat};
use crate::error::Error;
use crate::report::{self, Report, summary};

pub fn exec(args: &ReportArgs) -> Result<ExitCode, Error> {
    exec_at(args, None)
}

/// [`exec`] on the runs of the shared journal at `url` (`None`: local files).
pub(crate) fn exec_at(args: &ReportArgs, url: Option<&str>) -> Result<ExitCode, Error> {
    let text = if let Some(dir) = &args.summary {
        if !args.runs.is_empty() {
            return Err(Error::Usage(
                "give either runs or `--summary RUNS_DIR`, not both".into(),
            ));
        }
        let opts = summary_options(args)?;
        let s = RunsAt::open(url)?.summary(dir.as_deref(), &opts)?;
        match args.format {
            ReportFormat::Md => summary::markdown(&s),
            ReportFormat::Html => summary::html(&s),
            ReportFormat::Json => to_json(&s)?,
        }
    } else {
        if args.runs.is_empty() {
            return Err(Error::Usage(
                "name at least one run (a run id, run directory or journal file), or use `--summary RUNS_DIR`".into(),
            ));
        }
        let tz = match &args.tz {
            Some(name) => Some(
                crate::schedule::Zone::named(name)
                    .map_err(|e| Error::Usage(format!("`--tz {name}`: {e}")))?,
            ),
            None => None,
        };
        let runs = RunsAt::open(url)?;
        let other = match &args.compare {
            Some(run) => Some(runs.report(run)?),
            None => None,
        };
        let mut parts = Vec::new();
        for run in &args.runs {
            let mut r = runs.report(run)?;
            r.compare = other.as_ref().map(|o| report::compare::compare(&r, o));
            r.tz.clone_from(&tz);
            for w in report::view::warnings(&r) {
                super::say!("warning: run `{}`: {w}", r.run_id);
            }
            parts.push(render(&r, args.format));
        }
        join(parts, args.format)
    };
    if let Some(path) = &args.output {
        std::fs::write(path, text).map_err(|e| Error::io("write", path.display(), e))?;
    } else {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Error::io("write", "stdout", e))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Version of the JSON of several runs' reports.
pub const MULTI_FORMAT_VERSION: u32 = 2;

/// `--env`, `--runbook`, `--since`, `--until`, `--by`.
fn summary_options(args: &ReportArgs) -> Result<crate::report::kpi::SummaryOptions, Error> {
    let date = |flag: &str, text: &Option<String>| -> Result<Option<crate::journal::Ts>, Error> {
        let Some(text) = text else { return Ok(None) };
        let t = text.trim();
        let parsed = if t.len() == 10 {
            crate::journal::Ts::parse(&format!("{t}T00:00:00Z"))
        } else {
            crate::journal::Ts::parse(t)
        };
        parsed.map(Some).ok_or_else(|| {
            Error::Usage(format!(
                "`{flag}` is `{text}`, not a date like `2026-11-01` (or an RFC 3339 time)"
            ))
        })
    };
    Ok(crate::report::kpi::SummaryOptions {
        env: args.env.clone(),
        runbook: args.runbook.clone(),
        since: date("--since", &args.since)?,
        until: date("--until", &args.until)?,
        by_month: args.by == Some(crate::cli::SummaryPeriod::Month),
    })
}

pub(crate) fn render(r: &Report, format: ReportFormat) -> String {
    match format {
        ReportFormat::Md => report::markdown::render(r),
        ReportFormat::Html => report::html::render(r),
        ReportFormat::Json => report::json::render(r),
    }
}

/// Several runs: Markdown one after another, JSON as an array, HTML as one
/// page per run concatenated would be invalid, so HTML keeps each document
/// and joins their bodies.
pub(crate) fn join(mut parts: Vec<String>, format: ReportFormat) -> String {
    if parts.len() == 1 {
        return parts.pop().unwrap_or_default();
    }
    match format {
        ReportFormat::Md => parts.join("\n---\n\n"),
        // One object like every JSON output: the reports in order, each as
        // `report RUN --format json` gives it. (Version 1 of this shape was
        // a bare array of them.)
        ReportFormat::Json => format!(
            "{{\n\"report_format\": \"cutover-reports\",\n\"format_version\": {MULTI_FORMAT_VERSION},\n\"reports\": [\n{}\n]\n}}\n",
            parts
                .iter()
                .map(|p| p.trim_end())
                .collect::<Vec<_>>()
                .join(",\n")
        ),
        ReportFormat::Html => {
            let mut first = parts.remove(0);
            let tail_at = first.rfind("</body>").unwrap_or(first.len());
            let mut bodies = String::new();
            for p in &parts {
                let start = p.find("<body>").map_or(0, |i| i + "<body>".len());
                let end = p.rfind("</body>").unwrap_or(p.len());
                bodies.push_str("<hr>");
                bodies.push_str(p.get(start..end).unwrap_or_default());
            }
            first.insert_str(tail_at, &bodies);
            first
        }
    }
}

fn to_json(s: &summary::Summary) -> Result<String, Error> {
    serde_json::to_string_pretty(s)
        .map(|mut t| {
            t.push('\n');
            t
        })
        .map_err(|e| Error::Internal(format!("failed to serialize the summary: {e}")))
}
