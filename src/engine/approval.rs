//! Who may approve a go/no-go and what a vote does: the `approvers` list
//! (names and `team:NAME`, with members from the runbook's `[teams]`),
//! `no_self_approval`, a required reason, one vote per person, and the
//! judgement ([`judge`]) that turns a vote (or a timeout) and the journal so
//! far into the records to append: the vote, and `approval_decided` when it
//! closes the go/no-go. Pure rules, shared by `cutover approve` (another
//! terminal) and the engine (its prompt, `--yes`, timeouts); both call
//! [`judge`] under the journal's append lock.
//!
//! A person is the `--as` / `CUTOVER_ACTOR` name when given, else the login
//! user (the part of `user@host` before the `@`): on a shared jump host the
//! login says little, the name given says who. In a production run the
//! person is the login user, and a name given is refused unless the runbook
//! allows declared names ([`voter`]).

use indexmap::IndexMap;

use crate::event::{Event, GoNoGo, Identity, person};
use crate::journal::StepRecord;
use crate::runbook::model::{Approval, OnTimeout, Step};

/// The parts of a step's `approval` that decide who may vote. Read from the
/// runbook model in the engine, and from the journaled plan in `cutover approve`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub min: u32,
    pub approvers: Vec<String>,
    pub no_self_approval: bool,
    /// A reason is required.
    pub reason: bool,
}

impl From<&Approval> for Policy {
    fn from(a: &Approval) -> Self {
        Policy {
            min: a.min,
            approvers: a.approvers.clone(),
            no_self_approval: a.no_self_approval,
            reason: a.reason,
        }
    }
}

impl From<&crate::journal::ApprovalSnapshot> for Policy {
    fn from(a: &crate::journal::ApprovalSnapshot) -> Self {
        Policy {
            min: a.min,
            approvers: a.approvers.clone(),
            no_self_approval: a.no_self_approval,
            reason: a.reason,
        }
    }
}

impl Policy {
    /// Approvals needed (at least one).
    pub fn needed(&self) -> u32 {
        self.min.max(1)
    }
}

/// Why `--yes` does not stand in for this approval, or `None` when it does:
/// `--yes` only replaces a plain go/no-go (no `approvers`, no
/// `no_self_approval`, `min` at most 1). Anything stricter names the people
/// who must decide, and a flag is not them.
pub fn yes_refusal(policy: &Policy) -> Option<String> {
    let mut why = Vec::new();
    if !policy.approvers.is_empty() {
        why.push("names approvers".to_string());
    }
    if policy.needed() > 1 {
        why.push(format!("needs {} people", policy.needed()));
    }
    if policy.no_self_approval {
        why.push("forbids self-approval".to_string());
    }
    let last = why.pop()?;
    let text = if why.is_empty() {
        last
    } else {
        format!("{} and {last}", why.join(", "))
    };
    Some(format!(
        "--yes does not stand in for an approval that {text}"
    ))
}

/// What `--yes` will do in a run of `steps` outside production, one line
/// each: the approvals it grants, and those it does not stand in for.
pub fn yes_summary<'a>(steps: impl IntoIterator<Item = &'a Step>) -> Vec<String> {
    let mut auto = Vec::new();
    let mut lines = Vec::new();
    for step in steps {
        let Some(approval) = &step.approval else {
            continue;
        };
        match yes_refusal(&Policy::from(approval)) {
            None => auto.push(format!("`{}`", step.id)),
            Some(why) => lines.push(format!("step `{}`: {why}; it needs real votes", step.id)),
        }
    }
    if !auto.is_empty() {
        lines.insert(
            0,
            format!(
                "--yes approves automatically (journaled as auto): {}",
                auto.join(", ")
            ),
        );
    }
    lines
}

/// One vote about to be journaled.
#[derive(Debug, Clone)]
pub struct Ballot<'a> {
    pub step: &'a str,
    /// The person voting (see [`person`]).
    pub person: &'a str,
    pub reason: Option<&'a str>,
    pub reject: bool,
    /// `--yes` stands in for the approval (the engine, outside production).
    pub auto: bool,
    /// In a production run: how the person is known (see [`voter`]).
    pub identity: Option<Identity>,
}

/// Why a vote is refused; the run keeps waiting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("`{person}` may not vote on step `{step}`: allowed: {allowed}")]
    NotAnApprover {
        person: String,
        step: String,
        allowed: String,
    },
    #[error(
        "`{person}` is driving this run and step `{step}` has `no_self_approval`: someone else must approve it"
    )]
    SelfApproval { person: String, step: String },
    #[error(
        "step `{step}` needs a reason: `--reason \"...\"` with `cutover approve`, or `yes REASON` / `no REASON` at the prompt"
    )]
    ReasonRequired { step: String },
    #[error("`{person}` already approved step `{step}`; it needs {needed} different approvers")]
    AlreadyApproved {
        person: String,
        step: String,
        needed: u32,
    },
    #[error("the go/no-go of `{step}` was already decided: {} (journal seq {seq})", decision.label())]
    AlreadyDecided {
        step: String,
        decision: GoNoGo,
        seq: u64,
    },
    #[error(
        "in a production run the person is the login user (`{login}`): a name given with `--as` / `CUTOVER_ACTOR` (`{name}`) is refused unless the runbook says `[runbook] declared_identities = true` (a shared operator account)"
    )]
    DeclaredIdentity { name: String, login: String },
}

/// Who votes (or drives a run) and how they are known. Outside production:
/// the name given, else the login user, as [`person`] says (no
/// `identity`). In a production run: the login user (`identity: login`); a
/// name given is refused, unless the runbook allows declared names
/// (`declared_identities`), and then it is the person, journaled as
/// `identity: declared` (declared, not verified).
pub fn voter(
    actor: &str,
    on_behalf: Option<&str>,
    production: bool,
    declared_ok: bool,
) -> Result<(String, Option<Identity>), Refusal> {
    let login = person(actor, None);
    match on_behalf.filter(|n| !n.is_empty()) {
        _ if !production => Ok((person(actor, on_behalf), None)),
        None => Ok((login, Some(Identity::Login))),
        Some(name) if declared_ok => Ok((name.to_string(), Some(Identity::Declared))),
        Some(name) => Err(Refusal::DeclaredIdentity {
            name: name.to_string(),
            login,
        }),
    }
}

/// The `reason` of an `approval_decided` that no vote closed: the
/// approval's `timeout` ran out with `on_timeout = "abort"`.
pub const TIMEOUT: &str = "timeout";

/// What is put to the judgement of the journal under its append lock.
#[derive(Debug, Clone)]
pub enum Cast<'a> {
    /// A person's vote (or `--yes` standing in for one).
    Vote(Ballot<'a>),
    /// Close the go/no-go if the votes already journaled decide it but no
    /// `approval_decided` says so (a journal older than that record, or a
    /// decision torn off by a crash).
    Close,
    /// The approval's `timeout` ran out while the engine waited:
    /// `on_timeout = "abort"` is a no-go; `"pause"` decides nothing.
    Timeout {
        waited_ms: u64,
        on_timeout: OnTimeout,
    },
}

/// What a go/no-go is judged against: the step's rules and its votes so far.
#[derive(Debug, Clone, Copy)]
pub struct Judging<'a> {
    pub step: &'a str,
    pub policy: &'a Policy,
    pub teams: &'a IndexMap<String, Vec<String>>,
    /// The people driving the run, for `no_self_approval`.
    pub operators: &'a [String],
    /// The step as the journal folds it, up to this moment.
    pub rec: &'a StepRecord,
    /// The `seq` the first record appended will get.
    pub next_seq: u64,
}

/// The records to append for `cast`, judged against every vote journaled so
/// far: the vote, and `approval_decided` when it closes the go/no-go (one
/// rejection is a no-go; `min` different approvers, or `--yes`, a go). A
/// vote after the decision is refused and names it. `Close` and `Timeout`
/// append nothing once the go/no-go is decided.
pub fn judge(j: &Judging<'_>, cast: &Cast<'_>) -> Result<Vec<Event>, Refusal> {
    let needed = j.policy.needed();
    let by_votes = j.rec.decided_by_votes(needed);
    let ballot = match cast {
        Cast::Vote(ballot) => ballot,
        _ if j.rec.decided.is_some() => return Ok(Vec::new()),
        _ if by_votes.is_some() => {
            return Ok(by_votes
                .into_iter()
                .map(|(decision, by, seq)| decided(j.step, decision, by, Some(seq), None))
                .collect());
        }
        Cast::Close => return Ok(Vec::new()),
        Cast::Timeout {
            waited_ms,
            on_timeout,
        } => {
            let mut events = vec![Event::ApprovalTimedOut {
                step: j.step.to_string(),
                waited_ms: *waited_ms,
                on_timeout: match on_timeout {
                    OnTimeout::Pause => "pause".into(),
                    OnTimeout::Abort => "abort".into(),
                },
            }];
            if *on_timeout == OnTimeout::Abort {
                events.push(decided(
                    j.step,
                    GoNoGo::NoGo,
                    Vec::new(),
                    None,
                    Some(TIMEOUT.into()),
                ));
            }
            return Ok(events);
        }
    };
    if let Some((decision, seq)) = j.rec.go_no_go(needed) {
        return Err(Refusal::AlreadyDecided {
            step: j.step.to_string(),
            decision,
            seq,
        });
    }
    check(j.policy, j.teams, ballot, j.operators, &j.rec.approved_by)?;
    let reason = ballot.reason.map(str::to_string);
    if ballot.reject {
        return Ok(vec![
            Event::ApprovalRejected {
                step: j.step.to_string(),
                reason,
                identity: ballot.identity,
            },
            decided(
                j.step,
                GoNoGo::NoGo,
                vec![ballot.person.to_string()],
                Some(j.next_seq),
                None,
            ),
        ]);
    }
    let mut events = vec![Event::ApprovalGranted {
        step: j.step.to_string(),
        reason,
        auto: ballot.auto,
        identity: ballot.identity,
    }];
    let mut by = j.rec.approved_by.clone();
    by.push(ballot.person.to_string());
    if ballot.auto || by.len() >= needed as usize {
        events.push(decided(j.step, GoNoGo::Go, by, Some(j.next_seq), None));
    }
    Ok(events)
}

fn decided(
    step: &str,
    decision: GoNoGo,
    by: Vec<String>,
    vote_seq: Option<u64>,
    reason: Option<String>,
) -> Event {
    Event::ApprovalDecided {
        step: step.to_string(),
        decision,
        by,
        vote_seq,
        reason,
    }
}

/// Whether `person` is on the approvers list, directly or through a team.
pub fn may_approve(policy: &Policy, teams: &IndexMap<String, Vec<String>>, person: &str) -> bool {
    policy.approvers.is_empty()
        || policy
            .approvers
            .iter()
            .any(|entry| match entry.strip_prefix("team:") {
                Some(team) => teams
                    .get(team)
                    .is_some_and(|members| members.iter().any(|m| m == person)),
                None => entry == person,
            })
}

/// Who may vote, teams expanded: `carol, or team sre: alice, bob`.
fn allowed(policy: &Policy, teams: &IndexMap<String, Vec<String>>) -> String {
    let (team_entries, names): (Vec<&String>, Vec<&String>) = policy
        .approvers
        .iter()
        .partition(|a| a.starts_with("team:"));
    let names = names
        .iter()
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let teams = team_entries
        .iter()
        .map(|entry| {
            let team = entry.trim_start_matches("team:");
            match teams.get(team) {
                Some(members) if !members.is_empty() => {
                    format!("team {team}: {}", members.join(", "))
                }
                _ => format!("team {team} (no members)"),
            }
        })
        .collect::<Vec<_>>()
        .join("; or ");
    match (names.is_empty(), teams.is_empty()) {
        (false, false) => format!("{names}, or {teams}"),
        (true, _) => teams,
        (_, true) => names,
    }
}

/// Check one vote. `operators` are the people driving the run (who started
/// or resumed it); `already` those who approved the step so far.
pub fn check(
    policy: &Policy,
    teams: &IndexMap<String, Vec<String>>,
    ballot: &Ballot<'_>,
    operators: &[String],
    already: &[String],
) -> Result<(), Refusal> {
    if policy.reason && ballot.reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(Refusal::ReasonRequired {
            step: ballot.step.to_string(),
        });
    }
    if !may_approve(policy, teams, ballot.person) {
        return Err(Refusal::NotAnApprover {
            person: ballot.person.to_string(),
            step: ballot.step.to_string(),
            allowed: allowed(policy, teams),
        });
    }
    // Stopping one's own run is always allowed; approving it is what the rule is about.
    if ballot.reject {
        return Ok(());
    }
    if policy.no_self_approval && operators.iter().any(|o| o == ballot.person) {
        return Err(Refusal::SelfApproval {
            person: ballot.person.to_string(),
            step: ballot.step.to_string(),
        });
    }
    if already.iter().any(|a| a == ballot.person) {
        return Err(Refusal::AlreadyApproved {
            person: ballot.person.to_string(),
            step: ballot.step.to_string(),
            needed: policy.needed(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
}
