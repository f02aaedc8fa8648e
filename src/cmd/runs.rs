//! `cutover runs [--dir D] [--format text|json]`: every run under the runs
//! directory with its outcome, start and duration. A run without an end is
//! `running` if a process holds its driving lock, else `stopped` (crashed or
//! killed: `cutover resume` continues it).

use std::fmt::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{RunsArgs, TextOrJson};
use crate::error::Error;
use crate::journal::{Folded, Listed, fold_journal, is_driven, list_runs};
use crate::status::StatusView;
use crate::text::duration;

/// Version of `runs --format json`'s shape. Version 1 was a bare array of
/// the rows (before `format_version` existed).
pub const JSON_FORMAT_VERSION: u32 = 2;

#[derive(Debug, Serialize)]
pub(crate) struct RunRow {
    run_id: String,
    runbook: Option<String>,
    env: Option<String>,
    /// A dry run (`--dry-run`): nothing with side effects ran.
    dry_run: bool,
    outcome: String,
    started_at: Option<String>,
    duration_ms: Option<u64>,
    journal: String,
}

pub fn exec(args: &RunsArgs) -> Result<ExitCode, Error> {
    let dir = args.dir.clone().unwrap_or_else(crate::journal::runs_dir);
    let listed = match list_runs(&dir) {
        Ok(listed) => listed,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if args.format == TextOrJson::Json {
                println!("{}", json(&[])?);
            } else {
                eprintln!("no runs under `{}`", dir.display());
            }
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(Error::io("read", dir.display(), e)),
    };
    let mut rows = Vec::new();
    for entry in &listed {
        let journal = match entry {
            Listed::Link(path) => {
                // Never followed: say so rather than hide a run someone expects.
                eprintln!(
                    "warning: skipped `{}`: it is a symbolic link, and cutover never follows one to a run directory",
                    crate::text::one_line(&path.display().to_string())
                );
                continue;
            }
            Listed::Journal(path) => path,
        };
        let Ok(folded) = fold_journal(journal) else {
            continue;
        };
        rows.push(row(
            &folded,
            is_driven(journal),
            journal.display().to_string(),
        ));
    }
    print(rows, args.format)
}

/// One run's row: its outcome, or `running` when `driven` (a process holds
/// it), else `stopped`. `journal`: where it is kept.
pub(crate) fn row(folded: &Folded, driven: bool, journal: String) -> RunRow {
    let view = StatusView::from_state(&folded.state, None);
    let outcome = if view.ended() {
        view.state.clone()
    } else if driven {
        "running".into()
    } else {
        "stopped".into()
    };
    RunRow {
        run_id: folded.header.run_id.clone(),
        runbook: view.runbook.clone(),
        env: view.env.clone(),
        dry_run: view.dry_run,
        outcome,
        started_at: view
            .started_at
            .clone()
            .or(Some(folded.header.created.clone())),
        duration_ms: view.duration_ms,
        journal,
    }
}

/// The rows in start order, as text or JSON.
pub(crate) fn print(mut rows: Vec<RunRow>, format: TextOrJson) -> Result<ExitCode, Error> {
    rows.sort_by(|a, b| {
        a.started_at
            .cmp(&b.started_at)
            .then(a.run_id.cmp(&b.run_id))
    });
    match format {
        TextOrJson::Json => println!("{}", json(&rows)?),
        TextOrJson::Text => print!("{}", table(&rows)),
    }
    Ok(ExitCode::SUCCESS)
}

fn json(rows: &[RunRow]) -> Result<String, Error> {
    let doc = serde_json::json!({ "format_version": JSON_FORMAT_VERSION, "runs": rows });
    serde_json::to_string_pretty(&doc)
        .map_err(|e| Error::Internal(format!("failed to render runs: {e}")))
}

/// The text table: each column as wide as its widest cell, so a long run id
/// or runbook name never pushes the columns after it out of line.
fn table(rows: &[RunRow]) -> String {
    let header = ["RUN", "RUNBOOK", "MODE", "OUTCOME", "STARTED", "DURATION"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                crate::text::one_line(&r.run_id).into_owned(),
                r.runbook
                    .as_deref()
                    .map_or_else(|| "-".into(), |n| crate::text::one_line(n).into_owned()),
                if r.dry_run { "dry run" } else { "real" }.to_string(),
                r.outcome.clone(),
                r.started_at.clone().unwrap_or_else(|| "-".into()),
                r.duration_ms.map_or_else(|| "-".into(), duration::short),
            ]
        })
        .collect();
    let mut width = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |row: [&str; 6]| {
        let mut text = String::new();
        for (i, (c, w)) in row.iter().zip(width).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            // DURATION is right-aligned; the rest left.
            if i == 5 {
                let _ = write!(text, "{c:>w$}");
            } else {
                let _ = write!(text, "{c:<w$}");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header);
    for row in &cells {
        line(row.each_ref().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, dry_run: bool) -> RunRow {
        RunRow {
            run_id: id.into(),
            runbook: Some("payments-database-migration".into()),
            env: None,
            dry_run,
            outcome: "completed".into(),
            started_at: Some("2026-01-01T00:00:00.000Z".into()),
            duration_ms: Some(11_469),
            journal: String::new(),
        }
    }

    #[test]
    fn columns_are_as_wide_as_their_content() {
        let long = "payments-database-migration-20260101T000000Z-1a2b";
        assert!(long.len() > 36);
        let text = table(&[row(long, false), row("r", true)]);
        let lines: Vec<&str> = text.lines().collect();
        // Every column starts at the same offset on every line.
        let col = |l: &str, cell: &str| l.find(cell).unwrap();
        assert_eq!(col(lines[0], "MODE"), col(lines[1], "real"), "{text}");
        assert_eq!(col(lines[0], "MODE"), col(lines[2], "dry run"), "{text}");
        assert_eq!(
            col(lines[0], "OUTCOME"),
            col(lines[2], "completed"),
            "{text}"
        );
        assert_eq!(col(lines[1], "completed"), col(lines[2], "completed"));
        assert_eq!(lines[1].len(), lines[2].len(), "{text}");
        assert!(lines[1].ends_with("11.5s"), "{text}");
    }
}
