//! Rollback in the fold: the run's rollback (planned steps, progress, what
//! failed) and each step's rollback as it ran, retried or was skipped.

use super::step::OutputTail;
use super::{RunState, SKIPPED_WHY};
use crate::event::{Event, Phase, Record, RollbackReason};
use crate::journal::time::Ts;
use crate::journal::who::Who;

#[derive(Debug, Clone, PartialEq)]
pub struct RollbackProgress {
    pub reason: RollbackReason,
    pub planned: Vec<String>,
    /// Those of `planned` that did not finish (`rollback_partial`).
    pub partial: Vec<String>,
    /// Rollback steps that finished (ok or not).
    pub finished_steps: Vec<String>,
    pub failed: Vec<String>,
    /// A rollback step that started and never finished.
    pub open_step: Option<String>,
    /// `Some(ok)` once `rollback_finished` is journaled.
    pub finished: Option<bool>,
    /// When the first rollback started, and when one last finished (with
    /// the steps that failed then).
    pub started_at: Ts,
    pub finished_at: Option<Ts>,
    /// As the last `rollback_finished` said (a retry under way keeps it).
    pub ok_at_finish: Option<bool>,
    pub failed_at_finish: Vec<String>,
}

/// Where a step's rollback is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackRunState {
    /// Its rollback action started and has not finished.
    RollingBack,
    RolledBack,
    Failed,
    /// The operator undid it by hand and skipped it (`cutover resume
    /// --skip-rollback`).
    Skipped,
}

/// One step's rollback as it ran: the last attempt, and those before it.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackRun {
    pub state: RollbackRunState,
    pub action: String,
    /// The step started its action but did not finish it (`rollback_partial`).
    pub partial: bool,
    pub started: Ts,
    pub ended: Option<Ts>,
    pub ok: Option<bool>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<u64>,
    pub detail: Option<String>,
    pub output: OutputTail,
    /// How many times its rollback action started; 0 if it was skipped
    /// before it ran.
    pub attempts: u32,
    /// Every attempt before the last, oldest first (each failed).
    pub failed_attempts: Vec<RollbackRunAttempt>,
    /// `--skip-rollback`: who (the `--as` name, else the actor), when, and
    /// what they said they did.
    pub skipped_by: Option<String>,
    pub skipped_at: Option<Ts>,
    pub skip_reason: Option<String>,
}

/// A rollback attempt that was followed by another one.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackRunAttempt {
    /// 1-based.
    pub attempt: u32,
    pub started: Ts,
    pub ended: Option<Ts>,
    pub ok: Option<bool>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<u64>,
    pub detail: Option<String>,
}

impl RollbackRun {
    /// A step's rollback before its action started.
    pub(super) fn new(action: String, partial: bool, started: Ts) -> Self {
        RollbackRun {
            state: RollbackRunState::RollingBack,
            action,
            partial,
            started,
            ended: None,
            ok: None,
            exit_code: None,
            duration_ms: None,
            detail: None,
            output: OutputTail::default(),
            attempts: 0,
            failed_attempts: Vec::new(),
            skipped_by: None,
            skipped_at: None,
            skip_reason: None,
        }
    }

    /// What the operator said a skipped rollback was (`--reason`, else
    /// "undone by hand").
    pub fn skip_words(&self) -> &str {
        self.skip_reason.as_deref().unwrap_or(SKIPPED_WHY)
    }
}

impl RunState {
    pub(super) fn apply_rollback(&mut self, r: &Record, at: Ts) {
        let who = Who::of(r);
        match &r.event {
            Event::RollbackStarted {
                reason,
                steps,
                partial,
            } => {
                if self.rollback.is_none() {
                    self.deviate(r.seq, at, &who, "rollback", None);
                    self.milestone_derived("rollback-started", at, &who);
                }
                let started_at = self.rollback.as_ref().map_or(at, |rb| rb.started_at);
                self.rollback = Some(RollbackProgress {
                    reason: reason.clone(),
                    planned: steps.clone(),
                    partial: partial.clone(),
                    finished_steps: Vec::new(),
                    failed: Vec::new(),
                    open_step: None,
                    finished: None,
                    started_at,
                    finished_at: None,
                    ok_at_finish: None,
                    failed_at_finish: Vec::new(),
                });
            }
            Event::RollbackStepStarted {
                step,
                action,
                partial,
            } => {
                if let Some(rb) = &mut self.rollback {
                    rb.open_step = Some(step.clone());
                    // A rollback that failed is going on again (`resume --rollback`).
                    rb.finished = None;
                    rb.failed.retain(|s| s != step);
                }
                let run = self
                    .step(step)
                    .rollback_run
                    .get_or_insert_with(|| RollbackRun::new(String::new(), *partial, at));
                start_attempt(run, action, *partial, at);
                let nth = run.attempts;
                if let Some(entry) = self.history.last_mut() {
                    entry.nth = nth;
                }
            }
            Event::RollbackStepFinished {
                step,
                ok,
                exit_code,
                duration_ms,
                detail,
            } => {
                self.close_process(step, Phase::Rollback);
                if let Some(rb) = &mut self.rollback {
                    rb.open_step = None;
                    rb.finished_steps.push(step.clone());
                    if !ok {
                        rb.failed.push(step.clone());
                    }
                }
                let rec = self.step(step);
                if *ok {
                    rec.rolled_back = true;
                    rec.action_succeeded_once = false;
                }
                let run = rec.rollback_run.get_or_insert_with(|| {
                    let mut run = RollbackRun::new(String::new(), false, at);
                    run.attempts = 1;
                    run
                });
                run.state = if *ok {
                    RollbackRunState::RolledBack
                } else {
                    RollbackRunState::Failed
                };
                run.ended = Some(at);
                run.ok = Some(*ok);
                run.exit_code = *exit_code;
                run.duration_ms = Some(*duration_ms);
                run.detail.clone_from(detail);
            }
            Event::RollbackFinished { ok, failed } => {
                if let Some(rb) = &mut self.rollback {
                    rb.finished = Some(*ok);
                    rb.finished_at = Some(at);
                    rb.ok_at_finish = Some(*ok);
                    rb.failed_at_finish.clone_from(failed);
                }
                self.milestone_derived("rollback-finished", at, &who);
            }
            _ => {}
        }
    }

    /// The steps whose rollback the operator skipped (`--skip-rollback`)
    /// and that were not rolled back, with who skipped them and what they
    /// said, in the order of the rollback's plan.
    pub fn rollbacks_skipped(&self) -> Vec<super::SkippedRollback> {
        let planned: &[String] = self.rollback.as_ref().map_or(&[], |rb| &rb.planned);
        let mut ids: Vec<&String> = planned.iter().collect();
        ids.extend(self.steps.keys().filter(|id| !planned.contains(id)));
        ids.into_iter()
            .filter_map(|id| {
                let r = self.steps.get(id)?;
                (r.rollback_skipped() && !r.rolled_back).then(|| super::SkippedRollback {
                    step: id.clone(),
                    by: r.rollback_skipped_by.clone().unwrap_or_default(),
                    reason: r.rollback_skip_reason.clone(),
                })
            })
            .collect()
    }

    /// The rollbacks of the last rollback still to run, in its order: not
    /// rolled back OK yet and not skipped by the operator.
    pub fn rollbacks_left(&self) -> Vec<String> {
        self.rollback.as_ref().map_or_else(Vec::new, |rb| {
            rb.planned
                .iter()
                .filter(|s| {
                    self.steps
                        .get(s.as_str())
                        .is_none_or(|r| !r.rolled_back && !r.rollback_skipped())
                })
                .cloned()
                .collect()
        })
    }
}

/// A rollback action starting (again, after `resume --rollback`: the
/// earlier attempt is kept).
fn start_attempt(run: &mut RollbackRun, action: &str, partial: bool, at: Ts) {
    if run.attempts > 0 {
        run.failed_attempts.push(RollbackRunAttempt {
            attempt: run.attempts,
            started: run.started,
            ended: run.ended,
            ok: run.ok,
            exit_code: run.exit_code,
            duration_ms: run.duration_ms,
            detail: run.detail.take(),
        });
    }
    run.state = RollbackRunState::RollingBack;
    run.attempts += 1;
    run.action = action.to_string();
    run.partial = partial;
    run.started = at;
    run.ended = None;
    run.ok = None;
    run.exit_code = None;
    run.duration_ms = None;
}
