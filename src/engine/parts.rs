//! The scheduler's state in owned parts, each with one concern: the run's
//! fixed options, the interrupts so far, the prompts at this terminal, the
//! approvals' clocks, the tasks it started, and what a dry run notes.

use std::collections::{HashMap, VecDeque};

use indexmap::IndexMap;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::operator::{Answers, Operator, Prompt};
use super::process::KillLevel;
use crate::event::StepState;

/// What the run was started with; never changes while it runs.
pub(super) struct RunOptions {
    pub(super) dry_run: bool,
    /// `--detach-hypercare`: hand the hypercare watch to another process.
    pub(super) detach_hypercare: bool,
    /// `--yes`: auto-approve a plain go/no-go (never in production).
    pub(super) yes: bool,
    /// `--wait`: without a terminal, wait for approvals from other
    /// terminals (up to the approval's `timeout`) instead of pausing.
    pub(super) wait: bool,
    pub(super) production: bool,
    /// `[runbook] declared_identities`: in production, names given with
    /// `--as` count as the person (journaled as declared).
    pub(super) declared_ok: bool,
    /// How to name this run in printed commands (run id or journal path).
    pub(super) run_ref: String,
    /// The runbook's `[teams]`, for `team:NAME` approvers.
    pub(super) teams: IndexMap<String, Vec<String>>,
}

/// Ctrl-C (SIGINT) and a supervisor's SIGTERM / SIGHUP, as they came.
#[derive(Debug, Default)]
pub(super) struct Interrupts {
    /// How many came (reset when the menu's `rollback` starts one: only an
    /// interrupt during the rollback may kill it).
    pub(super) count: u32,
    /// When the last came: a second SIGINT within a few seconds aborts.
    pub(super) last: Option<Instant>,
    /// The continue / rollback / abort menu after Ctrl-C is showing.
    pub(super) menu_open: bool,
}

/// Questions put to the person at this terminal, through the [`Operator`].
pub(super) struct Prompting {
    pub(super) operator: Box<dyn Operator>,
    /// Someone here can answer (false without a terminal, or once their
    /// input ended).
    pub(super) present: bool,
    /// Open questions; the first is the one shown.
    pub(super) queue: VecDeque<Prompt>,
    /// Show the first question once the records before it are on screen.
    pub(super) due: bool,
    /// Where the person's answers go.
    pub(super) answers: Answers,
}

impl Prompting {
    /// Drop every question about step `id` (answered elsewhere).
    pub(super) fn drop_step(&mut self, id: &str) {
        self.queue.retain(|p| p.step() != Some(id));
    }
}

/// The clocks of go/no-go decisions this process waits for.
pub(super) struct Approvals {
    /// When each waiting step's approval `timeout` runs out.
    pub(super) deadlines: HashMap<String, Instant>,
    /// When "who approved, how long is left" was last repeated.
    pub(super) last_reminder: Instant,
    /// Go/no-go decisions to escalate (`escalate_after`): since when this
    /// process waits, and when to escalate.
    pub(super) escalations: HashMap<String, (Instant, Instant)>,
    /// Manual steps a `--wait` run waits for without a terminal: until
    /// their `timeout` (none: until they are marked done).
    pub(super) manual_deadlines: HashMap<String, Option<Instant>>,
}

/// The tasks the scheduler started and may have to stop.
#[derive(Default)]
pub(super) struct Tasks {
    /// How to stop a running step (`ID`) or rollback step (`rollback:ID`).
    pub(super) kills: HashMap<String, watch::Sender<KillLevel>>,
    /// Gates being evaluated, by step.
    pub(super) gates: HashMap<String, JoinHandle<()>>,
    /// Armed trigger watchers, by trigger.
    pub(super) watchers: HashMap<String, JoinHandle<()>>,
}

/// What a dry run learns on the way, for its summary.
pub(super) struct DryRunNotes {
    /// Every gate and trigger query worked (also tracked in a real run,
    /// reported only in a dry run).
    pub(super) queries_ok: bool,
    /// The final state of a step that did not run, until its after-gates end.
    pub(super) finals: HashMap<String, (StepState, Option<String>)>,
}

impl Default for DryRunNotes {
    fn default() -> Self {
        DryRunNotes {
            queries_ok: true,
            finals: HashMap::new(),
        }
    }
}
