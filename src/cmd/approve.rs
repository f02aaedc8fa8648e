//! `cutover approve RUN STEP [--reject] --reason R [--as NAME]`: a go/no-go
//! vote from another terminal. The rules (approvers, teams, self-approval,
//! reason, one vote per person, who a person is in production, when a
//! go/no-go is closed) and the judgement are `engine::approval` (its
//! `vote` part for this command); the vote is judged and written under
//! the journal's append lock (`journal::append_judged`), against every vote
//! journaled before it, with `approval_decided` when it closes the go/no-go.
//! A waiting engine picks the decision up within its poll; a paused run acts
//! on it on `cutover resume`.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::cli::ApproveArgs;
use crate::engine::approval::{self, Ballot, Policy, Rules};
use crate::error::Error;
use crate::event::{Event, Record};
use crate::journal::{RunState, Stamp, append_judged, locate, read_journal};

pub fn exec(args: &ApproveArgs) -> Result<ExitCode, Error> {
    let path = locate(&args.run.run)?;
    let read = read_journal(&path)?;
    let mut state = RunState::replay(&read.records);
    let run_id = read.header.run_id.clone();
    let rules = Rules::from_plan(&state, &args.step, &run_id)?;
    let stamp = Stamp::new(args.actor.clone());
    let (who, identity) = rules.voter(&stamp.actor, stamp.on_behalf.as_deref())?;
    // A pasted secret is masked like command output.
    let reason = args
        .reason
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .map(|r| super::plan_masker(&state.plan).mask(r));
    let ballot = Ballot {
        step: &args.step,
        person: &who,
        reason: reason.as_deref(),
        reject: args.reject,
        auto: false,
        identity,
    };
    let written = append_judged(&path, &stamp, &read, |appended, next_seq| {
        for r in appended {
            state.apply(r);
        }
        approval::judge_vote(&state, &rules, &ballot, &run_id, next_seq)
    })?;
    let records = written?;
    for r in &records {
        state.apply(r);
    }
    super::say!("{}", said(&records, &state, &rules.policy, &run_id));
    if state.outcome().is_some() {
        super::say!(
            "the run is paused; continue it with: cutover resume {}",
            crate::journal::run_ref(&path, &run_id)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// "approved `switch` of run `r` as alice@host (journal seq 7): 2 of 2
/// approvals; decided: go (journal seq 8)".
pub(crate) fn said(records: &[Record], state: &RunState, policy: &Policy, run_id: &str) -> String {
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
