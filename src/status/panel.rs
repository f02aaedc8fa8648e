//! The driver's live panel: what is happening now, from the fold and the
//! time, as the lines pinned under the log at the operator's terminal. A
//! headline with the run's progress, one row per step running or waiting
//! (elapsed, and against its plan where one is known; a gate's progress
//! `3/6` with its latest value against the target; a go/no-go's votes or a
//! manual step, with the exact command that acts on it), one per armed
//! trigger (`ok`, `BREACHING for 12s of 30s`, `FIRED`), the rollback, and
//! the operator's open choice. Pure: the terminal layer (`ui`) draws it.

use std::fmt::Write as _;
use std::time::Duration;

use crate::event::StepState;
use crate::journal::{CheckKind, CheckRecord, RunState, StepRecord, TriggerHealth, Ts};
use crate::text::color::{Tone, tint};
use crate::text::{duration, number};

/// One line of the panel: pieces of text, each with its meaning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PanelLine {
    pub cells: Vec<(String, Tone)>,
}

impl PanelLine {
    fn new() -> Self {
        PanelLine::default()
    }

    /// A piece of text, control characters shown (`\x1b`, `\n`), never
    /// obeyed: names, owners and conditions come from files people wrote.
    fn add(mut self, text: impl Into<String>, tone: Tone) -> Self {
        let text = text.into();
        // One line each, and a tab a space: the panel counts the rows and
        // columns it takes, so a redraw covers exactly what it drew.
        let text = crate::text::one_line(&text).replace('\t', " ");
        self.cells.push((text, tone));
        self
    }

    /// The line's text, without colour.
    pub fn plain(&self) -> String {
        self.cells.iter().map(|(t, _)| t.as_str()).collect()
    }

    /// The line cut to `width` characters (its end marked `…`), coloured
    /// when `color`.
    pub fn render(&self, width: usize, color: bool) -> String {
        let mut left = width;
        let mut out = String::new();
        for (text, tone) in &self.cells {
            if left == 0 {
                break;
            }
            let n = text.chars().count();
            let piece: String = if n > left {
                let mut cut: String = text.chars().take(left.saturating_sub(1)).collect();
                cut.push('…');
                cut
            } else {
                text.clone()
            };
            left = left.saturating_sub(piece.chars().count());
            out.push_str(&tint(&piece, *tone, color));
        }
        out
    }
}

/// The panel of `state` at `now`, `run_ref` naming the run in commands, in
/// at most `max_lines` lines (the last says how many more did not fit).
pub fn panel(state: &RunState, now: Ts, run_ref: &str, max_lines: usize) -> Vec<PanelLine> {
    let mut lines = vec![headline(state, now)];
    lines.extend(schedule_row(state, now));
    let id_w = state
        .steps
        .iter()
        .filter(|(_, r)| active(state, r))
        .map(|(id, _)| id.chars().count())
        .max()
        .unwrap_or(0);
    for (id, rec) in state.steps.iter().filter(|(_, r)| active(state, r)) {
        lines.extend(step_rows(state, id, rec, now, run_ref, id_w));
    }
    lines.extend(trigger_rows(state, now));
    if let Some(line) = rollback_row(state) {
        lines.push(line);
    }
    if let Some(line) = choice_row(state) {
        lines.push(line);
    }
    let max_lines = max_lines.max(2);
    if lines.len() > max_lines {
        let more = lines.len() - (max_lines - 1);
        lines.truncate(max_lines - 1);
        lines.push(PanelLine::new().add(
            format!("  ... {more} more (a taller terminal shows them)"),
            Tone::Quiet,
        ));
    }
    lines
}

/// A step the panel shows: running, or waiting for people. Once a
/// rollback has started a waiting step will not run (`status` shows it
/// cancelled), so it and the command that acted on it go.
fn active(state: &RunState, rec: &StepRecord) -> bool {
    match rec.state {
        StepState::BeforeGates | StepState::Running | StepState::AfterGates => true,
        StepState::AwaitingApproval => state.rollback.is_none(),
        StepState::AwaitingOperator => state.rollback.is_none() && !rec.manual_done,
        _ => false,
    }
}

/// How long step `id` is planned to take (its `expected`, else the median
/// of its rehearsals); without a plan the row shows the elapsed time alone
/// (and the step's `timeout`, if it has one).
fn planned(state: &RunState, id: &str) -> Option<Duration> {
    state.planned_ms(id).map(Duration::from_millis)
}

/// When the run is projected to end, from the plan and what is done.
fn eta(state: &RunState, now: Ts) -> Option<Ts> {
    state.eta(now).and_then(|e| e.projected_end)
}

/// The run against its schedule: elapsed vs planned, ahead or behind, the
/// projected end and the window's end (red past it); none without a plan
/// or a window.
fn schedule_row(state: &RunState, now: Ts) -> Option<PanelLine> {
    let eta = state.eta(now)?;
    if eta.planned_total_ms.is_none() && eta.window_end.is_none() {
        return None;
    }
    let tone = if eta.overrun_ms.is_some() {
        Tone::Bad
    } else {
        Tone::Quiet
    };
    Some(PanelLine::new().add(
        format!("  schedule: {}", crate::describe::schedule::eta(&eta)),
        tone,
    ))
}

/// `── run `r` RUNNING 1m12s · 3 of 8 steps done ──`.
fn headline(state: &RunState, now: Ts) -> PanelLine {
    let total = state.steps.len();
    let done = state
        .steps
        .values()
        .filter(|r| r.state.is_complete())
        .count();
    let (word, tone) = if state
        .rollback
        .as_ref()
        .is_some_and(|rb| rb.finished.is_none())
    {
        ("ROLLING BACK", Tone::Bad)
    } else if state.interrupted.is_some() || state.deciding.is_some() {
        ("INTERRUPTED", Tone::Waiting)
    } else if state.schedule.waiting() {
        ("SCHEDULED", Tone::Waiting)
    } else if let Some(outcome) = state.outcome() {
        (outcome.label(), Tone::Plain)
    } else {
        ("RUNNING", Tone::Plain)
    };
    let elapsed = state
        .started_at
        .as_ref()
        .map(|s| format!(" {}", duration::short(now.since(s.ts))))
        .unwrap_or_default();
    let mut tail = format!(" · {done} of {total} steps done");
    if let Some(start) = state
        .schedule
        .scheduled
        .as_ref()
        .filter(|_| state.schedule.waiting())
    {
        let _ = write!(
            tail,
            " · starts {} (in {})",
            crate::describe::schedule::time(start.at),
            duration::short(start.at.since(now))
        );
    }
    if let Some(at) = eta(state, now) {
        let _ = write!(tail, " · ETA {}", at.clock());
    }
    PanelLine::new()
        .add(format!("── run `{}` ", state.run_id), Tone::Quiet)
        .add(format!("{}{elapsed}", word.to_uppercase()), tone)
        .add(format!("{tail} "), Tone::Plain)
        .add("─".repeat(200), Tone::Quiet)
}

/// A step's row, and a row per gate it is measuring.
fn step_rows(
    state: &RunState,
    id: &str,
    rec: &StepRecord,
    now: Ts,
    run_ref: &str,
    id_w: usize,
) -> Vec<PanelLine> {
    let since = match rec.state {
        StepState::AwaitingApproval => rec.timing.awaiting_since,
        _ => rec.first_state_at.as_ref().map(|s| s.ts),
    };
    let elapsed = since.map_or(0, |s| now.since(s));
    let mut time = duration::short(elapsed);
    let snapshot = state.plan.step(id);
    match (
        planned(state, id),
        snapshot.and_then(crate::journal::StepSnapshot::timeout),
    ) {
        (Some(plan), _) => {
            let _ = write!(time, " of {} planned", duration::short(millis(plan)));
        }
        (None, Some(limit)) => {
            let _ = write!(time, " (timeout {})", duration::short(millis(limit)));
        }
        (None, None) => {}
    }
    let tone = match rec.state {
        StepState::AwaitingApproval | StepState::AwaitingOperator => Tone::Waiting,
        _ => Tone::Plain,
    };
    let mut line = PanelLine::new()
        .add(format!("  {id:<id_w$}  "), Tone::Plain)
        .add(format!("{:<17}", rec.state.label()), tone)
        .add(format!("  {time}"), Tone::Plain);
    if let Some(owner) = snapshot.and_then(|s| s.owner.as_deref()) {
        line = line.add(format!("  {owner}"), Tone::Quiet);
    }
    // What acts on a waiting step, on a line of its own: the command to copy.
    let act = |command: String| {
        PanelLine::new()
            .add(format!("  {:id_w$}    ", ""), Tone::Plain)
            .add(command, Tone::Waiting)
    };
    let (line, command) = match rec.state {
        StepState::AwaitingApproval => (
            line.add(
                format!(
                    "  {} of {} approved{}",
                    rec.approvals,
                    rec.approval_needed.max(1),
                    if rec.approved_by.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", rec.approved_by.join(", "))
                    }
                ),
                Tone::Waiting,
            ),
            Some(act(format!(
                "cutover approve {run_ref} {id} --reason \"...\""
            ))),
        ),
        StepState::AwaitingOperator => (
            line.add("  manual", Tone::Waiting),
            Some(act(format!("cutover done {run_ref} {id}"))),
        ),
        StepState::Running if rec.attempts > 1 => (
            line.add(format!("  attempt {}", rec.attempts), Tone::Waiting),
            None,
        ),
        _ => (line, None),
    };
    let mut rows = vec![line];
    rows.extend(command);
    rows.extend(
        state
            .checks
            .values()
            .filter(|c| c.kind == CheckKind::Gate && c.step.as_deref() == Some(id))
            .filter_map(|c| gate_row(state, c, id_w)),
    );
    rows
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `gate error-rate 3/6: 0.012 (target < 0.02)` for a gate measuring now.
fn gate_row(state: &RunState, c: &CheckRecord, id_w: usize) -> Option<PanelLine> {
    let round = c.round.as_ref().filter(|r| r.result.is_none())?;
    let gate = c.gate.as_deref().unwrap_or_default();
    let count = c
        .step
        .as_deref()
        .and_then(|s| state.plan.step(s))
        .and_then(|s| s.gates.iter().find(|g| g.id == gate))
        .map(|g| g.count)
        .filter(|n| *n > 0);
    let progress = count.map_or_else(
        || round.measurements.to_string(),
        |n| format!("{}/{n}", round.measurements),
    );
    let tone = match round.latest_verdict {
        Some(crate::event::Verdict::Fail | crate::event::Verdict::Error) => Tone::Bad,
        Some(crate::event::Verdict::Pass) => Tone::Good,
        _ => Tone::Plain,
    };
    Some(
        PanelLine::new()
            .add(
                format!("  {:id_w$}    gate {gate} {progress}: ", ""),
                Tone::Plain,
            )
            .add(
                round
                    .latest_value
                    .map_or_else(|| "no value yet".into(), number::exact),
                tone,
            )
            .add(
                format!(
                    " (target {}){}",
                    round.condition,
                    if round.shadow { " shadow" } else { "" }
                ),
                if round.shadow {
                    Tone::Quiet
                } else {
                    Tone::Plain
                },
            ),
    )
}

/// A row per armed (or fired) trigger.
fn trigger_rows(state: &RunState, now: Ts) -> Vec<PanelLine> {
    let triggers: Vec<&CheckRecord> = state
        .checks_seen
        .iter()
        .filter_map(|k| state.checks.get(k))
        .filter(|c| c.kind == CheckKind::Trigger && (c.armed || c.fired.is_some()))
        .collect();
    let w = triggers
        .iter()
        .map(|c| c.key.chars().count())
        .max()
        .unwrap_or(0);
    triggers
        .into_iter()
        .map(|c| {
            let (word, tone) = trigger_health(state, c, now);
            let value = c
                .latest_value
                .map(|v| format!(" · {}", number::exact(v)))
                .unwrap_or_default();
            let condition = c
                .seen_condition
                .as_deref()
                .map(|x| format!(" (fires if {x})"))
                .unwrap_or_default();
            PanelLine::new()
                .add(format!("  trigger {:<w$}  ", c.key), Tone::Plain)
                .add(word, tone)
                .add(format!("{value}{condition}"), Tone::Quiet)
        })
        .collect()
}

/// `ok`, `BREACHING for 12s of 30s`, `FIRED: rollback`, ...
fn trigger_health(state: &RunState, c: &CheckRecord, now: Ts) -> (String, Tone) {
    if let Some(f) = &c.fired {
        return (format!("FIRED: {}", f.action), Tone::Bad);
    }
    match c.health {
        Some(TriggerHealth::Ok) => ("ok".into(), Tone::Good),
        Some(TriggerHealth::Breaching) => {
            // The current streak of breaching measurements: since its first.
            let since = c
                .points
                .iter()
                .rev()
                .take_while(|p| p.breach(CheckKind::Trigger))
                .last()
                .map(|p| p.ms);
            let held = since.map_or(0, |ms| u64::try_from(now.ms - ms).unwrap_or(0));
            let hold = state
                .plan
                .trigger(&c.key)
                .and_then(crate::journal::TriggerSnapshot::hold_for)
                .filter(|d| !d.is_zero());
            let of = hold.map_or_else(String::new, |h| {
                format!(" of {}", duration::short(millis(h)))
            });
            (
                format!("BREACHING for {}{of}", duration::short(held)),
                Tone::Bad,
            )
        }
        Some(TriggerHealth::SourceFailing) => (
            format!("source failing ({} errors)", c.errors),
            Tone::Waiting,
        ),
        Some(TriggerHealth::Inconclusive) => ("inconclusive".into(), Tone::Quiet),
        None => ("not measured yet".into(), Tone::Quiet),
    }
}

/// The rollback under way: how far, and which step now.
fn rollback_row(state: &RunState) -> Option<PanelLine> {
    let rb = state.rollback.as_ref().filter(|rb| rb.finished.is_none())?;
    Some(PanelLine::new().add(
        format!(
            "  ROLLBACK ({}): {} of {} rolled back{}",
            rb.reason,
            rb.finished_steps.len(),
            rb.planned.len(),
            rb.open_step
                .as_deref()
                .map(|s| format!("; now `{s}`"))
                .unwrap_or_default()
        ),
        Tone::Bad,
    ))
}

/// The operator's open choice (the Ctrl-C menu, a failed step), or the
/// wait for running steps after a Ctrl-C.
fn choice_row(state: &RunState) -> Option<PanelLine> {
    if let Some(d) = &state.deciding {
        let about = d
            .step
            .as_deref()
            .map(|s| format!(" about `{s}`"))
            .unwrap_or_default();
        return Some(PanelLine::new().add(
            format!("  you decide{about}: type {}", d.choices.join(", ")),
            Tone::Waiting,
        ));
    }
    state.interrupted.as_ref()?;
    Some(PanelLine::new().add(
        "  Ctrl-C: no new step starts; running steps finish, then you choose (Ctrl-C again to abort)",
        Tone::Waiting,
    ))
}
