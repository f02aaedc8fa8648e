//! The report as a view of the fold: `journal::RunState` in, `Report` out,
//! with the words from `describe` and the two computations of `analysis`
//! (critical path, time to detect / mitigate). No second reading of the
//! journal, no state of its own.

use super::analysis;
use super::model::{
    ApprovalEntry, AttemptReport, CheckKind, CheckReport, CriticalPathReport, Deviation, Milestone,
    NoteEntry, Point, ReadinessEntry, Report, RollbackAttemptReport, RollbackReport,
    RollbackStepReport, StepReport, TimelineEntry, trigger_counts,
};
use super::time::Ts;
use crate::describe;
use crate::event::Event;
use crate::journal::{
    CheckRecord, Entry, Folded, RollbackRun, RunState, StepRecord, StepSnapshot, Who,
};

/// The report of a folded journal; `journal` names it. The measurements
/// move into the report (a long run has hundreds of thousands).
pub(super) fn report(mut folded: Folded, journal: &str) -> Report {
    let points: Vec<Vec<Point>> = folded
        .state
        .checks
        .values_mut()
        .map(|c| std::mem::take(&mut c.points))
        .collect();
    let folded = &folded;
    let state = &folded.state;
    let started = state.started.as_ref();
    let last_ts = state.last_at().map(|l| l.ts);
    let in_progress = state.in_progress();
    let ended = if in_progress {
        last_ts
    } else {
        state.finished_at.as_ref().map(|f| f.ts).or(last_ts)
    };
    let last = state.last_finished.as_ref();
    let mut r = Report {
        run_id: folded.header.run_id.clone(),
        journal: journal.to_string(),
        runbook: started.map(|s| s.runbook_name.clone()),
        change: started.and_then(|s| s.change.clone()),
        owner: state.plan.runbook.owner.clone(),
        env: started.and_then(|s| s.env.clone()),
        production: started.is_some_and(|s| s.production),
        dry_run: started.is_some_and(|s| s.dry_run),
        plan_hash: started.map(|s| s.plan_hash.clone()),
        started_by: state.started_by.as_ref().map(Who::label),
        resumed_by: state.resumed_by.iter().map(Who::label).collect(),
        started: state.started_at.as_ref().map(|s| s.ts),
        ended,
        duration_ms: None,
        outcome: last.map(|f| f.outcome),
        outcome_label: if in_progress {
            "in progress".into()
        } else {
            last.map_or("unknown", |f| f.outcome.label()).to_string()
        },
        message: last.map(|f| f.message.clone()),
        in_progress,
        truncated_at: folded.truncated_at,
        // Keep the first few; a file full of garbage should not fill the report.
        bad_lines: folded.warnings.iter().take(20).cloned().collect(),
        unknown_kinds: state.counts.unknown_kinds.clone(),
        events: state.counts.events,
        output_lines: state.counts.output_lines,
        measurements: state.counts.measurements,
        steps: state
            .steps
            .iter()
            .map(|(id, rec)| (id.clone(), step(state, id, rec, ended)))
            .collect(),
        checks: state
            .checks
            .iter()
            .zip(points)
            .map(|((key, c), points)| (key.clone(), check(c, points)))
            .collect(),
        milestones: milestones(state),
        timeline: timeline(state),
        approvals: approvals(state),
        deviations: deviations(state),
        notes: notes(state),
        readiness: state
            .readiness
            .iter()
            .map(|x| ReadinessEntry {
                at: x.at,
                checklist: x.checklist.clone(),
                ready: x.ready,
                overridden: x.overridden,
                reason: x.reason.clone(),
            })
            .collect(),
        rollback: state.rollback.as_ref().map(|rb| RollbackReport {
            started: rb.started_at,
            reason: rb.reason.to_string(),
            steps: rb.planned.clone(),
            partial: rb.partial.clone(),
            finished: rb.finished_at,
            ok: rb.ok_at_finish,
            failed: rb.failed_at_finish.clone(),
        }),
        schedule: super::schedule::build(state, ended, in_progress),
        critical_path: CriticalPathReport::default(),
        impact: analysis::Impact::default(),
        ..Report::default()
    };
    super::after::fill(&mut r, state);
    r.duration_ms = match (r.started, r.ended) {
        (Some(s), Some(e)) => Some(e.since(s)),
        _ => None,
    };
    critical_path(&mut r);
    r.impact = analysis::impact(&analysis::ImpactInput::from_report(&r));
    r
}

fn notes(state: &RunState) -> Vec<NoteEntry> {
    state
        .notes
        .iter()
        .map(|n| NoteEntry {
            at: n.at.ts,
            who: n.who.label(),
            text: n.text.clone(),
        })
        .collect()
}

fn step(state: &RunState, id: &str, rec: &StepRecord, end: Option<Ts>) -> StepReport {
    let planned = state.plan.step(id);
    let t = &rec.timing;
    let started = t.started();
    let ended = rec.ended_at.as_ref().map(|e| e.ts);
    // A step still going at the end of an unfinished journal runs until its last event.
    let until = ended.or(if state.in_progress() { end } else { None });
    let (paused_ms, duration_ms) = match (started, until) {
        (Some(a), Some(b)) => {
            let paused = overlap(&state.down, a, b);
            (paused, Some(b.since(a).saturating_sub(paused)))
        }
        _ => (0, None),
    };
    StepReport {
        id: id.to_string(),
        owner: planned.and_then(|p| p.owner.clone()),
        kind: planned.map_or_else(|| "run".to_string(), |p| p.action.kind.clone()),
        needs: planned.map(|p| p.needs.clone()).unwrap_or_default(),
        planned_timeout_ms: planned
            .and_then(StepSnapshot::timeout)
            .map(|d| d.as_millis() as u64),
        planned_retries: planned.map_or(0, |p| p.retries.attempts),
        has_rollback: planned.is_some_and(StepSnapshot::has_rollback),
        approval_required: planned.is_some_and(|p| p.approval.is_some()),
        state: rec.state.label().to_string(),
        started,
        ended,
        duration_ms,
        paused_ms,
        waited_for_approval_ms: t.waited_until(end),
        attempts: rec
            .attempt_log
            .iter()
            .map(|a| AttemptReport {
                attempt: a.attempt,
                started: a.started,
                result: a.result.map(|r| crate::event::words(&r)),
                exit_code: a.exit_code,
                duration_ms: a.duration_ms,
                detail: a.detail.clone(),
            })
            .collect(),
        output: rec.output.clone(),
        rollback: rec.rollback_run.as_ref().map(rollback_step),
        on_critical_path: false,
    }
}

fn rollback_step(rb: &RollbackRun) -> RollbackStepReport {
    RollbackStepReport {
        action: rb.action.clone(),
        partial: rb.partial,
        started: rb.started,
        ended: rb.ended,
        ok: rb.ok,
        exit_code: rb.exit_code,
        duration_ms: rb.duration_ms,
        detail: rb.detail.clone(),
        output: rb.output.clone(),
        attempts: rb.attempts,
        failed_attempts: rb
            .failed_attempts
            .iter()
            .map(|a| RollbackAttemptReport {
                attempt: a.attempt,
                started: a.started,
                ended: a.ended,
                ok: a.ok,
                exit_code: a.exit_code,
                duration_ms: a.duration_ms,
                detail: a.detail.clone(),
            })
            .collect(),
        skipped_by: rb.skipped_by.clone(),
        skipped_at: rb.skipped_at,
        skip_reason: rb.skip_reason.clone(),
    }
}

fn check(c: &CheckRecord, points: Vec<Point>) -> CheckReport {
    CheckReport {
        key: c.key.clone(),
        kind: c.kind,
        step: c.step.clone(),
        when: c.when.clone(),
        source: c.source.clone(),
        query: c.query.clone(),
        condition: c.condition.clone(),
        shadow: c.shadow,
        action: c.action.clone(),
        baseline: c.baseline,
        result: c.result.map(|r| crate::event::words(&r)),
        detail: c.detail.clone(),
        started: c.started,
        finished: c.finished,
        counts: c.counts,
        trigger_counts: (c.kind == CheckKind::Trigger).then(|| trigger_counts(c.counts)),
        min: c.min,
        max: c.max,
        last: c.last,
        first_breach: c.first_breach,
        first_breach_value: c.first_breach_value,
        fired: c.fired.clone(),
        source_errors: c.source_errors,
        points,
    }
}

fn milestones(state: &RunState) -> Vec<Milestone> {
    let mut out: Vec<Milestone> = state
        .milestones
        .iter()
        .map(|m| Milestone {
            name: m.name.clone(),
            at: m.at.ts,
            origin: m.origin.label().to_string(),
            who: Some(m.who.label()),
        })
        .collect();
    out.sort_by_key(|m| m.at.ms);
    out
}

/// When an entry happened: a milestone marked `--at` happened then.
fn happened(entry: &Entry) -> Ts {
    match &entry.event {
        Event::Milestone { at: Some(at), .. } => Ts::parse(at).unwrap_or(entry.at),
        _ => entry.at,
    }
}

fn timeline(state: &RunState) -> Vec<TimelineEntry> {
    let mut out: Vec<TimelineEntry> = state
        .history
        .iter()
        .filter_map(|e| {
            let line = describe::timeline(e)?;
            Some(TimelineEntry {
                seq: e.seq,
                at: happened(e),
                who: e.who.label(),
                kind: line.kind.to_string(),
                text: line.text,
            })
        })
        .collect();
    // Stable: events at the same time keep their journal order.
    out.sort_by_key(|e| e.at.ms);
    out
}

fn approvals(state: &RunState) -> Vec<ApprovalEntry> {
    state
        .history
        .iter()
        .filter_map(|e| {
            let (decision, reason) = describe::approval_row(e)?;
            Some(ApprovalEntry {
                at: e.at,
                who: e.who.label(),
                step: e.event.step().map(str::to_string),
                decision,
                reason,
            })
        })
        .collect()
}

fn deviations(state: &RunState) -> Vec<Deviation> {
    state
        .deviations
        .iter()
        .map(|d| Deviation {
            at: d.at,
            who: d.who.label(),
            kind: d.kind.clone(),
            step: d.step.clone(),
            text: describe::deviation(d, state),
        })
        .collect()
}

fn critical_path(r: &mut Report) {
    let dag: Vec<analysis::DagStep> = r
        .steps
        .values()
        .map(|s| analysis::DagStep {
            id: s.id.clone(),
            needs: s.needs.clone(),
            duration_ms: s.duration_ms.unwrap_or(0),
        })
        .collect();
    let (path, total) = analysis::critical_path(&dag);
    for id in &path {
        if let Some(s) = r.steps.get_mut(id) {
            s.on_critical_path = true;
        }
    }
    r.critical_path = CriticalPathReport {
        share: r
            .duration_ms
            .filter(|d| *d > 0)
            .map(|d| total as f64 / d as f64),
        steps: path,
        duration_ms: total,
    };
}

/// How much of `[from, to]` the intervals cover (they do not overlap each other).
fn overlap(intervals: &[(Ts, Ts)], from: Ts, to: Ts) -> u64 {
    intervals
        .iter()
        .map(|&(a, b)| {
            let (a, b) = (a.max(from), b.min(to));
            if b > a { b.since(a) } else { 0 }
        })
        .sum()
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
