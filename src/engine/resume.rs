//! Resume: rebuild the scheduler's view of a run from its journal, stop what
//! the crashed process left running, apply the operator's `--rerun` /
//! `--skip` / `--rollback`, and decide what a step that was in flight at a
//! crash needs (idempotent: run again; otherwise ask).

use std::collections::VecDeque;
use std::sync::Arc;

use std::time::Duration;

use super::core::Slot;
use super::process::{OrphanFate, stop_orphan};
use super::prompt::Prompt;
use super::scheduler::{After, EngineError, Mode, ResumeInput, Scheduler};
use crate::event::{Choice, Event, Outcome, PauseReason, RollbackReason, StepState};
use crate::journal::RunState;

/// SIGTERM-to-SIGKILL wait for a leftover command whose step is no longer
/// in the runbook (the plan hash makes that unlikely).
const DEFAULT_GRACE: Duration = Duration::from_secs(10);
use crate::runbook::model::OnFailure;

impl Scheduler {
    /// Rebuild the scheduler's view from the journal. `Some(outcome)` when
    /// the run had already ended for good.
    pub(super) fn begin_resume(&mut self, state: &RunState) -> Option<Outcome> {
        if let Some(outcome) = state.outcome()
            && matches!(
                outcome,
                Outcome::Completed | Outcome::RolledBack | Outcome::RollbackFailed
            )
        {
            self.state = state.clone();
            return Some(outcome);
        }
        self.baselines = Arc::new(state.baselines.clone());
        self.state = state.clone();
        self.emit(Event::RunResumed {
            pid: std::process::id(),
        });
        None
    }

    /// Before anything runs again: stop every command the crashed process
    /// left running (a step in flight, a rollback command), so no step ever
    /// runs twice at once. Each is journaled (`orphan_stopped` /
    /// `orphan_absent`). `false` when one survived SIGKILL: the run then
    /// pauses, since running anything next to it is what this prevents.
    pub(super) async fn stop_orphans(&mut self) -> Result<bool, EngineError> {
        let mut survivors = Vec::new();
        for open in self.state.open_processes.clone() {
            let grace = self
                .steps
                .get(&open.step)
                .map_or(DEFAULT_GRACE, |s| s.grace);
            let pgid = open.process.pgid;
            let fate = stop_orphan(&open.process, grace).await;
            let event = match fate {
                OrphanFate::Absent(why) => Event::OrphanAbsent {
                    step: open.step,
                    phase: open.phase,
                    pgid,
                    why,
                },
                OrphanFate::Stopped { signal, stopped } => {
                    if !stopped {
                        survivors.push(pgid);
                    }
                    Event::OrphanStopped {
                        step: open.step,
                        phase: open.phase,
                        pgid,
                        signal: signal.as_str().to_string(),
                        stopped,
                    }
                }
            };
            self.emit(event);
            self.flush()?;
        }
        if survivors.is_empty() {
            return Ok(true);
        }
        let groups: Vec<String> = survivors.iter().map(i32::to_string).collect();
        self.finish(
            Outcome::Paused,
            format!(
                "process group(s) {} of the crashed process could not be stopped, so nothing runs next to them; once `pgrep -a -g {}` shows nothing, `cutover resume {}`",
                groups.join(", "),
                groups.join(","),
                self.run_ref
            ),
        );
        Ok(false)
    }

    /// Apply the operator's resume options and decide what each step needs.
    pub(super) fn init_resume(&mut self, input: ResumeInput) -> Option<Outcome> {
        let ResumeInput {
            state,
            rerun,
            skip,
            rollback,
            abort,
        } = input;
        if abort {
            // The operator ends the run here: nothing runs, nothing rolls back.
            self.emit(Event::Decision {
                step: None,
                choice: Choice::Abort,
                context: "resume".into(),
            });
            self.finish(
                Outcome::Aborted,
                format!(
                    "aborted by the operator without rollback; `cutover resume {}` would continue it",
                    self.run_ref
                ),
            );
            return Some(Outcome::Aborted);
        }
        // A rollback that was under way goes on where it stopped.
        if let Some(rb) = &state.rollback
            && rb.finished.is_none()
        {
            let remaining: VecDeque<String> = rb
                .planned
                .iter()
                .filter(|s| !rb.finished_steps.contains(s))
                .cloned()
                .collect();
            for id in self.steps.keys().cloned().collect::<Vec<_>>() {
                let done = state
                    .steps
                    .get(&id)
                    .is_some_and(|r| r.state == StepState::Done);
                self.core.set(
                    &id,
                    if done {
                        Slot::Complete(StepState::Done)
                    } else {
                        Slot::Stopped
                    },
                );
            }
            self.mode = Mode::RollingBack {
                remaining,
                partial: rb.partial.clone(),
                current: None,
                failed: rb.failed.clone(),
            };
            return None;
        }
        let mut resume_after_gates = Vec::new();
        for (id, step) in self.steps.clone() {
            let rec = state.steps.get(&id).cloned().unwrap_or_default();
            let hint = format!(
                "step `{id}` was {} when the run stopped and is not `idempotent`; decide:\n  cutover resume {1} --rerun {id}\n  cutover resume {1} --skip {id}\n  cutover resume {1} --rollback\n  cutover resume {1} --abort",
                rec.state.label(),
                self.run_ref
            );
            let uncertain = match rec.state {
                s if s.is_complete() => {
                    self.core.set(&id, Slot::Complete(s));
                    continue;
                }
                StepState::Failed => !(step.on_failure == OnFailure::Continue),
                StepState::Running => rec.attempt_open && !rec.last_attempt_ok,
                StepState::Stopped => true,
                _ => false,
            };
            if rec.state == StepState::Failed && step.on_failure == OnFailure::Continue {
                self.core.set(&id, Slot::Failed { continued: true });
                continue;
            }
            if rerun.contains(&id) {
                self.decided(&id, Choice::Rerun, "resume");
            } else if skip.contains(&id) {
                self.decided(&id, Choice::Skip, "resume");
            } else if uncertain && rec.state != StepState::Failed && step.idempotent {
                self.decided(&id, Choice::Rerun, "idempotent");
            } else if uncertain && !rollback {
                let reason = if rec.state == StepState::Failed {
                    PauseReason::StepFailed
                } else {
                    PauseReason::NeedsDecision
                };
                if self.interactive {
                    self.core.set(&id, Slot::Prompt);
                    self.sink.notice(&hint);
                    self.prompts.push_back(if rec.state == StepState::Failed {
                        Prompt::Failure(id.clone())
                    } else {
                        Prompt::InFlight(id.clone())
                    });
                    self.start_stdin();
                } else {
                    self.park(&id, reason, hint);
                }
            } else if matches!(rec.state, StepState::AfterGates)
                || (rec.state == StepState::Running && rec.last_attempt_ok)
            {
                // The command already succeeded: only its after-gates are left.
                resume_after_gates.push(id.clone());
            }
        }
        if rollback {
            self.emit(Event::Decision {
                step: None,
                choice: Choice::Rollback,
                context: "resume".into(),
            });
            self.request(After::Rollback(RollbackReason::Operator));
            return None;
        }
        if self.prompts.len() == 1 || !self.prompts.is_empty() {
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
        for t in self.triggers.clone() {
            let started = t
                .from
                .as_ref()
                .is_none_or(|f| self.core.slot(f) != Slot::Pending);
            let ended = t
                .until
                .as_ref()
                .is_some_and(|u| matches!(self.core.slot(u), Slot::Complete(_)));
            if started && !ended {
                self.arm(&t.id);
            }
        }
        None
    }
}
