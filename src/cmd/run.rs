//! `cutover run`: build the plan, decide the schedule (`schedule`), open a
//! new journal, hand over to the engine.

pub(crate) mod schedule;
mod target;

use target::Target;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::RunArgs;
use crate::engine::{Edges, Options, SourceSignals, Start};
use crate::error::Error;
use crate::event::{Event, RunStarted};
use crate::journal::{Journal, Stamp};
use crate::plan::Plan;
use crate::signals::SourceSet;

pub fn exec(args: &RunArgs) -> Result<ExitCode, Error> {
    exec_with(args, None)
}

/// `cutover run`, journaling to a local file, or to the shared journal at
/// `url` (`--journal-url`, `CUTOVER_JOURNAL_URL`) or the runbook's
/// `[journal] url`.
pub fn exec_with(args: &RunArgs, url: Option<&str>) -> Result<ExitCode, Error> {
    if url.is_some() {
        super::shared::refuse_as(args.output.actor.as_ref())?;
    }
    let detach = args.output.detach_hypercare;
    let mut plan = super::build_plan(&args.runbook, &super::overrides(&args.vars))?;
    if let Some(plan_file) = &args.plan {
        plan.check_against(plan_file)?;
    }
    let shared = match target::shared_url(url, &plan)? {
        Some(url) => {
            super::detach::refuse_shared(detach)?;
            // Steps inherit `CUTOVER_JOURNAL_URL`: what they print is masked.
            if let Some(password) = url.password() {
                plan.masker = plan.masker.with(&password);
            }
            Some(target::connect(args, &url)?)
        }
        None => None,
    };
    let stamp = match &shared {
        Some(db) => db.stamp(),
        None => Stamp::new(args.output.actor.clone()),
    };
    // The driver is a person too (`no_self_approval`, the prompt's votes).
    crate::engine::approval::voter(
        &stamp.actor,
        stamp.on_behalf.as_deref(),
        plan.production,
        plan.runbook.declared_identities,
    )
    .map_err(|refusal| Error::Usage(refusal.to_string()))?;
    // Before a run directory is reserved: a refused start leaves nothing.
    let scheduling = schedule::decide(
        args,
        &plan,
        crate::journal::Ts::from_system(stamp.clock.now()),
    )?;
    // A taken run id is refused before the readiness checklists are
    // evaluated (and written to the check history) for nothing.
    let target = match shared {
        Some(db) => Target::shared(args, &plan, db, &stamp)?,
        None => Target::file(args, &plan, &stamp)?,
    };
    if args.output.yes && plan.production {
        eprintln!(
            "warning: `--yes` does not approve anything in production {}; approvals need a person",
            plan.env.as_deref().map_or_else(
                || "(the default env: `[runbook] production = true`)".to_string(),
                |env| format!("env `{env}`")
            )
        );
    }
    if args.output.yes && !plan.production && !args.dry_run {
        for line in crate::engine::approval::yes_summary(&plan.runbook.steps) {
            eprintln!("{line}");
        }
    }
    // Readiness before anything is journaled or started (issue 7): a refused
    // run leaves no journal behind.
    let reason = args.reason.as_deref().map(|r| plan.masker.mask(r));
    let Some(readiness) = readiness_gate(
        &plan,
        args.override_readiness,
        reason.as_deref(),
        args.dry_run,
    )?
    else {
        target.abandon();
        return Ok(ExitCode::from(crate::error::exit::NOT_READY));
    };
    let (mut journal, lock, run_ref) = target.create(stamp)?;
    for event in readiness {
        journal.emit(event);
    }
    let opts = options(args, &plan, run_ref, scheduling);
    drive(&plan, journal, lock, opts, args.output.no_progress)
}

/// How the engine runs this new run: its `run_started` and the schedule.
fn options(
    args: &RunArgs,
    plan: &Plan,
    run_ref: String,
    scheduling: crate::engine::Scheduling,
) -> Options {
    let started = RunStarted {
        plan_hash: plan.hash.clone(),
        runbook_name: plan.runbook.name.clone(),
        runbook_path: plan.runbook_path.clone(),
        runbook_sha256: plan.runbook_sha256.clone(),
        change: plan.runbook.change.clone(),
        env: plan.env.clone(),
        production: plan.production,
        dry_run: args.dry_run,
        pid: std::process::id(),
        set: args.vars.set.iter().map(|s| plan.masker.mask(s)).collect(),
        plan: plan.to_masked_json(),
        rehearsal: args.rehearsal,
    };
    Options {
        dry_run: args.dry_run,
        yes: args.output.yes,
        wait: args.output.wait,
        runbook_dir: runbook_dir(&plan.runbook_path),
        run_ref,
        start: Start::New(Box::new(started)),
        scheduling,
        detach_hypercare: args.output.detach_hypercare,
    }
}

/// `cutover run`'s readiness gate: evaluate the runbook's `requires`, say
/// what was found on stderr, and give the events to journal, or `None` when
/// the run must not start.
fn readiness_gate(
    plan: &Plan,
    override_readiness: bool,
    reason: Option<&str>,
    dry_run: bool,
) -> Result<Option<Vec<Event>>, Error> {
    use crate::readiness::required::{Decision, check_required_async, decide, events, notice};
    if plan.runbook.requires.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let result = super::runtime()?.block_on(check_required_async(plan));
    let decision = decide(&result, override_readiness, reason, dry_run);
    for line in notice(&result, &decision) {
        eprintln!("{line}");
    }
    Ok((decision != Decision::Refuse).then(|| events(&result, &decision)))
}

/// Run the engine to its end and give the run's exit code (or hand the
/// hypercare watch to a background process, `--detach-hypercare`).
pub(crate) fn drive(
    plan: &Plan,
    journal: Journal,
    lock: Option<crate::journal::DriveLock>,
    opts: Options,
    no_progress: bool,
) -> Result<ExitCode, Error> {
    super::detach::say_if_nothing_to_detach(plan, &opts);
    let hand_over = super::detach::HandOver {
        plan,
        path: journal.path().map(Path::to_path_buf).unwrap_or_default(),
        stamp: journal.stamp().clone(),
        lock,
        run_ref: opts.run_ref.clone(),
        yes: opts.yes,
        wait: opts.wait,
        no_progress,
    };
    let runtime = super::runtime()?;
    let setup = crate::ui::LiveSetup {
        run_ref: opts.run_ref.clone(),
        journal: journal.location(),
    };
    let ended = runtime.block_on(async {
        let sink = crate::ui::reporter(no_progress, setup);
        let signals = Arc::new(SourceSignals::new(SourceSet::new(
            &plan.runbook.sources,
            plan.masker.clone(),
            &plan.secret_env,
        )));
        let edges = Edges {
            sink,
            signals,
            operator: Box::new(crate::ui::Terminal::detect()),
        };
        crate::engine::execute(plan, journal, edges, opts).await
    })?;
    // Steps may have left nothing behind, but a watcher's HTTP request might
    // still be in flight: do not wait for it.
    runtime.shutdown_background();
    super::detach::after_engine(ended, hand_over)
}

/// The runbook's directory, which step `workdir`s are relative to.
pub(crate) fn runbook_dir(runbook_path: &str) -> PathBuf {
    match Path::new(runbook_path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
