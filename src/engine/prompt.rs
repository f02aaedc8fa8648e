//! People in the loop: prompts at this terminal (approval, manual step, a
//! failure to decide on) put to the `Operator`, its answers, operator
//! decisions, and lines other terminals append to the journal (`cutover
//! done`, approvals).

use super::core::Slot;
use super::operator::Prompt;
use super::scheduler::{After, Mode, Scheduler};
use crate::event::{Choice, Event, GoNoGo, PauseReason, Record, RollbackReason, StepState};
use crate::runbook::model::Action;

impl Scheduler {
    /// Ask at the terminal, or (non-interactive) stop here and say how to go on.
    pub(super) fn wait_for_person(
        &mut self,
        id: &str,
        prompt: Prompt,
        reason: PauseReason,
        hint: String,
    ) {
        if self.prompting.present && matches!(self.mode, Mode::Run) {
            self.core.set(id, Slot::Prompt);
            if let Prompt::Failure(_) = &prompt {
                self.decision_pending(
                    Some(id),
                    "on_failure",
                    &["retry", "skip", "rollback", "abort"],
                );
            }
            self.prompting.queue.push_back(prompt);
            if self.prompting.queue.len() == 1 {
                self.show_prompt();
            }
        } else if self.opts.wait
            && matches!(self.mode, Mode::Run)
            && matches!(prompt, Prompt::Manual(_))
        {
            self.wait_for_done(id);
        } else {
            self.park(id, reason, hint);
        }
    }

    /// Journal that the operator here is asked to choose (the room's
    /// `status` shows who decides what, and how long they have been at it).
    pub(super) fn decision_pending(&mut self, step: Option<&str>, context: &str, choices: &[&str]) {
        self.emit(Event::DecisionPending {
            step: step.map(str::to_string),
            context: context.to_string(),
            choices: choices.iter().map(ToString::to_string).collect(),
        });
    }

    /// A person answered from elsewhere: drop the prompt or the park.
    pub(super) fn unwait(&mut self, id: &str) {
        self.prompting.drop_step(id);
        self.parked.shift_remove(id);
        self.core.set(id, Slot::Pending);
        if self.parked.is_empty()
            && let Mode::Drain(After::Pause { reason, .. }) = &self.mode
            && matches!(
                reason,
                PauseReason::AwaitingApproval | PauseReason::ManualStep
            )
        {
            self.mode = Mode::Run;
        }
    }

    /// Show the first open question and put it to the operator.
    pub(super) fn show_prompt(&mut self) {
        let Some(prompt) = self.prompting.queue.front().cloned() else {
            return;
        };
        let text = self.prompt_words(&prompt);
        self.say(&text);
        self.prompting
            .operator
            .ask(&prompt, &self.prompting.answers);
    }

    fn prompt_words(&self, prompt: &Prompt) -> String {
        match prompt {
            Prompt::Approval(id)
                if self
                    .steps
                    .get(id)
                    .and_then(|s| s.approval.as_ref())
                    .is_some_and(|a| a.no_self_approval) =>
            {
                format!(
                    "step `{id}` needs approval by someone other than the operator (`no_self_approval`): cutover approve {} {id} --reason \"...\"; type `no REASON` here to reject",
                    self.opts.run_ref
                )
            }
            Prompt::Approval(id) => format!(
                "step `{id}` needs approval: type `yes REASON` to approve, `no REASON` to reject (or approve from another terminal: cutover approve {} {id} --reason \"...\")",
                self.opts.run_ref
            ),
            Prompt::Interrupt => {
                "interrupted; nothing is running now. type continue, rollback or abort (or Ctrl-C again to abort)".to_string()
            }
            Prompt::Manual(id) => format!(
                "manual step `{id}`: do it, then type `done [NOTE]` (or run: cutover done {} {id})",
                self.opts.run_ref
            ),
            Prompt::Failure(id) => {
                format!("step `{id}` failed: type retry, skip, rollback or abort")
            }
            Prompt::InFlight(id) => format!(
                "step `{id}` was in flight when the run stopped and may have partly run: type rerun, skip, rollback or abort"
            ),
        }
    }

    /// A line the person typed, or (`None`) the end of their input.
    pub(super) fn on_answer(&mut self, line: Option<String>) {
        let Some(line) = line else {
            // No one can answer any more: park what was asked.
            self.prompting.present = false;
            let open: Vec<Prompt> = self.prompting.queue.drain(..).collect();
            self.interrupts.menu_open = false;
            for p in open {
                let (id, reason) = match &p {
                    Prompt::Approval(id) => (id, PauseReason::AwaitingApproval),
                    Prompt::Manual(id) => (id, PauseReason::ManualStep),
                    Prompt::Failure(id) => (id, PauseReason::StepFailed),
                    Prompt::InFlight(id) => (id, PauseReason::NeedsDecision),
                    Prompt::Interrupt => continue,
                };
                let hint = format!("continue with: cutover resume {}", self.opts.run_ref);
                self.park(id, reason, hint);
            }
            return;
        };
        let Some(prompt) = self.prompting.queue.front().cloned() else {
            return;
        };
        let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let rest = (!rest.trim().is_empty()).then(|| self.mask(rest.trim()));
        let word = word.to_ascii_lowercase();
        let handled = match (&prompt, word.as_str()) {
            // The prompt stays until the go/no-go is decided (`on_decided`
            // drops it), by this vote or another.
            (Prompt::Approval(id), "y" | "yes") => {
                self.vote_here(id, rest.as_deref(), false);
                false
            }
            (Prompt::Approval(id), "n" | "no") => {
                self.vote_here(id, rest.as_deref(), true);
                false
            }
            (Prompt::Interrupt, choice) => self.menu_choice(choice),
            (Prompt::Manual(id), "done" | "d" | "y" | "yes") => {
                self.emit(Event::ManualDone {
                    step: id.clone(),
                    note: rest,
                });
                self.complete(id, StepState::Done, None);
                true
            }
            (Prompt::Failure(id) | Prompt::InFlight(id), choice) => {
                let context = if matches!(prompt, Prompt::InFlight(_)) {
                    "resume"
                } else {
                    "on_failure"
                };
                let choice = match choice {
                    "retry" | "r" => Some(Choice::Retry),
                    "rerun" => Some(Choice::Rerun),
                    "skip" | "s" => Some(Choice::Skip),
                    "rollback" => Some(Choice::Rollback),
                    "abort" | "a" => Some(Choice::Abort),
                    _ => None,
                };
                if let Some(choice) = choice {
                    self.decided(id, choice, context, rest);
                }
                choice.is_some()
            }
            _ => false,
        };
        if handled {
            self.prompting.queue.pop_front();
        }
        self.show_prompt();
    }

    /// Journal an operator's choice about a step (with their words, masked)
    /// and act on it.
    pub(super) fn decided(
        &mut self,
        id: &str,
        choice: Choice,
        context: &str,
        reason: Option<String>,
    ) {
        self.emit(Event::Decision {
            step: Some(id.to_string()),
            choice,
            context: context.into(),
            reason,
        });
        self.parked.shift_remove(id);
        match choice {
            Choice::Rerun | Choice::Retry | Choice::Continue => self.core.set(id, Slot::Pending),
            Choice::Skip => self.complete(
                id,
                StepState::Skipped,
                Some(format!("skipped by {}", self.journal.stamp().actor)),
            ),
            Choice::Rollback => {
                self.core.set(id, Slot::Failed { continued: false });
                self.request(After::Rollback(RollbackReason::Operator));
            }
            Choice::Abort => {
                self.core.set(id, Slot::Failed { continued: false });
                self.request(After::Abort);
            }
        }
    }

    pub(super) fn on_external(&mut self, record: &Record) {
        match &record.event {
            Event::ManualDone { step, .. }
                if matches!(self.core.slot(step), Slot::Prompt | Slot::Parked)
                    && matches!(
                        self.steps.get(step).map(|s| &s.action),
                        Some(Action::Manual { .. })
                    ) =>
            {
                self.unwait(step);
                self.complete(step, StepState::Done, None);
            }
            Event::ApprovalGranted { step, .. } | Event::ApprovalRejected { step, .. }
                if self.waiting_for_go_no_go(step) =>
            {
                // A vote that decided has its decision in the same write
                // (`on_decided` acts on it).
                let rec = self.state.steps.get(step).cloned().unwrap_or_default();
                if rec.decided.is_none() {
                    if rec.decided_by_votes(self.policy(step).needed()).is_some() {
                        // Written by a cutover that did not journal decisions:
                        // the engine closes the go/no-go, judged like a vote.
                        let _ = self.cast(step, &super::approval::Cast::Close);
                    } else {
                        self.approval_notice(step);
                    }
                }
            }
            Event::ApprovalDecided { .. } => self.on_decided(record),
            Event::HypercareEnded(_) => self.on_hypercare_ended(record),
            _ => {}
        }
    }

    /// Step `id` waits for its go/no-go in this process (at the prompt,
    /// `--wait`, or parked until the run pauses).
    pub(super) fn waiting_for_go_no_go(&self, id: &str) -> bool {
        matches!(self.core.slot(id), Slot::Prompt | Slot::Parked)
            && self
                .state
                .steps
                .get(id)
                .is_some_and(|r| r.state == StepState::AwaitingApproval)
    }

    /// A go/no-go was decided (by a vote here, `cutover approve`, or a
    /// timeout): a step waiting for it stops waiting and starts after a go,
    /// or takes the no-go. The step starts only from here or from
    /// `approval_phase`, both after the decision is in the journal.
    pub(super) fn on_decided(&mut self, record: &Record) {
        let Event::ApprovalDecided {
            step,
            decision,
            by,
            reason,
            ..
        } = &record.event
        else {
            return;
        };
        if !self.waiting_for_go_no_go(step) {
            // Not waiting here: `approval_phase` acts on it when the step
            // gets there (a resume).
            return;
        }
        self.approvals.deadlines.remove(step);
        if reason.is_none() {
            let what = match decision {
                GoNoGo::Go => "approved",
                GoNoGo::NoGo => "rejected",
            };
            self.say(&format!(
                "step `{step}` {what} by {}: {}",
                by.join(", "),
                decision.label()
            ));
        }
        self.unwait(step);
        // Paused meanwhile (Ctrl-C): a go starts the step when the run goes on.
        if *decision == GoNoGo::NoGo || matches!(self.mode, Mode::Run) {
            self.act_on_decision(step);
        }
    }
}
