//! `cutover done RUN STEP`: mark a manual step done from another terminal.
//! The line is judged and written under the journal's append lock, so it is
//! safe while the engine writes and journaled once however many say it at
//! once; a waiting engine notices it, a paused run picks it up on resume.

use std::process::ExitCode;

use crate::cli::DoneArgs;
use crate::error::Error;
use crate::event::{Event, StepState};
use crate::journal::{RunState, Stamp, append_judged, locate, read_journal};

pub fn exec(args: &DoneArgs) -> Result<ExitCode, Error> {
    let path = locate(&args.run.run)?;
    let read = read_journal(&path)?;
    let mut state = RunState::replay(&read.records);
    let run_id = &read.header.run_id;
    let Some(step) = state.plan.step(&args.step) else {
        let hint = crate::diag::did_you_mean(&args.step, state.plan.step_ids())
            .map(|h| format!(": {h}"))
            .unwrap_or_default();
        return Err(Error::Usage(format!(
            "run `{run_id}` has no step `{}`{hint}",
            args.step
        )));
    };
    if !step.is_manual() {
        return Err(Error::Usage(format!(
            "step `{}` of run `{run_id}` is not a manual step; only manual steps are marked done by hand",
            args.step
        )));
    }
    let stamp = Stamp::new(args.actor.clone());
    let note = args
        .note
        .as_deref()
        .map(|n| super::plan_masker(&state.plan).mask(n));
    // Judged under the append lock: two `cutover done` at once journal one
    // `manual_done`; the other is told the step is already done.
    let written = append_judged(&path, &stamp, &read, |appended, _| {
        for r in appended {
            state.apply(r);
        }
        if state
            .steps
            .get(&args.step)
            .is_some_and(|r| r.state == StepState::Done || r.manual_done)
        {
            return Err(());
        }
        Ok(vec![Event::ManualDone {
            step: args.step.clone(),
            // A pasted secret is masked like command output.
            note: note.clone(),
        }])
    })?;
    let Some(record) = written.ok().and_then(|records| records.into_iter().next()) else {
        super::say!("step `{}` of run `{run_id}` is already done", args.step);
        return Ok(ExitCode::SUCCESS);
    };
    super::say!(
        "marked `{}` done in run `{run_id}` as {} (journal seq {})",
        args.step,
        record.who(),
        record.seq
    );
    if state.outcome().is_some() {
        super::say!(
            "the run is paused; continue it with: cutover resume {}",
            crate::journal::run_ref(&path, run_id)
        );
    }
    Ok(ExitCode::SUCCESS)
}
