//! One module per subcommand; each exposes `exec(&Args) -> Result<ExitCode, Error>`.

pub mod action;
pub mod approve;
pub mod attest;
pub mod check;
pub mod completions;
pub(crate) mod detach;
pub mod done;
pub(crate) mod forecast;
pub mod gate;
pub mod init;
pub(crate) mod journal_at;
pub mod man;
pub mod mark;
pub mod note;
pub mod plan;
pub mod query;
pub mod report;
pub mod resume;
pub mod run;
pub mod runs;
pub mod schema;
pub mod shared;
pub mod sources;
pub mod status;
pub mod validate;
pub mod verify;
pub mod waive;

/// `eprintln!` for a line that echoes what people typed or files hold (names,
/// notes, reasons, journal warnings): control characters shown visibly.
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::text::visible(&format!($($arg)*)))
    };
}
pub(crate) use say;

/// The masker for text an operator adds to a run (`note`, `approve
/// --reason`, ...) from a process that has no plan, only the journal: the
/// journaled plan names the environment variables that hold secrets, and
/// their values are read here. A secret this process's environment lacks is
/// out of reach.
pub(crate) fn plan_masker(plan: &crate::journal::PlanSnapshot) -> crate::secrets::Masker {
    let lookup = |name: &str| std::env::var(name).ok();
    crate::secrets::Masker::from_env_vars(plan.secret_vars(), &lookup)
}

/// [`plan_masker`] of the run journaled at `path`, reading only the records
/// up to `run_started`. A journal that does not read masks nothing; the
/// append that follows reports the problem.
pub(crate) fn journal_masker(path: &std::path::Path) -> crate::secrets::Masker {
    let Ok(mut records) = crate::journal::stream_journal(path) else {
        return crate::secrets::Masker::default();
    };
    let plan = records.find_map(|r| match r.event {
        crate::event::Event::RunStarted(s) => {
            Some(crate::journal::PlanSnapshot::from_value(&s.plan))
        }
        _ => None,
    });
    plan.map(|p| plan_masker(&p)).unwrap_or_default()
}

/// Load, validate and resolve the runbook at `path` for the overlay and
/// overrides given, showing what loading found (errors and warnings) on
/// stderr first, as every command that builds a plan does.
pub(crate) fn build_plan(
    path: &std::path::Path,
    overrides: &crate::plan::Overrides,
) -> Result<crate::plan::Plan, crate::error::Error> {
    tracing::info!(runbook = %path.display(), env = ?overrides.env, "building the plan");
    let build = crate::plan::build(path, overrides);
    if !build.diagnostics.is_empty() {
        eprintln!(
            "{}",
            crate::diag::render_all(&build.file, &build.diagnostics, crate::diag::stderr_color())
        );
    }
    let plan = build.plan?;
    tracing::info!(
        hash = %plan.hash,
        steps = plan.runbook.steps.len(),
        waves = plan.waves.len(),
        sources = plan.runbook.sources.len(),
        "plan built"
    );
    Ok(plan)
}

/// Write `bytes` to stdout (a closed pipe is a write error, not a panic).
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), crate::error::Error> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| crate::error::Error::io("write", "stdout", e))
}

/// The plan's overrides from the command line's `--env` and `--set`.
pub(crate) fn overrides(vars: &crate::cli::VarArgs) -> crate::plan::Overrides {
    crate::plan::Overrides {
        env: vars.env.clone(),
        set: vars.set.clone(),
    }
}

#[allow(dead_code, reason = "used by the signal and engine commands")]
/// A multi-threaded tokio runtime for the commands that do network or process I/O.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, crate::error::Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            crate::error::Error::Internal(format!("failed to start the async runtime: {e}"))
        })
}
