//! `cutover approve RUN STEP [--reject] --reason R [--as NAME]`: a go/no-go
//! vote from another terminal. The rules (approvers, teams, self-approval,
//! reason, one vote per person, who a person is in production) and the
//! judgement are `engine::approval`; the vote is judged and written under
//! the journal's append lock (`journal::append_judged`), against every vote
//! journaled before it, with `approval_decided` when it closes the go/no-go.
//! A waiting engine picks the decision up within its poll; a paused run acts
//! on it on `cutover resume`.

use std::fmt::Write as _;
use std::process::ExitCode;

use indexmap::IndexMap;

use crate::cli::ApproveArgs;
use crate::engine::approval::{self, Ballot, Cast, Judging, Policy, Refusal};
use crate::error::Error;
use crate::event::{Event, Outcome, Record};
use crate::journal::{RunState, Stamp, append_judged, locate, read_journal};

/// What the journaled plan says about voting on one step of a run.
struct Rules {
    policy: Policy,
    teams: IndexMap<String, Vec<String>>,
    production: bool,
    /// `[runbook] declared_identities`: names given count in production.
    declared_ok: bool,
}

impl Rules {
    fn from_plan(state: &RunState, step: &str, run_id: &str) -> Result<Rules, Error> {
        let plan = &state.plan;
        let found = plan.step(step).ok_or_else(|| {
            let hint = crate::diag::did_you_mean(step, plan.step_ids())
                .map(|h| format!(": {h}"))
                .unwrap_or_default();
            Error::Usage(format!("run `{run_id}` has no step `{step}`{hint}"))
        })?;
        let Some(approval) = &found.approval else {
            return Err(Error::Usage(format!(
                "step `{step}` of run `{run_id}` has no approval to give"
            )));
        };
        Ok(Rules {
            policy: Policy::from(approval),
            teams: plan.runbook.teams.clone(),
            production: state.started.as_ref().is_some_and(|s| s.production),
            declared_ok: plan.runbook.declared_identities,
        })
    }
}

/// Why no vote on `step` can be taken now, judged on the journal as it is
/// under the lock: the go/no-go is decided, the run ended, the step is
/// over, or it has not asked yet.
fn closed(state: &RunState, policy: &Policy, step: &str, run_id: &str) -> Option<String> {
    let rec = state.steps.get(step).cloned().unwrap_or_default();
    // First: a vote after the decision is told the decision, whatever came after it.
    if let Some((decision, seq)) = rec.go_no_go(policy.needed()) {
        return Some(
            Refusal::AlreadyDecided {
                step: step.to_string(),
                decision,
                seq,
            }
            .to_string(),
        );
    }
    if let Some(outcome @ (Outcome::Completed | Outcome::RolledBack | Outcome::RollbackFailed)) =
        state.outcome()
    {
        return Some(format!(
            "run `{run_id}` already ended ({}); there is nothing to approve",
            outcome.label()
        ));
    }
    if rec.state.is_complete() {
        return Some(format!(
            "step `{step}` of run `{run_id}` is {}; its go/no-go is over",
            rec.state.label()
        ));
    }
    if !rec.approval_requested {
        return Some(format!(
            "step `{step}` of run `{run_id}` is not waiting for approval yet ({}); a go/no-go is given when the step asks for it",
            rec.state.label()
        ));
    }
    None
}

pub fn exec(args: &ApproveArgs) -> Result<ExitCode, Error> {
    let path = locate(&args.run.run)?;
    let read = read_journal(&path)?;
    let mut state = RunState::replay(&read.records);
    let run_id = read.header.run_id.clone();
    let rules = Rules::from_plan(&state, &args.step, &run_id)?;
    let stamp = Stamp::new(args.actor.clone());
    let (who, identity) = approval::voter(
        &stamp.actor,
        stamp.on_behalf.as_deref(),
        rules.production,
        rules.declared_ok,
    )
    .map_err(|refusal| Error::Usage(refusal.to_string()))?;
    // A pasted secret is masked like command output.
    let reason = args
        .reason
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .map(|r| super::plan_masker(&state.plan).mask(r));
    let reason = reason.as_deref();
    let written = append_judged(&path, &stamp, &read, |appended, next_seq| {
        for r in appended {
            state.apply(r);
        }
        if let Some(why) = closed(&state, &rules.policy, &args.step, &run_id) {
            return Err(why);
        }
        let rec = state.steps.get(&args.step).cloned().unwrap_or_default();
        let ballot = Ballot {
            step: &args.step,
            person: &who,
            reason,
            reject: args.reject,
            auto: false,
            identity,
        };
        let judging = Judging {
            step: &args.step,
            policy: &rules.policy,
            teams: &rules.teams,
            operators: &state.operators,
            rec: &rec,
            next_seq,
        };
        approval::judge(&judging, &Cast::Vote(ballot)).map_err(|refusal| refused(&refusal, &who))
    })?;
    let records = written.map_err(Error::Usage)?;
    for r in &records {
        state.apply(r);
    }
    super::say!("{}", said(&records, &state, &rules.policy, &run_id));
    if state.outcome().is_some() {
        super::say!(
            "the run is paused; continue it with: cutover resume {}",
            args.run.run
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A refused vote as the voter reads it.
fn refused(refusal: &Refusal, who: &str) -> String {
    if matches!(refusal, Refusal::AlreadyDecided { .. }) {
        return refusal.to_string();
    }
    // `--as team:sre` names a team, and teams do not vote: people do.
    let team_hint = if who.starts_with("team:") {
        format!(" (`{who}` is a team: vote as one of its members, e.g. `--as NAME`)")
    } else {
        String::new()
    };
    format!("{refusal}{team_hint}; the run keeps waiting for approval")
}

/// "approved `switch` of run `r` as alice@host (journal seq 7): 2 of 2
/// approvals; decided: go (journal seq 8)".
fn said(records: &[Record], state: &RunState, policy: &Policy, run_id: &str) -> String {
    let mut out = String::new();
    for r in records {
        match &r.event {
            Event::ApprovalRejected { step, .. } => {
                out = format!(
                    "rejected `{step}` of run `{run_id}` as {} (journal seq {})",
                    r.voter(),
                    r.seq
                );
            }
            Event::ApprovalGranted { step, .. } => {
                let approvals = state.steps.get(step).map_or(0, |s| s.approvals);
                out = format!(
                    "approved `{step}` of run `{run_id}` as {} (journal seq {}): {approvals} of {} approvals",
                    r.voter(),
                    r.seq,
                    policy.needed()
                );
            }
            Event::ApprovalDecided { decision, .. } => {
                let _ = write!(
                    out,
                    "; decided: {} (journal seq {})",
                    decision.label(),
                    r.seq
                );
            }
            _ => {}
        }
    }
    out
}
