//! Triggers: a fired trigger stops what runs and rolls back (or pauses);
//! `on_failure = "continue"` lets dependents run.

use std::time::Duration;

use super::{FakeSignals, Run, gate, shift, trigger};
use crate::engine::core::tests::step;
use crate::event::{Event, Outcome, StepState};
use crate::runbook::model::{Action, GateWhen, OnFailure, TriggerAction};

#[tokio::test(start_paused = true)]
async fn a_fired_trigger_stops_the_step_and_rolls_back_in_reverse() {
    let mut soak = step("soak", &["b"]);
    soak.action = Action::Run {
        command: "sleep 30".into(),
    };
    soak.grace = Duration::from_millis(100);
    let mut run = Run::new(vec![step("a", &[]), step("b", &["a"]), soak])
        .triggers(vec![trigger("soak", TriggerAction::Rollback)]);
    run.signals = FakeSignals {
        fire_after: Some(Duration::from_mins(1)),
        ..FakeSignals::default()
    };
    let ran = run.go().await;
    assert_eq!(ran.outcome, Outcome::RolledBack);
    assert_eq!(
        ran.lines(),
        [
            "a:running",
            "a:done",
            "b:running",
            "b:done",
            "soak:running",
            "fired",
            "soak:stopped",
            "undo:b",
            "undo:a"
        ]
    );
    let seqs: Vec<u64> = ran.records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=ran.records.len() as u64).collect::<Vec<_>>());
    assert!(
        ran.message().starts_with("trigger `errors` fired"),
        "{}",
        ran.message()
    );
}

#[tokio::test(start_paused = true)]
async fn a_pause_trigger_pauses_once_the_gates_under_way_end() {
    let mut check = step("check", &["a"]);
    check.gates = vec![gate("hold", GateWhen::Before)];
    let mut run = Run::new(vec![step("a", &[]), check])
        .triggers(vec![trigger("check", TriggerAction::Pause)]);
    run.signals.fire_after = Some(Duration::from_secs(5));
    run.signals.gate_takes = Duration::from_mins(1);
    let ran = run.go().await;
    assert_eq!(ran.outcome, Outcome::Paused);
    assert_eq!(
        ran.lines(),
        [
            "a:running",
            "a:done",
            "check:before-gates",
            "fired",
            "check:pending",
            "paused:trigger"
        ]
    );
    // Armed when `check` started; fired 5 s later; the gate ran its 60 s.
    let fired = ran.events(|e| matches!(e, Event::TriggerFired { .. }).then_some(()));
    let paused = ran.events(|e| matches!(e, Event::Paused { .. }).then_some(()));
    let started = &ran.events(|e| match e {
        Event::StepState {
            step,
            state: StepState::BeforeGates,
            ..
        } if step == "check" => Some(()),
        _ => None,
    })[0]
        .0;
    assert_eq!(fired[0].0, shift(started, 5_000));
    assert_eq!(paused[0].0, shift(started, 60_000));
}

#[tokio::test(start_paused = true)]
async fn continue_lets_dependents_run_and_the_run_completes() {
    let mut bad = step("bad", &[]);
    bad.action = Action::Run {
        command: "exit 1".into(),
    };
    bad.on_failure = OnFailure::Continue;
    let ran = Run::new(vec![bad, step("next", &["bad"])]).go().await;
    assert_eq!(ran.outcome, Outcome::Completed);
    assert_eq!(
        ran.lines(),
        ["bad:running", "bad:failed", "next:running", "next:done"]
    );
    let Some(Event::RunFinished(f)) = ran.records.last().map(|r| &r.event) else {
        panic!("last event is run_finished");
    };
    assert_eq!(f.failed_steps, ["bad"]);
    assert!(ran.records.iter().all(|r| !matches!(
        r.event,
        Event::StepState {
            state: StepState::Stopped,
            ..
        }
    )));
}
