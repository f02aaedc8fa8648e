//! Scheduler tests with a fake signal source: a trigger that fires when told.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;
use tokio::sync::mpsc::UnboundedSender;

use super::core::tests::step;
use super::probe::{BoxFut, GateOutcome, Signals, TriggerUpdate};
use super::scheduler::{Options, Start, execute};
use crate::engine::EventSink;
use crate::event::{Event, GateResultKind, Outcome, Record, RunStarted, StepState};
use crate::journal::{Journal, Stamp, read_journal};
use crate::plan::Plan;
use crate::runbook::model::{
    Action, Check, CommandRead, Gate, NoData, OnError, Probe, Runbook, Trigger, TriggerAction,
};
use crate::signals::Measurement;

/// Fires every trigger `fire_after` after it is armed; gates pass.
struct FakeSignals {
    fire_after: Duration,
}

impl Signals for FakeSignals {
    fn baseline(&self, _: &Check) -> BoxFut<(Option<f64>, Measurement)> {
        unreachable!("no baseline conditions in these tests")
    }

    fn gate(
        &self,
        _: &Gate,
        _: Option<f64>,
        _: UnboundedSender<Measurement>,
    ) -> BoxFut<GateOutcome> {
        Box::pin(async {
            GateOutcome {
                result: GateResultKind::Pass,
                detail: None,
            }
        })
    }

    fn watch(&self, _: &Trigger, _: Option<f64>, on: UnboundedSender<TriggerUpdate>) -> BoxFut<()> {
        let after = self.fire_after;
        Box::pin(async move {
            tokio::time::sleep(after).await;
            let _ = on.send(TriggerUpdate::Fired {
                value: Some(1.0),
                held_ms: 0,
            });
            std::future::pending::<()>().await;
        })
    }
}

#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<Record>>>);

impl EventSink for Collect {
    fn record(&mut self, record: &Record) {
        self.0.lock().unwrap().push(record.clone());
    }
    fn notice(&mut self, _: &str) {}
}

fn trigger(from: &str) -> Trigger {
    Trigger {
        id: "errors".into(),
        check: Check {
            source: "fake".into(),
            probe: Probe::Query {
                query: "errors".into(),
            },
            command_read: CommandRead::Stdout,
            condition_text: "> 0.5".into(),
            condition: crate::condition::Condition::parse("> 0.5").unwrap(),
            interval: Duration::from_millis(10),
            no_data: NoData::Inconclusive,
        },
        hold_for: Duration::ZERO,
        action: TriggerAction::Rollback,
        on_error: OnError::Pause,
        from: Some(from.into()),
        until: None,
    }
}

fn plan(runbook: Runbook) -> Plan {
    Plan {
        format_version: 1,
        hash: "sha256:test".into(),
        runbook_path: "runbook.toml".into(),
        runbook_sha256: String::new(),
        env: None,
        production: false,
        vars: IndexMap::new(),
        waves: Vec::new(),
        runbook,
        masker: crate::secrets::Masker::default(),
        secret_env: Vec::new(),
        var_pieces: IndexMap::new(),
    }
}

fn runbook(steps: Vec<crate::runbook::model::Step>, triggers: Vec<Trigger>) -> Runbook {
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
    }
}

async fn run(plan: &Plan, dir: &std::path::Path) -> (Outcome, Vec<Record>) {
    let path = dir.join("journal.jsonl");
    let (journal, _lock) = Journal::create(&path, "t", Stamp::new(None)).unwrap();
    let started = RunStarted {
        plan_hash: plan.hash.clone(),
        runbook_name: "t".into(),
        runbook_path: "runbook.toml".into(),
        runbook_sha256: String::new(),
        change: None,
        env: None,
        production: false,
        dry_run: false,
        pid: 0,
        set: Vec::new(),
        plan: serde_json::Value::Null,
    };
    let sink = Collect::default();
    let opts = Options {
        dry_run: false,
        yes: false,
        interactive: false,
        wait: false,
        runbook_dir: dir.to_path_buf(),
        run_ref: "t".into(),
        start: Start::New(Box::new(started)),
    };
    let signals = Arc::new(FakeSignals {
        fire_after: Duration::from_millis(200),
    });
    let outcome = execute(plan, journal, Box::new(sink.clone()), signals, opts)
        .await
        .unwrap();
    let shown = sink.0.lock().unwrap().clone();
    let durable = read_journal(&path).unwrap().records;
    assert_eq!(shown, durable, "the sink sees exactly the durable records");
    (outcome, durable)
}

fn kinds(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::StepState { step, state, .. } => Some(format!("{step}:{}", state.label())),
            Event::TriggerFired { .. } => Some("fired".into()),
            Event::RollbackStepFinished { step, .. } => Some(format!("undo:{step}")),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_fired_trigger_stops_the_step_and_rolls_back_in_reverse() {
    let dir = tempfile::tempdir().unwrap();
    let mut soak = step("soak", &["b"]);
    soak.action = Action::Run {
        command: "sleep 30".into(),
    };
    soak.grace = Duration::from_millis(100);
    let steps = vec![step("a", &[]), step("b", &["a"]), soak];
    let plan = plan(runbook(steps, vec![trigger("soak")]));
    let (outcome, records) = run(&plan, dir.path()).await;
    assert_eq!(outcome, Outcome::RolledBack);
    assert_eq!(
        kinds(&records),
        [
            "a:running",
            "a:done",
            "b:running",
            "b:done",
            "soak:running",
            "fired",
            "soak:stopped",
            "undo:b",
            "undo:a"
        ]
    );
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=records.len() as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn continue_lets_dependents_run_and_the_run_completes() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = step("bad", &[]);
    bad.action = Action::Run {
        command: "exit 1".into(),
    };
    bad.on_failure = crate::runbook::model::OnFailure::Continue;
    let plan = plan(runbook(vec![bad, step("next", &["bad"])], Vec::new()));
    let (outcome, records) = run(&plan, dir.path()).await;
    assert_eq!(outcome, Outcome::Completed);
    assert_eq!(
        kinds(&records),
        ["bad:running", "bad:failed", "next:running", "next:done"]
    );
    let Some(Event::RunFinished(f)) = records.last().map(|r| &r.event) else {
        panic!("last event is run_finished");
    };
    assert_eq!(f.failed_steps, ["bad"]);
    assert!(records.iter().all(|r| !matches!(
        r.event,
        Event::StepState {
            state: StepState::Stopped,
            ..
        }
    )));
}
