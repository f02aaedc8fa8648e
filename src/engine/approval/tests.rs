//! The voting rules: who may vote, one vote per person, the judgement.

use super::*;

fn policy() -> Policy {
    Policy {
        min: 2,
        approvers: vec!["alice".into(), "team:sre".into()],
        no_self_approval: true,
        reason: true,
    }
}

fn teams() -> IndexMap<String, Vec<String>> {
    IndexMap::from([("sre".to_string(), vec!["bob".to_string(), "op".to_string()])])
}

fn vote<'a>(person: &'a str, reason: Option<&'a str>, reject: bool) -> Ballot<'a> {
    Ballot {
        step: "switch",
        person,
        reason,
        reject,
        auto: false,
        identity: None,
    }
}

#[test]
fn approvers_by_name_and_team() {
    let ops = ["op".to_string()];
    let ok = |p| check(&policy(), &teams(), &vote(p, Some("ok"), false), &ops, &[]);
    assert_eq!(ok("alice"), Ok(()));
    assert_eq!(ok("bob"), Ok(()));
    assert!(matches!(ok("mallory"), Err(Refusal::NotAnApprover { .. })));
    let msg = ok("mallory").unwrap_err().to_string();
    assert!(
        msg.contains("may not vote on step `switch`: allowed: alice, or team sre: bob, op"),
        "{msg}"
    );
}

#[test]
fn the_operator_cannot_approve_but_may_reject() {
    let ops = ["op".to_string()];
    let err = check(
        &policy(),
        &teams(),
        &vote("op", Some("x"), false),
        &ops,
        &[],
    );
    assert!(matches!(err, Err(Refusal::SelfApproval { .. })));
    let reject = check(&policy(), &teams(), &vote("op", Some("x"), true), &ops, &[]);
    assert_eq!(reject, Ok(()));
}

#[test]
fn reason_and_one_vote_per_person() {
    let err = check(&policy(), &teams(), &vote("alice", None, false), &[], &[]);
    assert!(matches!(err, Err(Refusal::ReasonRequired { .. })));
    let err = check(
        &policy(),
        &teams(),
        &vote("alice", Some(" "), true),
        &[],
        &[],
    );
    assert!(matches!(err, Err(Refusal::ReasonRequired { .. })));
    let err = check(
        &policy(),
        &teams(),
        &vote("alice", Some("go"), false),
        &[],
        &["alice".to_string()],
    );
    assert!(matches!(
        err,
        Err(Refusal::AlreadyApproved { needed: 2, .. })
    ));
}

/// Step `switch` after `votes` (person, approve), numbered from seq 10.
fn after(votes: &[(&str, bool)]) -> StepRecord {
    let mut rec = StepRecord::default();
    for (i, (person, approve)) in votes.iter().enumerate() {
        rec.votes.push(crate::journal::Vote {
            person: (*person).to_string(),
            seq: 10 + i as u64,
            approve: *approve,
            auto: false,
            who: crate::journal::Who {
                actor: format!("{person}@host"),
                on_behalf: None,
                declared: false,
            },
            at: String::new(),
            reason: None,
            identity: None,
        });
        if *approve {
            rec.approvals += 1;
            rec.approved_by.push((*person).to_string());
        } else {
            rec.rejected = true;
        }
    }
    rec
}

fn judged(rec: &StepRecord, cast: &Cast<'_>) -> Result<Vec<Event>, Refusal> {
    let policy = Policy {
        min: 2,
        ..Policy::default()
    };
    let judging = Judging {
        step: "switch",
        policy: &policy,
        teams: &IndexMap::new(),
        operators: &[],
        rec,
        next_seq: 20,
    };
    judge(&judging, cast)
}

/// What an `approval_decided` among `events` says: decision, by, vote seq, reason.
type Said = (GoNoGo, Vec<String>, Option<u64>, Option<String>);

fn decision(events: &[Event]) -> Option<Said> {
    events.iter().find_map(|e| match e {
        Event::ApprovalDecided {
            decision,
            by,
            vote_seq,
            reason,
            ..
        } => Some((*decision, by.clone(), *vote_seq, reason.clone())),
        _ => None,
    })
}

#[test]
fn the_vote_that_reaches_min_decides_go_in_the_same_write() {
    let first = judged(&after(&[]), &Cast::Vote(vote("alice", None, false))).unwrap();
    assert_eq!(first.len(), 1, "1 of 2 decides nothing: {first:?}");
    let second = judged(
        &after(&[("alice", true)]),
        &Cast::Vote(vote("bob", None, false)),
    )
    .unwrap();
    assert!(matches!(second[0], Event::ApprovalGranted { .. }));
    assert_eq!(
        decision(&second),
        Some((
            GoNoGo::Go,
            vec!["alice".into(), "bob".into()],
            Some(20),
            None
        ))
    );
}

#[test]
fn one_rejection_is_a_no_go_at_once() {
    let events = judged(
        &after(&[("alice", true)]),
        &Cast::Vote(vote("bob", Some("error rate"), true)),
    )
    .unwrap();
    assert!(
        matches!(&events[0], Event::ApprovalRejected { reason: Some(r), .. } if r == "error rate")
    );
    assert_eq!(
        decision(&events),
        Some((GoNoGo::NoGo, vec!["bob".into()], Some(20), None))
    );
}

#[test]
fn one_person_counts_once_and_a_vote_after_the_decision_is_refused() {
    let err = judged(
        &after(&[("alice", true)]),
        &Cast::Vote(vote("alice", None, false)),
    );
    assert!(
        matches!(err, Err(Refusal::AlreadyApproved { .. })),
        "{err:?}"
    );
    let mut decided = after(&[("alice", true), ("bob", true)]);
    decided.decided = Some(crate::journal::Decided {
        decision: GoNoGo::Go,
        seq: 12,
        by: vec!["alice".into(), "bob".into()],
        vote_seq: Some(11),
        reason: None,
    });
    for reject in [false, true] {
        let err = judged(&decided, &Cast::Vote(vote("carol", None, reject))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the go/no-go of `switch` was already decided: go (journal seq 12)"
        );
    }
    assert_eq!(judged(&decided, &Cast::Close), Ok(Vec::new()));
    let timeout = Cast::Timeout {
        waited_ms: 1,
        on_timeout: OnTimeout::Abort,
    };
    assert_eq!(
        judged(&decided, &timeout),
        Ok(Vec::new()),
        "a go wins over the clock"
    );
}

#[test]
fn votes_journaled_without_a_decision_are_closed_by_it() {
    // An older cutover: a rejection, then a grant, and no decision.
    let legacy = after(&[("alice", false), ("bob", true)]);
    let err = judged(&legacy, &Cast::Vote(vote("carol", None, false))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the go/no-go of `switch` was already decided: no-go (journal seq 10)"
    );
    let close = judged(&legacy, &Cast::Close).unwrap();
    assert_eq!(
        decision(&close),
        Some((GoNoGo::NoGo, vec!["alice".into()], Some(10), None))
    );
    let enough = judged(&after(&[("alice", true), ("bob", true)]), &Cast::Close).unwrap();
    assert_eq!(
        decision(&enough).map(|d| (d.0, d.2)),
        Some((GoNoGo::Go, Some(11)))
    );
    assert_eq!(
        judged(&after(&[("alice", true)]), &Cast::Close),
        Ok(Vec::new())
    );
}

#[test]
fn a_timeout_aborts_as_a_no_go_and_a_pause_decides_nothing() {
    let open = after(&[("alice", true)]);
    let abort = judged(
        &open,
        &Cast::Timeout {
            waited_ms: 900,
            on_timeout: OnTimeout::Abort,
        },
    )
    .unwrap();
    assert!(
        matches!(&abort[0], Event::ApprovalTimedOut { on_timeout, .. } if on_timeout == "abort")
    );
    assert_eq!(
        decision(&abort),
        Some((GoNoGo::NoGo, Vec::new(), None, Some(TIMEOUT.into())))
    );
    let pause = judged(
        &open,
        &Cast::Timeout {
            waited_ms: 900,
            on_timeout: OnTimeout::Pause,
        },
    )
    .unwrap();
    assert_eq!(pause.len(), 1);
    assert_eq!(decision(&pause), None);
}

#[test]
fn yes_decides_go_alone() {
    let auto = Ballot {
        auto: true,
        ..vote("op", Some("--yes"), false)
    };
    let events = judged(&after(&[]), &Cast::Vote(auto)).unwrap();
    assert!(matches!(
        events[0],
        Event::ApprovalGranted { auto: true, .. }
    ));
    assert_eq!(decision(&events).map(|d| d.0), Some(GoNoGo::Go));
}

#[test]
fn production_counts_the_login_unless_names_are_declared() {
    assert_eq!(
        voter("ops@jump", Some("alice"), false, false),
        Ok(("alice".into(), None))
    );
    assert_eq!(
        voter("ops@jump", None, true, false),
        Ok(("ops".into(), Some(Identity::Login)))
    );
    let err = voter("ops@jump", Some("alice"), true, false).unwrap_err();
    assert_eq!(
        err,
        Refusal::DeclaredIdentity {
            name: "alice".into(),
            login: "ops".into()
        }
    );
    assert!(
        err.to_string()
            .contains("`[runbook] declared_identities = true`"),
        "{err}"
    );
    assert_eq!(
        voter("ops@jump", Some("alice"), true, true),
        Ok(("alice".into(), Some(Identity::Declared)))
    );
}

#[test]
fn an_empty_list_means_anyone() {
    let open = Policy::default();
    assert!(may_approve(&open, &IndexMap::new(), "anyone"));
    assert_eq!(open.needed(), 1);
}

#[test]
fn yes_stands_in_only_for_a_plain_go_no_go() {
    assert_eq!(yes_refusal(&Policy::default()), None);
    let one = Policy {
        min: 1,
        reason: true,
        ..Policy::default()
    };
    assert_eq!(yes_refusal(&one), None);
    let names = Policy {
        approvers: vec!["team:sre".into()],
        ..Policy::default()
    };
    assert_eq!(
        yes_refusal(&names).as_deref(),
        Some("--yes does not stand in for an approval that names approvers")
    );
    let two = Policy {
        min: 2,
        ..Policy::default()
    };
    assert_eq!(
        yes_refusal(&two).as_deref(),
        Some("--yes does not stand in for an approval that needs 2 people")
    );
    let all = policy();
    assert_eq!(
        yes_refusal(&all).as_deref(),
        Some(
            "--yes does not stand in for an approval that names approvers, needs 2 people and forbids self-approval"
        )
    );
}
