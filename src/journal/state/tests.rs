//! The fold, record by record.

use super::*;
use crate::event::{AttemptResult, Choice, GoNoGo, Phase, RollbackReason, StepState, Stream};

fn rec(seq: u64, event: Event) -> Record {
    Record {
        seq,
        ts: "t".into(),
        run_id: "r".into(),
        actor: "a".into(),
        on_behalf: None,
        event,
    }
}

/// `events` as records numbered from seq 1.
fn records(events: Vec<Event>) -> Vec<Record> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, e)| rec(i as u64 + 1, e))
        .collect()
}

/// The state after `events`, numbered from seq 1.
fn replay(events: Vec<Event>) -> RunState {
    RunState::replay(&records(events))
}

/// Step `s`'s first attempt finished, ok or not.
fn attempt(ok: bool) -> Event {
    Event::AttemptFinished {
        step: "s".into(),
        attempt: 1,
        result: if ok {
            AttemptResult::Succeeded
        } else {
            AttemptResult::Failed
        },
        exit_code: Some(0),
        duration_ms: 1,
        detail: None,
    }
}

/// Step `s`'s first attempt started.
fn start() -> Event {
    Event::AttemptStarted {
        step: "s".into(),
        attempt: 1,
        attempts: 1,
        action: "x".into(),
    }
}

/// The steps marked `change` on the timeline, oldest first.
fn order(s: &RunState, change: Change) -> Vec<&str> {
    s.timeline
        .iter()
        .filter(|(_, c)| *c == change)
        .map(|(id, _)| id.as_str())
        .collect()
}

fn state(step: &str, state: StepState) -> Event {
    Event::StepState {
        step: step.into(),
        state,
        detail: None,
    }
}

/// A vote on step `s` by `who`.
fn vote(seq: u64, who: &str, approve: bool) -> Record {
    let event = if approve {
        Event::ApprovalGranted {
            step: "s".into(),
            reason: None,
            auto: false,
            identity: None,
        }
    } else {
        Event::ApprovalRejected {
            step: "s".into(),
            reason: None,
            identity: None,
        }
    };
    Record {
        on_behalf: Some(who.into()),
        ..rec(seq, event)
    }
}

fn decided(seq: u64, decision: GoNoGo, vote_seq: u64) -> Record {
    rec(
        seq,
        Event::ApprovalDecided {
            step: "s".into(),
            decision,
            by: vec!["x".into()],
            vote_seq: Some(vote_seq),
            reason: None,
        },
    )
}

fn requested(seq: u64) -> Record {
    rec(
        seq,
        Event::ApprovalRequested {
            step: "s".into(),
            min: 2,
            approvers: Vec::new(),
        },
    )
}

#[test]
fn a_go_no_go_counts_its_votes_until_its_decision() {
    let records = vec![
        requested(1),
        vote(2, "alice", true),
        vote(3, "bob", false),
        decided(4, GoNoGo::NoGo, 3),
        // Never journaled by this cutover: it does not count.
        vote(5, "carol", true),
    ];
    let s = RunState::replay(&records);
    let r = &s.steps["s"];
    assert_eq!(r.approval_needed, 2);
    assert_eq!(r.approved_by, ["alice"]);
    assert!(r.rejected);
    assert_eq!(r.votes.len(), 2);
    let d = r.decided.as_ref().unwrap();
    assert_eq!((d.decision, d.seq, d.vote_seq), (GoNoGo::NoGo, 4, Some(3)));
    assert_eq!(r.go_no_go(2), Some((GoNoGo::NoGo, 4)));
}

#[test]
fn a_rerun_after_a_no_go_opens_a_new_go_no_go_and_after_a_go_keeps_it() {
    let rerun = |seq| {
        rec(
            seq,
            Event::Decision {
                step: Some("s".into()),
                choice: Choice::Rerun,
                context: "resume".into(),
                reason: None,
            },
        )
    };
    let no_go = vec![
        requested(1),
        vote(2, "bob", false),
        decided(3, GoNoGo::NoGo, 2),
        rerun(4),
    ];
    let r = &RunState::replay(&no_go).steps["s"];
    assert!(!r.approval_requested && !r.rejected && r.votes.is_empty());
    assert_eq!(r.decided, None);
    let go = vec![
        requested(1),
        vote(2, "alice", true),
        vote(3, "bob", true),
        decided(4, GoNoGo::Go, 3),
        rerun(5),
    ];
    let r = &RunState::replay(&go).steps["s"];
    assert_eq!(
        r.go_no_go(2),
        Some((GoNoGo::Go, 4)),
        "a go holds for a rerun"
    );
}

#[test]
fn older_journals_are_decided_by_their_votes() {
    let granted = RunState::replay(&[requested(1), vote(2, "a", true), vote(3, "b", true)]);
    assert_eq!(granted.steps["s"].decided, None);
    assert_eq!(granted.steps["s"].go_no_go(2), Some((GoNoGo::Go, 3)));
    let open = RunState::replay(&[requested(1), vote(2, "a", true)]);
    assert_eq!(open.steps["s"].go_no_go(2), None);
    let rejected = RunState::replay(&[requested(1), vote(2, "a", true), vote(3, "b", false)]);
    assert_eq!(
        rejected.steps["s"].decided_by_votes(2),
        Some((GoNoGo::NoGo, vec!["b".to_string()], 3))
    );
}

#[test]
fn a_decision_holds_until_the_step_moves_on() {
    let rerun = Event::Decision {
        step: Some("s".into()),
        choice: Choice::Rerun,
        context: "resume".into(),
        reason: None,
    };
    let mut events = vec![state("s", StepState::Running), start(), rerun];
    // Decided, then the resume paused for another step: still pending.
    events.push(Event::Note {
        text: "paused".into(),
    });
    assert_eq!(
        replay(events.clone()).steps["s"].decision,
        Some(Choice::Rerun)
    );
    // The step ran again: the decision was acted on.
    events.push(start());
    assert_eq!(replay(events.clone()).steps["s"].decision, None);
    events.pop();
    events.push(state("s", StepState::Skipped));
    assert_eq!(replay(events).steps["s"].decision, None);
}

#[test]
fn recovers_done_in_flight_and_order() {
    let events = vec![
        state("a", StepState::Running),
        Event::AttemptStarted {
            step: "a".into(),
            attempt: 1,
            attempts: 1,
            action: "x".into(),
        },
        Event::Output {
            step: "a".into(),
            stream: Stream::Stdout,
            phase: Phase::Step,
            line: "hi".into(),
        },
        Event::AttemptFinished {
            step: "a".into(),
            attempt: 1,
            result: AttemptResult::Succeeded,
            exit_code: Some(0),
            duration_ms: 1,
            detail: None,
        },
        state("a", StepState::Done),
        state("c", StepState::Done),
        state("b", StepState::Running),
        Event::AttemptStarted {
            step: "b".into(),
            attempt: 2,
            attempts: 3,
            action: "y".into(),
        },
    ];
    let s = replay(events);
    assert_eq!(order(&s, Change::Done), ["a", "c"]);
    assert_eq!(s.steps["b"].state, StepState::Running);
    assert!(s.steps["b"].attempt_open);
    assert_eq!(s.steps["b"].attempts, 2);
    assert!(!s.steps["a"].attempt_open);
    assert!(s.seq_gaps.is_empty());
    assert_eq!(s.outcome(), None);
}

#[test]
fn a_command_stays_open_until_it_finishes_or_resume_deals_with_it() {
    let started = |step: &str, phase, pgid| Event::ProcessStarted {
        step: step.into(),
        phase,
        process: ProcessIdentity {
            pgid,
            start_ticks: 9,
            boot_id: "b".into(),
            host: "h".into(),
            pid_ns: String::new(),
        },
    };
    let open = |events: Vec<Event>| -> Vec<(String, i32)> {
        replay(events)
            .open_processes
            .into_iter()
            .map(|p| (p.step, p.process.pgid))
            .collect()
    };
    let finished = Event::AttemptFinished {
        step: "a".into(),
        attempt: 1,
        result: AttemptResult::Failed,
        exit_code: Some(1),
        duration_ms: 1,
        detail: None,
    };
    assert_eq!(
        open(vec![started("a", Phase::Step, 10), finished.clone()]),
        []
    );
    // A retry's group replaces the first one's.
    assert_eq!(
        open(vec![
            started("a", Phase::Step, 10),
            finished,
            started("a", Phase::Step, 11),
            started("b", Phase::Rollback, 12),
        ]),
        [("a".to_string(), 11), ("b".to_string(), 12)]
    );
    // Survived SIGKILL: the next resume looks again.
    let orphan = |stopped| Event::OrphanStopped {
        step: "a".into(),
        phase: Phase::Step,
        pgid: 10,
        signal: "SIGKILL".into(),
        stopped,
    };
    assert_eq!(
        open(vec![started("a", Phase::Step, 10), orphan(false)]),
        [("a".to_string(), 10)]
    );
    assert_eq!(open(vec![started("a", Phase::Step, 10), orphan(true)]), []);
}

#[test]
fn notices_seq_gaps_and_rollback_progress() {
    let records = vec![
        rec(
            1,
            Event::RollbackStarted {
                reason: RollbackReason::Operator,
                steps: vec!["b".into(), "a".into()],
                partial: Vec::new(),
            },
        ),
        rec(
            2,
            Event::RollbackStepStarted {
                step: "b".into(),
                action: "x".into(),
                partial: false,
            },
        ),
        rec(
            4,
            Event::RollbackStepFinished {
                step: "b".into(),
                ok: true,
                exit_code: Some(0),
                duration_ms: 1,
                detail: None,
            },
        ),
    ];
    let s = RunState::replay(&records);
    assert_eq!(s.seq_gaps, [(2, 4)]);
    let rb = s.rollback.unwrap();
    assert_eq!(rb.finished_steps, ["b"]);
    assert_eq!(rb.finished, None);
    assert!(s.steps["b"].rolled_back);
}

#[test]
fn knows_which_actions_started_and_a_partial_rollback_that_ran() {
    let events = vec![
        state("a", StepState::Running),
        state("a", StepState::Done),
        state("g", StepState::BeforeGates),
        state("m", StepState::Running),
        state("m", StepState::Failed),
        state("g", StepState::Stopped),
        Event::RollbackStarted {
            reason: RollbackReason::Operator,
            steps: vec!["m".into(), "a".into()],
            partial: vec!["m".into()],
        },
        Event::RollbackStepStarted {
            step: "m".into(),
            action: "undo".into(),
            partial: true,
        },
        Event::RollbackStepFinished {
            step: "m".into(),
            ok: true,
            exit_code: Some(0),
            duration_ms: 1,
            detail: None,
        },
    ];
    let s = replay(events);
    assert_eq!(order(&s, Change::Started), ["a", "m"]);
    assert!(s.steps["m"].action_started);
    assert!(!s.steps["g"].action_started, "stopped in its before-gates");
    assert!(
        s.steps["m"].rolled_back,
        "a second resume must not run it again"
    );
    let rb = s.rollback.unwrap();
    assert_eq!(rb.partial, ["m"]);
    assert_eq!(rb.finished_steps, ["m"]);
}

#[test]
fn a_failed_rollback_goes_on_without_what_ran_or_was_skipped() {
    let finished = |step: &str, ok| Event::RollbackStepFinished {
        step: step.into(),
        ok,
        exit_code: Some(if ok { 0 } else { 7 }),
        duration_ms: 1,
        detail: None,
    };
    let started = |step: &str| Event::RollbackStepStarted {
        step: step.into(),
        action: "undo".into(),
        partial: false,
    };
    let mut events = vec![
        state("a", StepState::Done),
        state("b", StepState::Done),
        state("c", StepState::Done),
        Event::RollbackStarted {
            reason: RollbackReason::Operator,
            steps: vec!["c".into(), "b".into(), "a".into()],
            partial: Vec::new(),
        },
        started("c"),
        finished("c", true),
        started("b"),
        finished("b", false),
        Event::RollbackFinished {
            ok: false,
            failed: vec!["b".into()],
        },
    ];
    let s = replay(events.clone());
    assert_eq!(s.rollbacks_left(), ["b", "a"]);
    assert_eq!(s.rollback.as_ref().unwrap().finished, Some(false));
    // The operator undid `b` by hand.
    events.push(Event::Decision {
        step: Some("b".into()),
        choice: Choice::Skip,
        context: ROLLBACK_CONTEXT.into(),
        reason: None,
    });
    let s = replay(events.clone());
    assert_eq!(s.rollbacks_left(), ["a"]);
    assert!(s.steps["b"].rollback_skipped());
    assert_eq!(s.steps["b"].decision, None, "not a decision about the step");
    // The retry under way: no longer finished, no longer failed.
    events.push(started("a"));
    let rb = replay(events).rollback.unwrap();
    assert_eq!(rb.finished, None);
    assert!(rb.failed.is_empty());
}

#[test]
fn an_action_that_finished_is_live_until_its_step_completes() {
    let base = vec![state("s", StepState::Running), start()];
    assert!(!replay(base.clone()).action_finished("s"), "still open");
    let mut ok = base.clone();
    ok.extend([attempt(true), state("s", StepState::AfterGates)]);
    assert!(replay(ok.clone()).action_finished("s"));
    ok.push(state("s", StepState::Failed));
    assert!(
        replay(ok.clone()).action_finished("s"),
        "after-gates failed"
    );
    ok.push(state("s", StepState::Done));
    assert!(!replay(ok).action_finished("s"), "done is not unconfirmed");
    let mut failed = base;
    failed.extend([attempt(false), state("s", StepState::Failed)]);
    assert!(!replay(failed).action_finished("s"));
}

#[test]
fn a_change_stays_live_after_a_later_attempt_failed_until_rolled_back() {
    let mut events = vec![
        state("s", StepState::Running),
        start(),
        attempt(true),
        state("s", StepState::Failed),
        // `resume --rerun s`: the action fails ("already exists").
        state("s", StepState::Running),
        start(),
        attempt(false),
        state("s", StepState::Failed),
    ];
    let s = replay(events.clone());
    assert!(!s.steps["s"].last_attempt_ok);
    assert!(s.action_finished("s"), "the first attempt's change is live");
    events.extend([
        Event::RollbackStepStarted {
            step: "s".into(),
            action: "undo".into(),
            partial: false,
        },
        Event::RollbackStepFinished {
            step: "s".into(),
            ok: true,
            exit_code: Some(0),
            duration_ms: 1,
            detail: None,
        },
    ]);
    assert!(!replay(events).action_finished("s"), "undone");
}

#[test]
fn one_timeline_of_starts_and_completions_and_who_skipped_a_rollback() {
    let mut records = records(vec![
        state("a", StepState::Running),
        state("a", StepState::Done),
        state("s", StepState::Running),
        state("l", StepState::Running),
        state("l", StepState::Done),
        state("s", StepState::Running),
        Event::RollbackStarted {
            reason: RollbackReason::Operator,
            steps: vec!["l".into(), "s".into(), "a".into()],
            partial: Vec::new(),
        },
        Event::Decision {
            step: Some("a".into()),
            choice: Choice::Skip,
            context: ROLLBACK_CONTEXT.into(),
            reason: None,
        },
    ]);
    records.push(Record {
        on_behalf: Some("alice".into()),
        ..rec(
            9,
            Event::Decision {
                step: Some("l".into()),
                choice: Choice::Skip,
                context: ROLLBACK_CONTEXT.into(),
                reason: Some("restored from snapshot by hand".into()),
            },
        )
    });
    let s = RunState::replay(&records);
    let marks: Vec<(&str, Change)> = s.timeline.iter().map(|(id, c)| (id.as_str(), *c)).collect();
    assert_eq!(
        marks,
        [
            ("a", Change::Started),
            ("a", Change::Done),
            ("l", Change::Started),
            ("l", Change::Done),
            ("s", Change::Started),
        ]
    );
    assert_eq!(
        s.rollbacks_skipped(),
        [
            SkippedRollback {
                step: "l".into(),
                by: "alice".into(),
                reason: Some("restored from snapshot by hand".into()),
            },
            SkippedRollback {
                step: "a".into(),
                by: "a".into(),
                reason: None,
            }
        ]
    );
}

#[test]
fn a_ctrl_c_and_the_question_it_opens_last_until_answered() {
    let interrupted = Event::Interrupted {
        signal: "SIGINT".into(),
    };
    let pending = Event::DecisionPending {
        step: None,
        context: "interrupt".into(),
        choices: vec!["continue".into(), "rollback".into(), "abort".into()],
    };
    let s = replay(vec![interrupted.clone(), pending.clone()]);
    assert!(s.interrupted.is_some());
    assert_eq!(s.deciding.as_ref().unwrap().choices.len(), 3);
    let answered = replay(vec![
        interrupted.clone(),
        pending,
        Event::Decision {
            step: None,
            choice: Choice::Continue,
            context: "interrupt".into(),
            reason: None,
        },
    ]);
    assert!(answered.interrupted.is_none() && answered.deciding.is_none());
    // During a rollback a first Ctrl-C changes nothing.
    let rolling = replay(vec![
        Event::RollbackStarted {
            reason: RollbackReason::Operator,
            steps: vec!["s".into()],
            partial: vec![],
        },
        interrupted,
    ]);
    assert!(rolling.interrupted.is_none());
}

#[test]
fn an_escalation_belongs_to_its_go_no_go() {
    let s = replay(vec![
        Event::ApprovalRequested {
            step: "s".into(),
            min: 1,
            approvers: vec![],
        },
        Event::ApprovalEscalated {
            step: "s".into(),
            waited_ms: 600_000,
            to: vec!["team:leads".into()],
        },
    ]);
    assert_eq!(s.steps["s"].escalated.as_ref().unwrap().1, ["team:leads"]);
}
