//! Hypercare: after the last step the run keeps its chosen triggers armed
//! for `[hypercare] duration` before it ends (a trigger that fires acts as
//! during the steps); a resume watches for the time left; an operator may
//! end it early (`cutover resume RUN --end-hypercare`); with
//! `--detach-hypercare` this process stops there and the command hands the
//! watch to a background process.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::scheduler::{Mode, Scheduler};
use crate::event::{Event, HypercareEnd, HypercareEnded, HypercareStarted, Outcome, Record};
use crate::journal::Ts;
use crate::runbook::model::Hypercare;

/// The run's hypercare as this process drives it.
#[derive(Debug, Default)]
pub(super) struct HypercareWatch {
    /// `[hypercare]` of the plan's env (`None`: the run ends after its last step).
    pub(super) plan: Option<Hypercare>,
    /// While watching: when it ends.
    pub(super) deadline: Option<Instant>,
    /// Ended early by a person (their `hypercare_ended` is journaled already).
    pub(super) ended_by: Option<String>,
    /// When the terminal was last told how long is left.
    pub(super) last_notice: Option<Instant>,
    /// `[[outcome]]`s: their baselines are taken before the first step
    /// (`cutover verify` measures them later).
    pub(super) outcomes: Vec<crate::runbook::model::OutcomeSpec>,
}

/// How often the terminal is told how long hypercare has left.
const NOTICE_EVERY: Duration = Duration::from_mins(5);

impl Scheduler {
    /// Every step is done: `true` while the run stays in hypercare (it
    /// starts here, or goes on where a paused or crashed process left it).
    pub(super) fn hypercare_holds(&mut self) -> bool {
        if self.hypercare.deadline.is_some() {
            return true;
        }
        if self.opts.dry_run || self.hypercare.ended_by.is_some() {
            return false;
        }
        let now = Ts::from_system(SystemTime::now());
        if let Some(h) = &self.state.after.hypercare {
            if h.ended.is_some() {
                return false;
            }
            let left = u64::try_from(h.until.ms.saturating_sub(now.ms)).unwrap_or(0);
            let triggers = h.triggers.clone();
            if left == 0 {
                self.emit(Event::HypercareEnded(HypercareEnded {
                    reason: HypercareEnd::Elapsed,
                    why: None,
                }));
                return false;
            }
            if self.opts.detach_hypercare {
                self.hand_over();
                return true;
            }
            self.sink.notice(&format!(
                "hypercare goes on: {} left (until {})",
                crate::text::duration::precise(left),
                h.until.rfc3339()
            ));
            self.watch(&triggers, Duration::from_millis(left));
            return true;
        }
        let Some(plan) = self.hypercare.plan.clone() else {
            return false;
        };
        if plan.duration.is_zero() {
            return false;
        }
        let duration_ms = u64::try_from(plan.duration.as_millis()).unwrap_or(u64::MAX);
        let until = Ts {
            ms: now
                .ms
                .saturating_add(i64::try_from(duration_ms).unwrap_or(i64::MAX)),
        };
        let triggers = self.trigger_ids(|t| plan.watches(t));
        self.emit(Event::HypercareStarted(HypercareStarted {
            duration_ms,
            until: until.rfc3339(),
            triggers: triggers.clone(),
        }));
        if self.opts.detach_hypercare {
            self.hand_over();
        } else {
            self.watch(&triggers, plan.duration);
        }
        true
    }

    /// `--detach-hypercare`: stop watching and driving here once what is
    /// buffered is durable; the command hands the run to a background
    /// process, which re-arms the triggers for the time left.
    fn hand_over(&mut self) {
        let armed: Vec<String> = self.tasks.watchers.keys().cloned().collect();
        for id in armed {
            self.disarm(&id);
        }
        self.mode = Mode::HandingOver;
    }

    /// Keep exactly `triggers` armed for `left`.
    fn watch(&mut self, triggers: &[String], left: Duration) {
        let armed: Vec<String> = self.tasks.watchers.keys().cloned().collect();
        for id in armed.iter().filter(|id| !triggers.contains(id)) {
            self.disarm(id);
        }
        for id in triggers {
            self.arm(id);
        }
        self.hypercare.deadline = Some(Instant::now() + left);
    }

    /// End hypercare when its time is up (or a person ended it): the run
    /// is complete.
    pub(super) fn check_hypercare(&mut self) {
        let Some(deadline) = self.hypercare.deadline else {
            return;
        };
        if !matches!(self.mode, Mode::Run) {
            return;
        }
        let message = if let Some(who) = self.hypercare.ended_by.clone() {
            format!("every step done; hypercare ended early by {who}")
        } else if Instant::now() >= deadline {
            self.emit(Event::HypercareEnded(HypercareEnded {
                reason: HypercareEnd::Elapsed,
                why: None,
            }));
            "every step done; hypercare over with no trigger fired".to_string()
        } else {
            self.remind_time_left(deadline);
            return;
        };
        self.hypercare.deadline = None;
        self.finish(Outcome::Completed, message);
    }

    /// Every few minutes: `hypercare: 1h 10m left`.
    fn remind_time_left(&mut self, deadline: Instant) {
        let now = Instant::now();
        if self
            .hypercare
            .last_notice
            .is_some_and(|t| now.duration_since(t) < NOTICE_EVERY)
        {
            return;
        }
        if self.hypercare.last_notice.is_some() {
            let left = u64::try_from(deadline.duration_since(now).as_millis()).unwrap_or(0);
            self.sink.notice(&format!(
                "HYPERCARE: {} left; watching the triggers (end it early: cutover resume {} --end-hypercare --reason \"...\")",
                crate::text::duration::short(left),
                self.opts.run_ref
            ));
        }
        self.hypercare.last_notice = Some(now);
    }

    /// A rollback starts: hypercare, if the run is in it, is over.
    pub(super) fn hypercare_cut_short(&mut self) {
        let watching = self.hypercare.deadline.take().is_some();
        if watching || self.state.in_hypercare() {
            self.emit(Event::HypercareEnded(HypercareEnded {
                reason: HypercareEnd::Rollback,
                why: None,
            }));
        }
    }

    /// Another process journaled `hypercare_ended` (`cutover resume RUN
    /// --end-hypercare`): the run completes at the next turn.
    pub(super) fn on_hypercare_ended(&mut self, record: &Record) {
        if let Event::HypercareEnded(e) = &record.event
            && e.reason == HypercareEnd::EndedEarly
            && self.hypercare.deadline.is_some()
        {
            self.hypercare.ended_by = Some(record.who());
        }
    }
}
