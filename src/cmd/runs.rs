//! `cutover runs [--dir D] [--format text|json]`: every run under the runs
//! directory with its outcome, start and duration. A run without an end is
//! `running` if a process holds its driving lock, else `stopped` (crashed or
//! killed: `cutover resume` continues it).

use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{RunsArgs, TextOrJson};
use crate::error::Error;
use crate::journal::{JOURNAL_FILE, is_driven, read_journal};
use crate::status::{StatusView, fmt_ms};

#[derive(Debug, Serialize)]
struct RunRow {
    run_id: String,
    runbook: Option<String>,
    env: Option<String>,
    outcome: String,
    started_at: Option<String>,
    duration_ms: Option<u64>,
    journal: String,
}

pub fn exec(args: &RunsArgs) -> Result<ExitCode, Error> {
    let mut rows = Vec::new();
    let entries = match std::fs::read_dir(&args.dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if args.format == TextOrJson::Json {
                println!("[]");
            } else {
                eprintln!("no runs under `{}`", args.dir.display());
            }
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(Error::io("read", args.dir.display(), e)),
    };
    for entry in entries.flatten() {
        let journal = entry.path().join(JOURNAL_FILE);
        if !journal.is_file() {
            continue;
        }
        let Ok(read) = read_journal(&journal) else {
            continue;
        };
        let view = StatusView::build(&read.records, None);
        let outcome = if view.ended() {
            view.state.clone()
        } else if is_driven(&journal) {
            "running".into()
        } else {
            "stopped".into()
        };
        rows.push(RunRow {
            run_id: read.header.run_id.clone(),
            runbook: view.runbook.clone(),
            env: view.env.clone(),
            outcome,
            started_at: view
                .started_at
                .clone()
                .or(Some(read.header.created.clone())),
            duration_ms: view.duration_ms,
            journal: journal.display().to_string(),
        });
    }
    rows.sort_by(|a, b| {
        a.started_at
            .cmp(&b.started_at)
            .then(a.run_id.cmp(&b.run_id))
    });
    match args.format {
        TextOrJson::Json => println!(
            "{}",
            serde_json::to_string_pretty(&rows)
                .map_err(|e| Error::Internal(format!("failed to render runs: {e}")))?
        ),
        TextOrJson::Text => {
            println!(
                "{:<36} {:<24} {:<14} {:<25} {:>9}",
                "RUN", "RUNBOOK", "OUTCOME", "STARTED", "DURATION"
            );
            for r in &rows {
                println!(
                    "{:<36} {:<24} {:<14} {:<25} {:>9}",
                    r.run_id,
                    r.runbook.as_deref().unwrap_or("-"),
                    r.outcome,
                    r.started_at.as_deref().unwrap_or("-"),
                    r.duration_ms.map_or_else(|| "-".into(), fmt_ms)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
