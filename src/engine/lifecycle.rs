//! A step's life in the scheduler: deciding what starts, its phases
//! (before-gates → approval → action → after-gates), completing or failing
//! it, parking it for a person, and the requests that stop the run (pause,
//! rollback, abort) once nothing is busy.

use super::approval::{Ballot, Cast};
use super::core::Slot;
use super::operator::Prompt;
use super::process::KillLevel;
use super::scheduler::{After, Effect, Mode, Scheduler};
use super::step::{ActionResult, GatesVerdict, PhaseResult, describe};
use crate::event::{Event, Outcome, PauseReason, RollbackReason, StepState};
use crate::runbook::model::{Action, DryRunMode, GateWhen, OnFailure, OnReject};

impl Scheduler {
    /// Start what may start; end the run when nothing more can happen.
    pub(super) fn decide(&mut self) {
        loop {
            let again = match &self.mode {
                Mode::Run => self.start_ready(),
                Mode::Drain(after) => {
                    let after = after.clone();
                    self.drained(after)
                }
                Mode::RollingBack(rb) if rb.current.is_none() => {
                    self.next_rollback_step();
                    false
                }
                Mode::RollingBack(_) | Mode::Finished(_) | Mode::HandingOver => false,
            };
            if !again {
                return;
            }
        }
    }

    /// Start every ready step (`true`: decide again); with nothing running
    /// or waiting, end the run: paused, completed, or stuck.
    fn start_ready(&mut self) -> bool {
        let ready = self.core.ready();
        if !ready.is_empty() {
            for id in ready {
                self.start_step(&id);
            }
            return true;
        }
        if self.core.idle() {
            if !self.parked.is_empty() {
                self.finish_paused(None);
            } else if self.core.all_complete() {
                if self.hypercare_holds() {
                    return false;
                }
                let message = self.completed_words();
                self.finish(Outcome::Completed, message);
            } else {
                self.finish(Outcome::Paused, "no step can start".into());
            }
        }
        false
    }

    fn completed_words(&self) -> String {
        let failed = self.core.failed_continued();
        if self.opts.dry_run {
            format!(
                "dry run completed; {}",
                if self.dry.queries_ok {
                    "every gate and trigger query worked"
                } else {
                    "some gate or trigger queries FAILED against this environment"
                }
            )
        } else if failed.is_empty() {
            "every step done".into()
        } else {
            format!("completed; failed but continued: {}", failed.join(", "))
        }
    }

    /// Draining for `after`: once nothing is busy, do it (`true`: the mode
    /// changed, decide again).
    fn drained(&mut self, after: After) -> bool {
        if self.core.busy() > 0 {
            return false;
        }
        if self.prompting.present
            && matches!(
                after,
                After::Pause {
                    reason: PauseReason::Interrupted,
                    ..
                }
            )
        {
            // Ctrl-C at a terminal: nothing runs now; ask what next.
            self.open_menu();
            return false;
        }
        self.prompting.queue.clear();
        match after {
            After::Pause { .. } => self.finish_paused(Some(after)),
            // What to roll back is read from the replayed journal (its
            // timeline): decide it only once the last steps' ends are
            // durable and folded in.
            After::Rollback(_) if self.journal.has_pending() => {
                self.redecide = true;
                return false;
            }
            After::Rollback(reason) => self.start_rollback(reason),
            After::Abort => {
                // Aborted, not paused: no `paused` record and no "continue
                // with" (issue 11), only what happened and what is left to do.
                let message = format!(
                    "aborted by the operator without rollback; `cutover resume {0} --rollback` rolls it back, `cutover resume {0}` would continue it",
                    self.opts.run_ref
                );
                self.finish(Outcome::Aborted, message);
            }
        }
        true
    }

    pub(super) fn start_step(&mut self, id: &str) {
        for t in self.trigger_ids(|t| t.from.as_deref() == Some(id)) {
            self.arm(&t);
        }
        if self.steps[id].gates(GateWhen::Before).next().is_some() {
            self.set_state(id, StepState::BeforeGates, None);
            self.core.set(id, Slot::Busy);
            self.effects
                .push(Effect::Gates(id.to_string(), GateWhen::Before));
        } else {
            self.approval_phase(id);
        }
    }

    pub(super) fn approval_phase(&mut self, id: &str) {
        let Some(approval) = self.steps[id].approval.clone() else {
            return self.exec_phase(id);
        };
        if self.opts.dry_run {
            return self.exec_phase(id);
        }
        // Fold in everything journaled so far, judged under the lock: votes
        // given while the run was paused, an earlier process's decision,
        // this resume's own `--rerun` (which ends a no-go). Votes that
        // decide without a journaled decision (an older cutover wrote them)
        // are closed here. A decision is acted on.
        let _ = self.cast(id, &Cast::Close);
        if self.act_on_decision(id) {
            return;
        }
        if self.opts.yes && !self.opts.production {
            match super::approval::yes_refusal(&(&approval).into()) {
                None => {
                    let stamp = self.journal.stamp();
                    let who = crate::event::person(&stamp.actor, stamp.on_behalf.as_deref());
                    let ballot = Ballot {
                        step: id,
                        person: &who,
                        reason: Some("--yes"),
                        reject: false,
                        auto: true,
                        identity: None,
                    };
                    let _ = self.cast(id, &Cast::Vote(ballot));
                    if self.act_on_decision(id) {
                        return;
                    }
                }
                Some(why) => self.say(&format!("step `{id}`: {why}; it needs real votes")),
            }
        }
        let rec = self.state.steps.get(id).cloned().unwrap_or_default();
        if !rec.approval_requested {
            self.emit(Event::ApprovalRequested {
                step: id.to_string(),
                min: approval.min.max(1),
                approvers: approval.approvers.clone(),
            });
        }
        self.set_state(id, StepState::AwaitingApproval, None);
        self.await_approval(id, &approval);
    }

    pub(super) fn rejected(&mut self, id: &str, on_reject: OnReject) {
        self.set_state(id, StepState::Failed, Some("approval rejected".into()));
        self.core.set(id, Slot::Failed { continued: false });
        self.parked.shift_remove(id);
        match on_reject {
            OnReject::Rollback => self.request(After::Rollback(RollbackReason::Rejected {
                step: id.to_string(),
            })),
            OnReject::Abort => self.request(After::Abort),
        }
    }

    pub(super) fn exec_phase(&mut self, id: &str) {
        if id == crate::runbook::model::WINDOW_GATE {
            // The go/no-go was the whole of it.
            let go = "go: the run starts outside its change window".to_string();
            return self.complete(id, StepState::Done, Some(go));
        }
        let step = self.steps[id].clone();
        if self.opts.dry_run {
            let what = self.mask(&describe(&step.action));
            match (&step.action, step.dry_run) {
                // Not run; its after-gates still query their sources.
                (Action::Manual { .. }, _) | (_, DryRunMode::Skip) => {
                    self.dry
                        .finals
                        .insert(id.to_string(), (StepState::WouldRun, Some(what)));
                    return self.after_gates_phase(id);
                }
                (_, DryRunMode::Simulate) => {
                    self.dry
                        .finals
                        .insert(id.to_string(), (StepState::Simulated, Some(what)));
                    return self.after_gates_phase(id);
                }
                (_, DryRunMode::Run) => {}
            }
        }
        if let Action::Manual { instructions } = &step.action {
            if self.state.steps.get(id).is_some_and(|r| r.manual_done) {
                return self.complete(id, StepState::Done, None);
            }
            let instructions = self.mask(instructions);
            self.set_state(id, StepState::AwaitingOperator, Some(instructions));
            let hint = format!(
                "when it is done: cutover done {0} {id} [--note \"...\"]\nthen continue with: cutover resume {0}",
                self.opts.run_ref
            );
            return self.wait_for_person(
                id,
                Prompt::Manual(id.to_string()),
                PauseReason::ManualStep,
                hint,
            );
        }
        self.set_state(id, StepState::Running, None);
        self.core.set(id, Slot::Busy);
        self.effects.push(Effect::Exec(id.to_string()));
    }

    pub(super) fn after_gates_phase(&mut self, id: &str) {
        if self.steps[id].gates(GateWhen::After).next().is_some() {
            self.set_state(id, StepState::AfterGates, None);
            self.core.set(id, Slot::Busy);
            self.effects
                .push(Effect::Gates(id.to_string(), GateWhen::After));
        } else {
            self.complete_after_gates(id);
        }
    }

    /// The step passed its after-gates (or had none): done, or in a dry run
    /// what the dry run did with it.
    fn complete_after_gates(&mut self, id: &str) {
        let (state, detail) = match self.dry.finals.remove(id) {
            Some(last) => last,
            None if self.opts.dry_run => (StepState::RanReadOnly, None),
            None => (StepState::Done, None),
        };
        self.complete(id, state, detail);
    }

    pub(super) fn complete(&mut self, id: &str, state: StepState, detail: Option<String>) {
        self.set_state(id, state, detail);
        // Only a step that really ran marks its milestone: a dry run switched no traffic.
        if state == StepState::Done
            && let Some(name) = self.steps[id].milestone.clone()
        {
            // A manual step marked done with `cutover done` (or at another
            // terminal) happened then, not when this process completes it.
            let at = match self.steps[id].action {
                Action::Manual { .. } => self
                    .state
                    .steps
                    .get(id)
                    .and_then(|r| r.manual_done_at.clone()),
                _ => None,
            };
            self.emit(Event::Milestone {
                name,
                at,
                step: Some(id.to_string()),
            });
        }
        self.core.set(id, Slot::Complete(state));
        self.parked.shift_remove(id);
        for t in self.trigger_ids(|t| t.until.as_deref() == Some(id)) {
            self.disarm(&t);
        }
    }

    pub(super) fn step_failed(&mut self, id: &str, why: String) {
        self.set_state(id, StepState::Failed, Some(why));
        let rollback_what = if self.steps[id].rollback_partial {
            "roll back this step, then completed steps"
        } else {
            "roll back completed steps"
        };
        let hint = format!(
            "decide, then continue:\n  cutover resume {0} --rerun {id}     (run it again)\n  cutover resume {0} --skip {id}      (carry on without it)\n  cutover resume {0} --rollback       ({rollback_what})\n  cutover resume {0} --abort          (end the run here, no rollback)",
            self.opts.run_ref
        );
        if self.interrupt_pending() {
            // Ctrl-C came first: the person who pressed it decides (menu at a
            // terminal, else a pause), not the step's `on_failure`.
            self.say(&format!(
                "step `{id}` failed after the interrupt; its on_failure is not applied: you decide"
            ));
            self.park(id, PauseReason::StepFailed, hint);
            return;
        }
        match self.steps[id].on_failure {
            OnFailure::Rollback => {
                self.core.set(id, Slot::Failed { continued: false });
                self.request(After::Rollback(RollbackReason::StepFailed {
                    step: id.to_string(),
                }));
            }
            OnFailure::Continue => self.core.set(id, Slot::Failed { continued: true }),
            OnFailure::Ask if self.prompting.present => self.wait_for_person(
                id,
                Prompt::Failure(id.to_string()),
                PauseReason::StepFailed,
                hint,
            ),
            OnFailure::Pause | OnFailure::Ask => {
                self.park_and_stop(id, PauseReason::StepFailed, hint);
            }
        }
    }

    /// A first Ctrl-C is waiting for the in-flight steps to end.
    pub(super) fn interrupt_pending(&self) -> bool {
        matches!(
            self.mode,
            Mode::Drain(After::Pause {
                reason: PauseReason::Interrupted,
                ..
            })
        )
    }

    /// Park the step and start no other step: a failure or an unclear gate
    /// needs a person before anything else happens. (Approvals and manual
    /// steps park alone; independent branches go on meanwhile.)
    pub(super) fn park_and_stop(&mut self, id: &str, reason: PauseReason, hint: String) {
        self.park(id, reason, hint);
        self.request(After::Pause {
            reason,
            step: Some(id.to_string()),
            hint: String::new(),
        });
    }

    pub(super) fn park(&mut self, id: &str, reason: PauseReason, hint: String) {
        self.core.set(id, Slot::Parked);
        self.parked.insert(id.to_string(), (reason, hint));
    }

    /// Stop starting steps and, when nothing is busy, do `after`. A stronger
    /// request (abort > rollback > pause) replaces a weaker one.
    pub(super) fn request(&mut self, after: After) {
        let kill = matches!(after, After::Rollback(_) | After::Abort);
        match &self.mode {
            Mode::Run => self.mode = Mode::Drain(after),
            Mode::Drain(current) if after.rank() > current.rank() => self.mode = Mode::Drain(after),
            _ => return,
        }
        if kill {
            self.effects.push(Effect::Kill(KillLevel::Graceful));
            // Gates are only reads: stop them at once.
            let ids: Vec<String> = self.tasks.gates.keys().cloned().collect();
            for id in ids {
                if let Some(h) = self.tasks.gates.remove(&id) {
                    h.abort();
                }
                self.set_state(
                    &id,
                    StepState::Stopped,
                    Some("stopped before it finished".into()),
                );
                self.core.set(&id, Slot::Stopped);
            }
        }
    }

    /// A task ended a phase of step `id` (its gates, its action): what next.
    pub(super) fn on_phase(&mut self, id: &str, result: PhaseResult) {
        self.tasks.kills.remove(id);
        self.tasks.gates.remove(id);
        if self.core.slot(id) != Slot::Busy {
            return;
        }
        let stopping = matches!(self.mode, Mode::Drain(After::Rollback(_) | After::Abort));
        match result {
            PhaseResult::Exec(ActionResult { ok: true, .. }) => self.after_gates_phase(id),
            PhaseResult::Exec(ActionResult { killed: true, .. }) => {
                self.set_state(id, StepState::Stopped, Some("stopped while running".into()));
                self.core.set(id, Slot::Stopped);
            }
            PhaseResult::Exec(r) => {
                let why = r.detail.unwrap_or_else(|| "failed".into());
                if stopping {
                    self.set_state(id, StepState::Stopped, Some(why));
                    self.core.set(id, Slot::Stopped);
                } else {
                    self.step_failed(id, why);
                }
            }
            PhaseResult::Gates { when, verdict } => {
                let verdict = if self.opts.dry_run {
                    GatesVerdict::Pass
                } else {
                    verdict
                };
                if when == GateWhen::Before && !matches!(self.mode, Mode::Run) {
                    // Draining: do not start a command now; the step starts over on resume.
                    self.set_state(
                        id,
                        StepState::Pending,
                        Some("not started: the run is stopping".into()),
                    );
                    self.core.set(id, Slot::Pending);
                    return;
                }
                match verdict {
                    GatesVerdict::Pass if when == GateWhen::Before => self.approval_phase(id),
                    GatesVerdict::Pass => self.complete_after_gates(id),
                    GatesVerdict::Fail(why) => self.step_failed(id, why),
                    GatesVerdict::Inconclusive(why) => {
                        let hint = format!(
                            "{why}\nlook at the signal, then: cutover resume {0} (gates are measured again), --skip {id}, or --rollback",
                            self.opts.run_ref
                        );
                        self.park_and_stop(id, PauseReason::GateInconclusive, hint);
                    }
                }
            }
        }
    }
}
