//! Folding what happens to steps: states, attempts, processes, manual
//! completion, and the operator's decisions about them.

use super::rollback::{RollbackRun, RollbackRunState};
use super::step::AttemptEntry;
use super::{Change, DeviationText, OpenProcess, ROLLBACK_CONTEXT, RunState, Stamped, StepRecord};
use crate::event::{AttemptResult, Choice, Event, GoNoGo, OrphanAbsence, Phase, Record, StepState};
use crate::journal::time::Ts;
use crate::journal::who::Who;

impl RunState {
    pub(super) fn apply_step_event(&mut self, r: &Record, at: Ts) {
        let who = Who::of(r);
        match &r.event {
            Event::StepState {
                step,
                state,
                detail,
            } => self.step_state(r, at, &who, step, *state, detail.as_ref()),
            Event::AttemptStarted { .. } | Event::AttemptFinished { .. } => {
                self.attempt(r, at, &who);
            }
            Event::ProcessStarted {
                step,
                phase,
                process,
            } => {
                self.close_process(step, *phase);
                self.open_processes.push(OpenProcess {
                    step: step.clone(),
                    phase: *phase,
                    process: process.clone(),
                });
            }
            Event::OrphanStopped {
                step,
                phase,
                stopped,
                ..
            } => {
                if *stopped {
                    self.close_process(step, *phase);
                }
                self.deviate(r.seq, at, &who, "orphan-stopped", Some(step));
            }
            Event::OrphanAbsent {
                step, phase, why, ..
            } => {
                self.close_process(step, *phase);
                if *why == OrphanAbsence::Elsewhere {
                    // Maybe still running where it started: worth a look.
                    self.deviate(r.seq, at, &who, "orphan-elsewhere", Some(step));
                }
            }
            Event::OutputAbandoned { step, .. } => {
                self.step(step).warnings.push(r.seq);
                self.deviate(r.seq, at, &who, "output-abandoned", Some(step));
            }
            Event::ManualDone { step, note } => {
                let rec = self.step(step);
                rec.manual_done = true;
                rec.manual_note.clone_from(note);
                rec.manual_done_at = Some(r.ts.clone());
                rec.manual_done_by = Some(who);
            }
            Event::Decision {
                step,
                choice,
                context,
                reason,
            } => self.decision(
                r,
                at,
                &who,
                step.as_deref(),
                *choice,
                context,
                reason.as_ref(),
            ),
            _ => {}
        }
    }

    /// An attempt of a step's action started or finished.
    fn attempt(&mut self, r: &Record, at: Ts, who: &Who) {
        match &r.event {
            Event::AttemptStarted {
                step,
                attempt,
                attempts,
                ..
            } => {
                let rec = self.step(step);
                rec.decision = None;
                rec.attempts = rec.attempts.max(*attempt);
                rec.attempt_open = true;
                rec.last_attempt_ok = false;
                rec.attempt_log.push(AttemptEntry {
                    attempt: *attempt,
                    started: at,
                    result: None,
                    exit_code: None,
                    duration_ms: None,
                    detail: None,
                });
                if *attempt > 1 {
                    let text = DeviationText::Retry {
                        attempt: *attempt,
                        attempts: *attempts,
                    };
                    self.deviate_with(r.seq, at, who, "retry", Some(step), text);
                }
            }
            Event::AttemptFinished {
                step,
                attempt,
                result,
                exit_code,
                duration_ms,
                detail,
            } => {
                self.close_process(step, Phase::Step);
                let rec = self.step(step);
                rec.attempt_open = false;
                rec.last_attempt_ok = *result == AttemptResult::Succeeded;
                rec.action_succeeded_once |= rec.last_attempt_ok;
                if let Some(a) = rec
                    .attempt_log
                    .iter_mut()
                    .rev()
                    .find(|a| a.attempt == *attempt)
                {
                    a.result = Some(*result);
                    a.exit_code = *exit_code;
                    a.duration_ms = Some(*duration_ms);
                    a.detail.clone_from(detail);
                }
            }
            _ => {}
        }
    }

    fn step_state(
        &mut self,
        r: &Record,
        at: Ts,
        who: &Who,
        step: &str,
        state: StepState,
        detail: Option<&String>,
    ) {
        let stamped = Stamped {
            raw: r.ts.clone(),
            ts: at,
        };
        let rec = self.step(step);
        rec.state = state;
        rec.detail = detail.cloned();
        // The step moved on: whatever was decided about it was acted on.
        rec.decision = None;
        if state != StepState::Running {
            rec.attempt_open = false;
        }
        times(rec, state, &stamped);
        let starts = !matches!(state, StepState::Pending | StepState::Skipped);
        if state == StepState::Running {
            rec.action_started = true;
            self.mark(step, Change::Started);
        }
        if state == StepState::Done {
            self.mark(step, Change::Done);
        }
        if starts && !self.first_step_seen {
            self.first_step_seen = true;
            self.milestone_derived("first-step", at, who);
        }
        if matches!(
            state,
            StepState::Skipped | StepState::Stopped | StepState::Failed
        ) {
            self.deviate(r.seq, at, who, state.label(), Some(step));
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of one decision record"
    )]
    fn decision(
        &mut self,
        r: &Record,
        at: Ts,
        who: &Who,
        step: Option<&str>,
        choice: Choice,
        context: &str,
        reason: Option<&String>,
    ) {
        // The question at the driver's terminal is answered.
        self.deciding = None;
        if context == "interrupt" {
            self.interrupted = None;
        }
        if context == ROLLBACK_CONTEXT {
            // After a failed rollback: `--skip-rollback STEP` (undone by
            // hand) or `--rollback` (its rollback runs again).
            let name = step.unwrap_or_default();
            if choice == Choice::Skip {
                self.skip_rollback(name, at, who, reason);
            }
            let kind = if choice == Choice::Skip {
                "rollback-skipped"
            } else {
                "rollback-retried"
            };
            self.deviate(r.seq, at, who, kind, step);
            return;
        }
        let kind = match context {
            "resume" | "idempotent" => "resume-decision",
            "interrupt" => "ctrl-c-decision",
            "on_failure" => "failure-decision",
            _ => "decision",
        };
        if choice != Choice::Continue || kind != "decision" {
            self.deviate(r.seq, at, who, kind, step);
        }
        let Some(step) = step else { return };
        let rec = self.step(step);
        rec.decision = Some(choice);
        let no_go = rec.rejected
            || rec
                .decided
                .as_ref()
                .is_some_and(|d| d.decision == GoNoGo::NoGo);
        if no_go && matches!(choice, Choice::Rerun | Choice::Retry) {
            rec.reopen_go_no_go();
        }
    }

    fn skip_rollback(&mut self, step: &str, at: Ts, who: &Who, reason: Option<&String>) {
        let rec = self.step(step);
        rec.rollback_skipped_by = Some(who.name_or_actor());
        rec.rollback_skip_reason = reason.cloned();
        let rb = rec
            .rollback_run
            .get_or_insert_with(|| RollbackRun::new(String::new(), false, at));
        rb.state = RollbackRunState::Skipped;
        rb.skipped_by = Some(who.name_or_actor());
        rb.skipped_at = Some(at);
        rb.skip_reason = reason.cloned();
        if let Some(progress) = &mut self.rollback {
            progress.failed.retain(|s| s != step);
        }
    }
}

/// When a step first left `pending`, when it last ended, and what its
/// execution time and approval wait are computed from.
fn times(rec: &mut StepRecord, state: StepState, at: &Stamped) {
    if state != StepState::Pending && rec.first_state_at.is_none() {
        rec.first_state_at = Some(at.clone());
    }
    let starts = !matches!(state, StepState::Pending | StepState::Skipped);
    let t = &mut rec.timing;
    if state == StepState::AwaitingApproval {
        t.awaiting_since.get_or_insert(at.ts);
        t.waited = true;
    } else {
        t.close_wait(at.ts);
        if starts {
            t.first_active.get_or_insert(at.ts);
        }
    }
    if matches!(state, StepState::Running | StepState::AwaitingOperator) {
        t.exec_start.get_or_insert(at.ts);
    }
    if state.is_complete() || matches!(state, StepState::Failed | StepState::Stopped) {
        rec.ended_at = Some(at.clone());
    } else if starts {
        // Retried or resumed: the step is running again.
        rec.ended_at = None;
    }
}
