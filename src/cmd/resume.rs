//! `cutover resume`: take over a run's journal, rebuild its plan, replay, go on.
//! What a resume may do is `engine::resume_rules`; this reads the
//! arguments, prints, and hands the run to the engine.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::ResumeArgs;
use crate::engine::resume_rules::{self, ResumeError, ResumeOptions};
use crate::engine::{Options, ResumeInput, Start};
use crate::error::Error;
use crate::event::{Event, HypercareEnd, HypercareEnded};
use crate::journal::{
    DriveLock, Journal, JournalRead, RunState, Stamp, append_external, is_driven, locate,
    read_journal,
};
use crate::plan::Plan;

pub fn exec(args: &ResumeArgs) -> Result<ExitCode, Error> {
    exec_with(args, None)
}

/// `cutover resume`, of a run in a local journal, or in the shared journal
/// at `url` (`--journal-url`, `CUTOVER_JOURNAL_URL`), from any host.
pub fn exec_with(args: &ResumeArgs, url: Option<&str>) -> Result<ExitCode, Error> {
    let Some(Opened {
        journal,
        read,
        run_ref,
        lock,
    }) = (match url {
        Some(url) => open_shared(args, url)?,
        None => open_file(args)?,
    })
    else {
        return Ok(ExitCode::SUCCESS);
    };
    let location = journal.location();
    if let Some(note) = read.truncation_note() {
        eprintln!(
            "warning: {note} (a crash mid-write); the torn line is cut off and the run goes on"
        );
    }
    for w in &read.warnings {
        super::say!("warning: journal `{location}`: {w}");
    }
    let state = RunState::replay(&read.records);
    let run_id = read.header.run_id.clone();
    let started = resume_rules::started(&state, &location)?.clone();
    let options = options(args);
    if let Some(ended) = resume_rules::ended(&state, &options, &run_id, &run_ref) {
        eprintln!("{}", ended.message);
        return Ok(ExitCode::from(ended.outcome.exit_code()));
    }
    resume_rules::check_skip_rollback(&state, &options, &run_id)?;
    if !options.skip_rollback.is_empty()
        && options
            .reason
            .as_deref()
            .is_none_or(|r| r.trim().is_empty())
    {
        eprintln!(
            "hint: `--reason \"...\"` records how it was undone by hand (shown in status and the report; without it: \"undone by hand\")"
        );
    }
    resume_rules::check_abort(&state, &options, &run_id, &run_ref)?;
    // The plan is rebuilt from the runbook and must hash to the journaled one:
    // a resumed run runs exactly what was started (secrets come from this environment).
    let overrides = crate::plan::Overrides {
        env: started.env.clone(),
        set: started.set.clone(),
    };
    if !Path::new(&started.runbook_path).is_file() && !enter_project(&started.runbook_path) {
        return Err(ResumeError::RunbookMissing {
            path: started.runbook_path.clone(),
            run: run_id,
        }
        .into());
    }
    let plan = super::build_plan(Path::new(&started.runbook_path), &overrides)?;
    resume_rules::check_plan(&started, &plan.hash, &run_id)?;
    // The driver is a person too (`no_self_approval`, the prompt's votes).
    crate::engine::approval::voter(
        &journal.stamp().actor,
        journal.stamp().on_behalf.as_deref(),
        plan.production,
        plan.runbook.declared_identities,
    )
    .map_err(|refusal| Error::Usage(refusal.to_string()))?;
    let is_step = |id: &str| plan.runbook.steps.iter().any(|s| s.id == id);
    resume_rules::check_steps(&state, &options, is_step, &run_id)?;
    warn_about_yes(args, &plan, &state, started.dry_run);
    if let Some(outcome) = state.outcome() {
        eprintln!("run `{run_id}` was {}; resuming", outcome.label());
    }
    let opts = Options {
        dry_run: started.dry_run,
        yes: args.output.yes,
        wait: args.output.wait,
        runbook_dir: super::run::runbook_dir(&started.runbook_path),
        run_ref,
        start: Start::Resume(Box::new(ResumeInput { state, options })),
        // A resume finds the schedule in the journal.
        scheduling: crate::engine::Scheduling::default(),
        detach_hypercare: args.output.detach_hypercare,
    };
    super::run::drive(&plan, journal, lock, opts, args.output.no_progress)
}

/// A run taken over: its journal (driving lock held), what it holds, and
/// how printed commands name it.
struct Opened {
    journal: Journal,
    read: JournalRead,
    run_ref: String,
    /// The file's driving lock (a shared journal's is its store's connection).
    lock: Option<DriveLock>,
}

/// Take over a run in a local journal; `None` when `--end-hypercare` was
/// all there was to do (the process driving it completes it).
fn open_file(args: &ResumeArgs) -> Result<Option<Opened>, Error> {
    if args.background_watch {
        super::detach::await_hand_over(&args.run.run)?;
    }
    let located = locate(&args.run.run)?;
    // Found up the tree: a resume from a subdirectory may move to the
    // project's directory (`enter_project`) with the journal open.
    let path = if crate::journal::cutover_dir().is_absolute() {
        std::path::absolute(&located).unwrap_or_else(|_| located.clone())
    } else {
        located.clone()
    };
    let stamp = Stamp::new(args.output.actor.clone());
    if args.end_hypercare && end_hypercare(args, &path, &stamp)? {
        return Ok(None);
    }
    let (journal, lock, read) = Journal::open(&path, stamp)?;
    // `latest` or a prefix names the run it found in every printed command.
    let run_ref = crate::journal::run_ref(&located, &read.header.run_id);
    Ok(Some(Opened {
        journal,
        read,
        run_ref,
        lock: Some(lock),
    }))
}

/// Take over a run in the shared journal, from any host: its driving lock
/// is a session lock in the database, so a crashed driver's is gone.
fn open_shared(args: &ResumeArgs, url: &str) -> Result<Option<Opened>, Error> {
    super::shared::refuse_as(args.output.actor.as_ref())?;
    super::detach::refuse_shared(args.output.detach_hypercare)?;
    let url = crate::pg::JournalUrl::parse(url)?;
    if args.end_hypercare && end_hypercare_shared(args, &url)? {
        return Ok(None);
    }
    let run_id = args.run.run.clone();
    let driven = crate::pg::drive::open(&url, &run_id)?;
    let last = driven.read.last_seq();
    Ok(Some(Opened {
        journal: Journal::shared(driven.store, &run_id, driven.stamp, last),
        read: driven.read,
        run_ref: run_id,
        lock: None,
    }))
}

/// A resume from a subdirectory of the project: the journaled runbook path
/// (as given to `cutover run`, part of the plan's hash) is relative to the
/// project's directory, the one holding the `.cutover/` found up the tree.
/// Go there, as the run was started there, so the runbook, its `workdir`s
/// and every relative path mean what they meant. Whether it went.
fn enter_project(runbook: &str) -> bool {
    let home = crate::journal::cutover_dir();
    let Some(project) = home
        .parent()
        .filter(|p| p.is_absolute() && Path::new(runbook).is_relative())
    else {
        return false;
    };
    project.join(runbook).is_file() && std::env::set_current_dir(project).is_ok()
}

/// `--end-hypercare`: journal who ends it and why. `true` when the process
/// driving the run takes it from there (it completes the run); `false`: this
/// resume goes on and completes it.
pub(super) fn end_hypercare_why(
    args: &ResumeArgs,
    masker: &crate::secrets::Masker,
) -> Result<String, Error> {
    args.reason
        .as_deref()
        .map(|r| masker.mask(r.trim()))
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            Error::Usage("`--end-hypercare` needs `--reason TEXT`: why it ends early".into())
        })
}

fn end_hypercare(args: &ResumeArgs, path: &Path, stamp: &Stamp) -> Result<bool, Error> {
    let driven = is_driven(path);
    let read = read_journal(path)?;
    let state = RunState::replay(&read.records);
    let run_id = read.header.run_id;
    check_in_hypercare(&state, &run_id)?;
    let why = end_hypercare_why(args, &super::journal_masker(path))?;
    let record = append_external(path, stamp, ended_early(why))?;
    say_ended(&run_id, &record, driven);
    Ok(driven)
}

fn check_in_hypercare(state: &RunState, run_id: &str) -> Result<(), Error> {
    if state.in_hypercare() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "run `{run_id}` is not in hypercare: `--end-hypercare` ends the watch after the last step"
    )))
}

fn ended_early(why: String) -> Event {
    Event::HypercareEnded(HypercareEnded {
        reason: HypercareEnd::EndedEarly,
        why: Some(why),
    })
}

fn say_ended(run_id: &str, record: &crate::event::Record, driven: bool) {
    super::say!(
        "hypercare of run `{run_id}` ended early by {} (journal seq {})",
        record.who(),
        record.seq
    );
    if driven {
        super::say!("the process driving the run completes it");
    }
}

/// `--end-hypercare` of a run in the shared journal; `true` when a driver
/// (on any host) completes it.
fn end_hypercare_shared(args: &ResumeArgs, url: &crate::pg::JournalUrl) -> Result<bool, Error> {
    let db = crate::pg::Db::connect(url)?;
    let run_id = &args.run.run;
    let state = crate::journal::fold_from_text(&db.journal_text(run_id)?)?.state;
    check_in_hypercare(&state, run_id)?;
    let mut masker = super::plan_masker(&state.plan);
    if let Some(password) = url.password() {
        masker = masker.with(&password);
    }
    let why = end_hypercare_why(args, &masker)?;
    let record = db.append_external(run_id, ended_early(why))?;
    let driven = db.is_driven(run_id)?;
    say_ended(run_id, &record, driven);
    Ok(driven)
}

fn options(args: &ResumeArgs) -> ResumeOptions {
    ResumeOptions {
        rerun: args.rerun.clone(),
        skip: args.skip.clone(),
        rollback: args.rollback,
        skip_rollback: args.skip_rollback.clone(),
        abort: args.abort,
        reason: args.reason.clone(),
    }
}

/// What `--yes` will (not) do on this resume.
fn warn_about_yes(args: &ResumeArgs, plan: &Plan, state: &RunState, dry_run: bool) {
    if args.output.yes && plan.production {
        eprintln!(
            "warning: `--yes` does not approve anything in a production env; approvals need a person"
        );
    }
    if args.output.yes && !plan.production && !dry_run {
        let waiting = plan.runbook.steps.iter().filter(|s| {
            state
                .steps
                .get(&s.id)
                .is_none_or(|r| !r.state.is_complete())
        });
        for line in crate::engine::approval::yes_summary(waiting) {
            eprintln!("{line}");
        }
    }
}
