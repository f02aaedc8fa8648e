//! `cutover resume`: take over a run's journal, rebuild its plan, replay, go on.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{ResumeArgs, VarArgs};
use crate::engine::{Options, ResumeInput, Start};
use crate::error::Error;
use crate::event::Outcome;
use crate::journal::{Journal, RunState, Stamp, locate};

pub fn exec(args: &ResumeArgs) -> Result<ExitCode, Error> {
    let path = locate(&args.run.run)?;
    let stamp = Stamp::new(args.output.actor.clone());
    let (journal, _lock, read) = Journal::open(&path, stamp)?;
    if let Some(note) = read.truncation_note() {
        eprintln!(
            "warning: {note} (a crash mid-write); the torn line is cut off and the run goes on"
        );
    }
    for w in &read.warnings {
        eprintln!("warning: journal `{}`: {w}", path.display());
    }
    let state = RunState::replay(&read.records);
    let Some(started) = state.started.clone() else {
        return Err(Error::Usage(format!(
            "journal `{}` has no `run_started` event; there is nothing to resume",
            path.display()
        )));
    };
    if let Some(outcome @ (Outcome::Completed | Outcome::RolledBack | Outcome::RollbackFailed)) =
        state.outcome()
    {
        eprintln!(
            "run `{}` already ended: {}; nothing to resume",
            read.header.run_id,
            outcome.label()
        );
        return Ok(ExitCode::from(outcome.exit_code()));
    }
    if args.abort
        && let Some(rb) = &state.rollback
        && rb.finished.is_none()
    {
        return Err(Error::Usage(format!(
            "run `{}` was rolling back when it stopped; `--abort` would leave it half rolled back: run `cutover resume {}` to finish the rollback",
            read.header.run_id, args.run.run
        )));
    }
    // The plan is rebuilt from the runbook and must hash to the journaled one:
    // a resumed run runs exactly what was started (secrets come from this environment).
    let vars = VarArgs {
        env: started.env.clone(),
        set: started.set.clone(),
    };
    if !Path::new(&started.runbook_path).is_file() {
        return Err(Error::Usage(format!(
            "runbook `{}` of run `{}` is not there; resume from the directory the run was started in",
            started.runbook_path, read.header.run_id
        )));
    }
    let plan = crate::plan::build(Path::new(&started.runbook_path), &vars)?;
    if plan.hash != started.plan_hash {
        return Err(Error::Usage(format!(
            "the runbook `{}` changed since run `{}` started (plan {}, now {}); resume runs only the plan that was started",
            started.runbook_path, read.header.run_id, started.plan_hash, plan.hash
        )));
    }
    for step in args.rerun.iter().chain(&args.skip) {
        if state.steps.get(step).is_some_and(|r| r.state.is_complete()) {
            return Err(Error::Usage(format!(
                "step `{step}` of run `{}` is already {}; a completed step never runs again",
                read.header.run_id,
                state.steps[step].state.label()
            )));
        }
        if !plan.runbook.steps.iter().any(|s| &s.id == step) {
            return Err(Error::Usage(format!(
                "run `{}` has no step `{step}`",
                read.header.run_id
            )));
        }
    }
    if args.output.yes && plan.production {
        eprintln!(
            "warning: `--yes` does not approve anything in a production env; approvals need a person"
        );
    }
    if let Some(outcome) = state.outcome() {
        eprintln!(
            "run `{}` was {}; resuming",
            read.header.run_id,
            outcome.label()
        );
    }
    let run_ref = if path == crate::journal::default_path(&read.header.run_id) {
        read.header.run_id.clone()
    } else {
        path.display().to_string()
    };
    let opts = Options {
        dry_run: started.dry_run,
        yes: args.output.yes,
        interactive: super::run::interactive(),
        wait: args.output.wait,
        runbook_dir: super::run::runbook_dir(&started.runbook_path),
        run_ref,
        start: Start::Resume(Box::new(ResumeInput {
            state,
            rerun: args.rerun.clone(),
            skip: args.skip.clone(),
            rollback: args.rollback,
            abort: args.abort,
        })),
    };
    super::run::drive(&plan, journal, opts, args.output.no_progress)
}
