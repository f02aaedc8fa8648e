//! `cutover done RUN STEP`: mark a manual step done from another terminal.
//! The line is judged and written under the journal's append lock, so it is
//! safe while the engine writes and journaled once however many say it at
//! once; a waiting engine notices it, a paused run picks it up on resume.

use std::process::ExitCode;

use crate::cli::DoneArgs;
use crate::error::Error;
use crate::event::{Event, Record, StepState};
use crate::journal::{RunState, Stamp, append_judged, locate, read_journal};

pub fn exec(args: &DoneArgs) -> Result<ExitCode, Error> {
    let path = locate(&args.run.run)?;
    let read = read_journal(&path)?;
    let mut state = RunState::replay(&read.records);
    let run_id = read.header.run_id.clone();
    check_manual(&state, &args.step, &run_id)?;
    let stamp = Stamp::new(args.actor.clone());
    // A pasted secret is masked like command output.
    let note = args
        .note
        .as_deref()
        .map(|n| super::plan_masker(&state.plan).mask(n));
    // Judged under the append lock: two `cutover done` at once journal one
    // `manual_done`; the other is told the step is already done.
    let written = append_judged(&path, &stamp, &read, |appended, _| {
        judge_done(&mut state, appended, &args.step, note.clone())
    })?;
    let run_ref = crate::journal::run_ref(&path, &run_id);
    say_done(written.ok(), &state, &args.step, &run_ref, &run_id);
    Ok(ExitCode::SUCCESS)
}

/// Refuse a step the run does not have, or one that is not manual.
pub(crate) fn check_manual(state: &RunState, step: &str, run_id: &str) -> Result<(), Error> {
    let Some(found) = state.plan.step(step) else {
        let hint = crate::diag::did_you_mean(step, state.plan.step_ids())
            .map(|h| format!(": {h}"))
            .unwrap_or_default();
        return Err(Error::Usage(format!(
            "run `{run_id}` has no step `{step}`{hint}"
        )));
    };
    if !found.is_manual() {
        return Err(Error::Usage(format!(
            "step `{step}` of run `{run_id}` is not a manual step; only manual steps are marked done by hand"
        )));
    }
    Ok(())
}

/// `manual_done` for `step`, unless the records up to the lock (folded into
/// `state` with `appended`) already have it done.
pub(crate) fn judge_done(
    state: &mut RunState,
    appended: &[Record],
    step: &str,
    note: Option<String>,
) -> Result<Vec<Event>, ()> {
    for r in appended {
        state.apply(r);
    }
    if state
        .steps
        .get(step)
        .is_some_and(|r| r.state == StepState::Done || r.manual_done)
    {
        return Err(());
    }
    Ok(vec![Event::ManualDone {
        step: step.to_string(),
        note,
    }])
}

/// What `done` says: the record written, or that the step was already done.
pub(crate) fn say_done(
    written: Option<Vec<Record>>,
    state: &RunState,
    step: &str,
    run_ref: &str,
    run_id: &str,
) {
    let Some(record) = written.and_then(|records| records.into_iter().next()) else {
        super::say!("step `{step}` of run `{run_id}` is already done");
        return;
    };
    super::say!(
        "marked `{step}` done in run `{run_id}` as {} (journal seq {})",
        record.who(),
        record.seq
    );
    if state.outcome().is_some() {
        super::say!("the run is paused; continue it with: cutover resume {run_ref}");
    }
}
