//! Records through a line and back; unknown kinds kept; decisions old and new.

use super::*;

#[test]
fn persons_prefer_the_name_given() {
    assert_eq!(person("ops@jump", Some("alice")), "alice");
    assert_eq!(person("ops@jump", None), "ops");
    assert_eq!(person("ops", Some("")), "ops");
}

fn record(event: Event) -> Record {
    Record {
        seq: 7,
        ts: "2026-01-01T00:00:00.000Z".into(),
        run_id: "r".into(),
        actor: "alice@host".into(),
        on_behalf: Some("bob".into()),
        event,
    }
}

#[test]
fn round_trips_through_a_line() {
    let r = record(Event::StepState {
        step: "a".into(),
        state: StepState::Running,
        detail: None,
    });
    let line = r.to_line();
    assert!(line.contains(r#""type":"step_state""#), "{line}");
    assert!(line.contains(r#""as":"bob""#), "{line}");
    assert_eq!(Record::from_line(&line).unwrap(), r);
}

#[test]
fn unknown_kinds_are_kept() {
    let line = r#"{"seq":3,"ts":"t","run_id":"r","actor":"a","type":"hologram","data":{"x":1}}"#;
    let r = Record::from_line(line).unwrap();
    assert_eq!(r.event.kind(), "hologram");
    assert!(matches!(r.event, Event::Unknown { .. }));
    // Written back unchanged.
    assert!(r.to_line().contains(r#""type":"hologram","data":{"x":1}"#));
}

#[test]
fn a_decision_without_a_reason_still_reads_and_one_with_it_round_trips() {
    // As journaled before decisions had a `reason`.
    let line = r#"{"seq":9,"ts":"t","run_id":"r","actor":"a","type":"decision","data":{"step":"b","choice":"skip","context":"rollback"}}"#;
    let r = Record::from_line(line).unwrap();
    assert!(
        matches!(
            &r.event,
            Event::Decision {
                reason: None,
                choice: Choice::Skip,
                ..
            }
        ),
        "{r:?}"
    );
    assert!(!r.to_line().contains("reason"), "{}", r.to_line());
    let r = record(Event::Decision {
        step: Some("b".into()),
        choice: Choice::Skip,
        context: "rollback".into(),
        reason: Some("restored from snapshot by hand".into()),
    });
    let line = r.to_line();
    assert!(
        line.contains(r#""reason":"restored from snapshot by hand""#),
        "{line}"
    );
    assert_eq!(Record::from_line(&line).unwrap(), r);
}

#[test]
fn data_less_events_parse() {
    let r = record(Event::RunResumed { pid: 4 });
    assert_eq!(Record::from_line(&r.to_line()).unwrap(), r);
}
