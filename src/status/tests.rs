//! The war-room view from hand-written journals: durations, votes, trigger
//! health, rollbacks, pauses.

use std::time::SystemTime;

use super::*;
use crate::event::Event;
use crate::event::{Outcome, Record, StepState};

fn parse_ts(ts: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(ts).ok()
}

fn rec(seq: u64, ts: &str, event: Event) -> Record {
    Record {
        seq,
        ts: ts.into(),
        run_id: "r".into(),
        actor: "op@host".into(),
        on_behalf: None,
        event,
    }
}

fn state(step: &str, state: StepState) -> Event {
    Event::StepState {
        step: step.into(),
        state,
        detail: None,
    }
}

#[test]
fn steps_durations_approvals_and_notes() {
    let records = vec![
        rec(
            1,
            "2026-01-01T00:00:00.000Z",
            state("a", StepState::Running),
        ),
        rec(2, "2026-01-01T00:00:02.500Z", state("a", StepState::Done)),
        rec(
            3,
            "2026-01-01T00:00:03.000Z",
            state("b", StepState::AwaitingApproval),
        ),
        rec(
            4,
            "2026-01-01T00:00:03.000Z",
            Event::ApprovalRequested {
                step: "b".into(),
                min: 2,
                approvers: vec![],
            },
        ),
        rec(
            5,
            "2026-01-01T00:00:04.000Z",
            Event::ApprovalGranted {
                step: "b".into(),
                reason: Some("green".into()),
                auto: false,
                identity: None,
            },
        ),
        rec(
            6,
            "2026-01-01T00:00:05.000Z",
            Event::Note {
                text: "db looks fine".into(),
            },
        ),
    ];
    let v = StatusView::build(&records, None);
    assert_eq!(v.state, "running");
    assert_eq!(v.steps[0].duration_ms, Some(2500));
    assert_eq!(v.steps[1].state, StepState::AwaitingApproval);
    assert_eq!(v.steps[1].duration_ms, Some(2000), "until the last record");
    assert!(v.approvals[0].pending);
    assert_eq!(v.approvals[0].votes[0].who, "op@host");
    let text = v.to_text();
    assert!(text.contains("PENDING, 1 of 2 approved"), "{text}");
    assert!(text.contains("db looks fine"), "{text}");
    assert!(text.contains("2.5s"), "{text}");
}

fn measured(trigger: &str, value: f64, verdict: &str) -> Event {
    Event::TriggerMeasurement {
        trigger: trigger.into(),
        measurement: serde_json::from_value(serde_json::json!({
            "source": "prom",
            "source_kind": "prometheus",
            "query": "errors",
            "at": "2026-01-01T00:00:01.000Z",
            "latency_ms": 1.0,
            "value": value,
            "condition": "> 0.05",
            "verdict": verdict,
        }))
        .unwrap(),
    }
}

#[test]
fn triggers_show_ok_or_breaching_never_pass_or_fail() {
    let records = [
        rec(
            1,
            "2026-01-01T00:00:00.000Z",
            Event::TriggerArmed {
                trigger: "calm".into(),
            },
        ),
        rec(
            2,
            "2026-01-01T00:00:00.000Z",
            Event::TriggerArmed {
                trigger: "hot".into(),
            },
        ),
        // `fire_if` does not hold: the measurement "fails", the system is fine.
        rec(
            3,
            "2026-01-01T00:00:01.000Z",
            measured("calm", 0.01, "fail"),
        ),
        // `fire_if` holds: the measurement "passes", the system is not fine.
        rec(4, "2026-01-01T00:00:01.000Z", measured("hot", 0.2, "pass")),
    ];
    let v = StatusView::build(&records, None);
    assert_eq!(v.triggers[0].health, Some(TriggerHealth::Ok));
    assert_eq!(v.triggers[1].health, Some(TriggerHealth::Breaching));
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["triggers"][0]["health"], "ok");
    assert_eq!(json["triggers"][1]["health"], "breaching");
    assert!(json["triggers"][0].get("latest_verdict").is_none());
    let text = v.to_text();
    assert!(
        text.contains("calm") && text.contains("armed, ok;"),
        "{text}"
    );
    assert!(text.contains("armed, BREACHING;"), "{text}");
    assert!(!text.contains("fail") && !text.contains("pass"), "{text}");
}

#[test]
fn a_partial_rollback_is_marked() {
    let rb_started = |step: &str, partial: bool| Event::RollbackStepStarted {
        step: step.into(),
        action: "undo".into(),
        partial,
    };
    let rb_finished = |step: &str, ok: bool| Event::RollbackStepFinished {
        step: step.into(),
        ok,
        exit_code: None,
        duration_ms: 1,
        detail: None,
    };
    let at = "2026-01-01T00:00:01.000Z";
    let records = [
        rec(1, at, state("a", StepState::Done)),
        rec(2, at, state("b", StepState::Failed)),
        rec(3, at, rb_started("b", true)),
        rec(4, at, rb_finished("b", true)),
        rec(5, at, rb_started("a", false)),
    ];
    let v = StatusView::build(&records, None);
    assert_eq!(
        v.steps[0].rollback.as_ref().unwrap().label(),
        "rolling back"
    );
    assert_eq!(
        v.steps[1].rollback.as_ref().unwrap().label(),
        "rolled back (partial)"
    );
    let text = v.to_text();
    assert!(text.contains("rolled back (partial)"), "{text}");
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(
        json["steps"][1]["rollback"],
        serde_json::json!({"state": "rolled_back", "partial": true})
    );
    let records = [
        rec(1, at, rb_started("c", true)),
        rec(2, at, rb_finished("c", false)),
    ];
    let v = StatusView::build(&records, None);
    assert_eq!(
        v.steps[0].rollback.as_ref().unwrap().label(),
        "rollback FAILED (partial)"
    );
}

fn started() -> Event {
    Event::RunStarted(crate::event::RunStarted {
        plan_hash: "h".into(),
        runbook_name: "b".into(),
        runbook_path: "b.toml".into(),
        runbook_sha256: "s".into(),
        change: None,
        env: None,
        production: false,
        dry_run: false,
        pid: 1,
        set: Vec::new(),
        plan: serde_json::Value::Null,
    })
}

fn finished(outcome: Outcome) -> Event {
    Event::RunFinished(crate::event::RunFinished {
        outcome,
        exit_code: outcome.exit_code(),
        dry_run: false,
        failed_steps: Vec::new(),
        queries_ok: None,
        message: "m".into(),
    })
}

#[test]
fn notes_and_marks_after_the_end_do_not_lengthen_the_run() {
    let records = [
        rec(1, "2026-01-01T00:00:00.000Z", started()),
        rec(2, "2026-01-01T00:00:11.469Z", finished(Outcome::Completed)),
        rec(
            3,
            "2026-01-01T00:00:47.000Z",
            Event::Note {
                text: "late".into(),
            },
        ),
        rec(
            4,
            "2026-01-01T00:01:00.000Z",
            Event::Milestone {
                name: "all-clear".into(),
                at: None,
                step: None,
            },
        ),
    ];
    for now in [None, parse_ts("2026-01-01T00:05:00.000Z")] {
        let v = StatusView::build(&records, now);
        assert_eq!(v.duration_ms, Some(11_469));
        assert_eq!(v.paused_for_ms, None);
        assert!(v.to_text().contains("COMPLETED after 11.5s"));
    }
}

#[test]
fn a_paused_run_says_how_long_it_ran_and_how_long_it_has_been_paused() {
    let records = [
        rec(1, "2026-01-01T00:00:00.000Z", started()),
        rec(
            2,
            "2026-01-01T00:00:00.010Z",
            state("m", StepState::AwaitingOperator),
        ),
        rec(3, "2026-01-01T00:00:00.020Z", finished(Outcome::Paused)),
    ];
    let v = StatusView::build(&records, parse_ts("2026-01-01T00:00:01.420Z"));
    assert_eq!(v.duration_ms, Some(20));
    assert_eq!(v.paused_for_ms, Some(1_400));
    assert_eq!(v.steps[0].duration_ms, Some(1_410), "still waiting");
    let text = v.to_text();
    assert!(
        text.contains("PAUSED for 1.4s (it paused 0.0s after it started)"),
        "{text}"
    );
    // Without `now` (as `runs` builds it): until the pause only.
    let v = StatusView::build(&records, None);
    assert_eq!(v.paused_for_ms, None);
    assert!(v.to_text().contains("PAUSED after 0.0s"));
    // Resumed: running again, timed from the start to now.
    let mut records = records.to_vec();
    records.push(rec(
        4,
        "2026-01-01T00:00:02.000Z",
        Event::RunResumed { pid: 2 },
    ));
    let v = StatusView::build(&records, parse_ts("2026-01-01T00:00:03.000Z"));
    assert_eq!(v.duration_ms, Some(3_000));
    assert_eq!(v.paused_for_ms, None);
}
