//! The scheduler waiting for a go/no-go: at the operator's prompt, or (with
//! `--wait`) for votes from other terminals; the approval `timeout` and its
//! `on_timeout`; who has approved and how long is left. The voting rules
//! themselves are `approval`.

use std::time::Duration;

use tokio::time::Instant;

use super::approval::{self, Ballot, Cast, Judging, Policy, Refusal};
use super::core::Slot;
use super::operator::Prompt;
use super::scheduler::{After, Mode, Scheduler};
use crate::event::{GoNoGo, PauseReason, StepState};
use crate::runbook::model::{Approval, OnReject, OnTimeout};

/// How often a waiting run repeats who approved and how long is left.
const REMINDER: Duration = Duration::from_secs(30);

impl Scheduler {
    /// The step needs votes: ask here, wait for other terminals, or pause.
    pub(super) fn await_approval(&mut self, id: &str, approval: &Approval) {
        let live = (self.prompting.present || self.opts.wait) && matches!(self.mode, Mode::Run);
        if live && let Some(timeout) = approval.timeout {
            self.approvals
                .deadlines
                .entry(id.to_string())
                .or_insert_with(|| Instant::now() + timeout);
        }
        if live {
            self.watch_escalation(id);
        }
        if self.prompting.present {
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
            self.opts.run_ref,
            if self.opts.production || approval::yes_refusal(&self.policy(id)).is_some() {
                String::new()
            } else {
                format!(
                    "\n(or, outside production: cutover resume {} --yes)",
                    self.opts.run_ref
                )
            }
        )
    }

    pub(super) fn policy(&self, id: &str) -> Policy {
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
        let left = self.approvals.deadlines.get(id).map_or_else(
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
            self.opts.run_ref
        );
        self.say(&text);
    }

    /// A vote typed at the operator's prompt: judged like `cutover approve`,
    /// under the journal's append lock. The prompt goes away when the
    /// go/no-go is decided ([`Scheduler::on_decided`]), by this vote or any
    /// other.
    pub(super) fn vote_here(&mut self, id: &str, reason: Option<&str>, reject: bool) {
        let stamp = self.journal.stamp().clone();
        let (who, identity) = match approval::voter(
            &stamp.actor,
            stamp.on_behalf.as_deref(),
            self.opts.production,
            self.opts.declared_ok,
        ) {
            Ok(voter) => voter,
            Err(refusal) => {
                self.say(&format!("{refusal}; still waiting for approval"));
                return;
            }
        };
        let ballot = Ballot {
            step: id,
            person: &who,
            reason,
            reject,
            auto: false,
            identity,
        };
        match self.cast(id, &Cast::Vote(ballot)) {
            Err(refusal @ Refusal::AlreadyDecided { .. }) => {
                self.say(&refusal.to_string());
            }
            Err(refusal) => self.say(&format!("{refusal}; still waiting for approval")),
            Ok(()) => {
                let rec = self.state.steps.get(id).cloned().unwrap_or_default();
                if rec.decided.is_none() && !reject {
                    self.say(&format!(
                        "approved by {who}: {} of {}; waiting for more approvals",
                        rec.approvals,
                        self.policy(id).needed()
                    ));
                }
            }
        }
    }

    /// Judge `cast` about step `id` under the journal's append lock, against
    /// every record in the journal, and write what it decides in the same
    /// write as everything buffered; then fold it all in (a decision is
    /// acted on there). The engine's votes, `--yes` and timeouts go through
    /// the same judgement as `cutover approve`, so no two processes ever
    /// both decide. A journal that cannot be written stops the run at the
    /// next flush.
    pub(super) fn cast(&mut self, id: &str, cast: &Cast<'_>) -> Result<(), Refusal> {
        let policy = self.policy(id);
        let mut refusal = None;
        let state = &self.state;
        let teams = &self.opts.teams;
        let flushed = self.journal.flush_judged(|seen, next_seq| {
            let mut now = state.clone();
            for r in seen {
                now.apply(r);
            }
            let rec = now.steps.get(id).cloned().unwrap_or_default();
            let judging = Judging {
                step: id,
                policy: &policy,
                teams,
                operators: &now.operators,
                rec: &rec,
                next_seq,
            };
            approval::judge(&judging, cast).unwrap_or_else(|r| {
                refusal = Some(r);
                Vec::new()
            })
        });
        match flushed {
            Ok(flushed) => self.absorb(&flushed.external, &flushed.written),
            Err(e) => self.journal_failed = Some(e),
        }
        refusal.map_or(Ok(()), Err)
    }

    /// Act on step `id`'s go/no-go decision, if it has one: start it after a
    /// go; after a no-go, apply `on_reject` (a rejection) or fail the step
    /// and abort (a timeout with `on_timeout = "abort"`). Whether it had one.
    pub(super) fn act_on_decision(&mut self, id: &str) -> bool {
        let Some(decided) = self.state.steps.get(id).and_then(|r| r.decided.clone()) else {
            return false;
        };
        match decided.decision {
            GoNoGo::Go => self.exec_phase(id),
            GoNoGo::NoGo if decided.reason.as_deref() == Some(approval::TIMEOUT) => {
                self.set_state(id, StepState::Failed, Some("approval timed out".into()));
                self.core.set(id, Slot::Failed { continued: false });
                self.parked.shift_remove(id);
                self.request(After::Abort);
            }
            GoNoGo::NoGo => {
                let on_reject = self.steps[id]
                    .approval
                    .as_ref()
                    .map_or(OnReject::Abort, |a| a.on_reject);
                self.rejected(id, on_reject);
            }
        }
        true
    }

    /// Approvals whose `timeout` ran out: pause or abort, as `on_timeout` says.
    /// Also repeats, now and then, who approved and how long is left.
    pub(super) fn check_deadlines(&mut self) {
        if self.approvals.deadlines.is_empty() {
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
        let ids: Vec<String> = self.approvals.deadlines.keys().cloned().collect();
        let remind = now.duration_since(self.approvals.last_reminder) >= REMINDER;
        for id in ids {
            if !waiting(self, &id) {
                if self.state.steps.get(&id).is_some_and(|r| {
                    r.state != StepState::AwaitingApproval && r.state != StepState::Pending
                }) {
                    self.approvals.deadlines.remove(&id);
                }
                continue;
            }
            if self.approvals.deadlines[&id] > now {
                if remind && matches!(self.mode, Mode::Run) {
                    self.approval_notice(&id);
                }
                continue;
            }
            self.approvals.deadlines.remove(&id);
            let Some(approval) = self.steps[&id].approval.clone() else {
                continue;
            };
            // Judged like a vote: a go/no-go decided meanwhile wins, and an
            // abort is the no-go decision (acted on in `on_decided`).
            let _ = self.cast(
                &id,
                &Cast::Timeout {
                    waited_ms: approval
                        .timeout
                        .map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
                    on_timeout: approval.on_timeout,
                },
            );
            let open = self
                .state
                .steps
                .get(&id)
                .is_some_and(|r| r.decided.is_none());
            if open && waiting(self, &id) && approval.on_timeout == OnTimeout::Pause {
                // Not a decision: the vote stays open while the run is paused.
                self.unwait(&id);
                let hint = format!(
                    "the approval of `{id}` timed out\n{}",
                    self.approval_hint(&id)
                );
                self.park_and_stop(&id, PauseReason::AwaitingApproval, hint);
            }
        }
        if remind {
            self.approvals.last_reminder = now;
        }
    }
}
