//! The schedule in the engine: what `cutover run` decided before the start
//! (the planned schedule, a start to wait for, steps skipped, a window
//! override) journaled after `run_started`; the wait for the start (a
//! countdown through the sink, Ctrl-C or SIGTERM cancels it cleanly); the
//! go/no-go a production run started outside its window waits for
//! (`window-override`, a step of its own with the usual approval records);
//! and, while steps run, the ETA shown through the sink and the
//! `overrun_projected` journaled when the projected end first falls past
//! the window's end.

use std::time::Duration;

use indexmap::IndexMap;
use tokio::time::Instant;

use super::core::Slot;
use super::scheduler::{Mode, Scheduler};
use super::step::Msg;
use crate::event::{Event, Outcome, SchedulePlanned, StepState};
use crate::journal::Ts;
use crate::runbook::model::{
    Action, Approval, DryRunMode, OnFailure, OnReject, OnTimeout, Retries, Step, WINDOW_GATE,
};

/// What the run's schedule asks of the engine (decided by `cutover run`).
#[derive(Debug, Clone, Default)]
pub struct Scheduling {
    /// The planned schedule to journal.
    pub planned: Option<SchedulePlanned>,
    /// Wait until then before the first step, and who set it (`--at`,
    /// `[schedule] start`).
    pub start_at: Option<(Ts, String)>,
    /// Steps skipped before the start.
    pub skips: Option<Skips>,
    /// `--override-window`: why, and what the window or freezes refused.
    pub window_override: Option<(String, Vec<String>)>,
}

/// `run --skip STEP` / `--from STEP`: the steps not to run, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skips {
    /// In runbook order: the `--skip` steps and everything `--from` needs.
    pub steps: Vec<String>,
    pub from: Option<String>,
    pub reason: String,
}

/// The scheduler's part for the schedule.
#[derive(Default)]
pub(super) struct Timing {
    /// When the ETA was last shown and checked.
    pub(super) last_eta: Option<Instant>,
    /// This process journaled `overrun_projected`.
    pub(super) overrun_sent: bool,
}

/// How often the ETA is recomputed while steps run.
const ETA_EVERY: Duration = Duration::from_secs(1);

impl Scheduler {
    /// The journal clock's now.
    pub(super) fn now(&self) -> Ts {
        Ts::from_system(self.journal.stamp().clock.now())
    }

    /// Journal what was decided before the start, right after `run_started`.
    pub(super) fn journal_schedule(&mut self, s: &Scheduling) {
        if let Some(p) = &s.planned {
            self.emit(Event::SchedulePlanned(Box::new(p.clone())));
        }
        if let Some((reason, refused)) = &s.window_override {
            self.emit(Event::WindowOverride {
                reason: reason.clone(),
                refused: refused.clone(),
            });
        }
        if let Some(skips) = &s.skips {
            self.emit(Event::StepsSkipped {
                steps: skips.steps.clone(),
                from: skips.from.clone(),
                reason: skips.reason.clone(),
            });
            let how = skips.from.as_ref().map_or_else(
                || "`--skip`".to_string(),
                |f| format!("`--from {f}` or `--skip`"),
            );
            for id in &skips.steps {
                let detail = format!("skipped before the start ({how}): {}", skips.reason);
                self.set_state(id, StepState::Skipped, Some(detail));
                self.core.set(id, Slot::Complete(StepState::Skipped));
            }
        }
        if let Some((at, by)) = &s.start_at {
            self.emit(Event::RunScheduled {
                at: crate::describe::schedule::time(*at),
                by: by.clone(),
            });
        }
    }

    /// Wait until `at`, showing how long is left; `Some(Aborted)` when a
    /// signal cancelled the wait (journaled; nothing ran).
    pub(super) async fn wait_for_start(
        &mut self,
        at: Ts,
    ) -> Result<Option<Outcome>, super::EngineError> {
        let began = self.now();
        loop {
            let now = self.now();
            if now >= at {
                break;
            }
            let left = at.since(now);
            self.sink.waiting(at, left);
            let nap = Duration::from_millis(left.min(1000));
            let msg = tokio::select! {
                m = self.rx.recv() => m,
                () = tokio::time::sleep(nap) => None,
            };
            match msg {
                Some(Msg::Interrupt(signal)) => {
                    self.emit(Event::Interrupted {
                        signal: signal.into(),
                    });
                    self.finish(
                        Outcome::Aborted,
                        format!(
                            "cancelled before its scheduled start ({}): nothing ran; `cutover resume {}` waits for it again",
                            crate::describe::schedule::time(at),
                            self.opts.run_ref
                        ),
                    );
                    self.flush()?;
                    return Ok(Some(Outcome::Aborted));
                }
                Some(_) => {}
                None => {
                    let external = self.journal.poll_external()?;
                    self.absorb(&external, &[]);
                }
            }
        }
        self.emit(Event::StartReached {
            waited_ms: self.now().since(began),
        });
        self.flush()?;
        Ok(None)
    }

    /// A production run started outside its window waits for a go/no-go
    /// (`window-override`) before any step: a step of its own, first,
    /// that every step without `needs` needs.
    pub(super) fn add_window_gate(&mut self) {
        if self.steps.contains_key(WINDOW_GATE) {
            return;
        }
        let gate = window_gate();
        let mut steps = IndexMap::with_capacity(self.steps.len() + 1);
        steps.insert(gate.id.clone(), gate);
        for (id, mut step) in std::mem::take(&mut self.steps) {
            if step.needs.is_empty() {
                step.needs.push(WINDOW_GATE.to_string());
            }
            steps.insert(id, step);
        }
        self.steps = steps;
        self.core.gate_first(WINDOW_GATE);
    }

    /// While steps run: show where the run stands (every [`ETA_EVERY`]),
    /// and journal `overrun_projected` the first time the projected end
    /// falls past the window's end.
    pub(super) fn schedule_tick(&mut self) -> Result<(), super::EngineError> {
        if self.opts.dry_run || !matches!(self.mode, Mode::Run | Mode::Drain(_)) {
            return Ok(());
        }
        if self
            .timing
            .last_eta
            .is_some_and(|t| t.elapsed() < ETA_EVERY)
        {
            return Ok(());
        }
        self.timing.last_eta = Some(Instant::now());
        let Some(eta) = self.state.eta(self.now()) else {
            return Ok(());
        };
        if eta.planned_total_ms.is_none() && eta.window_end.is_none() {
            return Ok(());
        }
        self.sink.schedule(&eta);
        if let (Some(over), Some(end), Some(window_end)) =
            (eta.overrun_ms, eta.projected_end, eta.window_end)
            && self.state.schedule.overrun.is_none()
            && !self.timing.overrun_sent
        {
            self.timing.overrun_sent = true;
            self.emit(Event::OverrunProjected {
                projected_end: crate::describe::schedule::time(end),
                window_end: crate::describe::schedule::time(window_end),
                over_ms: over,
            });
            // Written now, and so shown, folded and notified: a poll that
            // wrote it instead would only return what others appended.
            self.flush()?;
        }
        Ok(())
    }
}

/// The `window-override` go/no-go, as a step: its approval is the
/// override's sign-off (one person, not the one driving the run, with a
/// reason); a no-go aborts the run before anything ran.
fn window_gate() -> Step {
    Step {
        id: WINDOW_GATE.into(),
        owner: None,
        description: Some("go/no-go: start outside the change window".into()),
        needs: Vec::new(),
        action: Action::Manual {
            instructions: "start although the change window or a freeze period refused it".into(),
        },
        timeout: None,
        expected: None,
        grace: Duration::ZERO,
        retries: Retries {
            attempts: 0,
            backoff: Duration::ZERO,
        },
        rollback: None,
        rollback_partial: false,
        on_failure: OnFailure::Pause,
        idempotent: false,
        dry_run: DryRunMode::Skip,
        approval: Some(Approval {
            min: 1,
            approvers: Vec::new(),
            no_self_approval: true,
            reason: true,
            timeout: None,
            on_timeout: OnTimeout::Pause,
            on_reject: OnReject::Abort,
            escalate_after: None,
            escalate_to: Vec::new(),
        }),
        gates: Vec::new(),
        env: IndexMap::new(),
        workdir: None,
        milestone: None,
    }
}

impl Scheduler {
    /// Arm the triggers watched from the start: those without `from`, and
    /// those whose `from` step was skipped before the start (the run is
    /// past it), unless their `until` step is over already.
    pub(super) fn arm_from_start(&mut self) {
        let over = |core: &super::core::Core, id: &Option<String>| {
            id.as_ref()
                .is_some_and(|s| matches!(core.slot(s), Slot::Complete(_)))
        };
        let live = self.trigger_ids(|t| {
            (t.from.is_none() || over(&self.core, &t.from)) && !over(&self.core, &t.until)
        });
        for id in live {
            self.arm(&id);
        }
    }

    /// A resumed run: the wait for its start goes on if it never came (a
    /// crash or a cancel while it waited; baselines are measured once it
    /// comes), and its `window-override` go/no-go is in place again.
    pub(super) async fn resume_schedule(
        &mut self,
        state: &crate::journal::RunState,
    ) -> Result<Option<Outcome>, super::EngineError> {
        if state.schedule.waiting()
            && let Some(s) = &state.schedule.scheduled
        {
            self.sink.notice(&format!(
                "the run had not reached its scheduled start ({}): waiting for it again",
                crate::describe::schedule::time(s.at)
            ));
            if let Some(outcome) = self.wait_for_start(s.at).await? {
                return Ok(Some(outcome));
            }
            self.measure_baselines().await;
        }
        if state.schedule.window_override.is_some() && self.opts.production {
            self.add_window_gate();
        }
        Ok(None)
    }
}
