//! Waiting for people elsewhere: a go/no-go left open past its
//! `escalate_after` is escalated (a reminder to its approvers and a call to
//! `escalate_to`, journaled and notified, once per go/no-go), and a `--wait`
//! run without a terminal waits for a manual step to be marked done
//! (`cutover done`) until the step's `timeout`, then pauses.

use std::time::Duration;

use tokio::time::Instant;

use super::core::Slot;
use super::scheduler::{Mode, Scheduler};
use crate::event::{Event, PauseReason, StepState};

impl Scheduler {
    /// Start the escalation clock of step `id`'s go/no-go, if it escalates
    /// and was not escalated already.
    pub(super) fn watch_escalation(&mut self, id: &str) {
        let Some(after) = self.steps[id]
            .approval
            .as_ref()
            .and_then(|a| a.escalate_after)
        else {
            return;
        };
        if self
            .state
            .steps
            .get(id)
            .is_some_and(|r| r.escalated.is_some())
        {
            return;
        }
        let now = Instant::now();
        self.approvals
            .escalations
            .entry(id.to_string())
            .or_insert((now, now + after));
    }

    /// Manual step `id` without a terminal, with `--wait`: hold its place
    /// and wait for `cutover done` from elsewhere, up to its `timeout`.
    pub(super) fn wait_for_done(&mut self, id: &str) {
        self.core.set(id, Slot::Prompt);
        let timeout = self.steps[id].timeout;
        self.approvals
            .manual_deadlines
            .insert(id.to_string(), timeout.map(|t| Instant::now() + t));
        self.say(&format!(
            "manual step `{id}` waits {}; mark it done from any terminal: cutover done {} {id}",
            timeout.map_or_else(
                || "until it is done".to_string(),
                |t| format!("up to {} (its timeout)", humantime::format_duration(t))
            ),
            self.opts.run_ref
        ));
    }

    /// Escalations that are due, and manual steps whose wait ran out.
    pub(super) fn check_waits(&mut self) {
        if self.approvals.escalations.is_empty() && self.approvals.manual_deadlines.is_empty() {
            return;
        }
        let now = Instant::now();
        let due: Vec<(String, Instant)> = self
            .approvals
            .escalations
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(id, (since, _))| (id.clone(), *since))
            .collect();
        for (id, since) in due {
            self.approvals.escalations.remove(&id);
            if self.awaits(&id, StepState::AwaitingApproval) && matches!(self.mode, Mode::Run) {
                self.escalate(&id, now.duration_since(since));
            }
        }
        let ids: Vec<String> = self.approvals.manual_deadlines.keys().cloned().collect();
        for id in ids {
            if !self.awaits(&id, StepState::AwaitingOperator) {
                self.approvals.manual_deadlines.remove(&id);
                continue;
            }
            if self.approvals.manual_deadlines[&id].is_some_and(|at| at <= now) {
                self.approvals.manual_deadlines.remove(&id);
                self.manual_timed_out(&id);
            }
        }
    }

    /// Step `id` still waits in this process, in `state`.
    fn awaits(&self, id: &str, state: StepState) -> bool {
        matches!(self.core.slot(id), Slot::Prompt | Slot::Parked)
            && self.state.steps.get(id).is_some_and(|r| {
                r.state == state && (state != StepState::AwaitingApproval || r.decided.is_none())
            })
    }

    /// Journal the reminder and the escalation (one write), and say so.
    fn escalate(&mut self, id: &str, waited: Duration) {
        let Some(approval) = self.steps[id].approval.clone() else {
            return;
        };
        let waited_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
        self.emit(Event::ApprovalReminder {
            step: id.to_string(),
            waited_ms,
            approvers: approval.approvers.clone(),
        });
        self.emit(Event::ApprovalEscalated {
            step: id.to_string(),
            waited_ms,
            to: approval.escalate_to.clone(),
        });
        self.say(&format!(
            "step `{id}` has waited {} for its go/no-go: escalated to {}",
            humantime::format_duration(Duration::from_secs(waited.as_secs())),
            approval.escalate_to.join(", ")
        ));
    }

    /// A manual step not marked done within its `timeout`: the run pauses
    /// there, saying how to go on.
    fn manual_timed_out(&mut self, id: &str) {
        let timeout = self.steps[id]
            .timeout
            .map(|t| humantime::format_duration(t).to_string())
            .unwrap_or_default();
        self.unwait(id);
        let hint = format!(
            "manual step `{id}` was not marked done within its timeout ({timeout})\nwhen it is done: cutover done {0} {id} [--note \"...\"]\nthen continue with: cutover resume {0}",
            self.opts.run_ref
        );
        self.park_and_stop(id, PauseReason::ManualStep, hint);
    }
}
