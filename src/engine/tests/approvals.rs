//! Go/no-go at the engine: the approval `timeout` (abort or pause, judged
//! on the paused clock: journaled exactly `timeout` after the request), a
//! vote typed at the prompt, a reminder of who approved and what is left.

use std::time::Duration;

use super::{Run, shift};
use crate::engine::core::tests::step;
use crate::engine::operator::{Prompt, ScriptedOperator};
use crate::event::{Event, GoNoGo, Outcome, PauseReason};
use crate::runbook::model::{Approval, OnReject, OnTimeout, Step};

const FIFTEEN_MINUTES: Duration = Duration::from_mins(15);

fn gated(on_timeout: OnTimeout) -> Step {
    let mut switch = step("switch", &["a"]);
    switch.approval = Some(Approval {
        min: 1,
        approvers: Vec::new(),
        no_self_approval: false,
        reason: false,
        timeout: Some(FIFTEEN_MINUTES),
        on_timeout,
        on_reject: OnReject::Rollback,
        escalate_after: None,
        escalate_to: Vec::new(),
    });
    switch
}

/// When the go/no-go of `switch` was asked for, and when it timed out:
/// its `timeout` later, noticed at the scheduler's first look after the
/// deadline (it looks every 200 ms while waiting).
fn asked_and_timed_out(ran: &super::Ran) -> (String, String) {
    let asked = ran.events(|e| matches!(e, Event::ApprovalRequested { .. }).then_some(()));
    let timed_out = ran.events(|e| match e {
        Event::ApprovalTimedOut { waited_ms, .. } => Some(*waited_ms),
        _ => None,
    });
    assert_eq!(timed_out.len(), 1, "{timed_out:?}");
    assert_eq!(timed_out[0].1, 15 * 60 * 1000);
    let (asked, timed_out) = (asked[0].0.clone(), timed_out[0].0.clone());
    let late = humantime::parse_rfc3339(&timed_out)
        .unwrap()
        .duration_since(humantime::parse_rfc3339(&shift(&asked, 15 * 60 * 1000)).unwrap())
        .unwrap();
    assert!(late <= Duration::from_millis(200), "{asked} → {timed_out}");
    (asked, timed_out)
}

#[tokio::test(start_paused = true)]
async fn an_approval_timeout_with_on_timeout_abort_is_a_no_go_that_aborts() {
    let mut run = Run::new(vec![step("a", &[]), gated(OnTimeout::Abort)]);
    run.wait = true;
    let ran = run.go().await;
    assert_eq!(ran.outcome, Outcome::Aborted);
    let (_, timed_out) = asked_and_timed_out(&ran);
    let decided = ran.events(|e| match e {
        Event::ApprovalDecided {
            decision, reason, ..
        } => Some((*decision, reason.clone())),
        _ => None,
    });
    assert_eq!(decided[0].1, (GoNoGo::NoGo, Some("timeout".into())));
    assert_eq!(decided[0].0, timed_out, "decided in the same write");
    assert_eq!(
        ran.lines(),
        [
            "a:running",
            "a:done",
            "switch:awaiting approval",
            "switch:failed"
        ]
    );
    // While waiting, who approved and what is left is repeated every 30 s.
    let reminders: Vec<&String> = ran
        .notices
        .iter()
        .filter(|n| n.starts_with("step `switch` awaits approval: 0 of 1"))
        .collect();
    assert!(reminders.len() >= 30, "{reminders:?}");
    assert!(reminders[0].contains("15m left"), "{}", reminders[0]);
}

#[tokio::test(start_paused = true)]
async fn an_approval_timeout_with_on_timeout_pause_pauses_and_leaves_the_vote_open() {
    let mut run = Run::new(vec![step("a", &[]), gated(OnTimeout::Pause)]);
    run.wait = true;
    let ran = run.go().await;
    assert_eq!(ran.outcome, Outcome::Paused);
    asked_and_timed_out(&ran);
    assert!(
        ran.events(|e| matches!(e, Event::ApprovalDecided { .. }).then_some(()))
            .is_empty(),
        "a pause decides nothing"
    );
    let paused = ran.events(|e| match e {
        Event::Paused {
            reason, step, hint, ..
        } => Some((*reason, step.clone(), hint.clone())),
        _ => None,
    });
    let (reason, step, hint) = &paused[0].1;
    assert_eq!(*reason, PauseReason::AwaitingApproval);
    assert_eq!(step.as_deref(), Some("switch"));
    assert!(
        hint.starts_with(
            "the approval of `switch` timed out\napprove with: cutover approve t switch"
        ),
        "{hint}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_yes_typed_at_the_prompt_approves_and_the_step_runs() {
    let operator =
        ScriptedOperator::default().answer(Prompt::Approval("switch".into()), "yes looks good");
    let asked = operator.asked.clone();
    let ran = Run::new(vec![step("a", &[]), gated(OnTimeout::Abort)])
        .operator(operator)
        .go()
        .await;
    assert_eq!(ran.outcome, Outcome::Completed);
    assert_eq!(*asked.lock().unwrap(), [Prompt::Approval("switch".into())]);
    let granted = ran.events(|e| match e {
        Event::ApprovalGranted { reason, auto, .. } => Some((reason.clone(), *auto)),
        _ => None,
    });
    assert_eq!(granted[0].1, (Some("looks good".into()), false));
    assert_eq!(
        ran.lines(),
        [
            "a:running",
            "a:done",
            "switch:awaiting approval",
            "switch:running",
            "switch:done"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn no_typed_at_the_prompt_rejects_and_on_reject_rolls_back() {
    let operator =
        ScriptedOperator::default().answer(Prompt::Approval("switch".into()), "no error rate");
    let ran = Run::new(vec![step("a", &[]), gated(OnTimeout::Abort)])
        .operator(operator)
        .go()
        .await;
    assert_eq!(ran.outcome, Outcome::RolledBack);
    assert_eq!(
        ran.lines(),
        [
            "a:running",
            "a:done",
            "switch:awaiting approval",
            "switch:failed",
            "undo:a"
        ]
    );
    assert_eq!(
        ran.message(),
        "approval of `switch` rejected; every completed step was rolled back"
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_person_or_wait_an_approval_pauses_at_once() {
    let ran = Run::new(vec![step("a", &[]), gated(OnTimeout::Abort)])
        .go()
        .await;
    assert_eq!(ran.outcome, Outcome::Paused);
    assert!(
        ran.events(|e| matches!(e, Event::ApprovalTimedOut { .. }).then_some(()))
            .is_empty()
    );
    assert!(
        ran.message()
            .starts_with("paused; approve with `cutover approve t switch --reason \"...\"`"),
        "{}",
        ran.message()
    );
}

#[tokio::test(start_paused = true)]
async fn input_that_ends_at_the_prompt_pauses_what_was_asked() {
    let operator = ScriptedOperator::default().hang_up(Prompt::Approval("switch".into()));
    let ran = Run::new(vec![step("a", &[]), gated(OnTimeout::Abort)])
        .operator(operator)
        .go()
        .await;
    assert_eq!(ran.outcome, Outcome::Paused);
    let paused = ran.events(|e| match e {
        Event::Paused { reason, step, hint } => Some((*reason, step.clone(), hint.clone())),
        _ => None,
    });
    assert_eq!(
        paused[0].1,
        (
            PauseReason::AwaitingApproval,
            Some("switch".into()),
            "continue with: cutover resume t".into()
        )
    );
}
