//! How a run ends: paused (with the one line that says how to go on),
//! completed, rolled back or aborted, as `run_finished`.

use super::scheduler::{After, Mode, Scheduler};
use crate::event::{Event, Outcome, PauseReason, RunFinished};

impl Scheduler {
    pub(super) fn finish_paused(&mut self, after: Option<After>) {
        let parked: Vec<(String, (PauseReason, String))> = self.parked.drain(..).collect();
        let mut paused_steps = Vec::new();
        let mut paused_reasons = Vec::new();
        for (id, (reason, hint)) in parked {
            paused_steps.push(id.clone());
            paused_reasons.push((reason, Some(id.clone())));
            self.emit(Event::Paused {
                reason,
                step: Some(id),
                hint,
            });
        }
        if let Some(After::Pause { reason, step, hint }) = after
            && !hint.is_empty()
            && step.as_ref().is_none_or(|s| !paused_steps.contains(s))
        {
            paused_reasons.push((reason, step.clone()));
            self.emit(Event::Paused { reason, step, hint });
        }
        let next = self.resume_line(&paused_reasons);
        self.finish(Outcome::Paused, format!("paused; {next}"));
    }

    /// The two ways on from a stopped run: continue it or roll it back.
    pub(super) fn ways_on(&self) -> String {
        format!(
            "continue with: cutover resume {0}\nor roll back with: cutover resume {0} --rollback",
            self.opts.run_ref
        )
    }

    /// The one line that says how to go on from this pause: the commands of
    /// the pause that needs the most (a decision over an approval over a
    /// plain resume), so the last line never suggests a resume that would
    /// only pause again.
    pub(super) fn resume_line(&self, paused: &[(PauseReason, Option<String>)]) -> String {
        let r = &self.opts.run_ref;
        let rank = |reason: PauseReason| match reason {
            PauseReason::StepFailed | PauseReason::NeedsDecision => 0,
            PauseReason::GateInconclusive => 1,
            PauseReason::ManualStep => 2,
            PauseReason::AwaitingApproval => 3,
            PauseReason::Trigger | PauseReason::Interrupted => 4,
        };
        let undecided: Vec<&str> = paused
            .iter()
            .filter(|(reason, _)| {
                matches!(reason, PauseReason::StepFailed | PauseReason::NeedsDecision)
            })
            .filter_map(|(_, step)| step.as_deref())
            .collect();
        if undecided.len() > 1 {
            let reruns: Vec<String> = undecided.iter().map(|s| format!("--rerun {s}")).collect();
            return format!(
                "decide {} at once with `cutover resume {r} {}` (write `--skip STEP` instead of `--rerun STEP` for a step that must not run again), or `cutover resume {r} --rollback | --abort`",
                crate::diag::code_list(&undecided),
                reruns.join(" ")
            );
        }
        let first = paused
            .iter()
            .filter(|(reason, step)| step.is_some() || rank(*reason) == 4)
            .min_by_key(|(reason, _)| rank(*reason));
        match first {
            Some((PauseReason::StepFailed | PauseReason::NeedsDecision, Some(s))) => format!(
                "decide with `cutover resume {r} --rerun {s} | --skip {s} | --rollback | --abort`"
            ),
            Some((PauseReason::GateInconclusive, Some(s))) => format!(
                "look at the signal, then `cutover resume {r}` (gates are measured again) or `cutover resume {r} --skip {s} | --rollback | --abort`"
            ),
            Some((PauseReason::ManualStep, Some(s))) => {
                format!("when it is done: `cutover done {r} {s}`, then `cutover resume {r}`")
            }
            Some((PauseReason::AwaitingApproval, Some(s))) => format!(
                "approve with `cutover approve {r} {s} --reason \"...\"`, then `cutover resume {r}`"
            ),
            _ => format!(
                "continue with `cutover resume {r}` (or `cutover resume {r} --rollback | --abort`)"
            ),
        }
    }

    pub(super) fn finish(&mut self, outcome: Outcome, message: String) {
        let ids: Vec<String> = self.tasks.watchers.keys().cloned().collect();
        for id in ids {
            self.disarm(&id);
        }
        self.emit(Event::RunFinished(RunFinished {
            outcome,
            exit_code: outcome.exit_code(),
            dry_run: self.opts.dry_run,
            failed_steps: self.core.failed_continued(),
            queries_ok: self.opts.dry_run.then_some(self.dry.queries_ok),
            message,
        }));
        self.mode = Mode::Finished(outcome);
    }
}
