//! People elsewhere: escalation of an open go/no-go at `escalate_after`,
//! `--wait` for a manual step until its `timeout`, and prompts shown after
//! the records that led to them.

use std::time::Duration;

use super::*;
use crate::engine::core::tests::step;
use crate::engine::operator::{Prompt, ScriptedOperator};
use crate::event::{Event, Outcome, PauseReason};
use crate::runbook::model::{Action, Approval, OnReject, OnTimeout, Step};

/// Step `switch` after `a`: a go/no-go that times out after 15 minutes and
/// escalates to `team:leads` after 10.
fn escalating() -> Step {
    let mut switch = step("switch", &["a"]);
    switch.approval = Some(Approval {
        min: 1,
        approvers: vec!["alice".into()],
        no_self_approval: false,
        reason: false,
        timeout: Some(Duration::from_mins(15)),
        on_timeout: OnTimeout::Pause,
        on_reject: OnReject::Rollback,
        escalate_after: Some(Duration::from_mins(10)),
        escalate_to: vec!["team:leads".into()],
    });
    switch
}

/// Manual step `m` with a 5-minute `timeout`.
fn manual() -> Step {
    let mut m = step("m", &[]);
    m.action = Action::Manual {
        instructions: "flip the DNS record".into(),
    };
    m.timeout = Some(Duration::from_mins(5));
    m
}

#[tokio::test(start_paused = true)]
async fn an_open_go_no_go_escalates_once_at_its_time() {
    let mut run = Run::new(vec![step("a", &[]), escalating()]);
    run.wait = true;
    let ran = run.go().await;
    assert_eq!(ran.outcome, Outcome::Paused, "the timeout came after");
    let asked = ran.events(|e| matches!(e, Event::ApprovalRequested { .. }).then_some(()));
    let reminded = ran.events(|e| match e {
        Event::ApprovalReminder {
            step, approvers, ..
        } => Some((step.clone(), approvers.clone())),
        _ => None,
    });
    let escalated = ran.events(|e| match e {
        Event::ApprovalEscalated {
            step,
            to,
            waited_ms,
        } => Some((step.clone(), to.clone(), *waited_ms)),
        _ => None,
    });
    assert_eq!(reminded.len(), 1, "{reminded:?}");
    assert_eq!(escalated.len(), 1, "once per go/no-go: {escalated:?}");
    assert_eq!(
        reminded[0].1,
        ("switch".to_string(), vec!["alice".to_string()])
    );
    let (step, to, waited_ms) = &escalated[0].1;
    assert_eq!(
        (step.as_str(), to.as_slice()),
        ("switch", ["team:leads".to_string()].as_slice())
    );
    // At its time: ten minutes after the go/no-go opened, noticed within
    // the scheduler's 200 ms look; the reminder in the same write.
    assert!((600_000..=600_200).contains(waited_ms), "{waited_ms}");
    let due = humantime::parse_rfc3339(&shift(&asked[0].0, 600_000)).unwrap();
    let at = humantime::parse_rfc3339(&escalated[0].0).unwrap();
    assert!(at.duration_since(due).unwrap() <= Duration::from_millis(200));
    assert_eq!(reminded[0].0, escalated[0].0);
    assert!(
        ran.notices.iter().any(|n| n
            .starts_with("step `switch` has waited 10m for its go/no-go: escalated to team:leads")),
        "{:?}",
        ran.notices
    );
}

#[tokio::test(start_paused = true)]
async fn a_go_no_go_decided_in_time_is_not_escalated() {
    let operator = ScriptedOperator::default().answer(Prompt::Approval("switch".into()), "yes ok");
    let mut switch = escalating();
    switch.approval.as_mut().unwrap().approvers.clear();
    let ran = Run::new(vec![step("a", &[]), switch])
        .operator(operator)
        .go()
        .await;
    assert_eq!(ran.outcome, Outcome::Completed);
    assert!(
        ran.events(|e| matches!(
            e,
            Event::ApprovalEscalated { .. } | Event::ApprovalReminder { .. }
        )
        .then_some(()))
            .is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn wait_holds_a_manual_step_until_its_timeout_then_pauses() {
    let mut run = Run::new(vec![manual(), step("b", &["m"])]);
    run.wait = true;
    let ran = run.go().await;
    assert_eq!(ran.outcome, Outcome::Paused);
    let waiting = ran.events(|e| match e {
        Event::StepState { step, state, .. } if step == "m" => Some(*state),
        _ => None,
    });
    let paused = ran.events(|e| match e {
        Event::Paused { reason, hint, .. } => Some((*reason, hint.clone())),
        _ => None,
    });
    assert_eq!(paused.len(), 1, "{paused:?}");
    let (reason, hint) = &paused[0].1;
    assert_eq!(*reason, PauseReason::ManualStep);
    assert!(
        hint.starts_with("manual step `m` was not marked done within its timeout (5m)\nwhen it is done: cutover done t m"),
        "{hint}"
    );
    let waited = humantime::parse_rfc3339(&paused[0].0)
        .unwrap()
        .duration_since(humantime::parse_rfc3339(&waiting[0].0).unwrap())
        .unwrap();
    assert!(
        (Duration::from_mins(5)..=Duration::from_mins(5) + Duration::from_millis(200))
            .contains(&waited),
        "{waited:?}"
    );
    assert!(
        ran.notices.iter().any(|n| n
            == "manual step `m` waits up to 5m (its timeout); mark it done from any terminal: cutover done t m"),
        "{:?}",
        ran.notices
    );
}

#[tokio::test(start_paused = true)]
async fn without_wait_a_manual_step_pauses_at_once() {
    let ran = Run::new(vec![manual()]).go().await;
    assert_eq!(ran.outcome, Outcome::Paused);
    assert_eq!(ran.lines(), ["m:awaiting operator", "paused:manual_step"]);
}

#[tokio::test(start_paused = true)]
async fn a_prompt_is_shown_after_the_records_that_led_to_it() {
    let operator = ScriptedOperator::default().answer(Prompt::Manual("m".into()), "done");
    let ran = Run::new(vec![manual()]).operator(operator).go().await;
    assert_eq!(ran.outcome, Outcome::Completed);
    let waiting = ran
        .shown
        .iter()
        .position(|s| s == "record:step_state")
        .unwrap();
    let prompt = ran
        .shown
        .iter()
        .position(|s| s.starts_with("notice:manual step `m`: do it"))
        .unwrap();
    assert!(waiting < prompt, "{:?}", ran.shown);
}

#[tokio::test(start_paused = true)]
async fn the_ctrl_c_menu_and_a_failure_prompt_are_journaled_as_pending_decisions() {
    let mut failing = step("a", &[]);
    failing.action = Action::Run {
        command: "exit 3".into(),
    };
    failing.on_failure = crate::runbook::model::OnFailure::Ask;
    let operator = ScriptedOperator::default().answer(Prompt::Failure("a".into()), "skip");
    let ran = Run::new(vec![failing]).operator(operator).go().await;
    let pending = ran.events(|e| match e {
        Event::DecisionPending {
            step,
            context,
            choices,
        } => Some((step.clone(), context.clone(), choices.join(","))),
        _ => None,
    });
    assert_eq!(
        pending.iter().map(|p| p.1.clone()).collect::<Vec<_>>(),
        [(
            Some("a".to_string()),
            "on_failure".to_string(),
            "retry,skip,rollback,abort".to_string()
        )]
    );
    let state = RunState::replay(&ran.records);
    assert!(state.deciding.is_none(), "the decision answered it");
}
