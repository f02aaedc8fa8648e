//! Hypercare handed to another process (`--detach-hypercare`): the engine
//! stops driving where hypercare starts (or goes on, in a resume), its
//! triggers disarmed and no `run_finished` written; a resume without the
//! flag watches the time left and completes.

use std::time::Duration;

use super::{Run, trigger};
use crate::engine::Ended;
use crate::engine::core::tests::step;
use crate::engine::resume_rules::ResumeOptions;
use crate::event::{Event, Outcome};
use crate::runbook::model::{Hypercare, TriggerAction};

/// Step `a`, then an hour of hypercare watching trigger `errors` (armed
/// from `a` on, never firing).
fn run(detach: bool) -> Run {
    let mut run =
        Run::new(vec![step("a", &[])]).triggers(vec![trigger("a", TriggerAction::Rollback)]);
    run.plan.runbook.hypercare = Some(Hypercare {
        duration: Duration::from_hours(1),
        triggers: None,
    });
    run.detach_hypercare = detach;
    run
}

fn kinds(ran: &super::Ran) -> Vec<String> {
    ran.records.iter().map(|r| r.event.kind()).collect()
}

#[tokio::test(start_paused = true)]
async fn detaching_stops_driving_at_hypercare_with_the_triggers_disarmed() {
    let ran = run(true).go().await;
    assert_eq!(ran.outcome, Ended::DetachHypercare);
    let kinds = kinds(&ran);
    let started = kinds.iter().position(|k| k == "hypercare_started").unwrap();
    assert_eq!(kinds[started + 1..], ["trigger_disarmed"], "{kinds:?}");
    assert!(
        !kinds
            .iter()
            .any(|k| k == "run_finished" || k == "hypercare_ended")
    );
}

#[tokio::test(start_paused = true)]
async fn a_resume_in_hypercare_detaches_again_or_watches_the_time_left() {
    let first = run(true).go().await;
    let again = run(true)
        .resume(first.dir.path(), ResumeOptions::default())
        .go()
        .await;
    assert_eq!(again.outcome, Ended::DetachHypercare);
    let resumed = again
        .records
        .iter()
        .position(|r| matches!(r.event, Event::RunResumed { .. }))
        .unwrap();
    let after = kinds(&again)[resumed + 1..].to_vec();
    assert!(
        !after
            .iter()
            .any(|k| k == "trigger_armed" || k == "run_finished"),
        "nothing watched, nothing ended: {after:?}"
    );
    let watched = run(false)
        .resume(again.dir.path(), ResumeOptions::default())
        .go()
        .await;
    assert_eq!(watched.outcome, Outcome::Completed);
    let kinds = kinds(&watched);
    let resumed = kinds.iter().rposition(|k| k == "run_resumed").unwrap();
    assert_eq!(
        kinds[resumed + 1..],
        [
            "trigger_armed",
            "hypercare_ended",
            "trigger_disarmed",
            "run_finished"
        ],
        "one hypercare, watched for the time left"
    );
}
