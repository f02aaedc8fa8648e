//! The scheduler: one task that owns the run's state. Steps, gates, triggers,
//! stdin and OS signals only send it messages.
//!
//! Each turn of the loop: decide (emit events, queue effects) → flush the
//! journal (one write + `sync_data`) → perform the effects (spawn a command,
//! kill a group, start a rollback). So the engine never acts on an event
//! that is not yet durable.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::core::{Core, Slot, rollback_order};
use super::probe::{Signals, TriggerUpdate};
use super::process::KillLevel;
use super::step::{
    ActionCtx, ActionResult, GatesVerdict, Msg, PhaseResult, describe, run_gates, run_rollback,
    run_step,
};
use crate::event::{
    Choice, Event, Outcome, PauseReason, Record, RollbackReason, RunFinished, RunStarted, StepState,
};
use crate::journal::{Journal, JournalError, RunState};
use crate::plan::Plan;
use crate::runbook::model::{
    Action, DryRunMode, GateWhen, OnError, OnFailure, OnReject, Step, Trigger, TriggerAction,
};
use crate::signals::Verdict;
use crate::ui::EventSink;

/// How often the journal is checked for lines other processes appended.
const POLL: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// How to run.
pub struct Options {
    pub dry_run: bool,
    /// `--yes`: auto-approve (refused in production).
    pub yes: bool,
    /// A person at a terminal can answer prompts.
    pub interactive: bool,
    /// The runbook's directory (step `workdir`s are relative to it).
    pub runbook_dir: PathBuf,
    /// How to name this run in printed commands (run id or journal path).
    pub run_ref: String,
    pub start: Start,
}

pub enum Start {
    New(Box<RunStarted>),
    Resume(Box<ResumeInput>),
}

/// A journal's state and the operator's decisions given on the command line.
pub struct ResumeInput {
    pub state: RunState,
    pub rerun: Vec<String>,
    pub skip: Vec<String>,
    pub rollback: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum After {
    Pause {
        reason: PauseReason,
        step: Option<String>,
        hint: String,
    },
    Rollback(RollbackReason),
    Abort,
}

impl After {
    fn rank(&self) -> u8 {
        match self {
            After::Pause { .. } => 0,
            After::Rollback(_) => 1,
            After::Abort => 2,
        }
    }
}

enum Mode {
    Run,
    Drain(After),
    RollingBack {
        remaining: VecDeque<String>,
        current: Option<String>,
        failed: Vec<String>,
    },
    Finished(Outcome),
}

enum Effect {
    Exec(String),
    Gates(String, GateWhen),
    Rollback(String),
    Kill(KillLevel),
    Ack(oneshot::Sender<()>),
    Arm(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Prompt {
    Approval(String),
    Manual(String),
    Failure(String),
}

/// Execute `plan` to its end (completed, rolled back, paused, aborted).
pub async fn execute(
    plan: &Plan,
    journal: Journal,
    sink: Box<dyn EventSink>,
    signals: Arc<dyn Signals>,
    opts: Options,
) -> Result<Outcome, EngineError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let masker = Arc::new(plan.masker.clone());
    let ctx = ActionCtx {
        env: Arc::new(plan.secret_env.clone()),
        runbook_dir: opts.runbook_dir.clone(),
        masker: masker.clone(),
        tx: tx.clone(),
        http: reqwest::Client::new(),
    };
    let steps: IndexMap<String, Step> = plan
        .runbook
        .steps
        .iter()
        .map(|s| (s.id.clone(), s.clone()))
        .collect();
    let mut sched = Scheduler {
        core: Core::new(&plan.runbook.steps, plan.runbook.max_parallel),
        steps,
        triggers: plan.runbook.triggers.clone(),
        production: plan.production,
        journal,
        sink,
        signals,
        masker,
        ctx,
        tx,
        rx,
        state: RunState::default(),
        kills: HashMap::new(),
        gate_tasks: HashMap::new(),
        watchers: HashMap::new(),
        baselines: Arc::new(BTreeMap::new()),
        mode: Mode::Run,
        effects: Vec::new(),
        prompts: VecDeque::new(),
        parked: IndexMap::new(),
        interrupts: 0,
        queries_ok: true,
        stdin_started: false,
        dry_run: opts.dry_run,
        yes: opts.yes,
        interactive: opts.interactive,
        run_ref: opts.run_ref,
    };
    let interrupts = super::interrupt::listen(&sched.tx);
    let result = sched.run(opts.start).await;
    if result.is_err() {
        // The journal cannot be written: nothing may go on unrecorded. Kill
        // every group still running and wait for them to be gone.
        sched.emergency_stop().await;
    }
    if let Err(e) = &result {
        tracing::error!("run stopped: {e}");
    }
    for h in interrupts {
        h.abort();
    }
    sched.stop_background();
    sched.sink.finish();
    result
}

struct Scheduler {
    steps: IndexMap<String, Step>,
    triggers: Vec<Trigger>,
    production: bool,
    core: Core,
    journal: Journal,
    sink: Box<dyn EventSink>,
    signals: Arc<dyn Signals>,
    masker: Arc<crate::secrets::Masker>,
    ctx: ActionCtx,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    /// Every record written or seen, folded: approvals, manual done, completion order.
    state: RunState,
    kills: HashMap<String, watch::Sender<KillLevel>>,
    gate_tasks: HashMap<String, JoinHandle<()>>,
    watchers: HashMap<String, JoinHandle<()>>,
    baselines: Arc<BTreeMap<String, f64>>,
    mode: Mode,
    effects: Vec<Effect>,
    prompts: VecDeque<Prompt>,
    /// Steps stopped for this process, with why and what to do.
    parked: IndexMap<String, (PauseReason, String)>,
    interrupts: u32,
    queries_ok: bool,
    stdin_started: bool,
    dry_run: bool,
    yes: bool,
    interactive: bool,
    run_ref: String,
}

impl Scheduler {
    async fn run(&mut self, start: Start) -> Result<Outcome, EngineError> {
        match start {
            Start::New(started) => {
                self.journal.emit(Event::RunStarted(*started));
                self.flush()?;
                self.measure_baselines().await;
                for t in self.triggers.clone() {
                    if t.from.is_none() {
                        self.arm(&t.id);
                    }
                }
            }
            Start::Resume(input) => {
                if let Some(outcome) = self.init_resume(*input) {
                    self.flush()?;
                    return Ok(outcome);
                }
            }
        }
        loop {
            self.decide();
            self.flush()?;
            self.perform();
            if let Mode::Finished(outcome) = self.mode {
                self.flush()?;
                return Ok(outcome);
            }
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
                let external = self.journal.poll_external()?;
                self.absorb(&external, &[]);
            }
        }
    }

    /// Make every buffered event durable, then show it and fold it into state.
    fn flush(&mut self) -> Result<(), EngineError> {
        loop {
            let flushed = self.journal.flush()?;
            self.absorb(&flushed.external, &flushed.written);
            if !self.journal.has_pending() {
                return Ok(());
            }
        }
    }

    fn absorb(&mut self, external: &[Record], written: &[Record]) {
        for r in external.iter().chain(written) {
            self.state.apply(r);
            self.sink.record(r);
        }
        for r in external {
            self.on_external(r);
        }
    }

    fn emit(&mut self, event: Event) {
        self.journal.emit(event);
    }

    fn set_state(&mut self, step: &str, state: StepState, detail: Option<String>) {
        self.emit(Event::StepState {
            step: step.to_string(),
            state,
            detail,
        });
    }

    // ---- deciding -------------------------------------------------------

    fn decide(&mut self) {
        loop {
            match &self.mode {
                Mode::Run => {
                    let ready = self.core.ready();
                    if !ready.is_empty() {
                        for id in ready {
                            self.start_step(&id);
                        }
                        continue;
                    }
                    if self.core.idle() {
                        if !self.parked.is_empty() {
                            self.finish_paused(None);
                        } else if self.core.all_complete() {
                            let failed = self.core.failed_continued();
                            let message = if self.dry_run {
                                format!(
                                    "dry run completed; {}",
                                    if self.queries_ok {
                                        "every gate and trigger query worked"
                                    } else {
                                        "some gate or trigger queries FAILED against this environment"
                                    }
                                )
                            } else if failed.is_empty() {
                                "every step done".into()
                            } else {
                                format!("completed; failed but continued: {}", failed.join(", "))
                            };
                            self.finish(Outcome::Completed, message);
                        } else {
                            self.finish(Outcome::Paused, "no step can start".into());
                        }
                    }
                }
                Mode::Drain(after) => {
                    if self.core.busy() > 0 {
                        return;
                    }
                    let after = after.clone();
                    self.prompts.clear();
                    match after {
                        After::Pause { .. } => self.finish_paused(Some(after)),
                        After::Rollback(reason) => self.start_rollback(reason),
                        After::Abort => {
                            let hint = format!(
                                "continue with: cutover resume {0}\nor roll back with: cutover resume {0} --rollback",
                                self.run_ref
                            );
                            self.emit(Event::Paused {
                                reason: PauseReason::Interrupted,
                                step: None,
                                hint,
                            });
                            self.finish(Outcome::Aborted, "aborted by the operator".into());
                        }
                    }
                    continue;
                }
                Mode::RollingBack {
                    remaining,
                    current: None,
                    failed,
                } => {
                    let failed = failed.clone();
                    if let Some(next) = remaining.front().cloned() {
                        if let Mode::RollingBack {
                            remaining, current, ..
                        } = &mut self.mode
                        {
                            remaining.pop_front();
                            *current = Some(next.clone());
                        }
                        let action = self.steps[&next]
                            .rollback
                            .as_ref()
                            .map(describe)
                            .unwrap_or_default();
                        let action = self.masker.mask(&action);
                        self.emit(Event::RollbackStepStarted {
                            step: next.clone(),
                            action,
                        });
                        self.effects.push(Effect::Rollback(next));
                    } else {
                        let ok = failed.is_empty();
                        self.emit(Event::RollbackFinished {
                            ok,
                            failed: failed.clone(),
                        });
                        if ok {
                            self.finish(Outcome::RolledBack, "rolled back".into());
                        } else {
                            self.finish(
                                Outcome::RollbackFailed,
                                format!(
                                    "ROLLBACK FAILED at `{}`; later rollbacks were not run",
                                    failed.join(", ")
                                ),
                            );
                        }
                    }
                }
                Mode::RollingBack { .. } | Mode::Finished(_) => {}
            }
            return;
        }
    }

    fn start_step(&mut self, id: &str) {
        for t in self.triggers.clone() {
            if t.from.as_deref() == Some(id) {
                self.arm(&t.id);
            }
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

    fn approval_phase(&mut self, id: &str) {
        let Some(approval) = self.steps[id].approval.clone() else {
            return self.exec_phase(id);
        };
        if self.dry_run {
            return self.exec_phase(id);
        }
        let rec = self.state.steps.get(id).cloned().unwrap_or_default();
        if rec.rejected {
            return self.rejected(id, approval.on_reject);
        }
        if rec.approvals >= approval.min.max(1) {
            return self.exec_phase(id);
        }
        if self.yes && !self.production {
            self.emit(Event::ApprovalGranted {
                step: id.to_string(),
                reason: Some("--yes".into()),
                auto: true,
            });
            return self.exec_phase(id);
        }
        if !rec.approval_requested {
            self.emit(Event::ApprovalRequested {
                step: id.to_string(),
                min: approval.min.max(1),
                approvers: approval.approvers.clone(),
            });
        }
        self.set_state(id, StepState::AwaitingApproval, None);
        let hint = format!(
            "approve with: cutover approve {0} {id} --reason \"...\"\nthen continue with: cutover resume {0}{1}",
            self.run_ref,
            if self.production {
                ""
            } else {
                "\n(or, outside production: cutover resume --yes)"
            }
        );
        self.wait_for_person(
            id,
            Prompt::Approval(id.to_string()),
            PauseReason::AwaitingApproval,
            hint,
        );
    }

    fn rejected(&mut self, id: &str, on_reject: OnReject) {
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

    fn exec_phase(&mut self, id: &str) {
        let step = self.steps[id].clone();
        if self.dry_run {
            let what = self.masker.mask(&describe(&step.action));
            match (&step.action, step.dry_run) {
                (Action::Manual { .. }, _) | (_, DryRunMode::Skip) => {
                    return self.complete(id, StepState::WouldRun, Some(what));
                }
                (_, DryRunMode::Simulate) => {
                    return self.complete(id, StepState::Simulated, Some(what));
                }
                (_, DryRunMode::Run) => {}
            }
        }
        if let Action::Manual { instructions } = &step.action {
            if self.state.steps.get(id).is_some_and(|r| r.manual_done) {
                return self.complete(id, StepState::Done, None);
            }
            let instructions = self.masker.mask(instructions);
            self.set_state(id, StepState::AwaitingOperator, Some(instructions));
            let hint = format!(
                "when it is done: cutover done {0} {id} [--note \"...\"]\nthen continue with: cutover resume {0}",
                self.run_ref
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

    fn after_gates_phase(&mut self, id: &str) {
        if self.steps[id].gates(GateWhen::After).next().is_some() {
            self.set_state(id, StepState::AfterGates, None);
            self.core.set(id, Slot::Busy);
            self.effects
                .push(Effect::Gates(id.to_string(), GateWhen::After));
        } else {
            let state = if self.dry_run {
                StepState::RanReadOnly
            } else {
                StepState::Done
            };
            self.complete(id, state, None);
        }
    }

    fn complete(&mut self, id: &str, state: StepState, detail: Option<String>) {
        self.set_state(id, state, detail);
        self.core.set(id, Slot::Complete(state));
        self.parked.shift_remove(id);
        for t in self.triggers.clone() {
            if t.until.as_deref() == Some(id) {
                self.disarm(&t.id);
            }
        }
    }

    fn step_failed(&mut self, id: &str, why: String) {
        self.set_state(id, StepState::Failed, Some(why));
        let hint = format!(
            "decide, then continue:\n  cutover resume {0} --rerun {id}     (run it again)\n  cutover resume {0} --skip {id}      (carry on without it)\n  cutover resume {0} --rollback       (roll back completed steps)",
            self.run_ref
        );
        match self.steps[id].on_failure {
            OnFailure::Rollback => {
                self.core.set(id, Slot::Failed { continued: false });
                self.request(After::Rollback(RollbackReason::StepFailed {
                    step: id.to_string(),
                }));
            }
            OnFailure::Continue => self.core.set(id, Slot::Failed { continued: true }),
            OnFailure::Ask if self.interactive => self.wait_for_person(
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

    /// Ask at the terminal, or (non-interactive) stop here and say how to go on.
    fn wait_for_person(&mut self, id: &str, prompt: Prompt, reason: PauseReason, hint: String) {
        if self.interactive && matches!(self.mode, Mode::Run) {
            self.core.set(id, Slot::Prompt);
            self.prompts.push_back(prompt);
            if self.prompts.len() == 1 {
                self.show_prompt();
            }
            self.start_stdin();
        } else {
            self.park(id, reason, hint);
        }
    }

    /// Park the step and start no other step: a failure or an unclear gate
    /// needs a person before anything else happens. (Approvals and manual
    /// steps park alone; independent branches go on meanwhile.)
    fn park_and_stop(&mut self, id: &str, reason: PauseReason, hint: String) {
        self.park(id, reason, hint);
        self.request(After::Pause {
            reason,
            step: Some(id.to_string()),
            hint: String::new(),
        });
    }

    fn park(&mut self, id: &str, reason: PauseReason, hint: String) {
        self.core.set(id, Slot::Parked);
        self.parked.insert(id.to_string(), (reason, hint));
    }

    /// Stop starting steps and, when nothing is busy, do `after`. A stronger
    /// request (abort > rollback > pause) replaces a weaker one.
    fn request(&mut self, after: After) {
        let kill = matches!(after, After::Rollback(_) | After::Abort);
        match &self.mode {
            Mode::Run => self.mode = Mode::Drain(after),
            Mode::Drain(current) if after.rank() > current.rank() => self.mode = Mode::Drain(after),
            _ => return,
        }
        if kill {
            self.effects.push(Effect::Kill(KillLevel::Graceful));
            // Gates are only reads: stop them at once.
            let ids: Vec<String> = self.gate_tasks.keys().cloned().collect();
            for id in ids {
                if let Some(h) = self.gate_tasks.remove(&id) {
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

    fn finish_paused(&mut self, after: Option<After>) {
        let parked: Vec<(String, (PauseReason, String))> = self.parked.drain(..).collect();
        let mut paused_steps = Vec::new();
        for (id, (reason, hint)) in parked {
            paused_steps.push(id.clone());
            self.emit(Event::Paused {
                reason,
                step: Some(id),
                hint,
            });
        }
        if let Some(After::Pause { reason, step, hint }) = after
            && !hint.is_empty()
            && step.as_ref().is_none_or(|s| !paused_steps.contains(s))
        {
            self.emit(Event::Paused { reason, step, hint });
        }
        self.finish(
            Outcome::Paused,
            format!("paused; continue with `cutover resume {}`", self.run_ref),
        );
    }

    fn start_rollback(&mut self, reason: RollbackReason) {
        let ids: Vec<String> = self.watchers.keys().cloned().collect();
        for id in ids {
            self.disarm(&id);
        }
        let done: Vec<String> = self
            .state
            .steps
            .iter()
            .filter(|(_, r)| r.rolled_back)
            .map(|(id, _)| id.clone())
            .collect();
        let order = rollback_order(&self.state.completion_order, &self.steps, &done);
        self.emit(Event::RollbackStarted {
            reason,
            steps: order.clone(),
        });
        self.mode = Mode::RollingBack {
            remaining: order.into(),
            current: None,
            failed: Vec::new(),
        };
    }

    fn finish(&mut self, outcome: Outcome, message: String) {
        let ids: Vec<String> = self.watchers.keys().cloned().collect();
        for id in ids {
            self.disarm(&id);
        }
        self.emit(Event::RunFinished(RunFinished {
            outcome,
            exit_code: outcome.exit_code(),
            dry_run: self.dry_run,
            failed_steps: self.core.failed_continued(),
            queries_ok: self.dry_run.then_some(self.queries_ok),
            message,
        }));
        self.mode = Mode::Finished(outcome);
    }

    // ---- messages -------------------------------------------------------

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Event(event) => {
                match &event {
                    Event::GateMeasurement { measurement, .. }
                        if measurement.verdict == Verdict::Error =>
                    {
                        self.queries_ok = false;
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
            Msg::RollbackDone { step, result } => self.on_rollback_done(&step, &result),
            Msg::Trigger { trigger, update } => self.on_trigger(&trigger, update),
            Msg::Stdin(line) => self.on_stdin(line),
            Msg::Interrupt(signal) => self.on_interrupt(signal),
        }
    }

    fn on_phase(&mut self, id: &str, result: PhaseResult) {
        self.kills.remove(id);
        self.gate_tasks.remove(id);
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
                let verdict = if self.dry_run {
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
                    GatesVerdict::Pass => self.complete(
                        id,
                        if self.dry_run {
                            StepState::RanReadOnly
                        } else {
                            StepState::Done
                        },
                        None,
                    ),
                    GatesVerdict::Fail(why) => self.step_failed(id, why),
                    GatesVerdict::Inconclusive(why) => {
                        let hint = format!(
                            "{why}\nlook at the signal, then: cutover resume {0} (gates are measured again), --skip {id}, or --rollback",
                            self.run_ref
                        );
                        self.park_and_stop(id, PauseReason::GateInconclusive, hint);
                    }
                }
            }
        }
    }

    fn on_rollback_done(&mut self, id: &str, result: &ActionResult) {
        self.kills.remove(&format!("rollback:{id}"));
        self.emit(Event::RollbackStepFinished {
            step: id.to_string(),
            ok: result.ok,
            exit_code: result.exit_code,
            duration_ms: 0,
            detail: result.detail.clone(),
        });
        if let Mode::RollingBack {
            remaining,
            current,
            failed,
        } = &mut self.mode
        {
            *current = None;
            if !result.ok {
                // Stop: rolling back earlier steps on top of a half-undone later one
                // can make things worse. A person decides.
                failed.push(id.to_string());
                remaining.clear();
            }
        }
    }

    fn on_trigger(&mut self, id: &str, update: TriggerUpdate) {
        if !matches!(self.mode, Mode::Run | Mode::Drain(_)) || !self.watchers.contains_key(id) {
            return;
        }
        let Some(trigger) = self.triggers.iter().find(|t| t.id == id).cloned() else {
            return;
        };
        match update {
            TriggerUpdate::Measurement(m) => {
                if m.verdict == Verdict::Error {
                    self.queries_ok = false;
                }
                self.emit(Event::TriggerMeasurement {
                    trigger: id.to_string(),
                    measurement: *m,
                });
            }
            TriggerUpdate::SourceError(detail) => {
                self.queries_ok = false;
                self.emit(Event::TriggerSourceError {
                    trigger: id.to_string(),
                    detail: self.masker.mask(&detail),
                });
                if self.dry_run {
                    return;
                }
                match trigger.on_error {
                    OnError::Ignore => {}
                    OnError::Pause => self.request(After::Pause {
                        reason: PauseReason::Trigger,
                        step: None,
                        hint: format!(
                            "trigger `{id}` cannot read its source; continue with: cutover resume {}",
                            self.run_ref
                        ),
                    }),
                    OnError::Rollback => self.request(After::Rollback(RollbackReason::Trigger { trigger: id.to_string() })),
                }
            }
            TriggerUpdate::Fired { value, held_ms } => {
                let action = match trigger.action {
                    TriggerAction::Rollback => "rollback",
                    TriggerAction::Pause => "pause",
                    TriggerAction::Notify => "notify",
                };
                self.emit(Event::TriggerFired {
                    trigger: id.to_string(),
                    action: action.into(),
                    condition: trigger.check.condition_text.clone(),
                    value,
                    held_ms,
                });
                self.disarm(id);
                if self.dry_run {
                    return;
                }
                match trigger.action {
                    TriggerAction::Rollback => {
                        self.request(After::Rollback(RollbackReason::Trigger { trigger: id.to_string() }));
                    }
                    TriggerAction::Pause => self.request(After::Pause {
                        reason: PauseReason::Trigger,
                        step: None,
                        hint: format!(
                            "trigger `{id}` fired; continue with: cutover resume {0}, or roll back: cutover resume {0} --rollback",
                            self.run_ref
                        ),
                    }),
                    TriggerAction::Notify => {}
                }
            }
        }
    }

    fn on_interrupt(&mut self, signal: &'static str) {
        self.interrupts += 1;
        if self.interrupts == 1 {
            self.emit(Event::Interrupted {
                signal: signal.into(),
            });
            if matches!(self.mode, Mode::RollingBack { .. }) {
                self.sink
                    .notice("rolling back: the rollback goes on; interrupt again to kill it (the run then ends as rollback failed)");
            } else {
                self.sink.notice("stopping: in-flight steps get SIGTERM, then SIGKILL after their grace period; interrupt again to kill them now");
                self.request(After::Abort);
            }
        } else {
            self.effects.push(Effect::Kill(KillLevel::Now));
        }
    }

    fn on_external(&mut self, record: &Record) {
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
            Event::ApprovalGranted { step, .. } => {
                let waiting = self
                    .state
                    .steps
                    .get(step)
                    .is_some_and(|r| r.state == StepState::AwaitingApproval);
                if waiting && matches!(self.core.slot(step), Slot::Prompt | Slot::Parked) {
                    let min = self
                        .steps
                        .get(step)
                        .and_then(|s| s.approval.as_ref())
                        .map_or(1, |a| a.min.max(1));
                    if self
                        .state
                        .steps
                        .get(step)
                        .is_some_and(|r| r.approvals >= min)
                    {
                        self.unwait(step);
                        self.exec_phase(step);
                    }
                }
            }
            Event::ApprovalRejected { step, .. } => {
                if matches!(self.core.slot(step), Slot::Prompt | Slot::Parked) {
                    let on_reject = self
                        .steps
                        .get(step)
                        .and_then(|s| s.approval.as_ref())
                        .map_or(OnReject::Abort, |a| a.on_reject);
                    self.unwait(step);
                    self.rejected(step, on_reject);
                }
            }
            _ => {}
        }
    }

    /// A person answered from elsewhere: drop the prompt or the park.
    fn unwait(&mut self, id: &str) {
        self.prompts.retain(|p| match p {
            Prompt::Approval(s) | Prompt::Manual(s) | Prompt::Failure(s) => s != id,
        });
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

    fn show_prompt(&mut self) {
        let text = match self.prompts.front() {
            Some(Prompt::Approval(id)) => format!(
                "step `{id}` needs approval: type `yes REASON` to approve, `no REASON` to reject (or approve from another terminal: cutover approve {} {id})",
                self.run_ref
            ),
            Some(Prompt::Manual(id)) => format!(
                "manual step `{id}`: do it, then type `done [NOTE]` (or run: cutover done {} {id})",
                self.run_ref
            ),
            Some(Prompt::Failure(id)) => {
                format!("step `{id}` failed: type retry, skip, rollback or abort")
            }
            None => return,
        };
        self.sink.notice(&text);
    }

    fn start_stdin(&mut self) {
        if self.stdin_started {
            return;
        }
        self.stdin_started = true;
        let tx = self.tx.clone();
        // A blocking reader thread: stdin cannot be read asynchronously portably,
        // and this one only lives while a prompt is open or until the process ends.
        std::thread::spawn(move || {
            let mut line = String::new();
            loop {
                line.clear();
                match std::io::stdin().read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Msg::Stdin(None));
                        return;
                    }
                    Ok(_) => {
                        if tx.send(Msg::Stdin(Some(line.trim().to_string()))).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }

    fn on_stdin(&mut self, line: Option<String>) {
        let Some(line) = line else {
            // No one can answer any more: park what was asked.
            self.interactive = false;
            let open: Vec<Prompt> = self.prompts.drain(..).collect();
            for p in open {
                let (Prompt::Approval(id) | Prompt::Manual(id) | Prompt::Failure(id)) = &p;
                let reason = match p {
                    Prompt::Approval(_) => PauseReason::AwaitingApproval,
                    Prompt::Manual(_) => PauseReason::ManualStep,
                    Prompt::Failure(_) => PauseReason::StepFailed,
                };
                let hint = format!("continue with: cutover resume {}", self.run_ref);
                self.park(id, reason, hint);
            }
            return;
        };
        let Some(prompt) = self.prompts.front().cloned() else {
            return;
        };
        let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let rest = (!rest.trim().is_empty()).then(|| self.masker.mask(rest.trim()));
        let word = word.to_ascii_lowercase();
        let handled = match (&prompt, word.as_str()) {
            (Prompt::Approval(id), "y" | "yes") => {
                self.emit(Event::ApprovalGranted {
                    step: id.clone(),
                    reason: rest,
                    auto: false,
                });
                self.core.set(id, Slot::Pending);
                self.exec_phase(id);
                true
            }
            (Prompt::Approval(id), "n" | "no") => {
                self.emit(Event::ApprovalRejected {
                    step: id.clone(),
                    reason: rest,
                });
                let on_reject = self.steps[id]
                    .approval
                    .as_ref()
                    .map_or(OnReject::Abort, |a| a.on_reject);
                self.rejected(id, on_reject);
                true
            }
            (Prompt::Manual(id), "done" | "d" | "y" | "yes") => {
                self.emit(Event::ManualDone {
                    step: id.clone(),
                    note: rest,
                });
                self.complete(id, StepState::Done, None);
                true
            }
            (Prompt::Failure(id), choice) => {
                let choice = match choice {
                    "retry" | "r" => Some(Choice::Retry),
                    "skip" | "s" => Some(Choice::Skip),
                    "rollback" => Some(Choice::Rollback),
                    "abort" | "a" => Some(Choice::Abort),
                    _ => None,
                };
                if let Some(choice) = choice {
                    self.decided(id, choice, "on_failure");
                }
                choice.is_some()
            }
            _ => false,
        };
        if handled {
            self.prompts.pop_front();
        }
        self.show_prompt();
    }

    /// Journal an operator's choice about a step and act on it.
    fn decided(&mut self, id: &str, choice: Choice, context: &str) {
        self.emit(Event::Decision {
            step: Some(id.to_string()),
            choice,
            context: context.into(),
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

    // ---- effects --------------------------------------------------------

    fn perform(&mut self) {
        for effect in std::mem::take(&mut self.effects) {
            match effect {
                Effect::Ack(ack) => {
                    let _ = ack.send(());
                }
                Effect::Exec(id) => {
                    let (kill_tx, kill_rx) = watch::channel(KillLevel::None);
                    self.kills.insert(id.clone(), kill_tx);
                    tokio::spawn(run_step(self.steps[&id].clone(), self.ctx.clone(), kill_rx));
                }
                Effect::Rollback(id) => {
                    let (kill_tx, kill_rx) = watch::channel(KillLevel::None);
                    self.kills.insert(format!("rollback:{id}"), kill_tx);
                    tokio::spawn(run_rollback(
                        self.steps[&id].clone(),
                        self.ctx.clone(),
                        kill_rx,
                    ));
                }
                Effect::Gates(id, when) => {
                    let handle = tokio::spawn(run_gates(
                        self.steps[&id].clone(),
                        when,
                        self.signals.clone(),
                        self.baselines.clone(),
                        self.masker.clone(),
                        self.tx.clone(),
                    ));
                    self.gate_tasks.insert(id, handle);
                }
                Effect::Kill(level) => {
                    for (id, kill) in &self.kills {
                        // A graceful stop never touches a rollback in progress.
                        if level == KillLevel::Graceful && id.starts_with("rollback:") {
                            continue;
                        }
                        let _ = kill.send(level);
                    }
                }
                Effect::Arm(id) => {
                    let Some(trigger) = self.triggers.iter().find(|t| t.id == id).cloned() else {
                        continue;
                    };
                    let (up_tx, mut up_rx) = mpsc::unbounded_channel();
                    let tx = self.tx.clone();
                    let baseline = self.baselines.get(&id).copied();
                    let watch = self.signals.watch(&trigger, baseline, up_tx);
                    let tid = id.clone();
                    let handle = tokio::spawn(async move {
                        let forward = async {
                            while let Some(update) = up_rx.recv().await {
                                if tx
                                    .send(Msg::Trigger {
                                        trigger: tid.clone(),
                                        update,
                                    })
                                    .is_err()
                                {
                                    return;
                                }
                            }
                        };
                        tokio::join!(watch, forward);
                    });
                    if let Some(old) = self.watchers.insert(id, handle) {
                        old.abort();
                    }
                }
            }
        }
    }

    fn arm(&mut self, id: &str) {
        if self.watchers.contains_key(id)
            || self
                .effects
                .iter()
                .any(|e| matches!(e, Effect::Arm(t) if t == id))
        {
            return;
        }
        self.emit(Event::TriggerArmed {
            trigger: id.to_string(),
        });
        // Placeholder until `perform` spawns the watcher, so a disarm before then works.
        self.watchers.insert(id.to_string(), tokio::spawn(async {}));
        self.effects.push(Effect::Arm(id.to_string()));
    }

    fn disarm(&mut self, id: &str) {
        if let Some(handle) = self.watchers.remove(id) {
            handle.abort();
            self.effects
                .retain(|e| !matches!(e, Effect::Arm(t) if t == id));
            self.emit(Event::TriggerDisarmed {
                trigger: id.to_string(),
            });
        }
    }

    async fn emergency_stop(&mut self) {
        for kill in self.kills.values() {
            let _ = kill.send(KillLevel::Now);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !self.kills.is_empty() {
            let msg = tokio::select! {
                m = self.rx.recv() => m,
                () = tokio::time::sleep_until(deadline) => return,
            };
            match msg {
                Some(Msg::Phase { step, .. }) => {
                    self.kills.remove(&step);
                }
                Some(Msg::RollbackDone { step, .. }) => {
                    self.kills.remove(&format!("rollback:{step}"));
                }
                Some(Msg::Durable(_, ack)) => drop(ack),
                Some(_) => {}
                None => return,
            }
        }
    }

    fn stop_background(&mut self) {
        for (_, h) in self.watchers.drain() {
            h.abort();
        }
        for (_, h) in self.gate_tasks.drain() {
            h.abort();
        }
    }

    async fn measure_baselines(&mut self) {
        let mut values = BTreeMap::new();
        let mut checks = Vec::new();
        for t in &self.triggers {
            if t.check.condition.uses_baseline() {
                checks.push((t.id.clone(), t.check.clone()));
            }
        }
        for s in self.steps.values() {
            for g in &s.gates {
                if g.check.condition.uses_baseline() {
                    checks.push((format!("{}.{}", s.id, g.id), g.check.clone()));
                }
            }
        }
        for (key, check) in checks {
            let (value, m) = self.signals.baseline(&check).await;
            if let Some(v) = value {
                values.insert(key.clone(), v);
            }
            if m.verdict == Verdict::Error {
                self.queries_ok = false;
            }
            self.emit(Event::Baseline {
                check: key,
                value,
                measurement: m,
            });
        }
        self.baselines = Arc::new(values);
    }

    // ---- resume ---------------------------------------------------------

    /// Rebuild the scheduler's view from the journal. `Some(outcome)` when
    /// the run had already ended for good.
    fn init_resume(&mut self, input: ResumeInput) -> Option<Outcome> {
        let ResumeInput {
            state,
            rerun,
            skip,
            rollback,
        } = input;
        if let Some(outcome) = state.outcome()
            && matches!(
                outcome,
                Outcome::Completed | Outcome::RolledBack | Outcome::RollbackFailed
            )
        {
            self.state = state;
            return Some(outcome);
        }
        self.baselines = Arc::new(state.baselines.clone());
        self.state = state.clone();
        self.emit(Event::RunResumed {
            pid: std::process::id(),
        });
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
                current: None,
                failed: rb.failed.clone(),
            };
            return None;
        }
        let mut resume_after_gates = Vec::new();
        for (id, step) in self.steps.clone() {
            let rec = state.steps.get(&id).cloned().unwrap_or_default();
            let hint = format!(
                "step `{id}` was {} when the run stopped and is not `idempotent`; decide:\n  cutover resume {1} --rerun {id}\n  cutover resume {1} --skip {id}\n  cutover resume {1} --rollback",
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
                    self.prompts.push_back(Prompt::Failure(id.clone()));
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
