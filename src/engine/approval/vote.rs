//! A vote from another terminal (`cutover approve`), judged on the journal
//! alone: the voting rules the journaled plan gives a step ([`Rules`]),
//! when a go/no-go is closed to votes ([`closed`]), and the judgement of
//! one vote under the journal's append lock ([`judge_vote`]).

use indexmap::IndexMap;

use super::{Ballot, Cast, Judging, Policy, Refusal, judge};
use crate::event::{Event, Outcome};
use crate::journal::RunState;

/// Why `cutover approve` takes no vote (nothing is journaled).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoteError {
    #[error("run `{run}` has no step `{step}`{hint}")]
    NoSuchStep {
        run: String,
        step: String,
        /// `: did you mean ...?`, or nothing.
        hint: String,
    },
    #[error("step `{step}` of run `{run}` has no approval to give")]
    NoApproval { step: String, run: String },
    /// Who the voter is was refused (a name given in production).
    #[error(transparent)]
    Voter(Refusal),
    /// The go/no-go was decided already: a late vote is told the decision,
    /// whatever came after it.
    #[error(transparent)]
    Decided(Refusal),
    #[error("run `{run}` already ended ({outcome}); there is nothing to approve")]
    RunEnded { run: String, outcome: &'static str },
    #[error("step `{step}` of run `{run}` is {state}; its go/no-go is over")]
    StepOver {
        step: String,
        run: String,
        state: &'static str,
    },
    #[error(
        "step `{step}` of run `{run}` is not waiting for approval yet ({state}); a go/no-go is given when the step asks for it"
    )]
    NotAsked {
        step: String,
        run: String,
        state: &'static str,
    },
    /// The rules refuse this vote; the run keeps waiting.
    #[error("{refusal}{team_hint}; the run keeps waiting for approval")]
    Refused {
        refusal: Refusal,
        /// ` (`team:sre` is a team: ...)` when the voter named a team.
        team_hint: String,
    },
}

/// What the journaled plan says about voting on one step of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub policy: Policy,
    pub teams: IndexMap<String, Vec<String>>,
    pub production: bool,
    /// `[runbook] declared_identities`: names given count in production.
    pub declared_ok: bool,
}

impl Rules {
    /// The rules for step `step` of the run folded in `state`, or why it
    /// has no go/no-go to vote on.
    pub fn from_plan(state: &RunState, step: &str, run_id: &str) -> Result<Rules, VoteError> {
        let plan = &state.plan;
        if step == crate::runbook::model::WINDOW_GATE
            && plan.step(step).is_none()
            && state.schedule.window_override.is_some()
        {
            // The go/no-go of a run started outside its window: one
            // person, not one who drives the run, with a reason.
            return Ok(Rules {
                policy: Policy {
                    min: 1,
                    approvers: Vec::new(),
                    no_self_approval: true,
                    reason: true,
                },
                teams: plan.runbook.teams.clone(),
                production: state.started.as_ref().is_some_and(|s| s.production),
                declared_ok: plan.runbook.declared_identities,
            });
        }
        let found = plan.step(step).ok_or_else(|| VoteError::NoSuchStep {
            run: run_id.to_string(),
            step: step.to_string(),
            hint: crate::diag::did_you_mean(step, plan.step_ids())
                .map(|h| format!(": {h}"))
                .unwrap_or_default(),
        })?;
        let Some(approval) = &found.approval else {
            return Err(VoteError::NoApproval {
                step: step.to_string(),
                run: run_id.to_string(),
            });
        };
        Ok(Rules {
            policy: Policy::from(approval),
            teams: plan.runbook.teams.clone(),
            production: state.started.as_ref().is_some_and(|s| s.production),
            declared_ok: plan.runbook.declared_identities,
        })
    }

    /// Who votes, given the actor and the name given (`--as`), as
    /// [`super::voter`] says for this run.
    pub fn voter(
        &self,
        actor: &str,
        on_behalf: Option<&str>,
    ) -> Result<(String, Option<crate::event::Identity>), VoteError> {
        super::voter(actor, on_behalf, self.production, self.declared_ok).map_err(VoteError::Voter)
    }
}

/// Why no vote on `step` can be taken now, judged on the journal as it is
/// under the lock: the go/no-go is decided, the run ended, the step is
/// over, or it has not asked yet.
pub fn closed(state: &RunState, policy: &Policy, step: &str, run_id: &str) -> Option<VoteError> {
    let rec = state.steps.get(step).cloned().unwrap_or_default();
    // First: a vote after the decision is told the decision, whatever came after it.
    if let Some((decision, seq)) = rec.go_no_go(policy.needed()) {
        return Some(VoteError::Decided(Refusal::AlreadyDecided {
            step: step.to_string(),
            decision,
            seq,
        }));
    }
    if let Some(outcome @ (Outcome::Completed | Outcome::RolledBack | Outcome::RollbackFailed)) =
        state.outcome()
    {
        return Some(VoteError::RunEnded {
            run: run_id.to_string(),
            outcome: outcome.label(),
        });
    }
    if rec.state.is_complete() {
        return Some(VoteError::StepOver {
            step: step.to_string(),
            run: run_id.to_string(),
            state: rec.state.label(),
        });
    }
    if !rec.approval_requested {
        return Some(VoteError::NotAsked {
            step: step.to_string(),
            run: run_id.to_string(),
            state: rec.state.label(),
        });
    }
    None
}

/// The records to append for `ballot`, judged against the journal folded
/// in `state` (every record up to the lock): refused when the go/no-go is
/// [`closed`] or the rules refuse it; else the vote, and `approval_decided`
/// when it closes the go/no-go. `next_seq`: the `seq` the first record
/// appended will get.
pub fn judge_vote(
    state: &RunState,
    rules: &Rules,
    ballot: &Ballot<'_>,
    run_id: &str,
    next_seq: u64,
) -> Result<Vec<Event>, VoteError> {
    if let Some(why) = closed(state, &rules.policy, ballot.step, run_id) {
        return Err(why);
    }
    let rec = state.steps.get(ballot.step).cloned().unwrap_or_default();
    let judging = Judging {
        step: ballot.step,
        policy: &rules.policy,
        teams: &rules.teams,
        operators: &state.operators,
        rec: &rec,
        next_seq,
    };
    judge(&judging, &Cast::Vote(ballot.clone())).map_err(|refusal| refused(refusal, ballot.person))
}

/// A refused vote as the voter reads it.
fn refused(refusal: Refusal, who: &str) -> VoteError {
    if matches!(refusal, Refusal::AlreadyDecided { .. }) {
        return VoteError::Decided(refusal);
    }
    // `--as team:sre` names a team, and teams do not vote: people do.
    let team_hint = if who.starts_with("team:") {
        format!(" (`{who}` is a team: vote as one of its members, e.g. `--as NAME`)")
    } else {
        String::new()
    };
    VoteError::Refused { refusal, team_hint }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{GoNoGo, Record, StepState};
    use crate::journal::Decided;

    fn state(steps: &[(&str, StepState, bool)]) -> RunState {
        let mut state = RunState::default();
        for (id, s, asked) in steps {
            let rec = state.steps.entry((*id).to_string()).or_default();
            rec.state = *s;
            rec.approval_requested = *asked;
        }
        state
    }

    fn rules(min: u32) -> Rules {
        Rules {
            policy: Policy {
                min,
                ..Policy::default()
            },
            teams: IndexMap::new(),
            production: false,
            declared_ok: false,
        }
    }

    fn ballot(person: &str, reject: bool) -> Ballot<'_> {
        Ballot {
            step: "switch",
            person,
            reason: None,
            reject,
            auto: false,
            identity: None,
        }
    }

    #[test]
    fn a_step_that_has_not_asked_or_is_over_takes_no_vote() {
        let pending = state(&[("switch", StepState::Pending, false)]);
        let err = judge_vote(&pending, &rules(1), &ballot("alice", false), "r1", 5).unwrap_err();
        assert_eq!(
            err.to_string(),
            "step `switch` of run `r1` is not waiting for approval yet (pending); a go/no-go is given when the step asks for it"
        );
        let done = state(&[("switch", StepState::Done, true)]);
        let err = judge_vote(&done, &rules(1), &ballot("alice", false), "r1", 5).unwrap_err();
        assert_eq!(
            err.to_string(),
            "step `switch` of run `r1` is done; its go/no-go is over"
        );
    }

    #[test]
    fn a_decided_go_no_go_is_named_before_anything_else() {
        let mut decided = state(&[("switch", StepState::Done, true)]);
        decided.steps.get_mut("switch").unwrap().decided = Some(Decided {
            decision: GoNoGo::Go,
            seq: 9,
            by: vec!["bob".into()],
            vote_seq: Some(8),
            reason: None,
        });
        let err = judge_vote(&decided, &rules(1), &ballot("alice", true), "r1", 12).unwrap_err();
        assert!(matches!(err, VoteError::Decided(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the go/no-go of `switch` was already decided: go (journal seq 9)"
        );
    }

    #[test]
    fn a_vote_on_a_waiting_step_is_judged_and_decides_at_min() {
        let waiting = state(&[("switch", StepState::AwaitingApproval, true)]);
        let events = judge_vote(&waiting, &rules(1), &ballot("alice", false), "r1", 7).unwrap();
        assert!(matches!(events[0], Event::ApprovalGranted { .. }));
        assert!(matches!(
            events[1],
            Event::ApprovalDecided {
                decision: GoNoGo::Go,
                vote_seq: Some(7),
                ..
            }
        ));
        let two = judge_vote(&waiting, &rules(2), &ballot("alice", false), "r1", 7).unwrap();
        assert_eq!(two.len(), 1, "1 of 2 decides nothing");
    }

    #[test]
    fn a_refused_vote_says_the_run_keeps_waiting_and_that_teams_do_not_vote() {
        let waiting = state(&[("switch", StepState::AwaitingApproval, true)]);
        let mut only_alice = rules(1);
        only_alice.policy.approvers = vec!["alice".into()];
        let err =
            judge_vote(&waiting, &only_alice, &ballot("team:sre", false), "r1", 7).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`team:sre` may not vote on step `switch`: allowed: alice (`team:sre` is a team: vote as one of its members, e.g. `--as NAME`); the run keeps waiting for approval"
        );
    }

    #[test]
    fn an_ended_run_takes_no_vote() {
        let mut ended = state(&[("switch", StepState::AwaitingApproval, true)]);
        let finished = Record {
            seq: 3,
            ts: "2026-11-25T21:00:00.000Z".into(),
            run_id: "r1".into(),
            actor: "op@host".into(),
            on_behalf: None,
            event: Event::RunFinished(crate::event::RunFinished {
                outcome: Outcome::RolledBack,
                exit_code: Outcome::RolledBack.exit_code(),
                dry_run: false,
                failed_steps: Vec::new(),
                queries_ok: None,
                message: String::new(),
            }),
        };
        ended.apply(&finished);
        let err = closed(&ended, &rules(1).policy, "switch", "r1").unwrap();
        assert_eq!(
            err.to_string(),
            "run `r1` already ended (rolled back); there is nothing to approve"
        );
    }

    #[test]
    fn an_unknown_step_or_one_without_approval_has_no_rules() {
        let state = RunState::default();
        let err = Rules::from_plan(&state, "nope", "r1").unwrap_err();
        assert!(
            err.to_string().starts_with("run `r1` has no step `nope`"),
            "{err}"
        );
    }
}
