//! A failed step's rollback: every completed step undone in reverse order
//! of completion, the failed step first when it opts in
//! (`rollback_partial`) or when its action finished but its after-gates
//! failed; a step without a rollback is passed over.

use super::{Run, gate};
use crate::engine::core::tests::step;
use crate::event::{Event, GateResultKind, Outcome};
use crate::runbook::model::{Action, GateWhen, Step};

fn failing(id: &str, needs: &[&str]) -> Step {
    let mut s = step(id, needs);
    s.action = Action::Run {
        command: "exit 3".into(),
    };
    s
}

/// What `rollback_started` planned: the steps in order, and the partial ones.
fn planned(ran: &super::Ran) -> (Vec<String>, Vec<String>) {
    ran.events(|e| match e {
        Event::RollbackStarted { steps, partial, .. } => Some((steps.clone(), partial.clone())),
        _ => None,
    })
    .remove(0)
    .1
}

#[tokio::test(start_paused = true)]
async fn a_failed_step_rolls_back_completed_steps_in_reverse_completion_order() {
    let mut no_undo = step("notify", &["b"]);
    no_undo.rollback = None;
    let steps = vec![
        step("a", &[]),
        step("b", &["a"]),
        no_undo,
        step("c", &["notify"]),
        failing("boom", &["c"]),
    ];
    let ran = Run::new(steps).go().await;
    assert_eq!(ran.outcome, Outcome::RolledBack);
    assert_eq!(
        planned(&ran),
        (vec!["c".into(), "b".into(), "a".into()], vec![])
    );
    let undone: Vec<String> = ran
        .lines()
        .into_iter()
        .skip_while(|l| l != "boom:failed")
        .collect();
    assert_eq!(undone, ["boom:failed", "undo:c", "undo:b", "undo:a"]);
    assert_eq!(
        ran.message(),
        "step `boom` failed; every completed step was rolled back"
    );
}

#[tokio::test(start_paused = true)]
async fn a_partial_step_is_undone_first() {
    let mut boom = failing("boom", &["b"]);
    boom.rollback_partial = true;
    let ran = Run::new(vec![step("a", &[]), step("b", &["a"]), boom])
        .go()
        .await;
    assert_eq!(ran.outcome, Outcome::RolledBack);
    assert_eq!(
        planned(&ran),
        (
            vec!["boom".into(), "b".into(), "a".into()],
            vec!["boom".into()]
        )
    );
    let partial = ran.events(|e| match e {
        Event::RollbackStepStarted { step, partial, .. } => Some((step.clone(), *partial)),
        _ => None,
    });
    let partial: Vec<(String, bool)> = partial.into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        partial,
        [
            ("boom".into(), true),
            ("b".into(), false),
            ("a".into(), false)
        ]
    );
    assert!(
        ran.message().ends_with("and the unfinished `boom` too"),
        "{}",
        ran.message()
    );
}

#[tokio::test(start_paused = true)]
async fn a_step_whose_after_gate_failed_is_undone_first_its_change_is_live() {
    let mut switch = step("switch", &["a"]);
    switch.gates = vec![gate("errors", GateWhen::After)];
    let mut run = Run::new(vec![step("a", &[]), switch]);
    run.signals
        .gates
        .insert("errors".into(), GateResultKind::Fail);
    let ran = run.go().await;
    assert_eq!(ran.outcome, Outcome::RolledBack);
    assert_eq!(
        ran.lines(),
        [
            "a:running",
            "a:done",
            "switch:running",
            "switch:after-gates",
            "switch:failed",
            "undo:switch",
            "undo:a"
        ]
    );
    assert!(
        ran.notices
            .iter()
            .any(|n| n == "rolling back `switch` (its after-gates failed)"),
        "{:?}",
        ran.notices
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_rollback_stops_there_and_names_what_is_left() {
    let mut b = step("b", &["a"]);
    b.rollback = Some(Action::Run {
        command: "exit 1".into(),
    });
    let ran = Run::new(vec![step("a", &[]), b, failing("boom", &["b"])])
        .go()
        .await;
    assert_eq!(ran.outcome, Outcome::RollbackFailed);
    assert_eq!(ran.lines().last().map(String::as_str), Some("undo:b"));
    assert!(
        ran.message().starts_with(
            "ROLLBACK FAILED at `b`; later rollbacks were not run; not rolled back yet: `a`"
        ),
        "{}",
        ran.message()
    );
}
