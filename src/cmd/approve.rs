//! `cutover approve RUN STEP [--reject] --reason R [--as NAME]`: a go/no-go
//! vote from another terminal. The rules (approvers, teams, self-approval,
//! reason, one vote per person) are `engine::approval`; the vote goes through
//! the journal's append lock, so a waiting engine picks it up within its
//! poll, and a paused run counts it on `cutover resume`.

use std::process::ExitCode;

use indexmap::IndexMap;
use serde_json::Value;

use crate::cli::ApproveArgs;
use crate::engine::approval::{self, Ballot, Policy};
use crate::error::Error;
use crate::event::{Event, Outcome};
use crate::journal::{RunState, Stamp, append_external, locate, read_journal};

pub fn exec(args: &ApproveArgs) -> Result<ExitCode, Error> {
    let path = locate(&args.run.run)?;
    let read = read_journal(&path)?;
    let state = RunState::replay(&read.records);
    let run_id = &read.header.run_id;
    let plan = state.started.as_ref().map(|s| &s.plan);
    let steps: &[Value] = plan
        .and_then(|p| p.pointer("/runbook/steps"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let step = steps
        .iter()
        .find(|s| s.get("id").and_then(Value::as_str) == Some(args.step.as_str()))
        .ok_or_else(|| {
            let ids = steps
                .iter()
                .filter_map(|s| s.get("id").and_then(Value::as_str));
            let hint = crate::diag::did_you_mean(&args.step, ids)
                .map(|h| format!(": {h}"))
                .unwrap_or_default();
            Error::Usage(format!("run `{run_id}` has no step `{}`{hint}", args.step))
        })?;
    let policy: Policy = match step.get("approval") {
        Some(a) if !a.is_null() => serde_json::from_value(a.clone()).map_err(|e| {
            Error::Internal(format!(
                "the journaled approval of `{}` is unreadable: {e}",
                args.step
            ))
        })?,
        _ => {
            return Err(Error::Usage(format!(
                "step `{}` of run `{run_id}` has no approval to give",
                args.step
            )));
        }
    };
    let teams: IndexMap<String, Vec<String>> = plan
        .and_then(|p| p.pointer("/runbook/teams"))
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default();
    if let Some(outcome @ (Outcome::Completed | Outcome::RolledBack | Outcome::RollbackFailed)) =
        state.outcome()
    {
        return Err(Error::Usage(format!(
            "run `{run_id}` already ended ({}); there is nothing to approve",
            outcome.label()
        )));
    }
    let rec = state.steps.get(&args.step).cloned().unwrap_or_default();
    if rec.state.is_complete() || rec.rejected {
        return Err(Error::Usage(format!(
            "step `{}` of run `{run_id}` is {}; its go/no-go is over",
            args.step,
            if rec.rejected {
                "rejected"
            } else {
                rec.state.label()
            }
        )));
    }
    if !rec.approval_requested {
        return Err(Error::Usage(format!(
            "step `{}` of run `{run_id}` is not waiting for approval yet ({}); a go/no-go is given when the step asks for it",
            args.step,
            rec.state.label()
        )));
    }
    let stamp = Stamp::new(args.actor.clone());
    let who = approval::person(&stamp.actor, stamp.on_behalf.as_deref());
    let reason = args.reason.as_deref().filter(|r| !r.trim().is_empty());
    let reason = reason.map(|r| crate::secrets::mask_operator_text(plan, r));
    let reason = reason.as_deref();
    let ballot = Ballot {
        step: &args.step,
        person: &who,
        reason,
        reject: args.reject,
    };
    if let Err(refusal) =
        approval::check(&policy, &teams, &ballot, &state.operators, &rec.approved_by)
    {
        // `--as team:sre` names a team, and teams do not vote: people do.
        let team_hint = if who.starts_with("team:") {
            format!(" (`{who}` is a team: vote as one of its members, e.g. `--as NAME`)")
        } else {
            String::new()
        };
        return Err(Error::Usage(format!(
            "{refusal}{team_hint}; the run keeps waiting for approval"
        )));
    }
    let event = if args.reject {
        Event::ApprovalRejected {
            step: args.step.clone(),
            reason: reason.map(str::to_string),
        }
    } else {
        Event::ApprovalGranted {
            step: args.step.clone(),
            reason: reason.map(str::to_string),
            auto: false,
        }
    };
    let record = append_external(&path, &stamp, event)?;
    if args.reject {
        super::say!(
            "rejected `{}` of run `{run_id}` as {} (journal seq {})",
            args.step,
            record.who(),
            record.seq
        );
    } else {
        super::say!(
            "approved `{}` of run `{run_id}` as {} (journal seq {}): {} of {} approvals",
            args.step,
            record.who(),
            record.seq,
            rec.approvals + 1,
            policy.needed()
        );
    }
    if state.outcome().is_some() {
        super::say!(
            "the run is paused; continue it with: cutover resume {}",
            args.run.run
        );
    }
    Ok(ExitCode::SUCCESS)
}
