//! `cutover check CHECKLIST...`: evaluate readiness checklists (a CI gate),
//! or `--history` for the readiness pass rate per week.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use crate::cli::{CheckArgs, CheckFormat};
use crate::diag;
use crate::error::{Error, exit};
use crate::readiness::result::{CheckReport, REPORT_FORMAT_VERSION, Readiness};
use crate::readiness::{self, evaluate, format, history, time};
use crate::text::visible;

/// The current time, or the one `CUTOVER_NOW` pins (RFC 3339 or a date) so
/// tests and demos are deterministic about expiry.
pub(crate) fn now() -> Result<SystemTime, Error> {
    match crate::journal::pinned_now() {
        Ok(pinned) => Ok(pinned.unwrap_or_else(SystemTime::now)),
        Err(e) => Err(Error::Usage(e)),
    }
}

pub fn exec(args: &CheckArgs) -> Result<ExitCode, Error> {
    if args.history {
        return show_history(args);
    }
    let now = now()?;
    let runtime = crate::cmd::runtime()?;
    let color = diag::stderr_color();
    let lookup = |name: &str| std::env::var(name).ok();
    let mut checklists = Vec::new();
    for path in &args.checklists {
        tracing::info!(checklist = %path.display(), env = ?args.env, "evaluating");
        let loaded = readiness::load_file(path);
        if !loaded.diagnostics.is_empty() {
            eprintln!(
                "{}",
                diag::render_all(&loaded.file, &loaded.diagnostics, color)
            );
        }
        checklists.push(match &loaded.checklist {
            Some(c) => runtime.block_on(evaluate::evaluate(
                c,
                path,
                args.env.as_deref(),
                args.fail_on_warn,
                now,
                &lookup,
            )),
            None => readiness::invalid_report(path, &loaded),
        });
    }
    let readiness = checklists
        .iter()
        .fold(Readiness::Ready, |r, c| r.worst(c.readiness));
    let report = CheckReport {
        format_version: REPORT_FORMAT_VERSION,
        at: time::format_instant(now),
        env: args.env.clone(),
        fail_on_warn: args.fail_on_warn,
        readiness,
        checklists,
    };
    // The KPI must not cost the gate: a history that cannot be written is a warning.
    let history_path = history::default_path();
    if let Err(e) = history::append(&history_path, &history::records(&report)) {
        eprintln!(
            "warning: failed to record this check in `{}`: {e}",
            history_path.display()
        );
    }
    let text = match args.format {
        // What people read shows control characters from checklists visibly.
        // Coloured only on a terminal (and as `--color` says), never into a file.
        CheckFormat::Text => format::human(
            &report,
            args.output.is_none() && crate::text::color::stdout(),
        ),
        CheckFormat::Json => format::json(&report) + "\n",
        CheckFormat::Junit => format::junit(&report),
        CheckFormat::Github => visible(&format::github(&report)).into_owned(),
        CheckFormat::Md => visible(&format::markdown(&report)).into_owned(),
    };
    if args.format == CheckFormat::Github
        && let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY")
    {
        append(Path::new(&summary), &format::markdown(&report))?;
    }
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| Error::io("write", path.display(), e))?;
        }
        None => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
    }
    if args.format != CheckFormat::Text || args.output.is_some() {
        eprintln!("readiness: {}", report.readiness.name());
    }
    Ok(ExitCode::from(match report.readiness {
        Readiness::Ready => exit::READY,
        Readiness::NotReady => exit::NOT_READY,
        Readiness::Error => exit::CHECK_ERROR,
    }))
}

fn append(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| Error::io("append to", path.display(), e))
}

fn show_history(args: &CheckArgs) -> Result<ExitCode, Error> {
    let path = &history::default_path();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io("read", path.display(), e)),
    };
    let (mut records, skipped) = history::parse(&text);
    if skipped > 0 {
        eprintln!(
            "warning: skipped {skipped} unreadable line(s) of `{}`",
            path.display()
        );
    }
    // `cutover check --history checks/launch.toml`: only those checklists.
    if !args.checklists.is_empty() {
        records.retain(|r| args.checklists.iter().any(|p| Path::new(&r.path) == p));
    }
    let rates = history::weekly(&records);
    let text = match args.format {
        CheckFormat::Json => {
            let doc = serde_json::json!({
                "format_version": history::JSON_FORMAT_VERSION,
                "weeks": rates,
            });
            serde_json::to_string_pretty(&doc).expect("rates serialize") + "\n"
        }
        _ => history::human(&rates),
    };
    match &args.output {
        Some(p) => std::fs::write(p, text).map_err(|e| Error::io("write", p.display(), e))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::from(exit::OK))
}
