//! `cutover run`: build the plan, decide the schedule (`schedule`), open a
//! new journal, hand over to the engine.

pub(crate) mod schedule;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::RunArgs;
use crate::engine::{Edges, Options, SourceSignals, Start};
use crate::error::Error;
use crate::event::{Event, RunStarted};
use crate::journal::{Journal, Stamp, default_path};
use crate::plan::Plan;
use crate::signals::SourceSet;

pub fn exec(args: &RunArgs) -> Result<ExitCode, Error> {
    let plan = super::build_plan(&args.runbook, &super::overrides(&args.vars))?;
    if let Some(plan_file) = &args.plan {
        plan.check_against(plan_file)?;
    }
    let stamp = Stamp::new(args.output.actor.clone());
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
    let mut reserved = false;
    let run_id = match args
        .run_id
        .clone()
        .or_else(|| std::env::var("CUTOVER_RUN_ID").ok())
    {
        Some(id) => id,
        None if args.journal.is_none() => {
            reserved = true;
            default_run_id(&default_base(&plan.runbook.name, &stamp))?
        }
        None => default_base(&plan.runbook.name, &stamp),
    };
    crate::journal::check_run_id(&run_id)?;
    let path = args
        .journal
        .clone()
        .unwrap_or_else(|| default_path(&run_id));
    let run_ref = if args.journal.is_some() {
        path.display().to_string()
    } else {
        run_id.clone()
    };
    // A taken run id is refused before the readiness checklists are
    // evaluated (and written to the check history) for nothing; so is a
    // symbolic link where the run's directory or journal would go.
    crate::journal::refuse_links(&path)?;
    if !reserved && path.exists() {
        // The answer creating it would give: who drives it, else that it exists.
        drop(crate::journal::DriveLock::acquire(&path, &run_id, &stamp)?);
        return Err(crate::journal::JournalError::Exists(path.display().to_string()).into());
    }
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
        if reserved {
            // The empty run directory reserved for the default id.
            let _ = std::fs::remove_dir(path.parent().unwrap_or(Path::new(".")));
        }
        return Ok(ExitCode::from(crate::error::exit::NOT_READY));
    };
    let (mut journal, lock) = Journal::create(&path, &run_id, stamp)?;
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

/// `NAME-TIME`, the default run id before any counter: the runbook's name
/// with every character a run id may not hold made `-`.
fn default_base(name: &str, stamp: &Stamp) -> String {
    let time = stamp.clock.compact();
    // Room for `-TIME` and a counter (`-1000`).
    let base = crate::journal::run_id_base(name, time.len() + 1 + 5);
    format!("{base}-{time}")
}

/// A default run id whose run directory this process created (private,
/// 0700), so two runs of the same runbook started in the same millisecond
/// (or with a pinned clock) never share a journal: `NAME-TIME`, else
/// `NAME-TIME-2`, `-3`, ...
fn default_run_id(base: &str) -> Result<String, Error> {
    let runs = &crate::journal::runs_dir();
    crate::journal::refuse_link(runs)?;
    std::fs::create_dir_all(runs).map_err(|e| Error::io("create", runs.display(), e))?;
    for n in 1..=1000 {
        let id = if n == 1 {
            base.to_string()
        } else {
            format!("{base}-{n}")
        };
        match crate::files::create_private_dir(&runs.join(&id)) {
            Ok(true) => return Ok(id),
            // Taken (a symbolic link there too): try the next.
            Ok(false) => {}
            Err(e) if crate::files::is_link_error(&e, &runs.join(&id)) => {}
            Err(e) => return Err(Error::io("create", runs.join(&id).display(), e)),
        }
    }
    Err(Error::Usage(format!(
        "too many runs named `{base}`; pick one with `--run-id`"
    )))
}

/// Run the engine to its end and give the run's exit code (or hand the
/// hypercare watch to a background process, `--detach-hypercare`).
pub(crate) fn drive(
    plan: &Plan,
    journal: Journal,
    lock: crate::journal::DriveLock,
    opts: Options,
    no_progress: bool,
) -> Result<ExitCode, Error> {
    super::detach::say_if_nothing_to_detach(plan, &opts);
    let hand_over = super::detach::HandOver {
        plan,
        path: journal.path().to_path_buf(),
        stamp: journal.stamp().clone(),
        lock: Some(lock),
        run_ref: opts.run_ref.clone(),
        yes: opts.yes,
        wait: opts.wait,
        no_progress,
    };
    let runtime = super::runtime()?;
    let setup = crate::ui::LiveSetup {
        run_ref: opts.run_ref.clone(),
        journal: journal.path().to_path_buf(),
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
