//! The schedule a run starts with: each step's planned duration (its
//! `expected`, else the median of its completed rehearsals of the same
//! runbook), projected on the time axis with the engine's rule
//! (`schedule::project`). `cutover plan` shows it; `cutover run` journals it
//! (`schedule_planned`) so every view reckons from the same plan.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::runs::{Listed, list_runs};
use crate::event::{Event, PlannedSource, PlannedStep, SchedulePlanned, StepState};
use crate::schedule::{Known, Node, median, project};

/// What rehearsals of one runbook measured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rehearsals {
    /// Rehearsal runs read.
    pub runs: u32,
    /// Per step: how long it took on the schedule in each rehearsal where
    /// it ended done (see [`super::RunState::schedule_span`]).
    pub steps: BTreeMap<String, Vec<u64>>,
}

/// The rehearsals of runbook `name` under the runs directory `dir`: runs
/// started with `--rehearsal` (never a dry run), in any env. A journal
/// that does not read, or a link, is passed over.
pub fn rehearsals(dir: &Path, name: &str) -> Rehearsals {
    let mut out = Rehearsals::default();
    let Ok(listed) = list_runs(dir) else {
        return out;
    };
    for entry in listed {
        let Listed::Journal(path) = entry else {
            continue;
        };
        if !is_rehearsal_of(&path, name) {
            continue;
        }
        let Ok(folded) = super::fold_journal(&path) else {
            continue;
        };
        out.runs += 1;
        let state = &folded.state;
        for (id, rec) in &state.steps {
            if rec.state == StepState::Done
                && let Some(span) = state.schedule_span(id)
            {
                out.steps.entry(id.clone()).or_default().push(span);
            }
        }
    }
    out
}

/// Whether the journal at `path` starts a rehearsal of runbook `name`,
/// read from its first records only.
fn is_rehearsal_of(path: &Path, name: &str) -> bool {
    let Ok(mut records) = super::stream_journal(path) else {
        return false;
    };
    records.by_ref().take(16).any(|r| {
        matches!(&r.event, Event::RunStarted(s)
            if s.rehearsal && !s.dry_run && s.runbook_name == name)
    })
}

/// A step as the forecast needs it.
#[derive(Debug, Clone, Copy)]
pub struct StepPlan<'a> {
    pub id: &'a str,
    pub needs: &'a [String],
    pub expected: Option<Duration>,
    /// Skipped before the start (`--skip`, `--from`): it takes no time.
    pub skipped: bool,
}

/// The planned schedule of `steps` (runbook order) with at most
/// `max_parallel` at once: `expected` where given, else the rehearsals'
/// median. `planned_start`: the time the run is planned to start, if any.
pub fn forecast(
    steps: &[StepPlan<'_>],
    max_parallel: usize,
    rehearsals: &Rehearsals,
    planned_start: Option<String>,
) -> SchedulePlanned {
    let mut planned = Vec::with_capacity(steps.len());
    for s in steps {
        let runs = rehearsals.steps.get(s.id).map_or(&[][..], Vec::as_slice);
        let rehearsal_median_ms = median(runs);
        let (planned_ms, source) = match (s.expected, rehearsal_median_ms) {
            _ if s.skipped => (None, PlannedSource::None),
            (Some(d), _) => (Some(d.as_millis() as u64), PlannedSource::Expected),
            (None, Some(m)) => (Some(m), PlannedSource::Rehearsal),
            (None, None) => (None, PlannedSource::None),
        };
        planned.push(PlannedStep {
            step: s.id.to_string(),
            planned_ms,
            source,
            rehearsal_median_ms,
            rehearsals: runs.len() as u32,
            start_ms: 0,
            end_ms: 0,
        });
    }
    let nodes: Vec<Node<'_>> = steps
        .iter()
        .zip(&planned)
        .map(|(s, p)| Node {
            id: s.id,
            needs: s.needs,
            planned_ms: p.planned_ms,
        })
        .collect();
    let projection = project(&nodes, &vec![Known::Pending; nodes.len()], max_parallel, 0);
    for (p, slot) in planned.iter_mut().zip(&projection.slots) {
        if let Some(slot) = slot {
            p.start_ms = slot.start.max(0) as u64;
            p.end_ms = slot.end.max(0) as u64;
        }
    }
    SchedulePlanned {
        planned_start,
        planned_total_ms: projection.end.map_or(0, |e| e.max(0) as u64),
        critical_path: projection
            .critical
            .iter()
            // A step skipped before the start decides nothing.
            .filter(|&&i| !steps[i].skipped)
            .map(|&i| steps[i].id.to_string())
            .collect(),
        steps: planned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_wins_then_the_rehearsals_median_then_nothing() {
        let (none, a) = (Vec::new(), vec!["a".to_string()]);
        let steps = [
            StepPlan {
                id: "a",
                needs: &none,
                expected: Some(Duration::from_mins(1)),
                skipped: false,
            },
            StepPlan {
                id: "b",
                needs: &a,
                expected: None,
                skipped: false,
            },
            StepPlan {
                id: "c",
                needs: &a,
                expected: None,
                skipped: false,
            },
        ];
        let mut rehearsals = Rehearsals::default();
        rehearsals.steps.insert("a".into(), vec![50_000, 70_000]);
        rehearsals
            .steps
            .insert("b".into(), vec![30_000, 10_000, 20_000]);
        let f = forecast(&steps, 2, &rehearsals, None);
        let sources: Vec<_> = f.steps.iter().map(|s| (s.planned_ms, s.source)).collect();
        assert_eq!(
            sources,
            [
                (Some(60_000), PlannedSource::Expected),
                (Some(20_000), PlannedSource::Rehearsal),
                (None, PlannedSource::None),
            ]
        );
        assert_eq!(f.steps[0].rehearsal_median_ms, Some(60_000));
        assert_eq!(f.steps[0].rehearsals, 2);
        assert_eq!((f.steps[1].start_ms, f.steps[1].end_ms), (60_000, 80_000));
        assert_eq!(f.planned_total_ms, 80_000);
        assert_eq!(f.critical_path, ["a", "b"]);
    }

    #[test]
    fn skipped_steps_take_no_time_and_leave_the_critical_path() {
        let (none, a) = (Vec::new(), vec!["a".to_string()]);
        let steps = [
            StepPlan {
                id: "a",
                needs: &none,
                expected: Some(Duration::from_mins(5)),
                skipped: true,
            },
            StepPlan {
                id: "b",
                needs: &a,
                expected: Some(Duration::from_mins(1)),
                skipped: false,
            },
        ];
        let f = forecast(&steps, 1, &Rehearsals::default(), None);
        assert_eq!(f.steps[0].planned_ms, None);
        assert_eq!(f.planned_total_ms, 60_000);
        assert_eq!(f.critical_path, ["b"]);
    }
}
