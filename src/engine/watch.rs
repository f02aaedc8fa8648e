//! Triggers and baselines: arming and disarming watchers (run start, `from`,
//! `until`, rollback, end), acting on what they report, and measuring the
//! baselines of `baseline` conditions before the first step.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::probe::TriggerUpdate;
use super::scheduler::{After, Effect, Mode, Scheduler};
use crate::event::{Event, PauseReason, RollbackReason};
use crate::runbook::model::{OnError, Trigger, TriggerAction};
use crate::signals::Verdict;

impl Scheduler {
    /// The ids of the triggers `pick` chooses (arm or disarm them without
    /// cloning every trigger).
    pub(super) fn trigger_ids(&self, pick: impl Fn(&Trigger) -> bool) -> Vec<String> {
        self.triggers
            .iter()
            .filter(|t| pick(t))
            .map(|t| t.id.clone())
            .collect()
    }

    pub(super) fn on_trigger(&mut self, id: &str, update: TriggerUpdate) {
        if !matches!(self.mode, Mode::Run | Mode::Drain(_)) || !self.tasks.watchers.contains_key(id)
        {
            return;
        }
        let Some(trigger) = self.triggers.iter().find(|t| t.id == id).cloned() else {
            return;
        };
        match update {
            TriggerUpdate::Measurement(m) => {
                if m.verdict == Verdict::Error {
                    self.dry.queries_ok = false;
                }
                self.emit(Event::TriggerMeasurement {
                    trigger: id.to_string(),
                    measurement: *m,
                });
            }
            TriggerUpdate::SourceError(detail) => {
                self.dry.queries_ok = false;
                self.emit(Event::TriggerSourceError {
                    trigger: id.to_string(),
                    detail: self.mask(&detail),
                });
                if self.opts.dry_run {
                    return;
                }
                match trigger.on_error {
                    OnError::Ignore => {}
                    OnError::Pause => self.request(After::Pause {
                        reason: PauseReason::Trigger,
                        step: None,
                        hint: format!(
                            "trigger `{id}` cannot read its source; continue with: cutover resume {}",
                            self.opts.run_ref
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
                if self.opts.dry_run {
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
                            self.opts.run_ref
                        ),
                    }),
                    TriggerAction::Notify => {}
                }
            }
        }
    }

    pub(super) fn arm(&mut self, id: &str) {
        if self.tasks.watchers.contains_key(id)
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
        self.tasks
            .watchers
            .insert(id.to_string(), tokio::spawn(async {}));
        self.effects.push(Effect::Arm(id.to_string()));
    }

    pub(super) fn disarm(&mut self, id: &str) {
        if let Some(handle) = self.tasks.watchers.remove(id) {
            handle.abort();
            self.effects
                .retain(|e| !matches!(e, Effect::Arm(t) if t == id));
            self.emit(Event::TriggerDisarmed {
                trigger: id.to_string(),
            });
        }
    }

    pub(super) async fn measure_baselines(&mut self) {
        let mut values = BTreeMap::new();
        let mut checks = Vec::new();
        for t in &self.triggers {
            if t.check.condition.uses_baseline() {
                checks.push((t.id.clone(), t.check.clone()));
            }
        }
        for o in &self.hypercare.outcomes {
            if o.check.condition.uses_baseline() {
                checks.push((format!("outcome:{}", o.name), o.check.clone()));
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
                self.dry.queries_ok = false;
            }
            self.emit(Event::Baseline {
                check: key,
                value,
                measurement: m,
            });
        }
        self.baselines = Arc::new(values);
    }

    /// Dry run: measure every trigger's query once up front, so the summary
    /// says whether each works even when no step lasts long enough for a tick.
    pub(super) async fn probe_triggers_once(&mut self) {
        for t in self.triggers.clone() {
            let (_, m) = self.signals.baseline(&t.check).await;
            if m.verdict == Verdict::Error {
                self.dry.queries_ok = false;
            }
            self.emit(Event::TriggerMeasurement {
                trigger: t.id.clone(),
                measurement: m,
            });
        }
    }
}
