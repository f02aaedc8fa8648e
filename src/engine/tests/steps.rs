//! A step's action: retries `backoff` apart; manual steps, whose
//! instructions are shown while the run waits for `done` typed at the
//! terminal (or pauses without one).

use std::time::Duration;

use super::{Run, shift, state_of};
use crate::engine::core::tests::step;
use crate::engine::operator::ScriptedOperator;
use crate::engine::step::Msg;
use crate::event::{AttemptResult, Event, Outcome, PauseReason, StepState};
use crate::runbook::model::{Action, OnFailure, Step};

fn manual() -> Step {
    let mut check = step("check", &["a"]);
    check.action = Action::Manual {
        instructions: "compare the dashboards".into(),
    };
    check
}

#[tokio::test(start_paused = true)]
async fn done_typed_once_the_step_waits_completes_it_with_the_note() {
    // Typed after the step says it waits (not in answer to the prompt).
    let ran = Run::new(vec![step("a", &[]), manual()])
        .operator(ScriptedOperator::default())
        .after(
            state_of("check", StepState::AwaitingOperator),
            Msg::Answer(Some("done all green".into())),
        )
        .go()
        .await;
    assert_eq!(ran.outcome, Outcome::Completed);
    assert_eq!(
        ran.lines(),
        [
            "a:running",
            "a:done",
            "check:awaiting operator",
            "check:done"
        ]
    );
    let done = ran.events(|e| match e {
        Event::ManualDone { step, note } => Some((step.clone(), note.clone())),
        _ => None,
    });
    assert_eq!(done[0].1, ("check".into(), Some("all green".into())));
    assert!(
        ran.notices
            .iter()
            .any(|n| n == "manual step `check`: do it, then type `done [NOTE]` (or run: cutover done t check)"),
        "{:?}",
        ran.notices
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_terminal_a_manual_step_pauses_with_both_commands() {
    let ran = Run::new(vec![step("a", &[]), manual()]).go().await;
    assert_eq!(ran.outcome, Outcome::Paused);
    let paused = ran.events(|e| match e {
        Event::Paused { reason, hint, .. } => Some((*reason, hint.clone())),
        _ => None,
    });
    assert_eq!(
        paused[0].1,
        (
            PauseReason::ManualStep,
            "when it is done: cutover done t check [--note \"...\"]\nthen continue with: cutover resume t".into()
        )
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_command_is_tried_again_backoff_apart() {
    let mut flaky = step("flaky", &[]);
    flaky.action = Action::Run {
        command: "exit 2".into(),
    };
    flaky.retries.attempts = 2;
    flaky.retries.backoff = Duration::from_mins(10);
    flaky.on_failure = OnFailure::Pause;
    let ran = Run::new(vec![flaky]).go().await;
    assert_eq!(ran.outcome, Outcome::Paused);
    let started = ran.events(|e| match e {
        Event::AttemptStarted { attempt, .. } => Some(*attempt),
        _ => None,
    });
    let finished = ran.events(|e| match e {
        Event::AttemptFinished {
            attempt, result, ..
        } => Some((*attempt, *result)),
        _ => None,
    });
    assert_eq!(
        finished.iter().map(|(_, f)| *f).collect::<Vec<_>>(),
        [
            (1, AttemptResult::Failed),
            (2, AttemptResult::Failed),
            (3, AttemptResult::Failed)
        ]
    );
    // The next attempt starts `backoff` after the last one ended (a real
    // command takes real time; the paused clock may move while it runs).
    for i in 0..2 {
        let earliest = shift(&finished[i].0, 10 * 60 * 1000);
        let latest = shift(&earliest, 1000);
        let next = &started[i + 1].0;
        assert!(
            *next >= earliest && *next <= latest,
            "attempt {} ended {}, the next started {next}",
            i + 1,
            finished[i].0
        );
    }
}
