//! Resume decisions: a failed step skipped or rolled back on resume, and a
//! step that was in flight when the process died (idempotent: run again;
//! otherwise a person decides, at the prompt or by pausing).

use super::{Run, stamp, started};
use crate::engine::core::tests::step;
use crate::engine::operator::{Prompt, ScriptedOperator};
use crate::engine::resume_rules::ResumeOptions;
use crate::event::{Event, Outcome, PauseReason, StepState};
use crate::journal::Journal;
use crate::runbook::model::{Action, OnFailure, Step};

fn steps() -> Vec<Step> {
    let mut boom = step("boom", &["a"]);
    boom.action = Action::Run {
        command: "exit 3".into(),
    };
    boom.on_failure = OnFailure::Pause;
    vec![step("a", &[]), boom, step("c", &["boom"])]
}

/// Each decision journaled: (step, choice, context).
fn decisions(ran: &super::Ran) -> Vec<(Option<String>, String, String)> {
    ran.events(|e| match e {
        Event::Decision {
            step,
            choice,
            context,
            ..
        } => Some((step.clone(), super::snake(choice), context.clone())),
        _ => None,
    })
    .into_iter()
    .map(|(_, d)| d)
    .collect()
}

#[tokio::test(start_paused = true)]
async fn a_failed_step_skipped_on_resume_lets_the_run_complete() {
    let first = Run::new(steps()).go().await;
    assert_eq!(first.outcome, Outcome::Paused);
    assert_eq!(
        first.lines(),
        [
            "a:running",
            "a:done",
            "boom:running",
            "boom:failed",
            "paused:step_failed"
        ]
    );
    let options = ResumeOptions {
        skip: vec!["boom".into()],
        reason: Some("done by hand".into()),
        ..ResumeOptions::default()
    };
    let ran = Run::new(steps())
        .resume(first.dir.path(), options)
        .go()
        .await;
    assert_eq!(ran.outcome, Outcome::Completed);
    assert_eq!(
        decisions(&ran),
        [(Some("boom".into()), "skip".into(), "resume".into())]
    );
    let after: Vec<String> = ran.lines().into_iter().skip(5).collect();
    assert_eq!(
        after,
        ["decision:skip", "boom:skipped", "c:running", "c:done"]
    );
}

#[tokio::test(start_paused = true)]
async fn rollback_on_resume_undoes_what_completed() {
    let first = Run::new(steps()).go().await;
    let options = ResumeOptions {
        rollback: true,
        ..ResumeOptions::default()
    };
    let ran = Run::new(steps())
        .resume(first.dir.path(), options)
        .go()
        .await;
    assert_eq!(ran.outcome, Outcome::RolledBack);
    assert_eq!(
        decisions(&ran),
        [(None, "rollback".into(), "resume".into())]
    );
    assert_eq!(ran.lines().last().map(String::as_str), Some("undo:a"));
}

/// A journal whose process died while `a`'s command ran.
fn crashed_in(a: &Step) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let plan = super::plan(super::runbook(vec![a.clone()], Vec::new()));
    let path = dir.path().join("journal.jsonl");
    let (mut journal, _lock) = Journal::create(&path, "t", stamp()).unwrap();
    journal.emit(Event::RunStarted(started(&plan, false)));
    journal.emit(Event::StepState {
        step: "a".into(),
        state: StepState::Running,
        detail: None,
    });
    journal.emit(Event::AttemptStarted {
        step: "a".into(),
        attempt: 1,
        attempts: 1,
        action: "echo a".into(),
    });
    journal.flush().unwrap();
    dir
}

#[tokio::test(start_paused = true)]
async fn a_step_in_flight_at_a_crash_needs_a_person_unless_it_is_idempotent() {
    let a = step("a", &[]);
    let crashed = crashed_in(&a);
    let paused = Run::new(vec![a.clone()])
        .resume(crashed.path(), ResumeOptions::default())
        .go()
        .await;
    assert_eq!(paused.outcome, Outcome::Paused);
    let reasons = paused.events(|e| match e {
        Event::Paused { reason, step, .. } => Some((*reason, step.clone())),
        _ => None,
    });
    assert_eq!(reasons[0].1, (PauseReason::NeedsDecision, Some("a".into())));

    let operator = ScriptedOperator::default().answer(Prompt::InFlight("a".into()), "rerun");
    let rerun = Run::new(vec![a.clone()])
        .operator(operator)
        .resume(crashed.path(), ResumeOptions::default())
        .go()
        .await;
    assert_eq!(rerun.outcome, Outcome::Completed);
    assert_eq!(
        decisions(&rerun),
        [(Some("a".into()), "rerun".into(), "resume".into())]
    );

    let mut safe = a;
    safe.idempotent = true;
    let again = Run::new(vec![safe])
        .resume(crashed.path(), ResumeOptions::default())
        .go()
        .await;
    assert_eq!(again.outcome, Outcome::Completed);
    assert_eq!(
        decisions(&again),
        [(Some("a".into()), "rerun".into(), "idempotent".into())]
    );
}
