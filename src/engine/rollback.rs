//! Rollback: which completed steps roll back and in which order, and the
//! scheduler's progress through them, one step at a time.

use indexmap::IndexMap;

use super::scheduler::{Effect, Mode, Scheduler};
use super::step::{ActionResult, describe};
use crate::event::{Event, Outcome, RollbackReason};
use crate::runbook::model::Step;

/// The steps to roll back: completed steps with a `rollback`, most recently
/// completed first, leaving out those already rolled back.
pub(crate) fn rollback_order(
    completion_order: &[String],
    steps: &IndexMap<String, Step>,
    already: &[String],
) -> Vec<String> {
    completion_order
        .iter()
        .rev()
        .filter(|id| steps.get(id.as_str()).is_some_and(|s| s.rollback.is_some()))
        .filter(|id| !already.contains(id))
        .cloned()
        .collect()
}

impl Scheduler {
    pub(super) fn start_rollback(&mut self, reason: RollbackReason) {
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
        self.rollback_reason = Some(reason.clone());
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

    pub(super) fn on_rollback_done(&mut self, id: &str, result: &ActionResult, duration_ms: u64) {
        self.kills.remove(&format!("rollback:{id}"));
        self.emit(Event::RollbackStepFinished {
            step: id.to_string(),
            ok: result.ok,
            exit_code: result.exit_code,
            duration_ms,
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

    /// Start the next rollback step, or finish the run when none is left.
    pub(super) fn next_rollback_step(&mut self) {
        let Mode::RollingBack {
            remaining, failed, ..
        } = &self.mode
        else {
            return;
        };
        let (remaining, failed) = (remaining.clone(), failed.clone());
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
                let message = match &self.rollback_reason {
                    Some(reason) => format!("{reason}; every completed step was rolled back"),
                    None => "every completed step was rolled back".into(),
                };
                self.finish(Outcome::RolledBack, message);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::core::tests::step;

    #[test]
    fn rollback_runs_in_reverse_completion_order() {
        let mut steps: IndexMap<String, Step> = ["a", "b", "c", "d"]
            .iter()
            .map(|id| ((*id).to_string(), step(id, &[])))
            .collect();
        steps["c"].rollback = None;
        let order: Vec<String> = ["b", "a", "c", "d"]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        assert_eq!(rollback_order(&order, &steps, &[]), ["d", "a", "b"]);
        assert_eq!(
            rollback_order(&order, &steps, &["d".to_string()]),
            ["a", "b"]
        );
    }
}
