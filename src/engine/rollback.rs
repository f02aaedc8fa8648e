//! Rollback: which steps roll back and in which order (every change undone
//! in reverse order of when it happened), and the scheduler's progress
//! through them, one step at a time.

use std::collections::VecDeque;

use indexmap::IndexMap;

use super::core::Slot;
use super::scheduler::{Effect, Mode, Scheduler};
use super::step::{ActionResult, describe};
use crate::event::{Event, Outcome, RollbackReason, StepState};
use crate::journal::{Change, SKIPPED_WHY, SkippedRollback};
use crate::runbook::model::Step;

/// What a rollback will undo, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RollbackPlan {
    /// Every step whose rollback runs, in order: most recent change first.
    pub(crate) steps: Vec<String>,
    /// Those of `steps` that started their action but did not finish it.
    pub(crate) partial: Vec<String>,
    /// Those of `steps` whose action finished but whose after-gates failed
    /// (or were stopped): the change is live, so it is undone.
    pub(crate) unconfirmed: Vec<String>,
}

/// The steps to roll back, on one timeline (`timeline`, oldest first: each
/// step's last action start and last completion), most recent change first.
/// A done step with a `rollback` counts at its completion. A step whose
/// action started but that is not finished counts at the start of its
/// (last) action: a step whose action finished (`action_ok`: some attempt
/// ended ok) but whose after-gates failed or were stopped, always (its
/// change is live); a step whose action did not finish, only with
/// `rollback_partial`. So a step built on top of a live unconfirmed one
/// (`on_failure = "continue"`) is undone before it. Steps in `already` were
/// rolled back before (a second resume) and are left out.
pub(crate) fn rollback_order(
    timeline: &[(String, Change)],
    finished: impl Fn(&str) -> bool,
    action_ok: impl Fn(&str) -> bool,
    steps: &IndexMap<String, Step>,
    already: &[String],
) -> RollbackPlan {
    let done: Vec<&String> = timeline
        .iter()
        .filter(|(_, c)| *c == Change::Done)
        .map(|(id, _)| id)
        .collect();
    let mut order: Vec<String> = Vec::new();
    let mut partial = Vec::new();
    let mut unconfirmed = Vec::new();
    for (id, change) in timeline.iter().rev() {
        let Some(step) = steps.get(id.as_str()) else {
            continue;
        };
        if step.rollback.is_none() || already.contains(id) || order.contains(id) {
            continue;
        }
        if *change == Change::Started {
            if finished(id) || done.contains(&id) {
                continue;
            }
            if action_ok(id) {
                unconfirmed.push(id.clone());
            } else if step.rollback_partial {
                partial.push(id.clone());
            } else {
                continue;
            }
        }
        order.push(id.clone());
    }
    RollbackPlan {
        steps: order,
        partial,
        unconfirmed,
    }
}

/// A rollback under way: why, what is left, and how it went so far.
#[derive(Debug, Clone)]
pub(super) struct RollingBack {
    /// Why it started, for the run's final message.
    pub(super) reason: RollbackReason,
    /// The rollback steps still to run, in order.
    pub(super) remaining: VecDeque<String>,
    /// Steps rolled back although they did not finish.
    pub(super) partial: Vec<String>,
    /// Steps whose action finished but whose after-gates did not pass.
    pub(super) unconfirmed: Vec<String>,
    /// The rollback step running now.
    pub(super) current: Option<String>,
    pub(super) failed: Vec<String>,
    /// The rollbacks left when a rollback step failed, in order.
    pub(super) not_run: Vec<String>,
}

impl Scheduler {
    pub(super) fn start_rollback(&mut self, reason: RollbackReason) {
        self.hypercare_cut_short();
        let ids: Vec<String> = self.tasks.watchers.keys().cloned().collect();
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
            &self.state.timeline,
            |id| matches!(self.core.slot(id), Slot::Complete(_)),
            |id| self.state.action_finished(id),
            &self.steps,
            &done,
        );
        self.emit(Event::RollbackStarted {
            reason: reason.clone(),
            steps: plan.steps.clone(),
            partial: plan.partial.clone(),
        });
        self.mode = Mode::RollingBack(Box::new(RollingBack {
            reason,
            remaining: plan.steps.into(),
            partial: plan.partial,
            unconfirmed: plan.unconfirmed,
            current: None,
            failed: Vec::new(),
            not_run: Vec::new(),
        }));
    }

    pub(super) fn on_rollback_done(&mut self, id: &str, result: &ActionResult, duration_ms: u64) {
        self.tasks.kills.remove(&format!("rollback:{id}"));
        self.emit(Event::RollbackStepFinished {
            step: id.to_string(),
            ok: result.ok,
            exit_code: result.exit_code,
            duration_ms,
            detail: result.detail.clone(),
        });
        if let Mode::RollingBack(rb) = &mut self.mode {
            rb.current = None;
            if !result.ok {
                // Stop: rolling back earlier steps on top of a half-undone later one
                // can make things worse. A person decides.
                rb.failed.push(id.to_string());
                rb.not_run = rb.remaining.drain(..).collect();
            }
        }
    }

    /// Start the next rollback step, or finish the run when none is left.
    pub(super) fn next_rollback_step(&mut self) {
        let Mode::RollingBack(rb) = &mut self.mode else {
            return;
        };
        let Some(next) = rb.remaining.pop_front() else {
            let rb = (**rb).clone();
            return self.rollback_over(&rb);
        };
        rb.current = Some(next.clone());
        let is_partial = rb.partial.contains(&next);
        let is_unconfirmed = rb.unconfirmed.contains(&next);
        let action = self.steps[&next]
            .rollback
            .as_ref()
            .map(describe)
            .unwrap_or_default();
        let action = self.mask(&action);
        if is_unconfirmed {
            let rec = self.state.steps.get(&next);
            let why = if rec.is_some_and(|r| !r.last_attempt_ok) {
                "an earlier attempt's action finished, its after-gates did not pass"
            } else if rec.is_some_and(|r| r.state == StepState::Failed) {
                "its after-gates failed"
            } else {
                "its action finished, its after-gates did not pass"
            };
            self.say(&format!("rolling back `{next}` ({why})"));
        }
        self.emit(Event::RollbackStepStarted {
            step: next.clone(),
            action,
            partial: is_partial,
        });
        self.effects.push(Effect::Rollback(next));
    }

    /// No rollback step is left: journal how the rollback ended and end the run.
    fn rollback_over(&mut self, rb: &RollingBack) {
        let ok = rb.failed.is_empty();
        self.emit(Event::RollbackFinished {
            ok,
            failed: rb.failed.clone(),
        });
        if ok {
            let skipped = self.state.rollbacks_skipped();
            let what = rolled_back_words(&rb.partial, &rb.unconfirmed, &skipped);
            self.finish(Outcome::RolledBack, format!("{}; {what}", rb.reason));
        } else {
            let message = rollback_failed_words(&rb.failed, &rb.not_run, &self.opts.run_ref);
            self.finish(Outcome::RollbackFailed, message);
        }
    }
}

/// What a finished rollback undid, naming the steps that had not finished
/// and those whose rollback the operator skipped, with what they said they
/// did (`--reason`) or else "undone by hand".
fn rolled_back_words(
    partial: &[String],
    unconfirmed: &[String],
    skipped: &[SkippedRollback],
) -> String {
    let not_skipped = |ids: &[String]| -> Vec<String> {
        ids.iter()
            .filter(|id| !skipped.iter().any(|s| s.step == **id))
            .cloned()
            .collect()
    };
    let (partial, unconfirmed) = (not_skipped(partial), not_skipped(unconfirmed));
    let mut first = vec!["every completed step was rolled back".to_string()];
    if !skipped.is_empty() {
        let except = skipped
            .iter()
            .map(|s| {
                let by = if s.by.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", s.by)
                };
                let what = s.reason.as_deref().unwrap_or(SKIPPED_WHY);
                format!("`{}` (rollback skipped{by}: {what})", s.step)
            })
            .collect::<Vec<_>>()
            .join(", ");
        first.push(format!("except {except}"));
    }
    let mut parts = vec![first.join(", ")];
    if !unconfirmed.is_empty() {
        parts.push(format!(
            "and {} whose after-gates did not pass",
            crate::diag::code_list(&unconfirmed)
        ));
    }
    if !partial.is_empty() {
        parts.push(format!(
            "and the unfinished {} too",
            crate::diag::code_list(&partial)
        ));
    }
    parts.join(", ")
}

/// The last words of a failed rollback: where it stopped, which rollbacks
/// did not run (in order), and the two ways forward.
pub(crate) fn rollback_failed_words(failed: &[String], not_run: &[String], run: &str) -> String {
    let at = failed.last().map(String::as_str).unwrap_or_default();
    let left = if not_run.is_empty() {
        "no other rollback was left to run".to_string()
    } else {
        format!(
            "later rollbacks were not run; not rolled back yet: {}",
            crate::diag::code_list(not_run)
        )
    };
    format!(
        "ROLLBACK FAILED at `{}`; {left}; fix it, then `cutover resume {run} --rollback` (runs the rollback of `{at}` again, then the rest) or, if `{at}` was undone by hand, `cutover resume {run} --skip-rollback {at}`",
        failed.join(", ")
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

    /// A timeline: `+id` its action started, `=id` it became done.
    fn timeline(marks: &[&str]) -> Vec<(String, Change)> {
        marks
            .iter()
            .map(|m| {
                let change = if m.starts_with('+') {
                    Change::Started
                } else {
                    Change::Done
                };
                (m[1..].to_string(), change)
            })
            .collect()
    }

    #[test]
    fn rollback_runs_in_reverse_completion_order() {
        let mut steps = steps(&["a", "b", "c", "d"]);
        steps["c"].rollback = None;
        let order = timeline(&["+b", "=b", "+a", "=a", "+c", "=c", "+d", "=d"]);
        let plan = |already: &[String]| rollback_order(&order, |_| true, |_| true, &steps, already);
        assert_eq!(plan(&[]).steps, ["d", "a", "b"]);
        assert!(plan(&[]).partial.is_empty());
        assert_eq!(plan(&ids(&["d"])).steps, ["a", "b"]);
        // A done step run again (`--rerun`) counts at its last completion.
        let order = timeline(&["+a", "+b", "=b", "=a", "+b", "=b"]);
        let plan = rollback_order(&order, |_| true, |_| true, &steps, &[]);
        assert_eq!(plan.steps, ["b", "a"]);
    }

    #[test]
    fn partial_steps_roll_back_most_recently_started_first() {
        let mut steps = steps(&["a", "b", "m1", "m2", "m3", "gated"]);
        for id in ["m1", "m2", "gated"] {
            steps[id].rollback_partial = true;
        }
        // m3 did not finish either but did not opt in; `gated` never
        // started its action (stopped in its before-gates), so it is not
        // on the timeline.
        let order = timeline(&["+a", "=a", "+b", "=b", "+m1", "+m2", "+m3"]);
        let finished = |id: &str| id == "a" || id == "b";
        let plan = rollback_order(&order, finished, |_| false, &steps, &[]);
        assert_eq!(plan.steps, ["m2", "m1", "b", "a"]);
        assert_eq!(plan.partial, ["m2", "m1"]);
        // `b` (parallel) completed after `m1` started: undone before it.
        let order = timeline(&["+a", "=a", "+b", "+m1", "=b", "+m2", "+m3"]);
        let plan = rollback_order(&order, finished, |_| false, &steps, &[]);
        assert_eq!(plan.steps, ["m2", "b", "m1", "a"]);
        assert_eq!(plan.partial, ["m2", "m1"]);
    }

    #[test]
    fn a_partial_step_needs_a_rollback_and_is_not_rolled_back_twice() {
        let mut steps = steps(&["a", "m"]);
        steps["m"].rollback_partial = true;
        let order = timeline(&["+a", "=a", "+m"]);
        let finished = |id: &str| id == "a";
        // A second resume: `m`'s partial rollback already ran.
        let plan = rollback_order(&order, finished, |_| false, &steps, &ids(&["m"]));
        assert_eq!(plan.steps, ["a"]);
        assert!(plan.partial.is_empty());
        steps["m"].rollback = None;
        let plan = rollback_order(&order, finished, |_| false, &steps, &[]);
        assert_eq!(plan.steps, ["a"]);
    }

    #[test]
    fn a_done_or_skipped_step_is_never_partial() {
        let mut steps = steps(&["a", "s"]);
        steps["a"].rollback_partial = true;
        steps["s"].rollback_partial = true;
        // `s` failed, then the operator skipped it: it counts as finished.
        let order = timeline(&["+a", "=a", "+s"]);
        let plan = rollback_order(&order, |_| true, |_| true, &steps, &[]);
        assert_eq!(plan.steps, ["a"]);
        assert!(plan.partial.is_empty());
    }

    #[test]
    fn a_step_whose_after_gates_failed_is_rolled_back_without_rollback_partial() {
        // a, b done; `switch` ran its command fine, then its after-gates
        // failed: its change is live, so it is undone (first: it is the
        // most recent change), although it does not have `rollback_partial`.
        let steps = steps(&["a", "b", "switch"]);
        let order = timeline(&["+a", "=a", "+b", "=b", "+switch"]);
        let finished = |id: &str| id == "a" || id == "b";
        let plan = rollback_order(&order, finished, |_| true, &steps, &[]);
        assert_eq!(plan.steps, ["switch", "b", "a"]);
        assert_eq!(plan.unconfirmed, ["switch"]);
        assert!(plan.partial.is_empty());
        // Its action did not finish (failed): not rolled back without the opt-in.
        let plan = rollback_order(&order, finished, |_| false, &steps, &[]);
        assert_eq!(plan.steps, ["b", "a"]);
        assert!(plan.unconfirmed.is_empty());
        // Already rolled back (resume after a crash): never again.
        let plan = rollback_order(&order, finished, |_| true, &steps, &ids(&["switch"]));
        assert_eq!(plan.steps, ["b", "a"]);
    }

    #[test]
    fn a_step_built_on_top_of_an_unconfirmed_one_is_undone_before_it() {
        // `switch`'s after-gates failed with `on_failure = "continue"`;
        // `later` (needs `switch`) then ran and completed on top of it.
        let steps = steps(&["a", "switch", "later", "boom"]);
        let order = timeline(&["+a", "=a", "+switch", "+later", "=later", "+boom"]);
        let finished = |id: &str| id == "a" || id == "later";
        let ok = |id: &str| id != "boom";
        let plan = rollback_order(&order, finished, ok, &steps, &[]);
        assert_eq!(plan.steps, ["later", "switch", "a"]);
        assert_eq!(plan.unconfirmed, ["switch"]);
    }

    #[test]
    fn unfinished_steps_go_most_recently_started_first_whatever_their_kind() {
        // Parallel steps: m1 (rollback_partial, failed mid-action), then
        // gated (action ok, after-gates failed), then m2 (partial, stopped)
        // started in that order; `plain` failed without the opt-in.
        let mut steps = steps(&["a", "m1", "gated", "m2", "plain"]);
        steps["m1"].rollback_partial = true;
        steps["m2"].rollback_partial = true;
        steps["gated"].rollback_partial = true; // action ok: counts as unconfirmed, not partial
        let order = timeline(&["+a", "=a", "+m1", "+gated", "+plain", "+m2"]);
        let finished = |id: &str| id == "a";
        let ok = |id: &str| id == "gated" || id == "a";
        let plan = rollback_order(&order, finished, ok, &steps, &[]);
        assert_eq!(plan.steps, ["m2", "gated", "m1", "a"]);
        assert_eq!(plan.partial, ["m2", "m1"]);
        assert_eq!(plan.unconfirmed, ["gated"]);
        // Without a `rollback`, nothing to run for it.
        steps["gated"].rollback = None;
        let plan = rollback_order(&order, finished, ok, &steps, &[]);
        assert_eq!(plan.steps, ["m2", "m1", "a"]);
    }

    #[test]
    fn the_final_words_name_the_rollbacks_skipped_by_hand() {
        let text = rolled_back_words(&[], &[], &[]);
        assert_eq!(text, "every completed step was rolled back");
        let mut skipped = vec![SkippedRollback {
            step: "b".into(),
            by: "alice@host".into(),
            reason: None,
        }];
        let text = rolled_back_words(&[], &ids(&["b", "s"]), &skipped);
        assert_eq!(
            text,
            "every completed step was rolled back, except `b` (rollback skipped by alice@host: undone by hand), and `s` whose after-gates did not pass"
        );
        skipped[0].reason = Some("restored from snapshot by hand".into());
        let text = rolled_back_words(&[], &[], &skipped);
        assert_eq!(
            text,
            "every completed step was rolled back, except `b` (rollback skipped by alice@host: restored from snapshot by hand)"
        );
    }

    #[test]
    fn a_failed_rollback_names_what_was_not_rolled_back() {
        let text = rollback_failed_words(&ids(&["freeze"]), &ids(&["prep", "zero"]), "r1");
        assert!(text.contains("ROLLBACK FAILED at `freeze`"), "{text}");
        assert!(
            text.contains("not rolled back yet: `prep`, `zero`"),
            "{text}"
        );
        assert!(text.contains("cutover resume r1 --rollback"), "{text}");
        assert!(
            text.contains("cutover resume r1 --skip-rollback freeze"),
            "{text}"
        );
        let text = rollback_failed_words(&ids(&["freeze"]), &[], "r1");
        assert!(text.contains("no other rollback was left to run"), "{text}");
    }
}
