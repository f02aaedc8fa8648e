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

use super::approval::{Ballot, Cast};
use super::core::{Core, Slot};
use super::probe::Signals;
use super::process::KillLevel;
use super::prompt::Prompt;
use super::step::{ActionCtx, ActionResult, GatesVerdict, Msg, PhaseResult, describe};
use crate::engine::EventSink;
use crate::event::{
    Event, Outcome, PauseReason, Record, RollbackReason, RunFinished, RunStarted, StepState,
};
use crate::journal::{Journal, JournalError, RunState};
use crate::plan::Plan;
use crate::runbook::model::{Action, DryRunMode, GateWhen, OnFailure, OnReject, Step, Trigger};
use crate::signals::Verdict;

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
    /// `--wait`: without a terminal, wait for approvals from other terminals
    /// (up to the approval's `timeout`) instead of pausing at once.
    pub wait: bool,
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
    /// `--skip-rollback STEP`: the operator undid these by hand; their
    /// rollback is not run (a rollback that failed goes on with the rest).
    pub skip_rollback: Vec<String>,
    /// `--abort`: end the paused run here, without rollback.
    pub abort: bool,
    /// `--reason`: the operator's words, journaled with each decision made
    /// here (for `--skip-rollback`: how the step was undone by hand).
    pub reason: Option<String>,
}

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

pub(super) enum Mode {
    Run,
    Drain(After),
    RollingBack {
        remaining: VecDeque<String>,
        /// Steps in `remaining` rolled back although they did not finish.
        partial: Vec<String>,
        /// Steps in `remaining` whose action finished but whose after-gates
        /// did not pass.
        unconfirmed: Vec<String>,
        current: Option<String>,
        failed: Vec<String>,
    },
    Finished(Outcome),
}

pub(super) enum Effect {
    Exec(String),
    Gates(String, GateWhen),
    Rollback(String),
    Kill(KillLevel),
    Ack(oneshot::Sender<()>),
    Arm(String),
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
    let notifier = super::notify::Notifier::new(
        plan.runbook.notify.values().cloned().collect(),
        masker.clone(),
        opts.run_ref.clone(),
        tx.clone(),
        !opts.dry_run,
    );
    let mut sched = Scheduler {
        notifier,
        core: Core::new(&plan.runbook.steps, plan.runbook.max_parallel),
        steps,
        triggers: plan.runbook.triggers.clone(),
        teams: plan.runbook.teams.clone(),
        production: plan.production,
        declared_ok: plan.runbook.declared_identities,
        journal_failed: None,
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
        redecide: false,
        rollback_reason: None,
        rollback_not_run: Vec::new(),
        effects: Vec::new(),
        prompts: VecDeque::new(),
        parked: IndexMap::new(),
        interrupts: 0,
        last_interrupt: None,
        menu_open: false,
        prompt_due: false,
        deadlines: HashMap::new(),
        last_reminder: tokio::time::Instant::now(),
        wait: opts.wait,
        queries_ok: true,
        stdin_started: false,
        dry_run: opts.dry_run,
        yes: opts.yes,
        interactive: opts.interactive,
        run_ref: opts.run_ref,
        dry_final: HashMap::new(),
    };
    let interrupts = super::interrupt::listen(&sched.tx);
    let mut result = sched.run(opts.start).await;
    if result.is_ok() {
        result = sched.drain_notifications().await.and(result);
    }
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

pub(super) struct Scheduler {
    /// Why the current rollback started, for the run's final message.
    pub(super) rollback_reason: Option<RollbackReason>,
    /// The rollbacks left when a rollback step failed, in order.
    pub(super) rollback_not_run: Vec<String>,
    pub(super) steps: IndexMap<String, Step>,
    pub(super) triggers: Vec<Trigger>,
    pub(super) notifier: super::notify::Notifier,
    pub(super) teams: IndexMap<String, Vec<String>>,
    pub(super) production: bool,
    /// `[runbook] declared_identities`: in production, names given with
    /// `--as` count as the person (journaled as declared).
    pub(super) declared_ok: bool,
    /// A judged write (a vote, a timeout) failed: the next flush stops the run.
    pub(super) journal_failed: Option<JournalError>,
    pub(super) core: Core,
    pub(super) journal: Journal,
    pub(super) sink: Box<dyn EventSink>,
    pub(super) signals: Arc<dyn Signals>,
    pub(super) masker: Arc<crate::secrets::Masker>,
    pub(super) ctx: ActionCtx,
    pub(super) tx: mpsc::UnboundedSender<Msg>,
    pub(super) rx: mpsc::UnboundedReceiver<Msg>,
    /// Every record written or seen, folded: approvals, manual done, the timeline.
    pub(super) state: RunState,
    pub(super) kills: HashMap<String, watch::Sender<KillLevel>>,
    pub(super) gate_tasks: HashMap<String, JoinHandle<()>>,
    pub(super) watchers: HashMap<String, JoinHandle<()>>,
    pub(super) baselines: Arc<BTreeMap<String, f64>>,
    pub(super) mode: Mode,
    /// `decide` stopped until the journal is flushed; decide again after it.
    pub(super) redecide: bool,
    pub(super) effects: Vec<Effect>,
    pub(super) prompts: VecDeque<Prompt>,
    /// Steps stopped for this process, with why and what to do.
    pub(super) parked: IndexMap<String, (PauseReason, String)>,
    pub(super) interrupts: u32,
    /// When the last SIGINT came: a second one within a few seconds aborts.
    pub(super) last_interrupt: Option<tokio::time::Instant>,
    /// The continue / rollback / abort menu after Ctrl-C is showing.
    pub(super) menu_open: bool,
    /// Show the prompt once the records before it are on screen.
    pub(super) prompt_due: bool,
    /// Approval timeouts of steps waiting for a go/no-go.
    pub(super) deadlines: HashMap<String, tokio::time::Instant>,
    pub(super) last_reminder: tokio::time::Instant,
    pub(super) wait: bool,
    pub(super) queries_ok: bool,
    pub(super) stdin_started: bool,
    pub(super) dry_run: bool,
    pub(super) yes: bool,
    pub(super) interactive: bool,
    pub(super) run_ref: String,
    /// Dry run: the final state of a step that did not run, until its after-gates end.
    pub(super) dry_final: HashMap<String, (StepState, Option<String>)>,
}

impl Scheduler {
    pub(super) async fn run(&mut self, start: Start) -> Result<Outcome, EngineError> {
        match start {
            Start::New(started) => {
                self.journal.emit(Event::RunStarted(*started));
                self.flush()?;
                self.measure_baselines().await;
                if self.dry_run {
                    self.probe_triggers_once().await;
                }
                for id in self.trigger_ids(|t| t.from.is_none()) {
                    self.arm(&id);
                }
            }
            Start::Resume(input) => {
                let retry = input.rollback || !input.skip_rollback.is_empty();
                if let Some(outcome) = self.begin_resume(&input.state, retry) {
                    self.flush()?;
                    return Ok(outcome);
                }
                // `run_resumed` is durable before anything is stopped.
                self.flush()?;
                let Some(found) = self.stop_orphans().await? else {
                    self.flush()?;
                    return Ok(Outcome::Paused);
                };
                if let Some(outcome) = self.init_resume(*input, &found) {
                    self.flush()?;
                    return Ok(outcome);
                }
            }
        }
        loop {
            self.check_deadlines();
            self.decide();
            self.flush()?;
            if std::mem::take(&mut self.redecide) {
                self.decide();
                self.flush()?;
            }
            self.perform();
            if std::mem::take(&mut self.prompt_due) {
                self.show_prompt();
            }
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
    pub(super) fn flush(&mut self) -> Result<(), EngineError> {
        if let Some(e) = self.journal_failed.take() {
            return Err(e.into());
        }
        loop {
            let flushed = self.journal.flush()?;
            self.absorb(&flushed.external, &flushed.written);
            if !self.journal.has_pending() {
                return Ok(());
            }
        }
    }

    pub(super) fn absorb(&mut self, external: &[Record], written: &[Record]) {
        for r in external.iter().chain(written) {
            self.state.apply(r);
            self.sink.record(r);
        }
        for r in written {
            self.notifier.observe(r);
        }
        for r in written {
            if matches!(r.event, Event::ApprovalDecided { .. }) {
                self.on_decided(r);
            }
        }
        for r in external {
            self.on_external(r);
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

    // ---- deciding -------------------------------------------------------

    pub(super) fn decide(&mut self) {
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
                    if self.interactive
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
                        return;
                    }
                    self.prompts.clear();
                    match after {
                        After::Pause { .. } => self.finish_paused(Some(after)),
                        // What to roll back is read from the replayed journal
                        // (its timeline): decide it only once the
                        // last steps' ends are durable and folded in.
                        After::Rollback(_) if self.journal.has_pending() => {
                            self.redecide = true;
                            return;
                        }
                        After::Rollback(reason) => self.start_rollback(reason),
                        After::Abort => {
                            // Aborted, not paused: no `paused` record and no
                            // "continue with" (issue 11), only what happened
                            // and what is left to do.
                            let message = format!(
                                "aborted by the operator without rollback; `cutover resume {0} --rollback` rolls it back, `cutover resume {0}` would continue it",
                                self.run_ref
                            );
                            self.finish(Outcome::Aborted, message);
                        }
                    }
                    continue;
                }
                Mode::RollingBack { current: None, .. } => self.next_rollback_step(),
                Mode::RollingBack { .. } | Mode::Finished(_) => {}
            }
            return;
        }
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
        if self.dry_run {
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
        if self.yes && !self.production {
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
                Some(why) => self
                    .sink
                    .notice(&format!("step `{id}`: {why}; it needs real votes")),
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
        let step = self.steps[id].clone();
        if self.dry_run {
            let what = self.masker.mask(&describe(&step.action));
            match (&step.action, step.dry_run) {
                // Not run; its after-gates still query their sources.
                (Action::Manual { .. }, _) | (_, DryRunMode::Skip) => {
                    self.dry_final
                        .insert(id.to_string(), (StepState::WouldRun, Some(what)));
                    return self.after_gates_phase(id);
                }
                (_, DryRunMode::Simulate) => {
                    self.dry_final
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
        let (state, detail) = match self.dry_final.remove(id) {
            Some(last) => last,
            None if self.dry_run => (StepState::RanReadOnly, None),
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
            self.run_ref
        );
        if self.interrupt_pending() {
            // Ctrl-C came first: the person who pressed it decides (menu at a
            // terminal, else a pause), not the step's `on_failure`.
            self.sink.notice(&format!(
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

    pub(super) fn finish_paused(&mut self, after: Option<After>) {
        let parked: Vec<(String, (PauseReason, String))> = self.parked.drain(..).collect();
        let mut paused_steps = Vec::new();
        let mut paused_reasons = Vec::new();
        for (id, (reason, hint)) in parked {
            paused_steps.push(id.clone());
            paused_reasons.push((reason, Some(id.clone())));
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
            paused_reasons.push((reason, step.clone()));
            self.emit(Event::Paused { reason, step, hint });
        }
        let next = self.resume_line(&paused_reasons);
        self.finish(Outcome::Paused, format!("paused; {next}"));
    }

    /// The one line that says how to go on from this pause: the commands of
    /// the pause that needs the most (a decision over an approval over a
    /// plain resume), so the last line never suggests a resume that would
    /// only pause again.
    /// The two ways on from a stopped run: continue it or roll it back.
    pub(super) fn ways_on(&self) -> String {
        format!(
            "continue with: cutover resume {0}\nor roll back with: cutover resume {0} --rollback",
            self.run_ref
        )
    }

    pub(super) fn resume_line(&self, paused: &[(PauseReason, Option<String>)]) -> String {
        let r = &self.run_ref;
        let rank = |reason: PauseReason| match reason {
            PauseReason::StepFailed | PauseReason::NeedsDecision => 0,
            PauseReason::GateInconclusive => 1,
            PauseReason::ManualStep => 2,
            PauseReason::AwaitingApproval => 3,
            PauseReason::Trigger | PauseReason::Interrupted => 4,
        };
        let undecided: Vec<&str> = paused
            .iter()
            .filter(|(reason, _)| {
                matches!(reason, PauseReason::StepFailed | PauseReason::NeedsDecision)
            })
            .filter_map(|(_, step)| step.as_deref())
            .collect();
        if undecided.len() > 1 {
            let reruns: Vec<String> = undecided.iter().map(|s| format!("--rerun {s}")).collect();
            return format!(
                "decide {} at once with `cutover resume {r} {}` (write `--skip STEP` instead of `--rerun STEP` for a step that must not run again), or `cutover resume {r} --rollback | --abort`",
                crate::diag::code_list(&undecided),
                reruns.join(" ")
            );
        }
        let first = paused
            .iter()
            .filter(|(reason, step)| step.is_some() || rank(*reason) == 4)
            .min_by_key(|(reason, _)| rank(*reason));
        match first {
            Some((PauseReason::StepFailed | PauseReason::NeedsDecision, Some(s))) => format!(
                "decide with `cutover resume {r} --rerun {s} | --skip {s} | --rollback | --abort`"
            ),
            Some((PauseReason::GateInconclusive, Some(s))) => format!(
                "look at the signal, then `cutover resume {r}` (gates are measured again) or `cutover resume {r} --skip {s} | --rollback | --abort`"
            ),
            Some((PauseReason::ManualStep, Some(s))) => {
                format!("when it is done: `cutover done {r} {s}`, then `cutover resume {r}`")
            }
            Some((PauseReason::AwaitingApproval, Some(s))) => format!(
                "approve with `cutover approve {r} {s} --reason \"...\"`, then `cutover resume {r}`"
            ),
            _ => format!(
                "continue with `cutover resume {r}` (or `cutover resume {r} --rollback | --abort`)"
            ),
        }
    }

    pub(super) fn finish(&mut self, outcome: Outcome, message: String) {
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

    pub(super) fn handle(&mut self, msg: Msg) {
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
            Msg::RollbackDone {
                step,
                result,
                duration_ms,
            } => self.on_rollback_done(&step, &result, duration_ms),
            Msg::Trigger { trigger, update } => self.on_trigger(&trigger, update),
            Msg::Stdin(line) => self.on_stdin(line),
            Msg::Interrupt(signal) => self.on_interrupt(signal),
        }
    }

    pub(super) fn on_phase(&mut self, id: &str, result: PhaseResult) {
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
                    GatesVerdict::Pass => self.complete_after_gates(id),
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

    /// The run is over: journal what the webhooks could not be told (their
    /// deliveries get a few seconds to finish; the steps are long done).
    async fn drain_notifications(&mut self) -> Result<(), EngineError> {
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
