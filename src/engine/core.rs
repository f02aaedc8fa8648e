//! The scheduler's pure core: which steps may start, what rolls back, and in
//! which order. No I/O, so every rule here is unit-tested.

use indexmap::IndexMap;

use crate::event::StepState;
use crate::runbook::model::Step;

/// Where one step is, as the scheduler sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Pending,
    /// A task is working on it (gates, command, request).
    Busy,
    /// Waiting on a person at this terminal (approval, manual step, failure choice).
    Prompt,
    /// Stopped for this process: awaiting approval, a manual step or a decision.
    Parked,
    Complete(StepState),
    Failed {
        /// `on_failure = "continue"`: dependents run anyway.
        continued: bool,
    },
    Stopped,
}

impl Slot {
    fn satisfies_needs(self) -> bool {
        match self {
            Slot::Complete(_) => true,
            Slot::Failed { continued } => continued,
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Core {
    /// Step ids in runbook order, with their resolved `needs`.
    needs: IndexMap<String, Vec<String>>,
    pub(crate) slots: IndexMap<String, Slot>,
    max_parallel: usize,
}

impl Core {
    pub(crate) fn new(steps: &[Step], max_parallel: usize) -> Self {
        Core {
            needs: steps
                .iter()
                .map(|s| (s.id.clone(), s.needs.clone()))
                .collect(),
            slots: steps
                .iter()
                .map(|s| (s.id.clone(), Slot::Pending))
                .collect(),
            max_parallel: max_parallel.max(1),
        }
    }

    /// Put step `id` first, pending, and make every step that needs nothing
    /// need it (the `window-override` go/no-go).
    pub(crate) fn gate_first(&mut self, id: &str) {
        for needs in self.needs.values_mut() {
            if needs.is_empty() {
                needs.push(id.to_string());
            }
        }
        self.needs.shift_insert(0, id.to_string(), Vec::new());
        self.slots.shift_insert(0, id.to_string(), Slot::Pending);
    }

    pub(crate) fn set(&mut self, step: &str, slot: Slot) {
        if let Some(s) = self.slots.get_mut(step) {
            *s = slot;
        }
    }

    pub(crate) fn slot(&self, step: &str) -> Slot {
        self.slots.get(step).copied().unwrap_or(Slot::Pending)
    }

    /// Steps a task is working on.
    pub(crate) fn busy(&self) -> usize {
        self.slots.values().filter(|s| **s == Slot::Busy).count()
    }

    /// Steps holding a parallelism slot: busy or waiting at the prompt.
    fn in_flight(&self) -> usize {
        self.slots
            .values()
            .filter(|s| matches!(s, Slot::Busy | Slot::Prompt))
            .count()
    }

    /// Pending steps whose needs are met, in runbook order, up to `max_parallel`.
    pub(crate) fn ready(&self) -> Vec<String> {
        let room = self.max_parallel.saturating_sub(self.in_flight());
        self.slots
            .iter()
            .filter(|(_, slot)| **slot == Slot::Pending)
            .filter(|(id, _)| {
                self.needs[id.as_str()]
                    .iter()
                    .all(|n| self.slot(n).satisfies_needs())
            })
            .map(|(id, _)| id.clone())
            .take(room)
            .collect()
    }

    /// Nothing runs, waits or can still start.
    pub(crate) fn idle(&self) -> bool {
        self.in_flight() == 0 && self.ready().is_empty()
    }

    /// Every step is complete (or failed and let through).
    pub(crate) fn all_complete(&self) -> bool {
        self.slots.values().all(|s| s.satisfies_needs())
    }

    pub(crate) fn failed_continued(&self) -> Vec<String> {
        self.slots
            .iter()
            .filter(|(_, s)| matches!(s, Slot::Failed { continued: true }))
            .map(|(id, _)| id.clone())
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::runbook::model::{Action, DryRunMode, OnFailure, Retries};

    pub(crate) fn step(id: &str, needs: &[&str]) -> Step {
        Step {
            id: id.into(),
            description: None,
            owner: None,
            needs: needs.iter().map(|s| (*s).to_string()).collect(),
            action: Action::Run {
                command: format!("echo {id}"),
            },
            timeout: None,
            expected: None,
            grace: Duration::from_secs(1),
            retries: Retries {
                attempts: 0,
                backoff: Duration::ZERO,
            },
            rollback: Some(Action::Run {
                command: format!("echo undo {id}"),
            }),
            rollback_partial: false,
            on_failure: OnFailure::Rollback,
            idempotent: false,
            dry_run: DryRunMode::Skip,
            approval: None,
            milestone: None,
            gates: Vec::new(),
            env: IndexMap::new(),
            workdir: None,
        }
    }

    #[test]
    fn dag_respects_needs_and_max_parallel() {
        let steps = [
            step("a", &[]),
            step("b", &["a"]),
            step("c", &["a"]),
            step("d", &["b", "c"]),
        ];
        let mut core = Core::new(&steps, 2);
        assert_eq!(core.ready(), ["a"]);
        core.set("a", Slot::Busy);
        assert!(core.ready().is_empty());
        core.set("a", Slot::Complete(StepState::Done));
        assert_eq!(core.ready(), ["b", "c"]);
        core.set("b", Slot::Busy);
        core.set("c", Slot::Busy);
        assert!(core.ready().is_empty());
        core.set("b", Slot::Complete(StepState::Done));
        assert!(core.ready().is_empty(), "d still needs c");
        core.set("c", Slot::Failed { continued: true });
        assert_eq!(core.ready(), ["d"]);
        core.set("d", Slot::Complete(StepState::Done));
        assert!(core.idle());
        assert!(core.all_complete());
        assert_eq!(core.failed_continued(), ["c"]);
    }

    #[test]
    fn max_parallel_one_is_sequential() {
        let steps = [step("a", &[]), step("b", &[]), step("c", &[])];
        let mut core = Core::new(&steps, 1);
        assert_eq!(core.ready(), ["a"]);
        core.set("a", Slot::Prompt);
        assert!(core.ready().is_empty());
    }

    #[test]
    fn a_failed_need_blocks_dependents() {
        let steps = [step("a", &[]), step("b", &["a"])];
        let mut core = Core::new(&steps, 4);
        core.set("a", Slot::Failed { continued: false });
        assert!(core.ready().is_empty());
        assert!(core.idle());
        assert!(!core.all_complete());
    }
}
