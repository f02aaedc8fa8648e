//! The report as a view of the fold, event by event.

use super::testing::TestJournal;
use crate::event::{Choice, Event, Outcome, PauseReason, StepState};
use crate::journal::Ts;
use crate::report::Report;

fn build(events: Vec<(&str, &str, Event)>) -> Report {
    let mut j = TestJournal::new("j", "r");
    for (ts, who, e) in events {
        j.push(ts, who, e);
    }
    j.finish()
}

fn state(step: &str, state: StepState) -> Event {
    Event::StepState {
        step: step.into(),
        state,
        detail: None,
    }
}

/// A night in the war room: a vote, marks, Ctrl-C, a pause, a note, a waiver.
fn war_room_night() -> Vec<(&'static str, &'static str, Event)> {
    vec![
        (
            "2026-01-01T00:00:00.000Z",
            "op@h",
            state("a", StepState::Running),
        ),
        (
            "2026-01-01T00:00:01.000Z",
            "op@h",
            Event::ApprovalRequested {
                step: "a".into(),
                min: 1,
                approvers: vec!["alice".into()],
            },
        ),
        (
            "2026-01-01T00:00:02.000Z",
            "alice@laptop (as alice)",
            Event::ApprovalGranted {
                step: "a".into(),
                reason: Some("dashboards green".into()),
                auto: false,
                identity: None,
            },
        ),
        (
            "2026-01-01T00:00:03.000Z",
            "ic@h",
            Event::Milestone {
                name: "impact-start".into(),
                at: Some("2026-01-01T00:00:02.500Z".into()),
                step: None,
            },
        ),
        (
            "2026-01-01T00:00:04.000Z",
            "op@h",
            Event::Interrupted {
                signal: "SIGINT".into(),
            },
        ),
        (
            "2026-01-01T00:00:05.000Z",
            "op@h",
            Event::Decision {
                step: None,
                choice: Choice::Rollback,
                context: "interrupt".into(),
                reason: None,
            },
        ),
        (
            "2026-01-01T00:00:06.000Z",
            "op@h",
            Event::Paused {
                reason: PauseReason::NeedsDecision,
                step: Some("a".into()),
                hint: "cutover resume r".into(),
            },
        ),
        (
            "2026-01-01T00:00:07.000Z",
            "scribe@h",
            Event::Note {
                text: "<b>bold</b>".into(),
            },
        ),
        (
            "2026-01-01T00:00:08.000Z",
            "ic@h",
            Event::Milestone {
                name: "mitigated".into(),
                at: None,
                step: None,
            },
        ),
        (
            "2026-01-01T00:00:09.000Z",
            "op@h",
            Event::Readiness {
                checklist: "launch".into(),
                ready: false,
                overridden: true,
                reason: Some("vp said go".into()),
                summary: serde_json::json!({"waived": ["backups"]}),
            },
        ),
    ]
}

#[test]
fn war_room_events_become_approvals_deviations_notes_and_milestones() {
    let r = build(war_room_night());
    assert!(r.in_progress, "no run_finished: in progress");
    let decisions: Vec<&str> = r.approvals.iter().map(|a| a.decision.as_str()).collect();
    assert_eq!(decisions, ["requested", "approved", "decision: rollback"]);
    assert_eq!(r.approvals[1].who, "alice@laptop (as alice)");
    assert_eq!(r.approvals[1].reason.as_deref(), Some("dashboards green"));
    let kinds: Vec<&str> = r.deviations.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ctrl-c",
            "ctrl-c-decision",
            "paused",
            "waiver",
            "readiness-override"
        ]
    );
    let names: Vec<&str> = r.milestones.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["first-step", "go-decision", "impact-start", "mitigated"]
    );
    // `--at` wins over the time the mark was recorded.
    assert_eq!(r.milestones[2].at.rfc3339(), "2026-01-01T00:00:02.500Z");
    // The timeline lists it at its `--at` time too, in time order.
    let times: Vec<i64> = r.timeline.iter().map(|e| e.at.ms).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let mark = r
        .timeline
        .iter()
        .position(|e| e.kind == "milestone" && e.text.contains("impact-start"))
        .expect("the mark is in the timeline");
    assert_eq!(r.timeline[mark].at.rfc3339(), "2026-01-01T00:00:02.500Z");
    assert_eq!(r.timeline[mark - 1].kind, "approval_granted");
    assert_eq!(r.timeline[mark + 1].kind, "interrupted");
    assert!(
        r.timeline[mark].text.contains("recorded at"),
        "{}",
        r.timeline[mark].text
    );
    assert_eq!(r.impact.ttm_ms, Some(5_500));
    assert_eq!(r.impact.ttd_ms, None, "nothing detected it");
    assert_eq!(r.notes[0].text, "<b>bold</b>");
    assert_eq!(
        r.deviations[3].text,
        "checklist `launch`: 1 item(s) waived: backups"
    );
    // Still running at the last event: its duration runs to it.
    assert_eq!(r.steps["a"].duration_ms, Some(9_000));
}

#[test]
fn a_retried_step_counts_its_attempts_and_its_retries_as_deviations() {
    let attempt = |n| Event::AttemptStarted {
        step: "a".into(),
        attempt: n,
        attempts: 3,
        action: "x".into(),
    };
    let r = build(vec![
        (
            "2026-01-01T00:00:00.000Z",
            "op@h",
            state("a", StepState::Running),
        ),
        ("2026-01-01T00:00:00.000Z", "op@h", attempt(1)),
        ("2026-01-01T00:00:01.000Z", "op@h", attempt(2)),
        ("2026-01-01T00:00:02.000Z", "op@h", attempt(3)),
        (
            "2026-01-01T00:00:03.000Z",
            "op@h",
            state("a", StepState::Done),
        ),
    ]);
    assert_eq!(r.steps["a"].attempts.len(), 3);
    assert_eq!(r.deviations.iter().filter(|d| d.kind == "retry").count(), 2);
    assert_eq!(r.steps["a"].duration_ms, Some(3_000));
    assert_eq!(r.critical_path.steps, ["a"]);
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
fn a_step_is_timed_from_running_without_its_approval_wait_or_a_pause() {
    let t = |s: &str| format!("2026-01-01T00:{s}.000Z");
    let attempt = |n| Event::AttemptStarted {
        step: "a".into(),
        attempt: n,
        attempts: 2,
        action: "x".into(),
    };
    let (t00, t20, t30, t31, t40, t41) = (
        t("00:00"),
        t("00:20"),
        t("00:30"),
        t("00:31"),
        t("00:40"),
        t("00:41"),
    );
    let (t141, t142, t150, t151) = (t("01:41"), t("01:42"), t("01:50"), t("01:51"));
    let r = build(vec![
        (&t00, "op@h", state("b", StepState::Running)),
        (&t00, "op@h", state("a", StepState::AwaitingApproval)),
        (&t20, "op@h", state("b", StepState::Done)),
        (
            &t30,
            "alice@h",
            Event::ApprovalGranted {
                step: "a".into(),
                reason: None,
                auto: false,
                identity: None,
            },
        ),
        (&t31, "op@h", state("a", StepState::Running)),
        (&t31, "op@h", attempt(1)),
        (&t40, "op@h", state("a", StepState::Failed)),
        (
            &t41,
            "op@h",
            Event::Paused {
                reason: PauseReason::NeedsDecision,
                step: Some("a".into()),
                hint: "cutover resume r".into(),
            },
        ),
        (&t41, "op@h", finished(Outcome::Paused)),
        // Other commands write while no run is going; the pause still runs from 00:41.
        (&t("01:00"), "scribe@h", Event::Note { text: "n".into() }),
        // A go/no-go closed by `cutover approve` while paused is not the engine.
        (
            &t("01:10"),
            "alice@h",
            Event::ApprovalDecided {
                step: "c".into(),
                decision: crate::event::GoNoGo::Go,
                by: vec!["alice".into()],
                vote_seq: Some(9),
                reason: None,
            },
        ),
        (&t141, "op@h", Event::JournalRepaired { line: 9, bytes: 3 }),
        (&t141, "op@h", Event::RunResumed { pid: 2 }),
        (&t142, "op@h", state("a", StepState::Running)),
        (&t142, "op@h", attempt(2)),
        (&t150, "op@h", state("a", StepState::Done)),
        (&t151, "op@h", finished(Outcome::Completed)),
    ]);
    let a = &r.steps["a"];
    assert_eq!(a.started.map(Ts::rfc3339).as_deref(), Some(t31.as_str()));
    assert_eq!(a.waited_for_approval_ms, Some(30_000));
    assert_eq!(a.paused_ms, 60_000, "00:41 to 01:41 no process ran");
    // 00:31 → 01:50 is 79 s, less the 60 s pause.
    assert_eq!(a.duration_ms, Some(19_000));
    assert_eq!(r.steps["b"].duration_ms, Some(20_000));
    assert_eq!(r.steps["b"].waited_for_approval_ms, None);
    // `b` ran longer than `a` executed: it is the critical path.
    assert_eq!(r.critical_path.steps, ["b"]);
    assert_eq!(r.critical_path.duration_ms, 20_000);

    // The pause is a milestone of its own; only the last finish is the end.
    let names: Vec<&str> = r.milestones.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "first-step",
            "go-decision",
            "paused",
            "resumed",
            "run-finished"
        ]
    );
    assert_eq!(r.milestones[2].at.rfc3339(), t41);
    assert_eq!(r.milestones[4].at.rfc3339(), t151);
    let finishes: Vec<&str> = r
        .timeline
        .iter()
        .filter(|e| e.kind == "run_finished")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        finishes,
        [
            "run stopped, resumed later: paused (m)",
            "run finished: completed (m)"
        ]
    );
    assert!(!r.in_progress);
    assert_eq!(r.outcome, Some(Outcome::Completed));
}

#[test]
fn a_run_that_ends_paused_ends_with_its_run_finished() {
    let r = build(vec![
        (
            "2026-01-01T00:00:00.000Z",
            "op@h",
            state("a", StepState::AwaitingApproval),
        ),
        (
            "2026-01-01T00:00:05.000Z",
            "op@h",
            finished(Outcome::Paused),
        ),
    ]);
    let names: Vec<&str> = r.milestones.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["first-step", "run-finished"]);
    // Still waiting when the run stopped: the wait runs to the end, nothing executed.
    assert_eq!(r.steps["a"].waited_for_approval_ms, Some(5_000));
    assert_eq!(r.steps["a"].duration_ms, None);
}

fn requested(min: u32) -> Event {
    Event::ApprovalRequested {
        step: "a".into(),
        min,
        approvers: Vec::new(),
    }
}

fn granted() -> Event {
    Event::ApprovalGranted {
        step: "a".into(),
        reason: None,
        auto: false,
        identity: None,
    }
}

fn go_decision(r: &Report) -> Option<(String, Option<String>)> {
    r.milestones
        .iter()
        .find(|m| m.name == "go-decision")
        .map(|m| (m.at.rfc3339(), m.who.clone()))
}

#[test]
fn the_go_decision_is_the_vote_that_reaches_min() {
    let r = build(vec![
        ("2026-01-01T00:00:00.000Z", "op@h", requested(2)),
        ("2026-01-01T00:00:01.000Z", "alice@h", granted()),
        ("2026-01-01T00:00:05.000Z", "bob@h", granted()),
        (
            "2026-01-01T00:00:06.000Z",
            "op@h",
            state("a", StepState::Running),
        ),
    ]);
    assert_eq!(
        go_decision(&r),
        Some(("2026-01-01T00:00:05.000Z".into(), Some("bob@h".into())))
    );
}

#[test]
fn a_rejected_go_no_go_has_no_go_decision() {
    let r = build(vec![
        ("2026-01-01T00:00:00.000Z", "op@h", requested(2)),
        ("2026-01-01T00:00:01.000Z", "alice@h", granted()),
        (
            "2026-01-01T00:00:02.000Z",
            "bob@h",
            Event::ApprovalRejected {
                step: "a".into(),
                reason: Some("error rate".into()),
                identity: None,
            },
        ),
        // A vote after the rejection decides nothing.
        ("2026-01-01T00:00:03.000Z", "carol@h", granted()),
    ]);
    assert_eq!(go_decision(&r), None);
    // One vote short of `min` is no decision either.
    let r = build(vec![
        ("2026-01-01T00:00:00.000Z", "op@h", requested(2)),
        ("2026-01-01T00:00:01.000Z", "alice@h", granted()),
    ]);
    assert_eq!(go_decision(&r), None);
    // `--yes` grants the approval at once.
    let r = build(vec![(
        "2026-01-01T00:00:04.000Z",
        "op@h",
        Event::ApprovalGranted {
            step: "a".into(),
            reason: Some("--yes".into()),
            auto: true,
            identity: None,
        },
    )]);
    assert_eq!(
        go_decision(&r).map(|g| g.0).as_deref(),
        Some("2026-01-01T00:00:04.000Z")
    );
}
