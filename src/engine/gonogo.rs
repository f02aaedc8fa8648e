//! The scheduler waiting for a go/no-go: at the operator's prompt, or (with
//! `--wait`) for votes from other terminals; the approval `timeout` and its
//! `on_timeout`; who has approved and how long is left. The voting rules
//! themselves are `approval`.

use std::time::Duration;

use tokio::time::Instant;

use super::approval::{self, Ballot, Policy};
use super::core::Slot;
use super::prompt::Prompt;
use super::scheduler::{After, Mode, Scheduler};
use crate::event::{Event, PauseReason, StepState};
use crate::runbook::model::{Approval, OnTimeout};

/// How often a waiting run repeats who approved and how long is left.
const REMINDER: Duration = Duration::from_secs(30);

impl Scheduler {
    /// The step needs votes: ask here, wait for other terminals, or pause.
    pub(super) fn await_approval(&mut self, id: &str, approval: &Approval) {
        let live = (self.interactive || self.wait) && matches!(self.mode, Mode::Run);
        if live && let Some(timeout) = approval.timeout {
            self.deadlines
                .entry(id.to_string())
                .or_insert_with(|| Instant::now() + timeout);
        }
        if self.interactive {
            let hint = self.approval_hint(id);
            self.wait_for_person(
                id,
                Prompt::Approval(id.to_string()),
                PauseReason::AwaitingApproval,
                hint,
            );
            self.approval_notice(id);
        } else if live {
            // Holds a slot like a prompt does, so the run does not end while waiting.
            self.core.set(id, Slot::Prompt);
            self.approval_notice(id);
        } else {
            let hint = self.approval_hint(id);
            self.park(id, PauseReason::AwaitingApproval, hint);
        }
    }

    pub(super) fn approval_hint(&self, id: &str) -> String {
        format!(
            "approve with: cutover approve {0} {id} --reason \"...\"\nthen continue with: cutover resume {0}{1}",
            self.run_ref,
            if self.production || approval::yes_refusal(&self.policy(id)).is_some() {
                String::new()
            } else {
                format!(
                    "\n(or, outside production: cutover resume {} --yes)",
                    self.run_ref
                )
            }
        )
    }

    fn policy(&self, id: &str) -> Policy {
        self.steps
            .get(id)
            .and_then(|s| s.approval.as_ref())
            .map(Policy::from)
            .unwrap_or_default()
    }

    /// "step `x` awaits approval: 1 of 2 (alice); 14m 30s left".
    pub(super) fn approval_notice(&mut self, id: &str) {
        let policy = self.policy(id);
        let by = self
            .state
            .steps
            .get(id)
            .map(|r| r.approved_by.clone())
            .unwrap_or_default();
        let left = self.deadlines.get(id).map_or_else(
            || "no timeout".to_string(),
            |d| {
                let secs = d.saturating_duration_since(Instant::now()).as_secs();
                format!(
                    "{} left",
                    humantime::format_duration(Duration::from_secs(secs))
                )
            },
        );
        let text = format!(
            "step `{id}` awaits approval: {} of {}{}; {left}; approve from any terminal: cutover approve {} {id} --reason \"...\"",
            by.len(),
            policy.needed(),
            if by.is_empty() {
                String::new()
            } else {
                format!(" ({})", by.join(", "))
            },
            self.run_ref
        );
        self.sink.notice(&text);
    }

    /// A vote typed at the operator's prompt: same rules as `cutover approve`.
    /// Returns whether the prompt is answered (the step goes on or is rejected).
    pub(super) fn vote_here(&mut self, id: &str, reason: Option<String>, reject: bool) -> bool {
        let policy = self.policy(id);
        let stamp = self.journal.stamp();
        let who = approval::person(&stamp.actor, stamp.on_behalf.as_deref());
        let rec = self.state.steps.get(id).cloned().unwrap_or_default();
        let ballot = Ballot {
            step: id,
            person: &who,
            reason: reason.as_deref(),
            reject,
        };
        let operators: Vec<String> = self
            .state
            .operators
            .iter()
            .cloned()
            .chain([who.clone()])
            .collect();
        if let Err(refusal) =
            approval::check(&policy, &self.teams, &ballot, &operators, &rec.approved_by)
        {
            self.sink
                .notice(&format!("{refusal}; still waiting for approval"));
            return false;
        }
        if reject {
            self.emit(Event::ApprovalRejected {
                step: id.to_string(),
                reason,
            });
            let on_reject = self.steps[id]
                .approval
                .as_ref()
                .map_or(crate::runbook::model::OnReject::Abort, |a| a.on_reject);
            self.deadlines.remove(id);
            self.rejected(id, on_reject);
            return true;
        }
        self.emit(Event::ApprovalGranted {
            step: id.to_string(),
            reason,
            auto: false,
        });
        if rec.approvals + 1 >= policy.needed() {
            self.deadlines.remove(id);
            self.core.set(id, Slot::Pending);
            self.exec_phase(id);
            true
        } else {
            self.sink.notice(&format!(
                "approved by {who}: {} of {}; waiting for more approvals",
                rec.approvals + 1,
                policy.needed()
            ));
            false
        }
    }

    /// Approvals whose `timeout` ran out: pause or abort, as `on_timeout` says.
    /// Also repeats, now and then, who approved and how long is left.
    pub(super) fn check_deadlines(&mut self) {
        if self.deadlines.is_empty() {
            return;
        }
        let now = Instant::now();
        let waiting = |s: &Scheduler, id: &str| {
            matches!(s.core.slot(id), Slot::Prompt | Slot::Parked)
                && s.state
                    .steps
                    .get(id)
                    .is_some_and(|r| r.state == StepState::AwaitingApproval)
        };
        let ids: Vec<String> = self.deadlines.keys().cloned().collect();
        let remind = now.duration_since(self.last_reminder) >= REMINDER;
        for id in ids {
            if !waiting(self, &id) {
                if self.state.steps.get(&id).is_some_and(|r| {
                    r.state != StepState::AwaitingApproval && r.state != StepState::Pending
                }) {
                    self.deadlines.remove(&id);
                }
                continue;
            }
            if self.deadlines[&id] > now {
                if remind && matches!(self.mode, Mode::Run) {
                    self.approval_notice(&id);
                }
                continue;
            }
            self.deadlines.remove(&id);
            let Some(approval) = self.steps[&id].approval.clone() else {
                continue;
            };
            self.emit(Event::ApprovalTimedOut {
                step: id.clone(),
                waited_ms: approval
                    .timeout
                    .map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
                on_timeout: match approval.on_timeout {
                    OnTimeout::Pause => "pause".into(),
                    OnTimeout::Abort => "abort".into(),
                },
            });
            self.unwait(&id);
            match approval.on_timeout {
                OnTimeout::Pause => {
                    let hint = format!(
                        "the approval of `{id}` timed out\n{}",
                        self.approval_hint(&id)
                    );
                    self.park_and_stop(&id, PauseReason::AwaitingApproval, hint);
                }
                OnTimeout::Abort => {
                    self.set_state(&id, StepState::Failed, Some("approval timed out".into()));
                    self.core.set(&id, Slot::Failed { continued: false });
                    self.request(After::Abort);
                }
            }
        }
        if remind {
            self.last_reminder = now;
        }
    }
}
