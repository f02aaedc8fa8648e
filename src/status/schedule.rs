//! The schedule in the war-room view: a run waiting for its scheduled
//! start (`SCHEDULED`, the start time, how long to go), and while steps
//! run where it stands against its plan (elapsed vs planned, ahead or
//! behind, the projected end, the window's end), the steps skipped before
//! the start and a window override. From the fold's [`RunState::eta`].

use std::fmt::Write as _;

use serde::Serialize;

use super::view::StatusView;
use crate::describe::schedule::{eta as eta_words, step_against_plan, time};
use crate::journal::{RunState, Ts};

#[derive(Debug, Clone, Serialize)]
pub struct ScheduleView {
    /// Waiting for its scheduled start.
    pub waiting: bool,
    /// The start it waits (or waited) for (`--at`, `[schedule] start`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_start: Option<String>,
    /// While waiting: how long until it starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_in_ms: Option<u64>,
    /// A dress rehearsal.
    pub rehearsal: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_start: Option<String>,
    /// When its steps began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_total_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_end: Option<String>,
    /// The ETA, while the run goes on (absent once it ended or paused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta: Option<EtaView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_end: Option<String>,
    /// Steps skipped before the start (`run --skip`, `--from`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedView>,
    /// `run --override-window`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_override: Option<OverrideView>,
    /// When the projected end first fell past the window's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overrun_projected_at: Option<String>,
}

/// Where a running run stands against its plan.
#[derive(Debug, Clone, Serialize)]
pub struct EtaView {
    pub elapsed_ms: u64,
    /// When the last step would end if every step left takes its planned
    /// time; absent when a failed step blocks the rest, or no step has a
    /// planned duration.
    pub projected_end: Option<String>,
    pub remaining_ms: Option<u64>,
    /// Projected end minus planned end: behind when positive.
    pub slip_ms: Option<i64>,
    /// `ahead`, `behind` or `on schedule` (within a second).
    pub schedule: Option<&'static str>,
    /// How far the projected end falls past the window's end.
    pub overrun_ms: Option<u64>,
    /// The steps in flight against their plan.
    pub steps: Vec<StepEtaView>,
    /// All of it in a line, in the words of `describe`.
    #[serde(skip)]
    pub line: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepEtaView {
    pub step: String,
    pub elapsed_ms: u64,
    pub planned_ms: Option<u64>,
    pub over_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedView {
    pub steps: Vec<String>,
    pub from: Option<String>,
    pub reason: String,
    pub by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverrideView {
    pub reason: String,
    pub by: String,
    pub refused: Vec<String>,
}

/// The schedule of a folded run at `now`; `None` when it has none (no
/// planned duration, no start waited for, no window, no skip).
pub(super) fn view(state: &RunState, now: Ts) -> Option<ScheduleView> {
    let s = &state.schedule;
    let window = state.plan.schedule.window.as_ref();
    let any = s.planned.is_some()
        || s.scheduled.is_some()
        || window.is_some()
        || !s.skipped.is_empty()
        || s.window_override.is_some()
        || s.rehearsal;
    if !any {
        return None;
    }
    let waiting = s.waiting() && state.in_progress();
    let eta = state.eta(now).filter(|_| state.in_progress() && !waiting);
    let planned_total_ms = s.planned.as_ref().map(|p| p.planned_total_ms);
    let planned_end = planned_total_ms
        .zip(state.planned_start().or(state.steps_began()))
        .map(|(t, from)| Ts {
            ms: from.ms + i64::try_from(t).unwrap_or(0),
        });
    Some(ScheduleView {
        waiting,
        scheduled_start: s.scheduled.as_ref().map(|x| time(x.at)),
        starts_in_ms: s
            .scheduled
            .as_ref()
            .filter(|_| waiting)
            .map(|x| x.at.since(now)),
        rehearsal: s.rehearsal,
        planned_start: state.planned_start().map(time),
        started: (!waiting).then(|| state.steps_began()).flatten().map(time),
        planned_total_ms,
        planned_end: planned_end.map(time),
        eta: eta.map(|e| EtaView {
            line: eta_words(&e),
            elapsed_ms: e.elapsed_ms,
            projected_end: e.projected_end.map(time),
            remaining_ms: e.remaining_ms,
            slip_ms: e.slip_ms,
            schedule: e.slip_ms.map(|ms| match ms {
                ms if ms.unsigned_abs() < 1000 => "on schedule",
                ms if ms > 0 => "behind",
                _ => "ahead",
            }),
            overrun_ms: e.overrun_ms,
            steps: e
                .steps
                .iter()
                .map(|x| StepEtaView {
                    step: x.step.clone(),
                    elapsed_ms: x.elapsed_ms,
                    planned_ms: x.planned_ms,
                    over_ms: x.over_ms,
                })
                .collect(),
        }),
        window_start: window.map(|w| w.start.clone()),
        window_end: window.map(|w| w.end.clone()),
        skipped: s
            .skipped
            .iter()
            .map(|k| SkippedView {
                steps: k.steps.clone(),
                from: k.from.clone(),
                reason: k.reason.clone(),
                by: k.who.name_or_actor(),
            })
            .collect(),
        window_override: s.window_override.as_ref().map(|o| OverrideView {
            reason: o.reason.clone(),
            by: o.who.name_or_actor(),
            refused: o.refused.clone(),
        }),
        overrun_projected_at: s.overrun.as_ref().map(|o| time(o.at)),
    })
}

impl StatusView {
    /// The schedule's lines under the headline.
    pub(super) fn write_schedule(&self, out: &mut String) {
        let Some(s) = &self.schedule else {
            return;
        };
        if s.waiting {
            let _ = writeln!(
                out,
                "  scheduled to start at {}{}",
                s.scheduled_start.as_deref().unwrap_or("?"),
                s.starts_in_ms
                    .map(|ms| format!(" (in {})", crate::text::duration::short(ms)))
                    .unwrap_or_default()
            );
        }
        if s.rehearsal {
            out.push_str("  a dress rehearsal: its durations plan later runs\n");
        }
        if let Some(e) = &s.eta {
            let _ = writeln!(out, "  schedule: {}", e.line);
        } else if let (false, Some(end)) = (s.waiting, &s.window_end) {
            let _ = writeln!(out, "  change window ends {end}");
        }
        for k in &s.skipped {
            let _ = writeln!(
                out,
                "  skipped before the start by {}{}: {} ({})",
                k.by,
                k.from
                    .as_ref()
                    .map(|f| format!(" (`--from {f}`)"))
                    .unwrap_or_default(),
                k.steps.join(", "),
                crate::text::one_line(&k.reason)
            );
        }
        if let Some(o) = &s.window_override {
            let _ = writeln!(
                out,
                "  change window OVERRIDDEN by {}: {}",
                o.by,
                crate::text::one_line(&o.reason)
            );
        }
    }

    /// The steps section's note on a step in flight against its plan.
    pub(super) fn step_against_plan(&self, step: &str) -> Option<String> {
        let e = self.schedule.as_ref()?.eta.as_ref()?;
        let s = e.steps.iter().find(|s| s.step == step)?;
        s.planned_ms?;
        Some(step_against_plan(s.elapsed_ms, s.planned_ms))
    }
}
