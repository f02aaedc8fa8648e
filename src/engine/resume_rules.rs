//! What `cutover resume` may do, decided on the journal's fold alone: a run
//! that already ended, the options that are refused (`--skip-rollback` of a
//! step the rollback does not run, `--abort` mid-rollback, `--rerun` /
//! `--skip` of a completed or unknown step, a runbook that changed), and
//! what each step needs on resume. Pure functions over `RunState`, so
//! `cmd::resume` only reads arguments, prints and wires the engine.

use crate::event::{Choice, Outcome, PauseReason, RunStarted, StepState};
use crate::journal::{RunState, StepRecord};
use crate::runbook::model::{OnFailure, Step};

/// The operator's resume options (`--rerun`, `--skip`, `--rollback`,
/// `--skip-rollback`, `--abort`, `--reason`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResumeOptions {
    pub rerun: Vec<String>,
    pub skip: Vec<String>,
    pub rollback: bool,
    /// `--skip-rollback STEP`: the operator undid these by hand; their
    /// rollback is not run (a rollback that failed goes on with the rest).
    pub skip_rollback: Vec<String>,
    /// `--abort`: end the paused run here, without rollback.
    pub abort: bool,
    /// `--reason`: the operator's words, journaled with each decision made
    /// here (for `--skip-rollback`: how the step was undone by hand).
    pub reason: Option<String>,
}

impl ResumeOptions {
    /// The operator says how a failed rollback goes on (`--rollback` runs
    /// the failed step again, `--skip-rollback` skips steps).
    pub fn retries_rollback(&self) -> bool {
        self.rollback || !self.skip_rollback.is_empty()
    }
}

/// Why `cutover resume` refuses, before anything is journaled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    #[error("journal `{journal}` has no `run_started` event; there is nothing to resume")]
    NotStarted { journal: String },
    #[error(
        "run `{run}` has no rollback to go on with; `--skip-rollback` is for a rollback that failed or was cut off"
    )]
    NoRollbackToSkip { run: String },
    #[error("the rollback of run `{run}` does not roll back `{step}` (it rolls back {planned})")]
    NotInRollback {
        run: String,
        step: String,
        /// The steps it rolls back, as a list of names in backticks.
        planned: String,
    },
    #[error("the rollback of `{step}` in run `{run}` already ran or was skipped")]
    RollbackAlreadyRan { run: String, step: String },
    #[error(
        "run `{run}` was rolling back when it stopped; `--abort` would leave it half rolled back: run `cutover resume {run_ref}` to finish the rollback"
    )]
    AbortDuringRollback { run: String, run_ref: String },
    #[error(
        "runbook `{path}` of run `{run}` is not there; resume from the directory the run was started in"
    )]
    RunbookMissing { path: String, run: String },
    #[error(
        "the runbook `{path}` changed since run `{run}` started (plan {started}, now {now}); resume runs only the plan that was started"
    )]
    PlanChanged {
        path: String,
        run: String,
        started: String,
        now: String,
    },
    #[error("step `{step}` of run `{run}` is already {state}; a completed step never runs again")]
    AlreadyComplete {
        step: String,
        run: String,
        state: &'static str,
    },
    #[error("run `{run}` has no step `{step}`")]
    NoSuchStep { run: String, step: String },
}

/// The run's `run_started`, or why there is nothing to resume.
pub fn started<'a>(state: &'a RunState, journal: &str) -> Result<&'a RunStarted, ResumeError> {
    state
        .started
        .as_ref()
        .ok_or_else(|| ResumeError::NotStarted {
            journal: journal.to_string(),
        })
}

/// The outcome of a run that ended for good, which a resume leaves as it
/// is: completed or rolled back, or a failed rollback when the operator
/// does not say how it goes on (`retry`).
pub(crate) fn ended_for_good(state: &RunState, retry: bool) -> Option<Outcome> {
    state.outcome().filter(|outcome| {
        matches!(outcome, Outcome::Completed | Outcome::RolledBack)
            || (*outcome == Outcome::RollbackFailed && !retry)
    })
}

/// A run that already ended for good: what `cutover resume` says (on
/// stderr) and the run's own exit code, which it exits with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub outcome: Outcome,
    pub message: String,
}

/// Whether the run already ended for good (see [`ended_for_good`]), with
/// the words to say: for a failed rollback, the run's own last words (what
/// failed, what is left, both ways on).
pub fn ended(
    state: &RunState,
    options: &ResumeOptions,
    run_id: &str,
    run_ref: &str,
) -> Option<Ended> {
    let outcome = ended_for_good(state, options.retries_rollback())?;
    let message = if outcome == Outcome::RollbackFailed {
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
        format!(
            "run `{run_id}` ended: {}",
            super::rollback::rollback_failed_words(&failed, &left, run_ref)
        )
    } else {
        format!(
            "run `{run_id}` already ended: {}; nothing to resume",
            outcome.label()
        )
    };
    Some(Ended { outcome, message })
}

/// `--skip-rollback` names steps of a rollback that failed or was cut off
/// and whose rollback has not run yet.
pub fn check_skip_rollback(
    state: &RunState,
    options: &ResumeOptions,
    run_id: &str,
) -> Result<(), ResumeError> {
    if options.skip_rollback.is_empty() {
        return Ok(());
    }
    let Some(rb) = state
        .rollback
        .as_ref()
        .filter(|rb| rb.finished != Some(true))
    else {
        return Err(ResumeError::NoRollbackToSkip {
            run: run_id.to_string(),
        });
    };
    let left = state.rollbacks_left();
    for step in &options.skip_rollback {
        if !rb.planned.contains(step) {
            return Err(ResumeError::NotInRollback {
                run: run_id.to_string(),
                step: step.clone(),
                planned: crate::diag::code_list(&rb.planned),
            });
        }
        if !left.contains(step) {
            return Err(ResumeError::RollbackAlreadyRan {
                run: run_id.to_string(),
                step: step.clone(),
            });
        }
    }
    Ok(())
}

/// `--abort` is refused while a rollback is under way: it would leave the
/// run half rolled back.
pub fn check_abort(
    state: &RunState,
    options: &ResumeOptions,
    run_id: &str,
    run_ref: &str,
) -> Result<(), ResumeError> {
    if options.abort
        && let Some(rb) = &state.rollback
        && rb.finished.is_none()
    {
        return Err(ResumeError::AbortDuringRollback {
            run: run_id.to_string(),
            run_ref: run_ref.to_string(),
        });
    }
    Ok(())
}

/// A resumed run runs exactly the plan that was started: the runbook
/// rebuilt now must hash to the journaled plan.
pub fn check_plan(started: &RunStarted, plan_hash: &str, run_id: &str) -> Result<(), ResumeError> {
    if plan_hash == started.plan_hash {
        return Ok(());
    }
    Err(ResumeError::PlanChanged {
        path: started.runbook_path.clone(),
        run: run_id.to_string(),
        started: started.plan_hash.clone(),
        now: plan_hash.to_string(),
    })
}

/// `--rerun` and `--skip` name steps of the plan (`is_step`) that are not
/// complete: a completed step never runs again.
pub fn check_steps(
    state: &RunState,
    options: &ResumeOptions,
    is_step: impl Fn(&str) -> bool,
    run_id: &str,
) -> Result<(), ResumeError> {
    for step in options.rerun.iter().chain(&options.skip) {
        if let Some(rec) = state.steps.get(step)
            && rec.state.is_complete()
        {
            return Err(ResumeError::AlreadyComplete {
                step: step.clone(),
                run: run_id.to_string(),
                state: rec.state.label(),
            });
        }
        if !is_step(step) {
            return Err(ResumeError::NoSuchStep {
                run: run_id.to_string(),
                step: step.clone(),
            });
        }
    }
    Ok(())
}

/// What a resume does with one step, given its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnResume {
    /// Complete (done, skipped, ...): it stays so.
    Complete(StepState),
    /// Failed with `on_failure = "continue"`: its dependents go on.
    FailedContinued,
    /// `--rerun`: it runs again.
    Rerun,
    /// `--skip`: it is skipped.
    Skip,
    /// An earlier resume decided to run it again and paused for another
    /// step before it did: the journaled decision holds.
    DecidedBefore,
    /// In flight at the crash and `idempotent`: it runs again (journaled as
    /// decided by `idempotent`).
    RerunIdempotent,
    /// Failed, or in flight at the crash and not safe to run again: a
    /// person decides (at the prompt, else the run pauses).
    Ask(PauseReason),
    /// Its command already succeeded: only its after-gates are left.
    AfterGates,
    /// Nothing to decide: it starts when its needs are met (or `--rollback`
    /// undoes what ran).
    AsIs,
}

/// What step `step` (journaled as `rec`) needs on a resume with `options`.
/// `elsewhere`: its command started on another host or PID namespace, so it
/// may still be running there and is never re-run on the engine's own.
pub(crate) fn on_resume(
    step: &Step,
    rec: &StepRecord,
    options: &ResumeOptions,
    elsewhere: bool,
) -> OnResume {
    let uncertain = match rec.state {
        s if s.is_complete() => return OnResume::Complete(s),
        StepState::Failed if step.on_failure == OnFailure::Continue => {
            return OnResume::FailedContinued;
        }
        StepState::Failed | StepState::Stopped => true,
        StepState::Running => rec.attempt_open && !rec.last_attempt_ok,
        _ => false,
    };
    let rollback = options.rollback;
    if options.rerun.contains(&step.id) {
        OnResume::Rerun
    } else if options.skip.contains(&step.id) {
        OnResume::Skip
    } else if uncertain
        && !rollback
        && matches!(
            rec.decision,
            Some(Choice::Rerun | Choice::Retry | Choice::Continue)
        )
    {
        OnResume::DecidedBefore
    } else if uncertain
        && rec.state != StepState::Failed
        && step.idempotent
        && !elsewhere
        && !rollback
    {
        OnResume::RerunIdempotent
    } else if uncertain && !rollback {
        OnResume::Ask(if rec.state == StepState::Failed {
            PauseReason::StepFailed
        } else {
            PauseReason::NeedsDecision
        })
    } else if rec.state == StepState::AfterGates
        || (rec.state == StepState::Running && rec.last_attempt_ok)
    {
        OnResume::AfterGates
    } else {
        OnResume::AsIs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::core::tests::step;
    use crate::event::{Event, Record, RollbackReason, RunFinished};

    /// The fold of `events`, journaled one after the other.
    fn fold(events: Vec<Event>) -> RunState {
        let records: Vec<Record> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Record {
                seq: i as u64 + 1,
                ts: format!("2026-11-25T21:00:{i:02}.000Z"),
                run_id: "r1".into(),
                actor: "op@host".into(),
                on_behalf: None,
                event,
            })
            .collect();
        RunState::replay(&records)
    }

    fn finished(outcome: Outcome) -> Event {
        Event::RunFinished(RunFinished {
            outcome,
            exit_code: outcome.exit_code(),
            dry_run: false,
            failed_steps: Vec::new(),
            queries_ok: None,
            message: String::new(),
        })
    }

    fn state_of(id: &str, state: StepState) -> Event {
        Event::StepState {
            step: id.into(),
            state,
            detail: None,
        }
    }

    /// `a` and `b` done, then a rollback of `b`, `a` in which `b` failed.
    fn rollback_failed_at_b() -> Vec<Event> {
        vec![
            state_of("a", StepState::Done),
            state_of("b", StepState::Done),
            Event::RollbackStarted {
                reason: RollbackReason::Operator,
                steps: vec!["b".into(), "a".into()],
                partial: Vec::new(),
            },
            Event::RollbackStepStarted {
                step: "b".into(),
                action: "undo b".into(),
                partial: false,
            },
            Event::RollbackStepFinished {
                step: "b".into(),
                ok: false,
                exit_code: Some(1),
                duration_ms: 5,
                detail: None,
            },
            Event::RollbackFinished {
                ok: false,
                failed: vec!["b".into()],
            },
            finished(Outcome::RollbackFailed),
        ]
    }

    fn asked(f: impl FnOnce(&mut ResumeOptions)) -> ResumeOptions {
        let mut options = ResumeOptions::default();
        f(&mut options);
        options
    }

    #[test]
    fn a_completed_or_rolled_back_run_is_not_resumed() {
        for outcome in [Outcome::Completed, Outcome::RolledBack] {
            let state = fold(vec![finished(outcome)]);
            let ended = ended(&state, &ResumeOptions::default(), "r1", "r1").unwrap();
            assert_eq!(ended.outcome, outcome);
            assert_eq!(
                ended.message,
                format!(
                    "run `r1` already ended: {}; nothing to resume",
                    outcome.label()
                )
            );
        }
        let paused = fold(vec![finished(Outcome::Paused)]);
        assert_eq!(ended(&paused, &ResumeOptions::default(), "r1", "r1"), None);
    }

    #[test]
    fn a_failed_rollback_goes_on_only_when_the_operator_says_how() {
        let state = fold(rollback_failed_at_b());
        let said = ended(&state, &ResumeOptions::default(), "r1", "./j.jsonl").unwrap();
        assert_eq!(said.outcome, Outcome::RollbackFailed);
        assert!(
            said.message.starts_with(
                "run `r1` ended: ROLLBACK FAILED at `b`; later rollbacks were not run; not rolled back yet: `a`"
            ),
            "{}",
            said.message
        );
        assert!(said.message.contains("cutover resume ./j.jsonl --rollback"));
        let retry = asked(|o| o.rollback = true);
        assert_eq!(ended(&state, &retry, "r1", "r1"), None);
        let skip = asked(|o| o.skip_rollback = vec!["b".into()]);
        assert_eq!(ended(&state, &skip, "r1", "r1"), None);
    }

    #[test]
    fn skip_rollback_names_a_step_whose_rollback_is_still_to_run() {
        let none = fold(vec![state_of("a", StepState::Failed)]);
        let skip = |s: &str| asked(|o| o.skip_rollback = vec![s.to_string()]);
        assert_eq!(
            check_skip_rollback(&none, &skip("a"), "r1")
                .unwrap_err()
                .to_string(),
            "run `r1` has no rollback to go on with; `--skip-rollback` is for a rollback that failed or was cut off"
        );
        let state = fold(rollback_failed_at_b());
        assert_eq!(
            check_skip_rollback(&state, &skip("c"), "r1")
                .unwrap_err()
                .to_string(),
            "the rollback of run `r1` does not roll back `c` (it rolls back `b`, `a`)"
        );
        assert_eq!(check_skip_rollback(&state, &skip("b"), "r1"), Ok(()));
        let mut events = rollback_failed_at_b();
        events.insert(
            5,
            Event::RollbackStepFinished {
                step: "a".into(),
                ok: true,
                exit_code: Some(0),
                duration_ms: 5,
                detail: None,
            },
        );
        let a_ran = fold(events);
        assert_eq!(
            check_skip_rollback(&a_ran, &skip("a"), "r1")
                .unwrap_err()
                .to_string(),
            "the rollback of `a` in run `r1` already ran or was skipped"
        );
    }

    #[test]
    fn abort_is_refused_while_a_rollback_is_under_way() {
        let mut events = rollback_failed_at_b();
        events.truncate(4); // cut off while `b` rolled back
        let state = fold(events);
        let abort = asked(|o| o.abort = true);
        assert_eq!(
            check_abort(&state, &abort, "r1", "./j.jsonl")
                .unwrap_err()
                .to_string(),
            "run `r1` was rolling back when it stopped; `--abort` would leave it half rolled back: run `cutover resume ./j.jsonl` to finish the rollback"
        );
        let failed = fold(rollback_failed_at_b());
        assert_eq!(check_abort(&failed, &abort, "r1", "r1"), Ok(()));
        assert_eq!(
            check_abort(&state, &ResumeOptions::default(), "r1", "r1"),
            Ok(())
        );
    }

    #[test]
    fn rerun_and_skip_name_steps_of_the_plan_that_are_not_complete() {
        let state = fold(vec![
            state_of("a", StepState::Done),
            state_of("b", StepState::Failed),
        ]);
        let is_step = |id: &str| ["a", "b", "c"].contains(&id);
        let rerun = |s: &str| asked(|o| o.rerun = vec![s.to_string()]);
        assert_eq!(
            check_steps(&state, &rerun("a"), is_step, "r1")
                .unwrap_err()
                .to_string(),
            "step `a` of run `r1` is already done; a completed step never runs again"
        );
        let skip = asked(|o| o.skip = vec!["x".into()]);
        assert_eq!(
            check_steps(&state, &skip, is_step, "r1")
                .unwrap_err()
                .to_string(),
            "run `r1` has no step `x`"
        );
        assert_eq!(check_steps(&state, &rerun("b"), is_step, "r1"), Ok(()));
        assert_eq!(check_steps(&state, &rerun("c"), is_step, "r1"), Ok(()));
    }

    #[test]
    fn a_changed_runbook_is_refused() {
        let started = RunStarted {
            plan_hash: "sha256:old".into(),
            runbook_name: "t".into(),
            runbook_path: "cutover.toml".into(),
            runbook_sha256: String::new(),
            change: None,
            env: None,
            production: false,
            dry_run: false,
            pid: 1,
            set: Vec::new(),
            plan: serde_json::Value::Null,
        };
        assert_eq!(check_plan(&started, "sha256:old", "r1"), Ok(()));
        assert_eq!(
            check_plan(&started, "sha256:new", "r1")
                .unwrap_err()
                .to_string(),
            "the runbook `cutover.toml` changed since run `r1` started (plan sha256:old, now sha256:new); resume runs only the plan that was started"
        );
        let empty = RunState::default();
        assert_eq!(
            super::started(&empty, "j.jsonl").unwrap_err().to_string(),
            "journal `j.jsonl` has no `run_started` event; there is nothing to resume"
        );
    }

    /// What `a` needs on resume when it was `state`, with `rec` changed by `f`.
    fn needs(state: StepState, f: impl FnOnce(&mut StepRecord, &mut Step)) -> OnResume {
        needs_with(state, &ResumeOptions::default(), false, f)
    }

    fn needs_with(
        state: StepState,
        options: &ResumeOptions,
        elsewhere: bool,
        f: impl FnOnce(&mut StepRecord, &mut Step),
    ) -> OnResume {
        let mut rec = StepRecord {
            state,
            ..StepRecord::default()
        };
        let mut a = step("a", &[]);
        f(&mut rec, &mut a);
        on_resume(&a, &rec, options, elsewhere)
    }

    #[test]
    fn each_step_gets_what_it_needs_on_resume() {
        let nothing = |_: &mut StepRecord, _: &mut Step| {};
        assert_eq!(
            needs(StepState::Done, nothing),
            OnResume::Complete(StepState::Done)
        );
        assert_eq!(
            needs(StepState::Failed, |_, s| s.on_failure = OnFailure::Continue),
            OnResume::FailedContinued
        );
        assert_eq!(
            needs(StepState::Failed, nothing),
            OnResume::Ask(PauseReason::StepFailed)
        );
        let in_flight = |r: &mut StepRecord, _: &mut Step| r.attempt_open = true;
        assert_eq!(
            needs(StepState::Running, in_flight),
            OnResume::Ask(PauseReason::NeedsDecision)
        );
        assert_eq!(
            needs(StepState::Running, |r, s| {
                r.attempt_open = true;
                s.idempotent = true;
            }),
            OnResume::RerunIdempotent
        );
        // Started on another host: maybe still running there.
        let idempotent = |r: &mut StepRecord, s: &mut Step| {
            r.attempt_open = true;
            s.idempotent = true;
        };
        assert_eq!(
            needs_with(
                StepState::Running,
                &ResumeOptions::default(),
                true,
                idempotent
            ),
            OnResume::Ask(PauseReason::NeedsDecision)
        );
        assert_eq!(
            needs(StepState::Stopped, |r, _| r.decision = Some(Choice::Rerun)),
            OnResume::DecidedBefore
        );
        assert_eq!(
            needs(StepState::Running, |r, _| r.last_attempt_ok = true),
            OnResume::AfterGates
        );
        assert_eq!(needs(StepState::AfterGates, nothing), OnResume::AfterGates);
        assert_eq!(needs(StepState::Pending, nothing), OnResume::AsIs);
    }

    #[test]
    fn the_operator_s_options_come_first_and_rollback_reruns_nothing() {
        let rerun = asked(|o| o.rerun = vec!["a".into()]);
        let skip = asked(|o| o.skip = vec!["a".into()]);
        let rollback = asked(|o| o.rollback = true);
        let nothing = |_: &mut StepRecord, _: &mut Step| {};
        assert_eq!(
            needs_with(StepState::Failed, &rerun, false, nothing),
            OnResume::Rerun
        );
        assert_eq!(
            needs_with(StepState::Pending, &skip, false, nothing),
            OnResume::Skip
        );
        assert_eq!(
            needs_with(StepState::Failed, &rollback, false, nothing),
            OnResume::AsIs
        );
        assert_eq!(
            needs_with(StepState::Done, &rerun, false, nothing),
            OnResume::Complete(StepState::Done),
            "a completed step never runs again"
        );
    }
}
