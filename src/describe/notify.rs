//! The notification voice: which records are worth a webhook message
//! (`[notify.NAME]`), and what the message says. Delivery is the engine's.

use crate::event::{Event, Record, RollbackReason};

/// What to tell: the kind (for `events = [...]` filters) and the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub about: &'static str,
    pub text: String,
}

/// The message a record deserves, if any. `run_ref` names the run in commands.
pub fn notification(record: &Record, run_ref: &str) -> Option<Notification> {
    let run = &record.run_id;
    let (about, text) = match &record.event {
        Event::RunStarted(s) => (
            "run_started",
            format!(
                "cutover `{}` started{} by {} (run `{run}`{})",
                s.runbook_name,
                s.env
                    .as_ref()
                    .map(|e| format!(" in `{e}`"))
                    .unwrap_or_default(),
                record.who(),
                s.change
                    .as_ref()
                    .map(|c| format!(", change {c}"))
                    .unwrap_or_default()
            ),
        ),
        Event::RunFinished(f) => (
            "run_finished",
            format!("cutover run `{run}` {}: {}", f.outcome.label(), f.message),
        ),
        Event::ApprovalRequested {
            step,
            min,
            approvers,
        } => (
            "approval_pending",
            format!(
                "run `{run}`: step `{step}` waits for {min} approval(s){}. approve with: cutover approve {run_ref} {step} --reason \"...\"",
                if approvers.is_empty() {
                    String::new()
                } else {
                    format!(" from {}", approvers.join(", "))
                }
            ),
        ),
        Event::TriggerFired {
            trigger,
            action,
            condition,
            value,
            ..
        } => (
            "trigger_fired",
            format!(
                "run `{run}`: trigger `{trigger}` FIRED ({condition}, value {}); action: {action}",
                value.map_or_else(|| "-".into(), |v| v.to_string())
            ),
        ),
        Event::RollbackStarted {
            reason,
            steps,
            partial,
        } => (
            "rollback_started",
            format!(
                "run `{run}`: ROLLBACK started ({}) of {}",
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
        ),
        Event::RollbackFinished { ok, failed } => (
            "rollback_finished",
            if *ok {
                format!("run `{run}`: rollback finished")
            } else {
                format!("run `{run}`: rollback FAILED for {}", failed.join(", "))
            },
        ),
        Event::OverrunProjected { .. } => (
            "overrun_projected",
            format!(
                "run `{run}`: {}",
                super::schedule::record(&record.event, &record.who())?
            ),
        ),
        _ => return None,
    };
    Some(Notification { about, text })
}
