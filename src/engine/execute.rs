//! The engine's entry: what a run needs (`Options`, `Start`, the `Edges` it
//! talks to), building the scheduler from a plan, and running it to its end.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use indexmap::IndexMap;
use tokio::sync::mpsc;

use super::core::Core;
use super::operator::{Answers, Operator};
use super::parts::{Approvals, DryRunNotes, Interrupts, Prompting, RunOptions, Tasks};
use super::probe::Signals;
use super::resume_rules::ResumeOptions;
use super::scheduler::{Mode, Scheduler};
use super::step::{ActionCtx, Msg};
use crate::engine::EventSink;
use crate::event::{Outcome, RunStarted};
use crate::journal::{Journal, JournalError, RunState};
use crate::plan::Plan;
use crate::runbook::model::Step;

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
    /// `--wait`: without a terminal, wait for approvals from other terminals
    /// (up to the approval's `timeout`) instead of pausing at once.
    pub wait: bool,
    /// The runbook's directory (step `workdir`s are relative to it).
    pub runbook_dir: PathBuf,
    /// How to name this run in printed commands (run id or journal path).
    pub run_ref: String,
    pub start: Start,
    /// What the schedule asks (a new run; a resume finds it in the journal).
    pub scheduling: super::Scheduling,
    /// `--detach-hypercare`: once every step is done and hypercare starts
    /// (or goes on, in a resume), stop driving the run so a background
    /// process takes the watch over ([`Ended::DetachHypercare`]).
    pub detach_hypercare: bool,
}

/// How [`execute`] left the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The run ended, or stopped (paused, aborted), with this outcome.
    Outcome(Outcome),
    /// Every step is done and the run is in hypercare (journaled); this
    /// process disarmed its triggers and stopped driving it without a
    /// `run_finished`, so another process takes the watch over
    /// ([`Options::detach_hypercare`]).
    DetachHypercare,
}

pub enum Start {
    New(Box<RunStarted>),
    Resume(Box<ResumeInput>),
}

/// A journal's state and the operator's decisions given on the command line.
pub struct ResumeInput {
    pub state: RunState,
    pub options: ResumeOptions,
}

/// What the engine talks to outside itself.
pub struct Edges {
    /// Where every durable record and notice goes (`ui` shows them).
    pub sink: Box<dyn EventSink>,
    /// Where gates and triggers read their measurements.
    pub signals: Arc<dyn Signals>,
    /// The person driving the run (`ui`'s terminal, or a script in tests).
    pub operator: Box<dyn Operator>,
}

/// The scheduler's inbox. Every task, the operator's answers and OS
/// signals send to it; in-process tests keep a sender to play signals.
pub(crate) struct Inbox {
    pub(crate) tx: mpsc::UnboundedSender<Msg>,
    pub(crate) rx: mpsc::UnboundedReceiver<Msg>,
}

impl Inbox {
    pub(crate) fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Inbox { tx, rx }
    }
}

/// Execute `plan` to its end (completed, rolled back, paused, aborted),
/// with SIGINT, SIGTERM and SIGHUP turned into the scheduler's messages.
pub async fn execute(
    plan: &Plan,
    journal: Journal,
    edges: Edges,
    opts: Options,
) -> Result<Ended, EngineError> {
    let inbox = Inbox::new();
    let interrupts = super::interrupt::listen(&inbox.tx);
    let result = run_with(plan, journal, edges, opts, inbox).await;
    for h in interrupts {
        h.abort();
    }
    result
}

/// Execute `plan` with messages from `inbox` only (no OS signals).
pub(crate) async fn run_with(
    plan: &Plan,
    journal: Journal,
    edges: Edges,
    opts: Options,
    inbox: Inbox,
) -> Result<Ended, EngineError> {
    let Options {
        dry_run,
        yes,
        wait,
        runbook_dir,
        run_ref,
        start,
        scheduling,
        detach_hypercare,
    } = opts;
    let run_opts = RunOptions {
        dry_run,
        detach_hypercare,
        yes,
        wait,
        production: plan.production,
        declared_ok: plan.runbook.declared_identities,
        run_ref,
        teams: plan.runbook.teams.clone(),
    };
    let mut sched = Scheduler::new(plan, journal, edges, run_opts, runbook_dir, inbox);
    let mut result = sched.run(start, scheduling).await;
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
    sched.stop_background();
    sched.sink.finish();
    result
}

impl Scheduler {
    fn new(
        plan: &Plan,
        journal: Journal,
        edges: Edges,
        opts: RunOptions,
        runbook_dir: PathBuf,
        inbox: Inbox,
    ) -> Scheduler {
        let Inbox { tx, rx } = inbox;
        let masker = Arc::new(plan.masker.clone());
        let ctx = ActionCtx {
            env: Arc::new(plan.secret_env.clone()),
            runbook_dir,
            masker: masker.clone(),
            tx: tx.clone(),
            http: Arc::default(),
        };
        let steps: IndexMap<String, Step> = plan
            .runbook
            .steps
            .iter()
            .map(|s| (s.id.clone(), s.clone()))
            .collect();
        let notifier = super::notify::Notifier::new(
            plan.runbook.notify.values().cloned().collect(),
            masker,
            opts.run_ref.clone(),
            tx.clone(),
            !opts.dry_run,
        );
        let prompting = Prompting {
            present: edges.operator.present(),
            operator: edges.operator,
            queue: VecDeque::new(),
            due: false,
            answers: Answers::new(tx),
        };
        Scheduler {
            opts,
            core: Core::new(&plan.runbook.steps, plan.runbook.max_parallel),
            steps,
            triggers: plan.runbook.triggers.clone(),
            mode: Mode::Run,
            state: RunState::default(),
            parked: IndexMap::new(),
            effects: Vec::new(),
            redecide: false,
            journal,
            journal_failed: None,
            sink: edges.sink,
            notices: Vec::new(),
            notifier,
            signals: edges.signals,
            ctx,
            rx,
            baselines: Arc::new(BTreeMap::new()),
            hypercare: super::hypercare::HypercareWatch {
                plan: plan.runbook.hypercare.clone(),
                outcomes: plan.runbook.outcomes.clone(),
                ..Default::default()
            },
            tasks: Tasks::default(),
            prompting,
            interrupts: Interrupts::default(),
            approvals: Approvals {
                deadlines: HashMap::new(),
                last_reminder: tokio::time::Instant::now(),
                escalations: HashMap::new(),
                manual_deadlines: HashMap::new(),
            },
            dry: DryRunNotes::default(),
            timing: super::timing::Timing::default(),
        }
    }
}
