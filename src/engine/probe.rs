//! The engine's view of signals: a small trait over gates, triggers and
//! baselines, so the scheduler can be tested with a fake and wired to the
//! real sources (`crate::signals`, `crate::gate`, `crate::trigger`) in one place.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc::UnboundedSender;

use crate::event::GateResultKind;
use crate::runbook::model::{Check, Gate, Trigger};
use crate::signals::{Measurement, SourceSet, Verdict};
use crate::trigger::TriggerEvent;

pub type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How a gate ended.
#[derive(Debug, Clone, PartialEq)]
pub struct GateOutcome {
    pub result: GateResultKind,
    pub detail: Option<String>,
}

/// What a trigger watcher reports.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerUpdate {
    Measurement(Box<Measurement>),
    /// The condition held for the trigger's `for`.
    Fired {
        value: Option<f64>,
        held_ms: u64,
    },
    SourceError(String),
}

pub trait Signals: Send + Sync {
    /// Measure `check`'s query once, for `baseline` conditions: the value
    /// (reduced as the condition says) and the measurement to journal.
    fn baseline(&self, check: &Check) -> BoxFut<(Option<f64>, Measurement)>;
    /// Evaluate a gate to its end, reporting each measurement.
    fn gate(
        &self,
        gate: &Gate,
        baseline: Option<f64>,
        on: UnboundedSender<Measurement>,
    ) -> BoxFut<GateOutcome>;
    /// Watch a trigger until the future is dropped.
    fn watch(
        &self,
        trigger: &Trigger,
        baseline: Option<f64>,
        on: UnboundedSender<TriggerUpdate>,
    ) -> BoxFut<()>;
}

/// Used when no signal sources are wired in: gates error (a source that
/// cannot be asked never passes) and triggers report a source error once.
pub struct NoSignals;

const UNAVAILABLE: &str = "signal sources are not available in this build";

fn unavailable(check: &Check) -> Measurement {
    Measurement {
        source: check.source.clone(),
        source_kind: String::new(),
        query: check.probe.describe(),
        at: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        latency_ms: 0.0,
        samples: Vec::new(),
        state: None,
        value: None,
        condition: Some(check.condition_text.clone()),
        baseline: None,
        verdict: Verdict::Error,
        detail: Some(UNAVAILABLE.into()),
    }
}

impl Signals for NoSignals {
    fn baseline(&self, check: &Check) -> BoxFut<(Option<f64>, Measurement)> {
        let m = unavailable(check);
        Box::pin(async move { (None, m) })
    }

    fn gate(
        &self,
        gate: &Gate,
        _: Option<f64>,
        on: UnboundedSender<Measurement>,
    ) -> BoxFut<GateOutcome> {
        let m = unavailable(&gate.check);
        Box::pin(async move {
            let _ = on.send(m);
            GateOutcome {
                result: GateResultKind::Error,
                detail: Some(UNAVAILABLE.into()),
            }
        })
    }

    fn watch(&self, _: &Trigger, _: Option<f64>, on: UnboundedSender<TriggerUpdate>) -> BoxFut<()> {
        Box::pin(async move {
            let _ = on.send(TriggerUpdate::SourceError(UNAVAILABLE.into()));
            std::future::pending::<()>().await;
        })
    }
}

/// The real thing: the runbook's sources, `crate::gate` and `crate::trigger`.
pub struct SourceSignals {
    sources: SourceSet,
}

impl SourceSignals {
    pub fn new(sources: SourceSet) -> Self {
        SourceSignals { sources }
    }
}

impl Signals for SourceSignals {
    fn baseline(&self, check: &Check) -> BoxFut<(Option<f64>, Measurement)> {
        let (check, sources) = (check.clone(), self.sources.clone());
        Box::pin(async move {
            let b = crate::trigger::measure_baseline(&check, &sources).await;
            (b.value, b.measurement)
        })
    }

    fn gate(
        &self,
        gate: &Gate,
        baseline: Option<f64>,
        on: UnboundedSender<Measurement>,
    ) -> BoxFut<GateOutcome> {
        let (gate, sources) = (gate.clone(), self.sources.clone());
        Box::pin(async move {
            let mut forward = |m: &Measurement| {
                let _ = on.send(m.clone());
            };
            let r = crate::gate::run_gate(&gate, &sources, baseline, &mut forward).await;
            GateOutcome {
                result: match r.outcome {
                    crate::gate::GateOutcome::Pass => GateResultKind::Pass,
                    crate::gate::GateOutcome::Fail => GateResultKind::Fail,
                    crate::gate::GateOutcome::Inconclusive => GateResultKind::Inconclusive,
                    crate::gate::GateOutcome::Error => GateResultKind::Error,
                },
                detail: Some(r.reason),
            }
        })
    }

    fn watch(
        &self,
        trigger: &Trigger,
        baseline: Option<f64>,
        on: UnboundedSender<TriggerUpdate>,
    ) -> BoxFut<()> {
        let (trigger, sources) = (trigger.clone(), self.sources.clone());
        Box::pin(async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel(16);
            let watcher = crate::trigger::watch_trigger(&trigger, &sources, baseline, tx);
            let forward = async {
                let mut last_value = None;
                while let Some(event) = rx.recv().await {
                    let update = match event {
                        TriggerEvent::Measurement { measurement, .. } => {
                            last_value = measurement.value;
                            TriggerUpdate::Measurement(measurement)
                        }
                        TriggerEvent::Fired { held_for_ms, .. } => TriggerUpdate::Fired {
                            value: last_value,
                            held_ms: held_for_ms,
                        },
                        TriggerEvent::SourceError { detail, .. } => {
                            TriggerUpdate::SourceError(detail)
                        }
                    };
                    if on.send(update).is_err() {
                        return;
                    }
                }
            };
            tokio::join!(watcher, forward);
        })
    }
}
