//! What the schedule journals: the planned durations a run starts with
//! (`schedule_planned`), and where each comes from. The other schedule
//! records (`run_scheduled`, `start_reached`, `steps_skipped`,
//! `window_override`, `overrun_projected`) are plain variants of `Event`.

use serde::{Deserialize, Serialize};

/// The schedule a run starts with: each step's planned duration and its
/// place on the time axis (offsets from the start), the planned total and
/// the chain of steps that decides it. Journaled once, after `run_started`,
/// so every view reckons from the same plan, even after new rehearsals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulePlanned {
    /// The planned start (`run --at`, `[schedule] start`), RFC 3339; absent:
    /// the run's own start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_start: Option<String>,
    /// From the first step's start to the last step's end, as planned.
    pub planned_total_ms: u64,
    /// The steps that decide the planned total, first step first.
    #[serde(default)]
    pub critical_path: Vec<String>,
    #[serde(default)]
    pub steps: Vec<PlannedStep>,
}

/// One step of the planned schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStep {
    pub step: String,
    /// How long it is planned to take; absent when nothing says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_ms: Option<u64>,
    /// Where `planned_ms` comes from.
    pub source: PlannedSource,
    /// The median of its completed rehearsals of the same runbook, and how
    /// many there were (0: none), whichever source won.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rehearsal_median_ms: Option<u64>,
    #[serde(default)]
    pub rehearsals: u32,
    /// Planned start and end, milliseconds from the run's start.
    #[serde(default)]
    pub start_ms: u64,
    #[serde(default)]
    pub end_ms: u64,
}

/// Where a step's planned duration comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannedSource {
    /// The step's `expected` in the runbook.
    Expected,
    /// The median of its completed rehearsals (no `expected`).
    Rehearsal,
    /// Neither: it counts as taking no time.
    None,
}

impl PlannedSource {
    /// `expected`, `rehearsal median`, `none`.
    pub fn label(self) -> &'static str {
        match self {
            PlannedSource::Expected => "expected",
            PlannedSource::Rehearsal => "rehearsal median",
            PlannedSource::None => "none",
        }
    }
}
