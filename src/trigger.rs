//! Rollback triggers: a condition (`fire_if`) watched in the background that
//! fires only once it has held continuously for `for`. `TriggerState` is the
//! synchronous decision (unit-tested with injected `Instant`s);
//! `watch_trigger` measures every `interval` and sends `TriggerEvent`s to the
//! engine. Also the baseline that `baseline`-relative conditions compare to.
//!
//! A measurement that errors is *reported* (`SourceError`, with the trigger's
//! `on_error` policy for the engine to apply): a trigger whose source is down
//! is never silently healthy. Only an observed "holds" continues a hold: an
//! error, inconclusive or "does not hold" measurement restarts the `for` clock,
//! so a trigger never fires across a gap in what it saw.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;

use crate::condition::Reduction;
use crate::runbook::model::{Check, OnError, Trigger, TriggerAction};
use crate::signals::{Measurement, SourceSet, Verdict};

/// What one observation made of a trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerStatus {
    /// `fire_if` does not hold.
    Healthy,
    /// `fire_if` holds since `since`, not yet for `for`.
    Holding { since: Instant },
    /// `fire_if` has held for `held_for` (≥ `for`): act.
    Fired { held_for: Duration },
    /// The measurement could not be judged (no data, NaN): not healthy, not firing.
    Inconclusive,
    /// The source could not be read; the engine applies `on_error`.
    SourceError { on_error: OnError },
}

#[derive(Debug, Clone)]
pub struct TriggerState {
    hold_for: Duration,
    on_error: OnError,
    holding_since: Option<Instant>,
    fired: bool,
}

impl TriggerState {
    pub fn new(trigger: &Trigger) -> Self {
        TriggerState {
            hold_for: trigger.hold_for,
            on_error: trigger.on_error,
            holding_since: None,
            fired: false,
        }
    }

    pub fn has_fired(&self) -> bool {
        self.fired
    }

    /// Observe one measurement verdict (`Pass` means `fire_if` holds) taken at `now`.
    pub fn observe(&mut self, verdict: Verdict, now: Instant) -> TriggerStatus {
        match verdict {
            Verdict::Pass => {
                let since = *self.holding_since.get_or_insert(now);
                let held_for = now.saturating_duration_since(since);
                if held_for >= self.hold_for {
                    self.fired = true;
                    TriggerStatus::Fired { held_for }
                } else {
                    TriggerStatus::Holding { since }
                }
            }
            Verdict::Fail => {
                self.holding_since = None;
                TriggerStatus::Healthy
            }
            Verdict::Inconclusive => {
                self.holding_since = None;
                TriggerStatus::Inconclusive
            }
            Verdict::Error => {
                self.holding_since = None;
                TriggerStatus::SourceError {
                    on_error: self.on_error,
                }
            }
        }
    }
}

/// What a watcher tells the engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TriggerEvent {
    /// Every measurement, to be journaled; `holding` says whether `fire_if` held.
    Measurement {
        trigger: String,
        measurement: Box<Measurement>,
        holding: bool,
    },
    /// `fire_if` held for `for`: perform `action`. The watcher stops after this.
    Fired {
        trigger: String,
        action: TriggerAction,
        held_for_ms: u64,
        reason: String,
    },
    /// The source could not be read: apply `on_error`.
    SourceError {
        trigger: String,
        on_error: OnError,
        detail: String,
    },
}

/// Watch `trigger` until it fires or the receiver is dropped. Measures at
/// once, then every `interval`. Cancellation-safe: drop the future to stop.
pub async fn watch_trigger(
    trigger: &Trigger,
    sources: &SourceSet,
    baseline: Option<f64>,
    tx: mpsc::Sender<TriggerEvent>,
) {
    let mut state = TriggerState::new(trigger);
    let mut ticker = tokio::time::interval(trigger.check.interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let m = sources.measure(&trigger.check, baseline).await;
        let status = state.observe(m.verdict, Instant::now());
        let detail = m.detail.clone().unwrap_or_default();
        let value = m.value;
        let event = TriggerEvent::Measurement {
            trigger: trigger.id.clone(),
            measurement: Box::new(m),
            holding: matches!(
                status,
                TriggerStatus::Holding { .. } | TriggerStatus::Fired { .. }
            ),
        };
        if tx.send(event).await.is_err() {
            return;
        }
        let follow_up = match status {
            TriggerStatus::Fired { held_for } => Some(TriggerEvent::Fired {
                trigger: trigger.id.clone(),
                action: trigger.action,
                held_for_ms: u64::try_from(held_for.as_millis()).unwrap_or(u64::MAX),
                reason: format!(
                    "`{}` held for {} (value {})",
                    trigger.check.condition_text,
                    humantime::format_duration(Duration::from_secs(held_for.as_secs())),
                    value.map_or_else(|| "none".into(), |v| v.to_string())
                ),
            }),
            TriggerStatus::SourceError { on_error } => Some(TriggerEvent::SourceError {
                trigger: trigger.id.clone(),
                on_error,
                detail,
            }),
            _ => None,
        };
        let fired = matches!(follow_up, Some(TriggerEvent::Fired { .. }));
        if let Some(event) = follow_up
            && tx.send(event).await.is_err()
        {
            return;
        }
        if fired {
            return;
        }
    }
}

/// A baseline measured before the runbook's first step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    /// `None` when it could not be measured; conditions using it then judge
    /// inconclusive (never pass).
    #[serde(with = "crate::signals::float_serde::option")]
    pub value: Option<f64>,
    /// Why there is no value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub measurement: Measurement,
}

/// Measure `check`'s query once as a baseline. Several series are reduced
/// with the condition's reduction (`max`, `min`, `avg`, `sum`); with `all` or
/// `any` a baseline needs exactly one series.
pub async fn measure_baseline(check: &Check, sources: &SourceSet) -> Baseline {
    let measurement = sources.measure(check, None).await;
    let (value, reason) = baseline_value(check.condition.reduction, &measurement);
    Baseline {
        value,
        reason,
        measurement,
    }
}

fn baseline_value(reduction: Reduction, m: &Measurement) -> (Option<f64>, Option<String>) {
    if m.verdict == Verdict::Error {
        let why = m
            .detail
            .clone()
            .unwrap_or_else(|| "the source errored".into());
        return (
            None,
            Some(format!("the baseline could not be measured: {why}")),
        );
    }
    let values: Vec<f64> = m.samples.iter().map(|s| s.value).collect();
    let value = match (values.len(), reduction) {
        (0, _) => return (None, Some("the baseline query returned no data".into())),
        (1, _) => values[0],
        (n, Reduction::All | Reduction::Any) => {
            return (
                None,
                Some(format!(
                    "the baseline query returned {n} series; use `max`, `min`, `avg` or `sum` to reduce them"
                )),
            );
        }
        (_, Reduction::Max) => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        (_, Reduction::Min) => values.iter().copied().fold(f64::INFINITY, f64::min),
        (_, Reduction::Sum) => values.iter().sum(),
        (n, Reduction::Avg) => values.iter().sum::<f64>() / n as f64,
    };
    if value.is_nan() {
        return (None, Some("the baseline is NaN".into()));
    }
    (Some(value), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::Condition;
    use crate::runbook::model::{CommandRead, NoData, Probe};
    use Verdict::{Error as E, Fail as F, Inconclusive as I, Pass as P};

    fn trigger(hold_for: Duration) -> Trigger {
        Trigger {
            id: "t".into(),
            check: Check {
                source: "s".into(),
                probe: Probe::Query { query: "q".into() },
                command_read: CommandRead::Stdout,
                condition_text: "> 1".into(),
                condition: Condition::parse("> 1").unwrap(),
                interval: Duration::from_secs(5),
                no_data: NoData::Inconclusive,
            },
            hold_for,
            action: TriggerAction::Rollback,
            on_error: OnError::Pause,
            from: None,
            until: None,
        }
    }

    fn at(t0: Instant, secs: u64) -> Instant {
        t0 + Duration::from_secs(secs)
    }

    #[test]
    fn fires_only_after_holding_for_the_whole_duration() {
        let t0 = Instant::now();
        let mut s = TriggerState::new(&trigger(Duration::from_secs(30)));
        assert_eq!(
            s.observe(P, at(t0, 0)),
            TriggerStatus::Holding { since: t0 }
        );
        assert_eq!(
            s.observe(P, at(t0, 15)),
            TriggerStatus::Holding { since: t0 }
        );
        assert_eq!(
            s.observe(P, at(t0, 29)),
            TriggerStatus::Holding { since: t0 }
        );
        assert_eq!(
            s.observe(P, at(t0, 30)),
            TriggerStatus::Fired {
                held_for: Duration::from_secs(30)
            }
        );
        assert!(s.has_fired());
    }

    #[test]
    fn a_break_in_the_hold_restarts_the_clock() {
        let t0 = Instant::now();
        for breaker in [F, I, E] {
            let mut s = TriggerState::new(&trigger(Duration::from_secs(30)));
            s.observe(P, at(t0, 0));
            s.observe(P, at(t0, 20));
            s.observe(breaker, at(t0, 25));
            assert_eq!(
                s.observe(P, at(t0, 30)),
                TriggerStatus::Holding { since: at(t0, 30) },
                "{breaker:?}"
            );
            assert_eq!(
                s.observe(P, at(t0, 59)),
                TriggerStatus::Holding { since: at(t0, 30) }
            );
            assert!(matches!(
                s.observe(P, at(t0, 60)),
                TriggerStatus::Fired { .. }
            ));
        }
    }

    #[test]
    fn zero_hold_fires_at_the_first_holding_measurement() {
        let t0 = Instant::now();
        let mut s = TriggerState::new(&trigger(Duration::ZERO));
        assert_eq!(s.observe(F, t0), TriggerStatus::Healthy);
        assert_eq!(
            s.observe(P, t0),
            TriggerStatus::Fired {
                held_for: Duration::ZERO
            }
        );
    }

    #[test]
    fn errors_are_reported_with_the_policy_never_as_healthy() {
        let t0 = Instant::now();
        for policy in [OnError::Pause, OnError::Ignore, OnError::Rollback] {
            let mut t = trigger(Duration::from_secs(30));
            t.on_error = policy;
            let mut s = TriggerState::new(&t);
            assert_eq!(
                s.observe(E, t0),
                TriggerStatus::SourceError { on_error: policy }
            );
            assert!(!s.has_fired());
        }
        let mut s = TriggerState::new(&trigger(Duration::ZERO));
        assert_eq!(s.observe(I, t0), TriggerStatus::Inconclusive);
    }

    fn measurement(verdict: Verdict, values: &[f64]) -> Measurement {
        let mut m = crate::signals::judge(
            &trigger(Duration::ZERO).check,
            Ok(crate::signals::Reading {
                samples: values
                    .iter()
                    .map(|v| crate::signals::Sample {
                        labels: std::collections::BTreeMap::new(),
                        value: *v,
                    })
                    .collect(),
                state: None,
            }),
            None,
        );
        m.verdict = verdict;
        m
    }

    #[test]
    fn baseline_values() {
        assert_eq!(
            baseline_value(Reduction::All, &measurement(P, &[2.0])).0,
            Some(2.0)
        );
        assert_eq!(
            baseline_value(Reduction::Max, &measurement(P, &[2.0, 5.0])).0,
            Some(5.0)
        );
        assert_eq!(
            baseline_value(Reduction::Min, &measurement(P, &[2.0, 5.0])).0,
            Some(2.0)
        );
        assert_eq!(
            baseline_value(Reduction::Sum, &measurement(P, &[2.0, 5.0])).0,
            Some(7.0)
        );
        assert_eq!(
            baseline_value(Reduction::Avg, &measurement(P, &[2.0, 5.0])).0,
            Some(3.5)
        );
        let (v, why) = baseline_value(Reduction::All, &measurement(P, &[2.0, 5.0]));
        assert!(v.is_none() && why.unwrap().contains("2 series"));
        let (v, why) = baseline_value(Reduction::All, &measurement(I, &[]));
        assert!(v.is_none() && why.unwrap().contains("no data"));
        let (v, why) = baseline_value(Reduction::All, &measurement(I, &[f64::NAN]));
        assert!(v.is_none() && why.unwrap().contains("NaN"));
        let (v, _) = baseline_value(Reduction::All, &measurement(E, &[]));
        assert!(v.is_none());
    }

    #[test]
    fn the_watcher_reports_errors_and_fires() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut map = indexmap::IndexMap::new();
        map.insert(
            "s".to_string(),
            crate::runbook::model::Source {
                name: "s".into(),
                timeout: Duration::from_secs(2),
                headers: indexmap::IndexMap::new(),
                kind: crate::runbook::model::SourceKind::Command {
                    shell: "/bin/sh".into(),
                },
            },
        );
        let sources = SourceSet::new(&map, crate::secrets::Masker::default(), &[]);
        let dir = tempfile::tempdir().unwrap();
        let counter = dir.path().join("n");
        // 1st measurement errors, then the value is 5 (> 1 holds) from then on.
        let script = format!(
            "n=$(cat {c} 2>/dev/null || echo 0); echo $((n+1)) > {c}; [ $n -eq 0 ] && exit 1; echo 5",
            c = counter.display()
        );
        let mut t = trigger(Duration::from_millis(100));
        t.check.probe = Probe::Query { query: script };
        t.check.interval = Duration::from_millis(30);
        let events = rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(64);
            watch_trigger(&t, &sources, None, tx).await;
            let mut events = Vec::new();
            while let Some(e) = rx.recv().await {
                events.push(e);
            }
            events
        });
        assert!(
            matches!(&events[0], TriggerEvent::Measurement { holding: false, measurement, .. } if measurement.verdict == Verdict::Error)
        );
        assert!(matches!(
            &events[1],
            TriggerEvent::SourceError {
                on_error: OnError::Pause,
                ..
            }
        ));
        assert!(
            matches!(events.last(), Some(TriggerEvent::Fired { action: TriggerAction::Rollback, held_for_ms, .. }) if *held_for_ms >= 100)
        );
        let holding = events
            .iter()
            .filter(|e| matches!(e, TriggerEvent::Measurement { holding: true, .. }))
            .count();
        assert!(holding >= 4, "{events:?}");
    }
}
