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

mod vote;
pub use vote::{Rules, VoteError, closed, judge_vote};

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
mod tests;
