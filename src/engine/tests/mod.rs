//! In-process engine tests: the scheduler runs a plan against a journal in a
//! temporary directory, with fake signals (gates and triggers answer as the
//! test says), a scripted operator, injected interrupts and tokio's paused
//! clock, so time-driven behaviour (approval timeouts, a trigger's timing,
//! double Ctrl-C) takes milliseconds and journaled times are exact.
//!
//! Write one with [`Run`]: build steps with `core::tests::step`, then
//! `Run::new(steps).operator(..).after(|r| .., Msg::..).go().await` in a
//! `#[tokio::test(start_paused = true)]`, and assert on the journal
//! ([`Ran::lines`], [`Ran::events`]). The sink sees exactly the durable
//! records; every record's time is [`T0`] plus virtual time.

mod approvals;
mod hypercare;
mod interrupts;
mod resume;
mod rollback;
mod steps;
mod triggers;
mod waits;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use indexmap::IndexMap;
use tokio::sync::mpsc::UnboundedSender;

use super::execute::{Edges, Ended, Inbox, Options, ResumeInput, Start, run_with};
use super::operator::{Absent, Operator};
use super::probe::{BoxFut, GateOutcome, Signals, TriggerUpdate};
use super::resume_rules::ResumeOptions;
use super::step::Msg;
use crate::engine::EventSink;
use crate::event::{Event, GateResultKind, Outcome, Record, RunStarted};
use crate::journal::{Clock, Journal, RunState, Stamp, read_journal};
use crate::plan::Plan;
use crate::runbook::model::{
    Check, CommandRead, Gate, GateWhen, NoData, OnError, Probe, Runbook, Step, Trigger,
    TriggerAction,
};
use crate::signals::Measurement;

/// When every test run starts (the journal's clock; virtual time adds to it).
pub(super) const T0: &str = "2026-11-25T21:00:00Z";

fn t0() -> SystemTime {
    humantime::parse_rfc3339(T0).unwrap()
}

/// The journal time `ms` milliseconds after journal time `ts`.
pub(super) fn shift(ts: &str, ms: u64) -> String {
    let t = humantime::parse_rfc3339(ts).unwrap() + Duration::from_millis(ms);
    humantime::format_rfc3339_millis(t).to_string()
}

/// Gates answer as `gates` says (by gate id; pass when not named), each
/// after `gate_takes`; every trigger fires `fire_after` after it is armed
/// (never when `None`).
#[derive(Default)]
pub(super) struct FakeSignals {
    pub(super) fire_after: Option<Duration>,
    pub(super) gates: HashMap<String, GateResultKind>,
    pub(super) gate_takes: Duration,
}

impl Signals for FakeSignals {
    fn baseline(&self, _: &Check) -> BoxFut<(Option<f64>, Measurement)> {
        unreachable!("no baseline conditions in these tests")
    }

    fn gate(
        &self,
        gate: &Gate,
        _: Option<f64>,
        _: UnboundedSender<Measurement>,
    ) -> BoxFut<GateOutcome> {
        let result = self
            .gates
            .get(&gate.id)
            .copied()
            .unwrap_or(GateResultKind::Pass);
        let takes = self.gate_takes;
        Box::pin(async move {
            tokio::time::sleep(takes).await;
            GateOutcome {
                result,
                detail: None,
            }
        })
    }

    fn watch(&self, _: &Trigger, _: Option<f64>, on: UnboundedSender<TriggerUpdate>) -> BoxFut<()> {
        let after = self.fire_after;
        Box::pin(async move {
            if let Some(after) = after {
                tokio::time::sleep(after).await;
                let _ = on.send(TriggerUpdate::Fired {
                    value: Some(1.0),
                    held_ms: 0,
                });
            }
            std::future::pending::<()>().await;
        })
    }
}

/// A message for the scheduler, sent once a record matching its test is
/// shown (an interrupt "after step `a` started", a line typed then).
type Cue = (Box<dyn Fn(&Record) -> bool + Send>, Msg);

/// The sink: every record and notice, and the cues it plays.
#[derive(Clone, Default)]
struct Collect {
    records: Arc<Mutex<Vec<Record>>>,
    notices: Arc<Mutex<Vec<String>>>,
    /// Records (`record:KIND`) and notices (`notice:TEXT`) in the order shown.
    shown: Arc<Mutex<Vec<String>>>,
    cues: Arc<Mutex<Vec<Cue>>>,
    tx: Option<UnboundedSender<Msg>>,
}

impl EventSink for Collect {
    fn record(&mut self, record: &Record) {
        self.records.lock().unwrap().push(record.clone());
        self.shown
            .lock()
            .unwrap()
            .push(format!("record:{}", record.event.kind()));
        let mut cues = self.cues.lock().unwrap();
        if let Some(i) = cues.iter().position(|(when, _)| when(record)) {
            let (_, msg) = cues.remove(i);
            if let Some(tx) = &self.tx {
                let _ = tx.send(msg);
            }
        }
    }

    fn notice(&mut self, text: &str) {
        self.notices.lock().unwrap().push(text.to_string());
        self.shown.lock().unwrap().push(format!("notice:{text}"));
    }
}

/// One run of the engine, to be set up and started with [`Run::go`].
pub(super) struct Run {
    pub(super) plan: Plan,
    pub(super) signals: FakeSignals,
    operator: Box<dyn Operator>,
    cues: Vec<Cue>,
    pub(super) wait: bool,
    /// `--detach-hypercare`.
    pub(super) detach_hypercare: bool,
    resume: Option<ResumeOptions>,
    dir: Option<PathBuf>,
    /// What the schedule asks of a new run.
    pub(super) scheduling: crate::engine::Scheduling,
}

/// What a run left: its outcome, the journal, and the notices shown.
pub(super) struct Ran {
    /// How the engine left the run (`ran.outcome == Outcome::Completed`).
    pub(super) outcome: Ended,
    pub(super) records: Vec<Record>,
    pub(super) notices: Vec<String>,
    /// Records (`record:KIND`) and notices (`notice:TEXT`) in the order shown.
    pub(super) shown: Vec<String>,
    /// Keeps the journal's directory for a resume.
    pub(super) dir: tempfile::TempDir,
}

impl Run {
    pub(super) fn new(steps: Vec<Step>) -> Self {
        Run {
            plan: plan(runbook(steps, Vec::new())),
            signals: FakeSignals::default(),
            operator: Box::new(Absent),
            cues: Vec::new(),
            wait: false,
            detach_hypercare: false,
            resume: None,
            dir: None,
            scheduling: crate::engine::Scheduling::default(),
        }
    }

    pub(super) fn triggers(mut self, triggers: Vec<Trigger>) -> Self {
        self.plan.runbook.triggers = triggers;
        self
    }

    pub(super) fn operator(mut self, operator: impl Operator + 'static) -> Self {
        self.operator = Box::new(operator);
        self
    }

    /// Send `msg` to the scheduler once a record `when` accepts is shown.
    pub(super) fn after(
        mut self,
        when: impl Fn(&Record) -> bool + Send + 'static,
        msg: Msg,
    ) -> Self {
        self.cues.push((Box::new(when), msg));
        self
    }

    /// Resume the run journaled in `dir` (a copy of its journal) with `options`.
    pub(super) fn resume(mut self, dir: &Path, options: ResumeOptions) -> Self {
        self.resume = Some(options);
        self.dir = Some(dir.to_path_buf());
        self
    }

    pub(super) async fn go(self) -> Ran {
        let dir = tempfile::tempdir().unwrap();
        let from = self.dir.clone().unwrap_or_else(|| dir.path().to_path_buf());
        let path = from.join("journal.jsonl");
        if self.dir.is_some() {
            std::fs::copy(&path, dir.path().join("journal.jsonl")).unwrap();
        }
        let path = dir.path().join("journal.jsonl");
        let (journal, lock, start) = self.open(&path);
        let sink = Collect {
            cues: Arc::new(Mutex::new(self.cues)),
            ..Collect::default()
        };
        let inbox = Inbox::new();
        let sink_with_tx = Collect {
            tx: Some(inbox.tx.clone()),
            ..sink.clone()
        };
        let opts = Options {
            dry_run: false,
            yes: false,
            wait: self.wait,
            runbook_dir: dir.path().to_path_buf(),
            run_ref: "t".into(),
            start,
            scheduling: self.scheduling,
            detach_hypercare: self.detach_hypercare,
        };
        let edges = Edges {
            sink: Box::new(sink_with_tx),
            signals: Arc::new(self.signals),
            operator: self.operator,
        };
        let outcome = run_with(&self.plan, journal, edges, opts, inbox)
            .await
            .unwrap();
        drop(lock);
        let shown = sink.records.lock().unwrap().clone();
        let records = read_journal(&path).unwrap().records;
        let written_here = &records[records.len() - shown.len()..];
        assert_eq!(
            shown, written_here,
            "the sink sees exactly the durable records"
        );
        let notices = sink.notices.lock().unwrap().clone();
        let shown = sink.shown.lock().unwrap().clone();
        Ran {
            outcome,
            records,
            notices,
            shown,
            dir,
        }
    }

    /// The journal to run on (new, or the one to resume) and how to start.
    fn open(&self, path: &Path) -> (Journal, crate::journal::DriveLock, Start) {
        let stamp = stamp();
        if let Some(options) = &self.resume {
            let (journal, lock, read) = Journal::open(path, stamp).unwrap();
            let state = RunState::replay(&read.records);
            let input = ResumeInput {
                state,
                options: options.clone(),
            };
            return (journal, lock, Start::Resume(Box::new(input)));
        }
        let (journal, lock) = Journal::create(path, "t", stamp).unwrap();
        let started = started(&self.plan, false);
        (journal, lock, Start::New(Box::new(started)))
    }
}

/// `ran.outcome == Outcome::Completed`: the run ended with that outcome.
impl PartialEq<Outcome> for Ended {
    fn eq(&self, other: &Outcome) -> bool {
        *self == Ended::Outcome(*other)
    }
}

/// The stamp of every record: `op@host` on the clock that starts at [`T0`].
pub(super) fn stamp() -> Stamp {
    Stamp {
        actor: "op@host".into(),
        on_behalf: None,
        clock: Clock::starting_at(t0()),
    }
}

pub(super) fn started(plan: &Plan, dry_run: bool) -> RunStarted {
    RunStarted {
        plan_hash: plan.hash.clone(),
        runbook_name: "t".into(),
        runbook_path: "runbook.toml".into(),
        runbook_sha256: String::new(),
        change: None,
        env: None,
        production: false,
        dry_run,
        pid: 0,
        set: Vec::new(),
        plan: serde_json::Value::Null,
        rehearsal: false,
    }
}

impl Ran {
    /// The journal's story in short: `a:running`, `a:done`, `fired`,
    /// `undo:a`, `paused:step_failed`, `decision:continue`, ...
    pub(super) fn lines(&self) -> Vec<String> {
        self.records
            .iter()
            .filter_map(|r| match &r.event {
                Event::StepState { step, state, .. } => Some(format!("{step}:{}", state.label())),
                Event::TriggerFired { .. } => Some("fired".into()),
                Event::RollbackStepFinished { step, .. } => Some(format!("undo:{step}")),
                Event::Interrupted { signal } => Some(format!("interrupted:{signal}")),
                Event::Decision { choice, .. } => Some(format!("decision:{}", snake(choice))),
                Event::Paused { reason, .. } => Some(format!("paused:{}", snake(reason))),
                _ => None,
            })
            .collect()
    }

    /// The records `pick` chooses, with their times.
    pub(super) fn events<T>(&self, pick: impl Fn(&Event) -> Option<T>) -> Vec<(String, T)> {
        self.records
            .iter()
            .filter_map(|r| pick(&r.event).map(|t| (r.ts.clone(), t)))
            .collect()
    }

    /// The run's last words.
    pub(super) fn message(&self) -> String {
        match self.records.last().map(|r| &r.event) {
            Some(Event::RunFinished(f)) => f.message.clone(),
            other => panic!("the last record is run_finished, not {other:?}"),
        }
    }
}

/// How the journal spells a value (`step_failed`).
pub(super) fn snake(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A record about step `id` reaching `state` (for [`Run::after`]).
pub(super) fn state_of(
    id: &'static str,
    state: crate::event::StepState,
) -> impl Fn(&Record) -> bool + Send {
    move |r| matches!(&r.event, Event::StepState { step, state: s, .. } if step == id && *s == state)
}

pub(super) fn check(condition: &str) -> Check {
    Check {
        source: "fake".into(),
        probe: Probe::Query {
            query: "errors".into(),
        },
        command_read: CommandRead::Stdout,
        condition_text: condition.into(),
        condition: crate::condition::Condition::parse(condition).unwrap(),
        interval: Duration::from_millis(10),
        no_data: NoData::Inconclusive,
    }
}

/// A trigger `errors` armed from step `from` on.
pub(super) fn trigger(from: &str, action: TriggerAction) -> Trigger {
    Trigger {
        id: "errors".into(),
        check: check("> 0.5"),
        hold_for: Duration::ZERO,
        action,
        on_error: OnError::Pause,
        from: Some(from.into()),
        until: None,
    }
}

/// A gate `id` of its step.
pub(super) fn gate(id: &str, when: GateWhen) -> Gate {
    Gate {
        id: id.into(),
        when,
        check: check("< 1"),
        count: 1,
        failure_limit: 0,
        error_limit: 0,
        inconclusive_limit: 0,
        timeout: None,
        shadow: false,
    }
}

pub(super) fn plan(runbook: Runbook) -> Plan {
    Plan {
        format_version: 1,
        hash: "sha256:test".into(),
        runbook_path: "runbook.toml".into(),
        runbook_sha256: String::new(),
        env: None,
        production: false,
        vars: IndexMap::new(),
        waves: Vec::new(),
        schedule: crate::runbook::model::Schedule::default(),
        runbook,
        masker: crate::secrets::Masker::default(),
        secret_env: Vec::new(),
        var_pieces: IndexMap::new(),
    }
}

pub(super) fn runbook(steps: Vec<Step>, triggers: Vec<Trigger>) -> Runbook {
    Runbook {
        name: "t".into(),
        owner: None,
        change: None,
        description: None,
        max_parallel: 1,
        requires: Vec::new(),
        production: false,
        declared_identities: false,
        vars: IndexMap::new(),
        envs: IndexMap::new(),
        secrets: IndexMap::new(),
        sources: IndexMap::new(),
        notify: IndexMap::new(),
        teams: IndexMap::new(),
        triggers,
        steps,
        schedule: crate::runbook::model::Schedule::default(),
        hypercare: None,
        outcomes: Vec::new(),
        journal_url: None,
    }
}
