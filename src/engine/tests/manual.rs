//! Manual steps: the instructions are shown and the run waits for `done`
//! typed at the terminal (or pauses without one).

use super::{Run, state_of};
use crate::engine::core::tests::step;
use crate::engine::operator::ScriptedOperator;
use crate::engine::step::Msg;
use crate::event::{Event, Outcome, PauseReason, StepState};
use crate::runbook::model::{Action, Step};

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
