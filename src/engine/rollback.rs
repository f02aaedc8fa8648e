//! Rollback: which steps roll back and in which order (partial ones with
//! `rollback_partial` first, then completed ones), and the scheduler's
//! progress through them, one step at a time.

use indexmap::IndexMap;

use super::core::Slot;
use super::scheduler::{Effect, Mode, Scheduler};
use super::step::{ActionResult, describe};
use crate::event::{Event, Outcome, RollbackReason};
use crate::runbook::model::Step;

/// What a rollback will undo, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RollbackPlan {
    /// Every step whose rollback runs, in order: the partial ones first.
    pub(crate) steps: Vec<String>,
    /// Those of `steps` that started their action but did not finish it.
    pub(crate) partial: Vec<String>,
}

/// The steps to roll back, first the partial ones: steps with
/// `rollback_partial` whose action started (`start_order`, oldest first)
/// but that are not finished, most recently started first (the one that
/// failed or was stopped last is the one nearest to the current state of
/// the system); then the completed steps with a `rollback`, most recently
/// completed first. Steps in `already` were rolled back before (a second
/// resume) and are left out.
pub(crate) fn rollback_order(
    completion_order: &[String],
    start_order: &[String],
    finished: impl Fn(&str) -> bool,
    steps: &IndexMap<String, Step>,
    already: &[String],
) -> RollbackPlan {
    let partial: Vec<String> = start_order
        .iter()
        .rev()
        .filter(|id| {
            steps
                .get(id.as_str())
                .is_some_and(|s| s.rollback.is_some() && s.rollback_partial)
        })
        .filter(|id| !finished(id) && !completion_order.contains(id))
        .filter(|id| !already.contains(id))
        .cloned()
        .collect();
    let done = completion_order
        .iter()
        .rev()
        .filter(|id| steps.get(id.as_str()).is_some_and(|s| s.rollback.is_some()))
        .filter(|id| !already.contains(id) && !partial.contains(id))
        .cloned();
    RollbackPlan {
        steps: partial.iter().cloned().chain(done).collect(),
        partial,
    }
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
        let plan = rollback_order(
            &self.state.completion_order,
            &self.state.start_order,
            |id| matches!(self.core.slot(id), Slot::Complete(_)),
            &self.steps,
            &done,
        );
        self.rollback_reason = Some(reason.clone());
        self.emit(Event::RollbackStarted {
            reason,
            steps: plan.steps.clone(),
            partial: plan.partial.clone(),
        });
        self.mode = Mode::RollingBack {
            remaining: plan.steps.into(),
            partial: plan.partial,
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
            ..
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
            remaining,
            failed,
            partial,
            ..
        } = &self.mode
        else {
            return;
        };
        let (remaining, failed, partial_steps) =
            (remaining.clone(), failed.clone(), partial.clone());
        let is_partial = remaining.front().is_some_and(|next| partial.contains(next));
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
                partial: is_partial,
            });
            self.effects.push(Effect::Rollback(next));
        } else {
            let ok = failed.is_empty();
            self.emit(Event::RollbackFinished {
                ok,
                failed: failed.clone(),
            });
            if ok {
                let what = rolled_back_words(&partial_steps);
                let message = match &self.rollback_reason {
                    Some(reason) => format!("{reason}; {what}"),
                    None => what,
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

/// What a finished rollback undid, naming the steps that had not finished.
fn rolled_back_words(partial: &[String]) -> String {
    if partial.is_empty() {
        return "every completed step was rolled back".into();
    }
    let names: Vec<String> = partial.iter().map(|s| format!("`{s}`")).collect();
    format!(
        "every completed step was rolled back, and the unfinished {} too",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::core::tests::step;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    fn steps(ids: &[&str]) -> IndexMap<String, Step> {
        ids.iter()
            .map(|id| ((*id).to_string(), step(id, &[])))
            .collect()
    }

    #[test]
    fn rollback_runs_in_reverse_completion_order() {
        let mut steps = steps(&["a", "b", "c", "d"]);
        steps["c"].rollback = None;
        let order = ids(&["b", "a", "c", "d"]);
        let plan = |already: &[String]| rollback_order(&order, &order, |_| true, &steps, already);
        assert_eq!(plan(&[]).steps, ["d", "a", "b"]);
        assert!(plan(&[]).partial.is_empty());
        assert_eq!(plan(&ids(&["d"])).steps, ["a", "b"]);
    }

    #[test]
    fn partial_steps_roll_back_first_most_recently_started_first() {
        let mut steps = steps(&["a", "b", "m1", "m2", "m3", "gated"]);
        for id in ["m1", "m2", "gated"] {
            steps[id].rollback_partial = true;
        }
        // m3 did not finish either but did not opt in; `gated` never
        // started its action (stopped in its before-gates), so it is not
        // in `start_order`.
        let done = ids(&["a", "b"]);
        let started = ids(&["a", "m1", "b", "m2", "m3"]);
        let finished = |id: &str| done.iter().any(|d| d == id);
        let plan = rollback_order(&done, &started, finished, &steps, &[]);
        assert_eq!(plan.steps, ["m2", "m1", "b", "a"]);
        assert_eq!(plan.partial, ["m2", "m1"]);
    }

    #[test]
    fn a_partial_step_needs_a_rollback_and_is_not_rolled_back_twice() {
        let mut steps = steps(&["a", "m"]);
        steps["m"].rollback_partial = true;
        let done = ids(&["a"]);
        let started = ids(&["a", "m"]);
        let finished = |id: &str| id == "a";
        // A second resume: `m`'s partial rollback already ran.
        let plan = rollback_order(&done, &started, finished, &steps, &ids(&["m"]));
        assert_eq!(plan.steps, ["a"]);
        assert!(plan.partial.is_empty());
        steps["m"].rollback = None;
        let plan = rollback_order(&done, &started, finished, &steps, &[]);
        assert_eq!(plan.steps, ["a"]);
    }

    #[test]
    fn a_done_or_skipped_step_is_never_partial() {
        let mut steps = steps(&["a", "s"]);
        steps["a"].rollback_partial = true;
        steps["s"].rollback_partial = true;
        // `s` failed, then the operator skipped it: it counts as finished.
        let plan = rollback_order(&ids(&["a"]), &ids(&["a", "s"]), |_| true, &steps, &[]);
        assert_eq!(plan.steps, ["a"]);
        assert!(plan.partial.is_empty());
    }
}
