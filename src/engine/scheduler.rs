//! The scheduler: one task that owns the run's state. Steps, gates, triggers,
//! the operator's answers and OS signals only send it messages.
//!
//! Each turn of the loop: decide (emit events, queue effects) → flush the
//! journal (one write + `sync_data`) → perform the effects (spawn a command,
//! kill a group, start a rollback). So the engine never acts on an event
//! that is not yet durable.
//!
//! Its state is in owned parts (`parts`): the fixed [`RunOptions`], the
//! [`Interrupts`] so far, [`Prompting`] at this terminal, the [`Approvals`]'
//! clocks, the [`Tasks`] it started and the [`DryRunNotes`]; beside them the
//! pure scheduling core, the mode the run is in and the journal's fold.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use tokio::sync::{mpsc, oneshot};

use super::core::Core;
use super::execute::{Ended, EngineError, Start};
use super::parts::{Approvals, DryRunNotes, Interrupts, Prompting, RunOptions, Tasks};
use super::probe::Signals;
use super::process::KillLevel;
use super::rollback::RollingBack;
use super::step::{ActionCtx, Msg};
use crate::engine::EventSink;
use crate::event::{Event, Outcome, PauseReason, Record, RollbackReason, StepState};
use crate::journal::{Journal, JournalError, RunState};
use crate::runbook::model::{GateWhen, Step, Trigger};
use crate::signals::Verdict;

/// How often the journal is checked for lines other processes appended.
const POLL: Duration = Duration::from_millis(200);
/// How long a run waits for an unreachable shared journal before it stops
/// (resumable: every record up to the outage is in it).
const OUTAGE_LIMIT: Duration = Duration::from_mins(5);
/// How often it tries again meanwhile.
const OUTAGE_RETRY: Duration = Duration::from_millis(500);

/// Whole seconds since `since`, for messages.
fn seconds_since(since: std::time::Instant) -> Duration {
    Duration::from_secs(since.elapsed().as_secs())
}

/// What to do once nothing is busy any more.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum After {
    Pause {
        reason: PauseReason,
        step: Option<String>,
        hint: String,
    },
    Rollback(RollbackReason),
    Abort,
}

impl After {
    pub(super) fn rank(&self) -> u8 {
        match self {
            After::Pause { .. } => 0,
            After::Rollback(_) => 1,
            After::Abort => 2,
        }
    }
}

/// Where the run is: starting steps, draining them before a pause, a
/// rollback or an abort, rolling back, or over.
pub(super) enum Mode {
    Run,
    Drain(After),
    RollingBack(Box<RollingBack>),
    Finished(Outcome),
    /// Hypercare goes on in another process (`--detach-hypercare`).
    HandingOver,
}

impl Mode {
    /// The loop is over: the run ended, or goes on in another process.
    fn ended(&self) -> Option<Ended> {
        match self {
            Mode::Finished(outcome) => Some(Ended::Outcome(*outcome)),
            Mode::HandingOver => Some(Ended::DetachHypercare),
            Mode::Run | Mode::Drain(_) | Mode::RollingBack(_) => None,
        }
    }
}

/// What the scheduler does once the events that decided it are durable.
pub(super) enum Effect {
    Exec(String),
    Gates(String, GateWhen),
    Rollback(String),
    Kill(KillLevel),
    Ack(oneshot::Sender<()>),
    Arm(String),
}

pub(super) struct Scheduler {
    pub(super) opts: RunOptions,
    pub(super) steps: IndexMap<String, Step>,
    pub(super) triggers: Vec<Trigger>,
    /// Which steps may start (the pure rules).
    pub(super) core: Core,
    pub(super) mode: Mode,
    /// Every record written or seen, folded: approvals, manual done, the timeline.
    pub(super) state: RunState,
    /// Steps stopped for this process, with why and what to do.
    pub(super) parked: IndexMap<String, (PauseReason, String)>,
    /// Queued until the events that decided them are durable.
    pub(super) effects: Vec<Effect>,
    /// `decide` stopped until the journal is flushed; decide again after it.
    pub(super) redecide: bool,
    pub(super) journal: Journal,
    /// A judged write (a vote, a timeout) failed: the next flush stops the run.
    pub(super) journal_failed: Option<JournalError>,
    pub(super) sink: Box<dyn EventSink>,
    /// Notices waiting for the records buffered before them (`say`).
    pub(super) notices: Vec<String>,
    pub(super) notifier: super::notify::Notifier,
    pub(super) signals: Arc<dyn Signals>,
    /// What every step task needs (the masker, the inbox's sender, ...).
    pub(super) ctx: ActionCtx,
    pub(super) rx: mpsc::UnboundedReceiver<Msg>,
    pub(super) baselines: Arc<BTreeMap<String, f64>>,
    pub(super) tasks: Tasks,
    pub(super) prompting: Prompting,
    pub(super) interrupts: Interrupts,
    pub(super) approvals: Approvals,
    pub(super) dry: DryRunNotes,
    pub(super) timing: super::timing::Timing,
    pub(super) hypercare: super::hypercare::HypercareWatch,
}

impl Scheduler {
    pub(super) async fn run(
        &mut self,
        start: Start,
        scheduling: super::Scheduling,
    ) -> Result<Ended, EngineError> {
        if let Some(outcome) = self.start(start, scheduling).await? {
            return Ok(Ended::Outcome(outcome));
        }
        loop {
            self.check_deadlines();
            self.check_waits();
            self.check_hypercare();
            self.decide();
            self.flush()?;
            if std::mem::take(&mut self.redecide) {
                self.decide();
                self.flush()?;
            }
            self.perform();
            if std::mem::take(&mut self.prompting.due) {
                self.show_prompt();
            }
            if let Some(ended) = self.mode.ended() {
                self.flush()?;
                return Ok(ended);
            }
            self.schedule_tick()?;
            self.wait_for_messages().await?;
        }
    }

    /// Journal the start (or the resume); `Some` when the run is over before
    /// its loop (a resume of an ended run, orphans that paused it, `--abort`).
    async fn start(
        &mut self,
        start: Start,
        scheduling: super::Scheduling,
    ) -> Result<Option<Outcome>, EngineError> {
        match start {
            Start::New(started) => {
                self.journal.emit(Event::RunStarted(*started));
                self.journal_schedule(&scheduling);
                self.flush()?;
                if let Some((at, _)) = scheduling.start_at
                    && let Some(outcome) = self.wait_for_start(at).await?
                {
                    return Ok(Some(outcome));
                }
                if scheduling.window_override.is_some() && self.opts.production {
                    self.add_window_gate();
                }
                self.measure_baselines().await;
                if self.opts.dry_run {
                    self.probe_triggers_once().await;
                }
                self.arm_from_start();
            }
            Start::Resume(input) => {
                let retry = input.options.retries_rollback();
                if let Some(outcome) = self.begin_resume(&input.state, retry) {
                    self.flush()?;
                    return Ok(Some(outcome));
                }
                // `run_resumed` is durable before anything is stopped.
                self.flush()?;
                let Some(found) = self.stop_orphans().await? else {
                    self.flush()?;
                    return Ok(Some(Outcome::Paused));
                };
                if let Some(outcome) = self.resume_schedule(&input.state).await? {
                    return Ok(Some(outcome));
                }
                if let Some(outcome) = self.init_resume(*input, &found) {
                    self.flush()?;
                    return Ok(Some(outcome));
                }
            }
        }
        Ok(None)
    }

    /// Handle the next message (and whatever else is ready), or after a
    /// quiet [`POLL`] read what other processes appended to the journal.
    async fn wait_for_messages(&mut self) -> Result<(), EngineError> {
        let msg = tokio::select! {
            m = self.rx.recv() => m,
            () = tokio::time::sleep(POLL) => None,
        };
        if let Some(msg) = msg {
            self.handle(msg);
            // Batch whatever else is ready (output lines) into the same flush.
            for _ in 0..1024 {
                match self.rx.try_recv() {
                    Ok(m) => self.handle(m),
                    Err(_) => break,
                }
            }
        } else {
            match self.journal.poll_external() {
                Ok(external) => self.absorb(&external, &[]),
                // The next flush waits for it to come back.
                Err(JournalError::Unreachable { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Make every buffered event durable, then show it and fold it into state.
    pub(super) fn flush(&mut self) -> Result<(), EngineError> {
        if let Some(e) = self.journal_failed.take() {
            return Err(e.into());
        }
        let mut outage = None;
        loop {
            let flushed = match self.journal.flush() {
                Ok(flushed) => flushed,
                Err(e @ JournalError::Unreachable { .. }) => {
                    self.wait_out(&mut outage, e)?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if let Some((since, _)) = outage.take() {
                self.sink.notice(&format!(
                    "the shared journal is back after {}; the run goes on",
                    humantime::format_duration(seconds_since(since))
                ));
            }
            self.absorb(&flushed.external, &flushed.written);
            if !self.journal.has_pending() {
                return Ok(());
            }
        }
    }

    /// The shared journal is unreachable: nothing is decided or started
    /// until what is buffered is durable, so wait (the buffered events are
    /// kept) and try again, saying so, for at most [`OUTAGE_LIMIT`].
    fn wait_out(
        &mut self,
        outage: &mut Option<(std::time::Instant, u64)>,
        error: JournalError,
    ) -> Result<(), EngineError> {
        let Some((since, told)) = outage else {
            *outage = Some((std::time::Instant::now(), 0));
            self.sink.notice(&format!(
                "{error}; no step starts until it is back (the run waits up to {}, retrying every {})",
                humantime::format_duration(OUTAGE_LIMIT),
                humantime::format_duration(OUTAGE_RETRY)
            ));
            std::thread::sleep(OUTAGE_RETRY);
            return Ok(());
        };
        if since.elapsed() >= OUTAGE_LIMIT {
            return Err(error.into());
        }
        // Said again every ten seconds.
        let tens = since.elapsed().as_secs() / 10;
        if tens > *told {
            *told = tens;
            self.sink.notice(&format!(
                "the shared journal is still unreachable after {}",
                humantime::format_duration(seconds_since(*since))
            ));
        }
        // Blocking on purpose: the run may not go on, and the step tasks
        // and watchers run on the other worker.
        std::thread::sleep(OUTAGE_RETRY);
        Ok(())
    }

    pub(super) fn absorb(&mut self, external: &[Record], written: &[Record]) {
        for r in external.iter().chain(written) {
            self.state.apply(r);
            self.sink.record(r);
        }
        for r in written {
            self.notifier.observe(r, &self.state);
        }
        for r in written {
            if matches!(r.event, Event::ApprovalDecided { .. }) {
                self.on_decided(r);
            }
        }
        for r in external {
            self.on_external(r);
        }
        if !self.journal.has_pending() {
            for text in std::mem::take(&mut self.notices) {
                self.sink.notice(&text);
            }
        }
    }

    /// Tell the operator `text` after the records buffered so far are on
    /// screen: a prompt or a hint always follows the events that led to it.
    pub(super) fn say(&mut self, text: &str) {
        if self.journal.has_pending() || !self.notices.is_empty() {
            self.notices.push(text.to_string());
        } else {
            self.sink.notice(text);
        }
    }

    pub(super) fn emit(&mut self, event: Event) {
        self.journal.emit(event);
    }

    pub(super) fn set_state(&mut self, step: &str, state: StepState, detail: Option<String>) {
        self.emit(Event::StepState {
            step: step.to_string(),
            state,
            detail,
        });
    }

    /// The masker every string that leaves the process goes through.
    pub(super) fn mask(&self, text: &str) -> String {
        self.ctx.masker.mask(text)
    }

    pub(super) fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Event(event) => {
                match &event {
                    Event::GateMeasurement { measurement, .. }
                        if measurement.verdict == Verdict::Error =>
                    {
                        self.dry.queries_ok = false;
                    }
                    _ => {}
                }
                self.emit(event);
            }
            Msg::Durable(event, ack) => {
                self.emit(event);
                self.effects.push(Effect::Ack(ack));
            }
            Msg::Phase { step, result } => self.on_phase(&step, result),
            Msg::RollbackDone {
                step,
                result,
                duration_ms,
            } => self.on_rollback_done(&step, &result, duration_ms),
            Msg::Trigger { trigger, update } => self.on_trigger(&trigger, update),
            Msg::Answer(line) => self.on_answer(line),
            Msg::Interrupt(signal) => self.on_interrupt(signal),
        }
    }

    /// The run is over: journal what the webhooks could not be told (their
    /// deliveries get a few seconds to finish; the steps are long done).
    pub(super) async fn drain_notifications(&mut self) -> Result<(), EngineError> {
        let undelivered = self.notifier.drain().await;
        while let Ok(msg) = self.rx.try_recv() {
            if let Msg::Event(event @ Event::NotifyFailed { .. }) = msg {
                self.emit(event);
            }
        }
        for event in undelivered {
            self.emit(event);
        }
        self.flush()
    }
}
