//! The notification voice: which records are worth a message to a
//! `[notify.NAME]` channel, what it says, and the parts a richer channel
//! lays out (Slack's sections, PagerDuty's summary and severity): the step,
//! its owner, and the command that acts on it. Delivery is the engine's.

use crate::event::{Event, Outcome, Record, RollbackReason, StepState};
use crate::journal::RunState;

/// How bad the news is (PagerDuty's `severity`; a colour elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    /// The PagerDuty Events API v2 word.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

/// What to tell: the kind (for `events = [...]` filters), the one-line text
/// (a generic webhook's `text`, Slack's fallback), and its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub about: &'static str,
    pub text: String,
    /// What happened, without the run's name or the command.
    pub headline: String,
    pub step: Option<String>,
    /// The step's `owner`, from the journaled plan.
    pub owner: Option<String>,
    /// The command that acts on it (`cutover approve ...`), if one does.
    pub command: Option<String>,
    pub severity: Severity,
}

/// The message a record deserves, if any. `run_ref` names the run in
/// commands; `state` is the run's fold with the record in it (owners,
/// teams, votes so far).
pub fn notification(record: &Record, run_ref: &str, state: &RunState) -> Option<Notification> {
    let run = &record.run_id;
    let (about, headline, severity) = match &record.event {
        Event::RunStarted(s) => (
            "run_started",
            format!(
                "cutover `{}` started{} by {}",
                s.runbook_name,
                s.env
                    .as_ref()
                    .map(|e| format!(" in `{e}`"))
                    .unwrap_or_default(),
                record.who(),
            ),
            Severity::Info,
        ),
        Event::RunFinished(f) => (
            "run_finished",
            format!("{}: {}", f.outcome.label(), f.message),
            match f.outcome {
                Outcome::Completed => Severity::Info,
                Outcome::RollbackFailed | Outcome::Failed => Severity::Critical,
                _ => Severity::Warning,
            },
        ),
        // The background process taking the hypercare watch over
        // (`--detach-hypercare`): a planned hand-over, not news.
        Event::RunResumed { pid } if state.hypercare_taken_over_by(*pid) => return None,
        Event::RunResumed { .. } => (
            "resumed",
            format!("resumed by {}", record.who()),
            Severity::Info,
        ),
        Event::Paused { reason, step, .. } => (
            "paused",
            format!(
                "PAUSED ({}{})",
                crate::event::words(reason),
                step.as_ref()
                    .map(|s| format!(", step `{s}`"))
                    .unwrap_or_default()
            ),
            Severity::Warning,
        ),
        _ => return people(record, run_ref, state).or_else(|| checks(record)),
    };
    // The texts these kinds always had.
    let text = match &record.event {
        Event::RunStarted(s) => format!(
            "{headline} (run `{run}`{})",
            s.change
                .as_ref()
                .map(|c| format!(", change {c}"))
                .unwrap_or_default()
        ),
        Event::RunFinished(_) => format!("cutover run `{run}` {headline}"),
        Event::Paused { .. } => {
            format!("run `{run}`: {headline}. continue with: cutover resume {run_ref}")
        }
        _ => format!("run `{run}`: {headline}"),
    };
    // What brings a stopped run back.
    let command = match &record.event {
        Event::Paused { .. } => Some(format!("cutover resume {run_ref}")),
        Event::RunFinished(f) if matches!(f.outcome, Outcome::Paused | Outcome::Aborted) => {
            Some(format!("cutover resume {run_ref}"))
        }
        _ => None,
    };
    let step = record.event.step().map(str::to_string);
    Some(Notification {
        about,
        text,
        headline,
        owner: step.as_deref().and_then(|s| owner(state, s)),
        step,
        command,
        severity,
    })
}

/// The step's owner in the journaled plan.
fn owner(state: &RunState, step: &str) -> Option<String> {
    state.plan.step(step).and_then(|s| s.owner.clone())
}

/// `team:leads (carol, dan)`: a team with its members, from the plan.
fn expand(state: &RunState, who: &[String]) -> String {
    who.iter()
        .map(|w| match w.strip_prefix("team:") {
            Some(team) => match state.plan.runbook.teams.get(team) {
                Some(members) if !members.is_empty() => format!("{w} ({})", members.join(", ")),
                _ => w.clone(),
            },
            None => w.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Go/no-go votes, escalation, manual steps, failures, milestones, notes.
fn people(record: &Record, run_ref: &str, state: &RunState) -> Option<Notification> {
    let run = &record.run_id;
    let (about, headline, command, severity) = match &record.event {
        Event::StepState {
            step,
            state: StepState::AwaitingOperator,
            detail,
        } => (
            "manual_pending",
            format!(
                "manual step `{step}` waits for a person{}",
                detail
                    .as_deref()
                    .map(|d| format!(": {}", crate::text::one_line(d)))
                    .unwrap_or_default()
            ),
            Some(format!("cutover done {run_ref} {step}")),
            Severity::Warning,
        ),
        Event::StepState {
            step,
            state: StepState::Failed,
            detail,
        } => (
            "step_failed",
            format!(
                "step `{step}` FAILED{}",
                detail
                    .as_deref()
                    .map(|d| format!(": {}", crate::text::one_line(d)))
                    .unwrap_or_default()
            ),
            None,
            Severity::Error,
        ),
        Event::Milestone { name, step, .. } => (
            "milestone",
            match step {
                Some(step) => format!("milestone `{name}` (step `{step}` done)"),
                None => format!("milestone `{name}` marked by {}", record.who()),
            },
            None,
            Severity::Info,
        ),
        Event::Note { text } => (
            "note",
            format!("note by {}: {}", record.who(), crate::text::one_line(text)),
            None,
            Severity::Info,
        ),
        _ => go_no_go(record, run_ref, state)?,
    };
    let step = record.event.step().map(str::to_string);
    Some(Notification {
        about,
        text: format!(
            "run `{run}`: {headline}{}",
            command
                .as_deref()
                .map(|c| format!(". {}: {c}", act_word(about)))
                .unwrap_or_default()
        ),
        headline,
        owner: step.as_deref().and_then(|s| owner(state, s)),
        step,
        command,
        severity,
    })
}

/// A message's parts: what it is about, its headline, the command that
/// acts on it, its severity.
type Parts = (&'static str, String, Option<String>, Severity);

/// The parts of a message about a go/no-go: asked, reminded, escalated, voted.
fn go_no_go(record: &Record, run_ref: &str, state: &RunState) -> Option<Parts> {
    let approve = |step: &str| format!("cutover approve {run_ref} {step} --reason \"...\"");
    let parts = match &record.event {
        Event::ApprovalRequested {
            step,
            min,
            approvers,
        } => (
            "approval_pending",
            format!(
                "step `{step}` waits for {min} approval(s){}",
                if approvers.is_empty() {
                    String::new()
                } else {
                    format!(" from {}", approvers.join(", "))
                }
            ),
            Some(approve(step)),
            Severity::Warning,
        ),
        Event::ApprovalReminder {
            step,
            waited_ms,
            approvers,
        } => (
            "approval_pending",
            format!(
                "REMINDER: step `{step}` has waited {} for its go/no-go{}",
                super::phrases::secs(*waited_ms),
                votes_so_far(state, step, approvers)
            ),
            Some(approve(step)),
            Severity::Warning,
        ),
        Event::ApprovalEscalated {
            step,
            waited_ms,
            to,
        } => (
            "approval_escalated",
            format!(
                "ESCALATED to {}: step `{step}` has waited {} for its go/no-go{}",
                expand(state, to),
                super::phrases::secs(*waited_ms),
                votes_so_far(state, step, &[])
            ),
            Some(approve(step)),
            Severity::Error,
        ),
        Event::ApprovalGranted { step, auto, .. } => (
            "approval_granted",
            format!(
                "step `{step}` approved by {}{}{}",
                record.voter(),
                if *auto { " (--yes)" } else { "" },
                tally(state, step)
            ),
            None,
            Severity::Info,
        ),
        Event::ApprovalRejected { step, reason, .. } => (
            "approval_rejected",
            format!(
                "step `{step}` REJECTED by {}{}",
                record.voter(),
                reason
                    .as_deref()
                    .map(|r| format!(": {}", crate::text::one_line(r)))
                    .unwrap_or_default()
            ),
            None,
            Severity::Error,
        ),
        _ => return None,
    };
    Some(parts)
}

/// What the command in a message does: `approve with`, `when it is done`.
fn act_word(about: &str) -> &'static str {
    match about {
        "manual_pending" => "when it is done",
        _ => "approve with",
    }
}

/// `; 1 of 2 approvals so far (alice)`, and who may still vote.
fn votes_so_far(state: &RunState, step: &str, approvers: &[String]) -> String {
    let rec = state.steps.get(step);
    let by = rec.map(|r| r.approved_by.clone()).unwrap_or_default();
    let needed = rec.map_or(1, |r| r.approval_needed.max(1));
    format!(
        "; {} of {needed} approval(s) so far{}{}",
        by.len(),
        if by.is_empty() {
            String::new()
        } else {
            format!(" ({})", by.join(", "))
        },
        if approvers.is_empty() {
            String::new()
        } else {
            format!("; approvers: {}", expand(state, approvers))
        }
    )
}

/// `: 1 of 2 approvals`, or `: go` once decided.
fn tally(state: &RunState, step: &str) -> String {
    let Some(rec) = state.steps.get(step) else {
        return String::new();
    };
    match &rec.decided {
        Some(d) => format!("; decided: {}", d.decision.label()),
        None => format!(
            "; {} of {} approvals",
            rec.approvals,
            rec.approval_needed.max(1)
        ),
    }
}

/// Triggers and the rollback.
fn checks(record: &Record) -> Option<Notification> {
    let run = &record.run_id;
    let (about, headline, severity) = match &record.event {
        Event::TriggerFired {
            trigger,
            action,
            condition,
            value,
            ..
        } => (
            "trigger_fired",
            format!(
                "trigger `{trigger}` FIRED ({condition}, value {}); action: {action}",
                value.map_or_else(|| "-".into(), |v| v.to_string())
            ),
            match action.as_str() {
                "rollback" => Severity::Critical,
                "pause" => Severity::Error,
                _ => Severity::Warning,
            },
        ),
        Event::RollbackStarted {
            reason,
            steps,
            partial,
        } => (
            "rollback_started",
            format!(
                "ROLLBACK started ({}) of {}",
                match reason {
                    RollbackReason::StepFailed { step } => format!("step `{step}` failed"),
                    RollbackReason::Trigger { trigger } => format!("trigger `{trigger}`"),
                    RollbackReason::Operator => "operator".into(),
                    RollbackReason::Rejected { step } => format!("`{step}` rejected"),
                },
                if steps.is_empty() {
                    "no steps".into()
                } else {
                    super::phrases::rollback_steps(steps, partial, ", ")
                }
            ),
            Severity::Error,
        ),
        Event::RollbackFinished { ok, failed } => (
            "rollback_finished",
            if *ok {
                "rollback finished".to_string()
            } else {
                format!("rollback FAILED for {}", failed.join(", "))
            },
            if *ok {
                Severity::Warning
            } else {
                Severity::Critical
            },
        ),
        Event::OverrunProjected { .. } => (
            "overrun_projected",
            format!(
                "run `{run}`: {}",
                super::schedule::record(&record.event, &record.who())?
            ),
            Severity::Warning,
        ),
        _ => return None,
    };
    Some(Notification {
        about,
        text: format!("run `{run}`: {headline}"),
        headline,
        step: None,
        owner: None,
        command: None,
        severity,
    })
}
