//! `cutover resume`: take over a run's journal, rebuild its plan, replay, go on.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::ResumeArgs;
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
        super::say!("warning: journal `{}`: {w}", path.display());
    }
    let state = RunState::replay(&read.records);
    let Some(started) = state.started.clone() else {
        return Err(Error::Usage(format!(
            "journal `{}` has no `run_started` event; there is nothing to resume",
            path.display()
        )));
    };
    let retry_rollback = args.rollback || !args.skip_rollback.is_empty();
    match state.outcome() {
        Some(outcome @ (Outcome::Completed | Outcome::RolledBack)) => {
            eprintln!(
                "run `{}` already ended: {}; nothing to resume",
                read.header.run_id,
                outcome.label()
            );
            return Ok(ExitCode::from(outcome.exit_code()));
        }
        Some(outcome @ Outcome::RollbackFailed) if !retry_rollback => {
            // The run's own last words: what failed, what is left, both ways on.
            let failed = state
                .rollback
                .as_ref()
                .map(|rb| rb.failed.clone())
                .unwrap_or_default();
            let left: Vec<String> = state
                .rollbacks_left()
                .into_iter()
                .filter(|s| !failed.contains(s))
                .collect();
            eprintln!(
                "run `{}` ended: {}",
                read.header.run_id,
                crate::engine::rollback_failed_words(&failed, &left, &args.run.run)
            );
            return Ok(ExitCode::from(outcome.exit_code()));
        }
        _ => {}
    }
    if !args.skip_rollback.is_empty() {
        let Some(rb) = state
            .rollback
            .as_ref()
            .filter(|rb| rb.finished != Some(true))
        else {
            return Err(Error::Usage(format!(
                "run `{}` has no rollback to go on with; `--skip-rollback` is for a rollback that failed or was cut off",
                read.header.run_id
            )));
        };
        let left = state.rollbacks_left();
        for step in &args.skip_rollback {
            if !rb.planned.contains(step) {
                return Err(Error::Usage(format!(
                    "the rollback of run `{}` does not roll back `{step}` (it rolls back {})",
                    read.header.run_id,
                    crate::diag::code_list(&rb.planned)
                )));
            }
            if !left.contains(step) {
                return Err(Error::Usage(format!(
                    "the rollback of `{step}` in run `{}` already ran or was skipped",
                    read.header.run_id
                )));
            }
        }
    }
    if !args.skip_rollback.is_empty() && args.reason.as_deref().is_none_or(|r| r.trim().is_empty())
    {
        eprintln!(
            "hint: `--reason \"...\"` records how it was undone by hand (shown in status and the report; without it: \"undone by hand\")"
        );
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
    let overrides = crate::plan::Overrides {
        env: started.env.clone(),
        set: started.set.clone(),
    };
    if !Path::new(&started.runbook_path).is_file() {
        return Err(Error::Usage(format!(
            "runbook `{}` of run `{}` is not there; resume from the directory the run was started in",
            started.runbook_path, read.header.run_id
        )));
    }
    let plan = super::build_plan(Path::new(&started.runbook_path), &overrides)?;
    if plan.hash != started.plan_hash {
        return Err(Error::Usage(format!(
            "the runbook `{}` changed since run `{}` started (plan {}, now {}); resume runs only the plan that was started",
            started.runbook_path, read.header.run_id, started.plan_hash, plan.hash
        )));
    }
    // The driver is a person too (`no_self_approval`, the prompt's votes).
    crate::engine::approval::voter(
        &journal.stamp().actor,
        journal.stamp().on_behalf.as_deref(),
        plan.production,
        plan.runbook.declared_identities,
    )
    .map_err(|refusal| Error::Usage(refusal.to_string()))?;
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
    if args.output.yes && !plan.production && !started.dry_run {
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
            skip_rollback: args.skip_rollback.clone(),
            abort: args.abort,
            reason: args.reason.clone(),
        })),
    };
    super::run::drive(&plan, journal, opts, args.output.no_progress)
}
