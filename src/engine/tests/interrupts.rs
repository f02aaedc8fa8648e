//! Ctrl-C pauses, never kills: the running step finishes, then the person
//! at the terminal chooses continue, rollback or abort (the menu); without
//! one the run pauses. A second Ctrl-C within 3 s aborts.

use std::time::Duration;

use super::{Run, state_of};
use crate::engine::core::tests::step;
use crate::engine::operator::{Prompt, ScriptedOperator};
use crate::engine::step::Msg;
use crate::event::{Event, Outcome, PauseReason, StepState};
use crate::runbook::model::Action;

/// `a` then `b`, with a Ctrl-C while `a` runs, and `answer` typed at the menu.
async fn ctrl_c_then(answer: &str) -> super::Ran {
    let operator = ScriptedOperator::default().answer(Prompt::Interrupt, answer);
    let asked = operator.asked.clone();
    let ran = Run::new(vec![step("a", &[]), step("b", &["a"])])
        .operator(operator)
        .after(state_of("a", StepState::Running), Msg::Interrupt("SIGINT"))
        .go()
        .await;
    assert_eq!(asked.lock().unwrap()[0], Prompt::Interrupt);
    let menu = ran.events(|e| match e {
        Event::Decision {
            step: None,
            context,
            ..
        } => Some(context.clone()),
        _ => None,
    });
    assert_eq!(menu.len(), 1);
    assert_eq!(menu[0].1, "interrupt");
    ran
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_lets_the_step_finish_then_continue_goes_on() {
    let ran = ctrl_c_then("continue").await;
    assert_eq!(ran.outcome, Outcome::Completed);
    assert_eq!(
        ran.lines(),
        [
            "a:running",
            "interrupted:SIGINT",
            "a:done",
            "decision:continue",
            "b:running",
            "b:done"
        ]
    );
    assert!(ran.notices.iter().any(|n| n == "continuing"));
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_then_rollback_undoes_what_completed() {
    let ran = ctrl_c_then("rollback").await;
    assert_eq!(ran.outcome, Outcome::RolledBack);
    assert_eq!(
        ran.lines(),
        [
            "a:running",
            "interrupted:SIGINT",
            "a:done",
            "decision:rollback",
            "undo:a"
        ]
    );
    assert_eq!(
        ran.message(),
        "operator chose rollback; every completed step was rolled back"
    );
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_then_abort_ends_the_run_without_rollback() {
    let ran = ctrl_c_then("abort").await;
    assert_eq!(ran.outcome, Outcome::Aborted);
    assert_eq!(
        ran.lines(),
        [
            "a:running",
            "interrupted:SIGINT",
            "a:done",
            "decision:abort"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_word_that_is_not_on_the_menu_asks_again() {
    let operator = ScriptedOperator::default()
        .answer(Prompt::Interrupt, "maybe")
        .answer(Prompt::Interrupt, "c");
    let asked = operator.asked.clone();
    let ran = Run::new(vec![step("a", &[]), step("b", &["a"])])
        .operator(operator)
        .after(state_of("a", StepState::Running), Msg::Interrupt("SIGINT"))
        .go()
        .await;
    assert_eq!(ran.outcome, Outcome::Completed);
    assert_eq!(
        *asked.lock().unwrap(),
        [Prompt::Interrupt, Prompt::Interrupt]
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_terminal_ctrl_c_pauses_with_the_ways_on() {
    let ran = Run::new(vec![step("a", &[]), step("b", &["a"])])
        .after(state_of("a", StepState::Running), Msg::Interrupt("SIGINT"))
        .go()
        .await;
    assert_eq!(ran.outcome, Outcome::Paused);
    assert_eq!(
        ran.lines(),
        [
            "a:running",
            "interrupted:SIGINT",
            "a:done",
            "paused:interrupted"
        ]
    );
    let hint = ran.events(|e| match e {
        Event::Paused {
            reason: PauseReason::Interrupted,
            hint,
            ..
        } => Some(hint.clone()),
        _ => None,
    });
    assert_eq!(
        hint[0].1,
        "interrupted; continue with: cutover resume t\nor roll back with: cutover resume t --rollback"
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_ctrl_c_within_three_seconds_aborts_the_running_step() {
    let mut slow = step("slow", &[]);
    slow.action = Action::Run {
        command: "sleep 30".into(),
    };
    slow.grace = Duration::from_millis(100);
    let ran = Run::new(vec![slow, step("b", &["slow"])])
        .after(
            state_of("slow", StepState::Running),
            Msg::Interrupt("SIGINT"),
        )
        .after(
            |r| matches!(&r.event, Event::Interrupted { .. }),
            Msg::Interrupt("SIGINT"),
        )
        .go()
        .await;
    assert_eq!(ran.outcome, Outcome::Aborted);
    assert_eq!(
        ran.lines(),
        [
            "slow:running",
            "interrupted:SIGINT",
            "interrupted:SIGINT",
            "slow:stopped"
        ]
    );
}
