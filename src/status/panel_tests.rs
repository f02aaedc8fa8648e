//! The driver's panel from a hand-written journal, at a given width and
//! time: parallel steps, a gate in progress, a breaching trigger, a
//! pending go/no-go, colour on and off.

use super::panel::panel;
use crate::event::{Event, Record, RunStarted, StepState};
use crate::journal::{RunState, Ts};

/// Journal time `secs` seconds after the run's start.
fn at(secs: u64) -> String {
    format!("2026-11-25T21:00:{secs:02}.000Z")
}

fn rec(seq: u64, secs: u64, event: Event) -> Record {
    Record {
        seq,
        ts: at(secs),
        run_id: "r".into(),
        actor: "op@host".into(),
        on_behalf: None,
        event,
    }
}

fn step(id: &str, state: StepState) -> Event {
    Event::StepState {
        step: id.into(),
        state,
        detail: None,
    }
}

fn measurement(secs: u64, value: f64, condition: &str, verdict: &str) -> crate::event::Measurement {
    serde_json::from_value(serde_json::json!({
        "source": "prom",
        "source_kind": "prometheus",
        "query": "errors",
        "at": at(secs),
        "latency_ms": 1.0,
        "value": value,
        "condition": condition,
        "verdict": verdict,
    }))
    .unwrap()
}

/// Two steps running side by side, one in its after-gate (3 of 6
/// measured), one waiting for its go/no-go (1 of 2), and a trigger
/// breaching for 12 of its 30 s.
fn night() -> RunState {
    let plan = serde_json::json!({"runbook": {
        "name": "pay",
        "steps": [
            {"id": "migrate", "owner": "team:dba", "timeout": "10m"},
            {"id": "reindex"},
            {"id": "verify", "gates": [{"id": "err", "when": "after", "count": 6}]},
            {"id": "switch", "approval": {"min": 2}},
            {"id": "later"},
        ],
        "triggers": [{"id": "errors", "for": "30s", "condition_text": "> 0.02"}],
    }});
    let started = Event::RunStarted(RunStarted {
        plan_hash: "h".into(),
        rehearsal: false,
        runbook_name: "pay".into(),
        runbook_path: "pay.toml".into(),
        runbook_sha256: "s".into(),
        change: None,
        env: None,
        production: false,
        dry_run: false,
        pid: 1,
        set: vec![],
        plan,
    });
    let mut events = vec![
        (0, started),
        (
            0,
            Event::TriggerArmed {
                trigger: "errors".into(),
            },
        ),
        (1, step("migrate", StepState::Running)),
        (2, step("reindex", StepState::Running)),
        (3, step("verify", StepState::AfterGates)),
        (
            3,
            Event::GateStarted {
                step: "verify".into(),
                gate: "err".into(),
                when: "after".into(),
                source: "prom".into(),
                query: "errors".into(),
                condition: "< 0.02".into(),
                shadow: false,
            },
        ),
    ];
    for (i, secs) in [10, 15, 20].into_iter().enumerate() {
        events.push((
            secs,
            Event::GateMeasurement {
                step: "verify".into(),
                gate: "err".into(),
                measurement: measurement(secs, 0.012 - i as f64 * 0.001, "< 0.02", "pass"),
            },
        ));
    }
    for (secs, value, verdict) in [(12, 0.01, "fail"), (18, 0.05, "pass"), (24, 0.06, "pass")] {
        events.push((
            secs,
            Event::TriggerMeasurement {
                trigger: "errors".into(),
                measurement: measurement(secs, value, "> 0.02", verdict),
            },
        ));
    }
    events.extend([
        (
            25,
            Event::ApprovalRequested {
                step: "switch".into(),
                min: 2,
                approvers: vec![],
            },
        ),
        (25, step("switch", StepState::AwaitingApproval)),
        (
            27,
            Event::ApprovalGranted {
                step: "switch".into(),
                reason: None,
                auto: false,
                identity: None,
            },
        ),
    ]);
    let records: Vec<Record> = events
        .into_iter()
        .enumerate()
        .map(|(i, (secs, e))| rec(i as u64 + 1, secs, e))
        .collect();
    RunState::replay(&records)
}

fn now() -> Ts {
    Ts::parse(&at(30)).unwrap()
}

#[test]
fn the_panel_shows_parallel_steps_a_gate_a_breaching_trigger_and_a_go_no_go() {
    let lines: Vec<String> = panel(&night(), now(), "r", 20)
        .iter()
        .map(|l| l.render(120, false))
        .collect();
    let expected = [
        "── run `r` RUNNING 30.0s · 0 of 5 steps done ───",
        "  migrate  running            29.0s (timeout 10m00s)  team:dba",
        "  reindex  running            28.0s",
        "  verify   after-gates        27.0s",
        "             gate err 3/6: 0.01 (target < 0.02)",
        "  switch   awaiting approval  5.0s  1 of 2 approved (op)",
        "             cutover approve r switch --reason \"...\"",
        "  trigger errors  BREACHING for 12.0s of 30.0s · 0.06 (fires if > 0.02)",
    ];
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
    for (got, want) in lines.iter().zip(expected) {
        assert!(got.starts_with(want), "\n got: {got}\nwant: {want}");
    }
    assert_eq!(lines[0].chars().count(), 120, "the rule fills the width");
}

#[test]
fn every_line_fits_the_width_and_colour_is_only_on_when_asked() {
    let state = night();
    for width in [40, 60, 80] {
        for line in panel(&state, now(), "r", 20) {
            let plain = line.render(width, false);
            assert!(plain.chars().count() <= width, "{width}: {plain}");
            let painted = line.render(width, true);
            assert_eq!(console::strip_ansi_codes(&painted), plain);
        }
    }
    let lines = panel(&state, now(), "r", 20);
    let trigger = lines.last().unwrap().render(120, true);
    assert!(
        trigger.contains("\x1b[1;31mBREACHING for 12.0s of 30.0s\x1b[0m"),
        "{trigger:?}"
    );
    let switch = lines[5].render(120, true);
    assert!(switch.contains("\x1b[33mawaiting approval"), "{switch:?}");
    assert!(!lines[5].render(120, false).contains('\x1b'));
    let command = lines[6].render(120, true);
    assert!(
        command.contains("\x1b[33mcutover approve r switch"),
        "{command:?}"
    );
}

#[test]
fn a_short_terminal_gets_the_headline_and_how_many_more() {
    let lines = panel(&night(), now(), "r", 4);
    assert_eq!(lines.len(), 4);
    assert!(lines[0].plain().starts_with("── run `r` RUNNING"));
    assert!(
        lines[3].plain().contains("... 5 more"),
        "{:?}",
        lines[3].plain()
    );
}

/// A run with a manual step waiting, then a Ctrl-C, then a rollback.
fn manual_then_rollback(with_rollback: bool) -> RunState {
    let plan = serde_json::json!({"runbook": {
        "name": "pay",
        "steps": [
            {"id": "prep"},
            {"id": "verify", "owner": "alice", "manual": "check the dashboard"},
        ],
    }});
    let started = Event::RunStarted(RunStarted {
        plan_hash: "h".into(),
        rehearsal: false,
        runbook_name: "pay".into(),
        runbook_path: "pay.toml".into(),
        runbook_sha256: "s".into(),
        change: None,
        env: None,
        production: false,
        dry_run: false,
        pid: 1,
        set: vec![],
        plan,
    });
    let mut events = vec![
        (0, started),
        (1, step("prep", StepState::Running)),
        (2, step("prep", StepState::Done)),
        (3, step("verify", StepState::AwaitingOperator)),
        (
            4,
            Event::Interrupted {
                signal: "SIGINT".into(),
            },
        ),
        (
            5,
            Event::DecisionPending {
                step: None,
                context: "interrupt".into(),
                choices: vec!["continue".into(), "rollback".into(), "abort".into()],
            },
        ),
    ];
    if with_rollback {
        events.push((
            6,
            Event::Decision {
                step: None,
                choice: crate::event::Choice::Rollback,
                context: "interrupt".into(),
                reason: None,
            },
        ));
        events.push((
            6,
            Event::RollbackStarted {
                reason: crate::event::RollbackReason::Operator,
                steps: vec!["prep".into()],
                partial: vec![],
            },
        ));
    }
    let records: Vec<Record> = events
        .into_iter()
        .enumerate()
        .map(|(i, (secs, e))| rec(i as u64 + 1, secs, e))
        .collect();
    RunState::replay(&records)
}

#[test]
fn a_manual_step_shows_its_command_and_the_ctrl_c_menu_its_choices() {
    let lines: Vec<String> = panel(&manual_then_rollback(false), now(), "r", 20)
        .iter()
        .map(|l| l.render(120, false))
        .collect();
    assert!(
        lines[0].starts_with("── run `r` INTERRUPTED 30.0s · 1 of 2 steps done"),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with("  verify  awaiting operator  27.0s  alice  manual"),
        "{lines:#?}"
    );
    assert_eq!(lines[2].trim(), "cutover done r verify", "{lines:#?}");
    assert_eq!(
        lines[3], "  you decide: type continue, rollback, abort",
        "{lines:#?}"
    );
}

#[test]
fn a_rollback_under_way_is_on_the_headline_and_its_own_row() {
    let lines: Vec<String> = panel(&manual_then_rollback(true), now(), "r", 20)
        .iter()
        .map(|l| l.render(120, false))
        .collect();
    assert!(
        lines[0].starts_with("── run `r` ROLLING BACK 30.0s"),
        "{lines:#?}"
    );
    // The manual step will not run now: no row, no command to mark it done.
    assert_eq!(
        lines[1..],
        ["  ROLLBACK (operator chose rollback): 0 of 1 rolled back"],
        "{lines:#?}"
    );
}

#[test]
fn control_characters_in_names_are_shown_not_obeyed() {
    let mut state = night();
    let rec = state.steps.get("migrate").unwrap().clone();
    state.steps.shift_remove("migrate");
    state.steps.insert("mig\x1b[2Jrate".into(), rec);
    for line in panel(&state, now(), "r\x07", 20) {
        let text = line.render(200, false);
        assert!(!text.contains('\x1b'), "{text:?}");
        assert!(!text.contains('\x07'), "{text:?}");
    }
}
