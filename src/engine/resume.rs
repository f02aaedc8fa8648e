//! Resume: rebuild the scheduler's view of a run from its journal, apply the
//! operator's `--abort` / `--rollback` / `--skip-rollback` / `--rerun` /
//! `--skip`, and give each step what it needs (the rules, pure, are
//! `resume_rules`; stopping what the crashed process left running first is
//! `orphans`).

use std::collections::VecDeque;
use std::sync::Arc;

use super::core::Slot;
use super::execute::ResumeInput;
use super::operator::Prompt;
use super::orphans::Leftovers;
use super::resume_rules::{OnResume, ResumeOptions, on_resume};
use super::rollback::RollingBack;
use super::scheduler::{After, Mode, Scheduler};
use crate::event::{Choice, Event, Outcome, PauseReason, RollbackReason, StepState};
use crate::journal::{ROLLBACK_CONTEXT, RollbackProgress, RunState};

impl Scheduler {
    /// Rebuild the scheduler's view from the journal. `Some(outcome)` when
    /// the run had already ended for good. A failed rollback goes on only
    /// when the operator says how (`retry`: `--rollback` / `--skip-rollback`).
    pub(super) fn begin_resume(&mut self, state: &RunState, retry: bool) -> Option<Outcome> {
        if let Some(outcome) = super::resume_rules::ended_for_good(state, retry) {
            self.state = state.clone();
            return Some(outcome);
        }
        self.baselines = Arc::new(state.baselines.clone());
        self.state = state.clone();
        self.sink.begin(&self.state);
        self.emit(Event::RunResumed {
            pid: std::process::id(),
        });
        None
    }

    /// Apply the operator's resume options and decide what each step needs.
    pub(super) fn init_resume(&mut self, input: ResumeInput, found: &Leftovers) -> Option<Outcome> {
        let ResumeInput { state, options } = input;
        // The operator's words, masked like everything else they type.
        let said = options
            .reason
            .as_deref()
            .map(|r| self.mask(r.trim()))
            .filter(|r| !r.is_empty());
        if options.abort {
            return Some(self.abort_on_resume(said));
        }
        // A rollback that was under way (or failed, and the operator says
        // how to go on) goes on where it stopped.
        if let Some(rb) = &state.rollback
            && rb.finished != Some(true)
        {
            self.go_on_rolling_back(&state, rb, &options, said.as_ref());
            return None;
        }
        let resume_after_gates = self.resume_steps(&state, &options, found, said.as_ref());
        if options.rollback {
            self.emit(Event::Decision {
                step: None,
                choice: Choice::Rollback,
                context: "resume".into(),
                reason: said,
            });
            self.request(After::Rollback(RollbackReason::Operator));
            return None;
        }
        if !self.prompting.queue.is_empty() {
            self.show_prompt();
        }
        if !self.parked.is_empty() {
            self.request(After::Pause {
                reason: PauseReason::NeedsDecision,
                step: None,
                hint: String::new(),
            });
        }
        for id in resume_after_gates {
            self.after_gates_phase(&id);
        }
        self.arm_live_triggers();
        None
    }

    /// `--abort`: the operator ends the run here; nothing runs, nothing
    /// rolls back.
    fn abort_on_resume(&mut self, said: Option<String>) -> Outcome {
        self.emit(Event::Decision {
            step: None,
            choice: Choice::Abort,
            context: "resume".into(),
            reason: said,
        });
        self.finish(
            Outcome::Aborted,
            format!(
                "aborted by the operator without rollback; `cutover resume {}` would continue it",
                self.opts.run_ref
            ),
        );
        Outcome::Aborted
    }

    /// Go on with the rollback `rb` of `state` where it stopped: skip what
    /// the operator undid by hand, run a failed rollback step again when
    /// asked to, else stop at it again.
    fn go_on_rolling_back(
        &mut self,
        state: &RunState,
        rb: &RollbackProgress,
        options: &ResumeOptions,
        said: Option<&String>,
    ) {
        let skip_rollback = &options.skip_rollback;
        let retry = options.rollback || !skip_rollback.is_empty();
        for id in skip_rollback {
            self.emit(Event::Decision {
                step: Some(id.clone()),
                choice: Choice::Skip,
                context: ROLLBACK_CONTEXT.into(),
                reason: said.cloned(),
            });
            self.say(&format!(
                "rollback of `{id}` skipped: the operator undid it by hand{}",
                said.map(|r| format!(" ({r})")).unwrap_or_default()
            ));
        }
        let left: Vec<String> = state
            .rollbacks_left()
            .into_iter()
            .filter(|s| !skip_rollback.contains(s))
            .collect();
        let failed: Vec<String> = if retry {
            Vec::new()
        } else {
            rb.failed
                .iter()
                .filter(|s| left.contains(s))
                .cloned()
                .collect()
        };
        if retry && let Some(again) = rb.failed.iter().find(|s| left.contains(s)) {
            self.emit(Event::Decision {
                step: Some(again.clone()),
                choice: Choice::Retry,
                context: ROLLBACK_CONTEXT.into(),
                // The words are about the skipped steps when there are any.
                reason: skip_rollback.is_empty().then(|| said.cloned()).flatten(),
            });
            self.say(&format!("running the rollback of `{again}` again"));
        }
        let (remaining, not_run): (VecDeque<String>, Vec<String>) = if failed.is_empty() {
            (left.iter().cloned().collect(), Vec::new())
        } else {
            // Crashed after a rollback step failed: it still stops there.
            let not_run = left
                .iter()
                .filter(|s| !failed.contains(s))
                .cloned()
                .collect();
            (VecDeque::new(), not_run)
        };
        let unconfirmed = left
            .iter()
            .filter(|s| !rb.partial.contains(s) && state.action_finished(s))
            .cloned()
            .collect();
        // `open_step` is a rollback step whose latest attempt never
        // finished, a retry after an earlier failure included.
        if let Some(open) = &rb.open_step
            && !skip_rollback.contains(open)
        {
            // Stopped above if it was still running; it starts over.
            self.say(&format!(
                "rollback of `{open}` was cut off by the crash: running it again"
            ));
        }
        for id in self.steps.keys().cloned().collect::<Vec<_>>() {
            let done = state
                .steps
                .get(&id)
                .is_some_and(|r| r.state == StepState::Done);
            let slot = if done {
                Slot::Complete(StepState::Done)
            } else {
                Slot::Stopped
            };
            self.core.set(&id, slot);
        }
        self.mode = Mode::RollingBack(Box::new(RollingBack {
            reason: rb.reason.clone(),
            remaining,
            partial: rb.partial.clone(),
            unconfirmed,
            current: None,
            failed,
            not_run,
        }));
    }

    /// Give each step what it needs ([`on_resume`]); the steps whose
    /// command already succeeded, so only their after-gates are left.
    fn resume_steps(
        &mut self,
        state: &RunState,
        options: &ResumeOptions,
        found: &Leftovers,
        said: Option<&String>,
    ) -> Vec<String> {
        let mut after_gates = Vec::new();
        for (id, step) in self.steps.clone() {
            let rec = state.steps.get(&id).cloned().unwrap_or_default();
            // Its command started where this process cannot see it: maybe
            // still running there, so never re-run on our own.
            let elsewhere = found.elsewhere.contains(&id);
            match on_resume(&step, &rec, options, elsewhere) {
                OnResume::Complete(s) => self.core.set(&id, Slot::Complete(s)),
                OnResume::FailedContinued => self.core.set(&id, Slot::Failed { continued: true }),
                OnResume::Rerun => self.decided(&id, Choice::Rerun, "resume", said.cloned()),
                OnResume::Skip => self.decided(&id, Choice::Skip, "resume", said.cloned()),
                OnResume::DecidedBefore => self.core.set(&id, Slot::Pending),
                // (With `--rollback` nothing is re-run: no decision to journal.)
                OnResume::RerunIdempotent => self.decided(&id, Choice::Rerun, "idempotent", None),
                OnResume::Ask(reason) => {
                    self.ask_on_resume(&id, rec.state, reason, elsewhere);
                }
                OnResume::AfterGates => after_gates.push(id),
                OnResume::AsIs => {}
            }
        }
        after_gates
    }

    /// A step failed or in flight at the crash: ask at the terminal, else park.
    fn ask_on_resume(&mut self, id: &str, was: StepState, reason: PauseReason, elsewhere: bool) {
        let hint = format!(
            "step `{id}` was {state} when the run stopped and {why}; decide:\n  cutover resume {r} --rerun {id}\n  cutover resume {r} --skip {id}\n  cutover resume {r} --rollback\n  cutover resume {r} --abort",
            state = was.label(),
            r = self.opts.run_ref,
            why = if elsewhere {
                "may still be running on the host (or PID namespace) it started in"
            } else {
                "is not `idempotent`"
            },
        );
        if self.prompting.present {
            self.core.set(id, Slot::Prompt);
            if reason == PauseReason::StepFailed {
                self.decision_pending(
                    Some(id),
                    "on_failure",
                    &["retry", "skip", "rollback", "abort"],
                );
            } else {
                self.decision_pending(Some(id), "resume", &["rerun", "skip", "rollback", "abort"]);
            }
            self.say(&hint);
            self.prompting
                .queue
                .push_back(if reason == PauseReason::StepFailed {
                    Prompt::Failure(id.to_string())
                } else {
                    Prompt::InFlight(id.to_string())
                });
        } else {
            self.park(id, reason, hint);
        }
    }

    /// Arm the triggers whose window (`from` .. `until`) the run is in.
    fn arm_live_triggers(&mut self) {
        // In hypercare and handing it over at once: the next process arms them.
        if self.opts.detach_hypercare && self.state.in_hypercare() {
            return;
        }
        let live = self.trigger_ids(|t| {
            let started = t
                .from
                .as_ref()
                .is_none_or(|f| self.core.slot(f) != Slot::Pending);
            let ended = t
                .until
                .as_ref()
                .is_some_and(|u| matches!(self.core.slot(u), Slot::Complete(_)));
            started && !ended
        });
        for id in live {
            self.arm(&id);
        }
    }
}
