//! Resume: rebuild the scheduler's view of a run from its journal, stop what
//! the crashed process left running, apply the operator's `--rerun` /
//! `--skip` / `--rollback`, and decide what a step that was in flight at a
//! crash needs (idempotent: run again; otherwise ask).

use std::collections::VecDeque;
use std::sync::Arc;

use std::time::Duration;

use nix::sys::signal::Signal;

use super::core::Slot;
use super::process::{Here, Judgement, groups_alive, judge_now, signal_orphan};
use super::prompt::Prompt;
use super::scheduler::{After, EngineError, Mode, ResumeInput, Scheduler};
use super::step::Msg;
use crate::event::{
    Choice, Event, OrphanAbsence, Outcome, PauseReason, Phase, RollbackReason, StepState,
};
use crate::journal::ROLLBACK_CONTEXT;
use crate::journal::RunState;

/// SIGTERM-to-SIGKILL wait for a leftover command whose step is no longer
/// in the runbook (the plan hash makes that unlikely).
const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// How often the leftover groups are looked at while they are being stopped.
const POLL: Duration = Duration::from_millis(50);
/// How long to wait for a group to go after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(3);
use crate::runbook::model::OnFailure;

/// A command of the crashed process that resume is stopping.
struct Leftover {
    step: String,
    phase: Phase,
    pgid: i32,
    grace: Duration,
    /// The last signal sent.
    signal: Signal,
    /// When SIGKILL was sent.
    killed_at: Option<tokio::time::Instant>,
    gone: bool,
}

impl Leftover {
    fn kill(&mut self, now: tokio::time::Instant) {
        signal_orphan(self.pgid, Signal::SIGKILL);
        self.signal = Signal::SIGKILL;
        self.killed_at = Some(now);
    }
}

/// What the stop phase found that the rest of resume must know.
#[derive(Debug, Default)]
pub(super) struct Leftovers {
    /// Steps whose command started on another host or in another PID
    /// namespace (`elsewhere`): maybe still running, so never re-run
    /// without the operator's decision.
    pub(super) elsewhere: Vec<String>,
}

fn seconds(d: Duration) -> String {
    humantime::format_duration(Duration::from_millis(
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
    ))
    .to_string()
}

impl Scheduler {
    /// Rebuild the scheduler's view from the journal. `Some(outcome)` when
    /// the run had already ended for good. A failed rollback goes on only
    /// when the operator says how (`retry`: `--rollback` / `--skip-rollback`).
    pub(super) fn begin_resume(&mut self, state: &RunState, retry: bool) -> Option<Outcome> {
        if let Some(outcome) = state.outcome()
            && (matches!(outcome, Outcome::Completed | Outcome::RolledBack)
                || (outcome == Outcome::RollbackFailed && !retry))
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
    /// runs twice at once. Every recorded group is judged first; all of
    /// ours get SIGTERM at once, each its step's grace (concurrently), then
    /// SIGKILL. Each is journaled (`orphan_stopped` / `orphan_absent`).
    /// `None` when the run paused instead: a group survived SIGKILL
    /// (running anything next to it is what this prevents), a signal came
    /// while waiting, or a rollback command may still run elsewhere.
    pub(super) async fn stop_orphans(&mut self) -> Result<Option<Leftovers>, EngineError> {
        let here = Here::now();
        let mut ours = Vec::new();
        let mut found = Leftovers::default();
        let mut rollback_elsewhere = Vec::new();
        for open in self.state.open_processes.clone() {
            let pgid = open.process.pgid;
            match judge_now(&open.process, here) {
                Judgement::Ours => ours.push(Leftover {
                    grace: self
                        .steps
                        .get(&open.step)
                        .map_or(DEFAULT_GRACE, |s| s.grace),
                    step: open.step,
                    phase: open.phase,
                    pgid,
                    signal: Signal::SIGTERM,
                    killed_at: None,
                    gone: false,
                }),
                Judgement::Absent(why) => {
                    let host = (why == OrphanAbsence::Elsewhere).then(|| open.process.host.clone());
                    if let Some(host) = &host {
                        match open.phase {
                            Phase::Step => found.elsewhere.push(open.step.clone()),
                            Phase::Rollback => {
                                rollback_elsewhere.push((open.step.clone(), host.clone()));
                            }
                        }
                    }
                    self.emit(Event::OrphanAbsent {
                        step: open.step,
                        phase: open.phase,
                        pgid,
                        why,
                        host,
                    });
                }
            }
        }
        self.flush()?;
        let mut interrupted = None;
        if !ours.is_empty() {
            interrupted = self.stop_leftovers(&mut ours).await;
            for l in &ours {
                self.emit(Event::OrphanStopped {
                    step: l.step.clone(),
                    phase: l.phase,
                    pgid: l.pgid,
                    signal: l.signal.as_str().to_string(),
                    stopped: l.gone,
                });
            }
            self.flush()?;
        }
        let survivors: Vec<String> = ours
            .iter()
            .filter(|l| !l.gone)
            .map(|l| l.pgid.to_string())
            .collect();
        if !survivors.is_empty() {
            self.finish(
                Outcome::Paused,
                format!(
                    "process group(s) {} of the crashed process could not be stopped, so nothing runs next to them; once `pgrep -a -g {}` shows nothing, `cutover resume {}`",
                    survivors.join(", "),
                    survivors.join(","),
                    self.run_ref
                ),
            );
            return Ok(None);
        }
        if interrupted.is_some() {
            // Nothing was re-run or decided: the person who pressed Ctrl-C
            // (or the supervisor) gets the run back paused.
            let hint = format!("interrupted; {}", self.ways_on());
            self.finish_paused(Some(After::Pause {
                reason: PauseReason::Interrupted,
                step: None,
                hint,
            }));
            return Ok(None);
        }
        if let Some((step, host)) = rollback_elsewhere.first()
            && self
                .state
                .rollback
                .as_ref()
                .is_some_and(|rb| rb.finished.is_none())
        {
            let hint = format!(
                "the rollback of `{step}` started on host {host} (or in another PID namespace) and may still be running there; make sure it is over, then `cutover resume {}` runs it again",
                self.run_ref
            );
            self.emit(Event::Paused {
                reason: PauseReason::NeedsDecision,
                step: Some(step.clone()),
                hint: hint.clone(),
            });
            self.finish(Outcome::Paused, format!("paused; {hint}"));
            return Ok(None);
        }
        Ok(Some(found))
    }

    /// SIGTERM every leftover group at once, SIGKILL each still there after
    /// its grace, and wait for them. A SIGINT/SIGTERM meanwhile kills them
    /// all at once and is returned (it ends the resume as paused).
    async fn stop_leftovers(&mut self, ours: &mut [Leftover]) -> Option<&'static str> {
        let longest = ours.iter().map(|l| l.grace).max().unwrap_or_default();
        let same = ours.iter().all(|l| l.grace == longest);
        self.sink.notice(&format!(
            "stopping {} command{} left running by the crashed process: SIGTERM now, SIGKILL in {}{}",
            ours.len(),
            if ours.len() == 1 { "" } else { "s" },
            if same { "" } else { "at most " },
            seconds(longest),
        ));
        for l in ours.iter() {
            signal_orphan(l.pgid, Signal::SIGTERM);
        }
        let start = tokio::time::Instant::now();
        let mut interrupted = None;
        // Messages other than signals wait until the stop phase is over.
        let mut deferred = Vec::new();
        loop {
            let now = tokio::time::Instant::now();
            let pgids: Vec<i32> = ours.iter().filter(|l| !l.gone).map(|l| l.pgid).collect();
            let alive = groups_alive(&pgids);
            for l in ours.iter_mut().filter(|l| !l.gone) {
                if !alive.contains(&l.pgid) {
                    l.gone = true;
                } else if l.killed_at.is_none()
                    && (interrupted.is_some() || now.duration_since(start) >= l.grace)
                {
                    l.kill(now);
                }
            }
            let waiting = ours.iter().filter(|l| !l.gone).any(|l| {
                l.killed_at
                    .is_none_or(|at| now.duration_since(at) < KILL_WAIT)
            });
            if !waiting {
                break;
            }
            if interrupted.is_some() {
                tokio::time::sleep(POLL).await;
                continue;
            }
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    Some(Msg::Interrupt(signal)) => {
                        interrupted = Some(signal);
                        self.emit(Event::Interrupted { signal: signal.into() });
                        self.sink.notice(&format!(
                            "{signal}: killing the leftover commands now (SIGKILL); the run pauses before anything runs again"
                        ));
                        for l in ours.iter_mut().filter(|l| !l.gone) {
                            l.kill(tokio::time::Instant::now());
                        }
                    }
                    Some(other) => deferred.push(other),
                    None => tokio::time::sleep(POLL).await,
                },
                () = tokio::time::sleep(POLL) => {}
            }
        }
        for msg in deferred {
            let _ = self.tx.send(msg);
        }
        interrupted
    }

    /// Apply the operator's resume options and decide what each step needs.
    pub(super) fn init_resume(&mut self, input: ResumeInput, found: &Leftovers) -> Option<Outcome> {
        let ResumeInput {
            state,
            rerun,
            skip,
            rollback,
            skip_rollback,
            abort,
            reason: said,
        } = input;
        // The operator's words, masked like everything else they type.
        let said = said
            .map(|r| self.masker.mask(r.trim()))
            .filter(|r| !r.is_empty());
        if abort {
            // The operator ends the run here: nothing runs, nothing rolls back.
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
                    self.run_ref
                ),
            );
            return Some(Outcome::Aborted);
        }
        // A rollback that was under way (or failed, and the operator says
        // how to go on) goes on where it stopped.
        if let Some(rb) = &state.rollback
            && rb.finished != Some(true)
        {
            let retry = rollback || !skip_rollback.is_empty();
            for id in &skip_rollback {
                self.emit(Event::Decision {
                    step: Some(id.clone()),
                    choice: Choice::Skip,
                    context: ROLLBACK_CONTEXT.into(),
                    reason: said.clone(),
                });
                self.sink.notice(&format!(
                    "rollback of `{id}` skipped: the operator undid it by hand{}",
                    said.as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
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
                    reason: skip_rollback.is_empty().then(|| said.clone()).flatten(),
                });
                self.sink
                    .notice(&format!("running the rollback of `{again}` again"));
            }
            let remaining: VecDeque<String> = if failed.is_empty() {
                left.iter().cloned().collect()
            } else {
                // Crashed after a rollback step failed: it still stops there.
                self.rollback_not_run = left
                    .iter()
                    .filter(|s| !failed.contains(s))
                    .cloned()
                    .collect();
                VecDeque::new()
            };
            let unconfirmed = left
                .iter()
                .filter(|s| !rb.partial.contains(s) && state.action_finished(s))
                .cloned()
                .collect();
            self.rollback_reason = Some(rb.reason.clone());
            // `open_step` is a rollback step whose latest attempt never
            // finished, a retry after an earlier failure included.
            if let Some(open) = &rb.open_step
                && !skip_rollback.contains(open)
            {
                // Stopped above if it was still running; it starts over.
                self.sink.notice(&format!(
                    "rollback of `{open}` was cut off by the crash: running it again"
                ));
            }
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
                unconfirmed,
                current: None,
                failed,
            };
            return None;
        }
        let mut resume_after_gates = Vec::new();
        for (id, step) in self.steps.clone() {
            let rec = state.steps.get(&id).cloned().unwrap_or_default();
            // Its command started where this process cannot see it: maybe
            // still running there, so never re-run on our own.
            let elsewhere = found.elsewhere.contains(&id);
            let hint = format!(
                "step `{id}` was {state} when the run stopped and {why}; decide:\n  cutover resume {r} --rerun {id}\n  cutover resume {r} --skip {id}\n  cutover resume {r} --rollback\n  cutover resume {r} --abort",
                state = rec.state.label(),
                r = self.run_ref,
                why = if elsewhere {
                    "may still be running on the host (or PID namespace) it started in"
                } else {
                    "is not `idempotent`"
                },
            );
            let uncertain = match rec.state {
                s if s.is_complete() => {
                    self.core.set(&id, Slot::Complete(s));
                    continue;
                }
                StepState::Failed if step.on_failure == OnFailure::Continue => {
                    self.core.set(&id, Slot::Failed { continued: true });
                    continue;
                }
                StepState::Failed | StepState::Stopped => true,
                StepState::Running => rec.attempt_open && !rec.last_attempt_ok,
                _ => false,
            };
            if rerun.contains(&id) {
                self.decided(&id, Choice::Rerun, "resume", said.clone());
            } else if skip.contains(&id) {
                self.decided(&id, Choice::Skip, "resume", said.clone());
            } else if uncertain
                && !rollback
                && matches!(
                    rec.decision,
                    Some(Choice::Rerun | Choice::Retry | Choice::Continue)
                )
            {
                // Decided by an earlier resume that paused for another step
                // before this one ran again: the journaled decision holds.
                self.core.set(&id, Slot::Pending);
            } else if uncertain
                && rec.state != StepState::Failed
                && step.idempotent
                && !elsewhere
                && !rollback
            {
                // (With `--rollback` nothing is re-run: no decision to journal.)
                self.decided(&id, Choice::Rerun, "idempotent", None);
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
                reason: said.clone(),
            });
            self.request(After::Rollback(RollbackReason::Operator));
            return None;
        }
        if !self.prompts.is_empty() {
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
        None
    }
}
