//! The war-room view as the terminal shows it: a headline, then one section
//! per kind (steps, gates, triggers, approvals, milestones, last notes),
//! then the pause's instructions. Text from runbooks, people and commands
//! is shown visibly (no escape sequence reaches the terminal raw).

use std::fmt::Write as _;

use super::view::{
    ApprovalView, GateView, MilestoneView, NoteView, StatusView, StepView, TriggerHealth,
    TriggerView,
};
use crate::text::{duration, number};

impl StatusView {
    pub fn to_text(&self) -> String {
        let mut out = self.lines(false).join("\n");
        out.push('\n');
        out
    }

    /// The view's lines (no newline at their ends): the headline, what the
    /// run waits for, then one section per kind, then the pause's
    /// instructions. `fold_done`: finished steps in one line (a short
    /// pane). Text from runbooks, people and commands is shown visibly (no
    /// escape sequence reaches the terminal raw).
    pub fn lines(&self, fold_done: bool) -> Vec<String> {
        let mut out = String::new();
        self.write_headline(&mut out);
        self.write_schedule(&mut out);
        self.write_after(&mut out);
        write_waiting(&mut out, self);
        write_steps(&mut out, &self.steps, fold_done, |id| {
            self.step_against_plan(id)
        });
        write_gates(&mut out, &self.gates);
        write_triggers(&mut out, &self.triggers);
        write_approvals(&mut out, &self.approvals);
        write_milestones(&mut out, &self.milestones);
        write_notes(&mut out, &self.notes);
        if let Some(h) = &self.paused_hint {
            let _ = writeln!(out, "\n{h}");
        }
        crate::text::visible(&out)
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect()
    }

    /// `run `ID` (runbook) env `E`: STATE after 1m35s`, who started it, and
    /// the run's message.
    fn write_headline(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "run `{}`{}{}{}: {}{}",
            self.run_id,
            self.runbook
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            self.env
                .as_ref()
                .map(|e| format!(" env `{e}`"))
                .unwrap_or_default(),
            if self.dry_run { " DRY RUN" } else { "" },
            if self.stopped() {
                format!("STOPPED ({})", self.message.as_deref().unwrap_or_default())
            } else {
                self.state.to_uppercase()
            },
            match (self.paused_for_ms, self.duration_ms) {
                // Waiting for its start: the lines below say when.
                _ if self.state == "scheduled" => String::new(),
                (Some(p), Some(d)) => format!(
                    " for {} (it paused {} after it started)",
                    duration::short(p),
                    duration::short(d)
                ),
                (Some(p), None) => format!(" for {}", duration::short(p)),
                (None, Some(d)) => format!(" after {}", duration::short(d)),
                (None, None) => String::new(),
            }
        );
        if let (Some(at), Some(by)) = (&self.started_at, &self.started_by) {
            let _ = writeln!(out, "  started {at} by {by}");
        }
        if let Some(m) = self.message.as_ref().filter(|_| !self.stopped()) {
            let _ = writeln!(out, "  {m}");
        }
    }
}

/// What the run waits for, each with the commands that give it.
fn write_waiting(out: &mut String, view: &StatusView) {
    if view.waiting_for.is_empty() {
        return;
    }
    out.push_str("\nwaiting for\n");
    for w in &view.waiting_for {
        let _ = writeln!(out, "  {}", crate::text::one_line(&w.text));
        for c in &w.commands {
            let _ = writeln!(out, "    {c}");
        }
    }
}

/// A column as wide as its widest cell.
fn width<'a>(cells: impl Iterator<Item = &'a str>) -> usize {
    cells.map(|c| c.chars().count()).max().unwrap_or(0)
}

fn write_steps(
    out: &mut String,
    steps: &[StepView],
    fold_done: bool,
    against_plan: impl Fn(&str) -> Option<String>,
) {
    out.push_str("\nsteps\n");
    let foldable = |s: &StepView| {
        fold_done && s.state.is_complete() && s.rollback.is_none() && s.warnings.is_empty()
    };
    let folded: Vec<&str> = steps
        .iter()
        .filter(|s| foldable(s))
        .map(|s| s.id.as_str())
        .collect();
    if !folded.is_empty() {
        let _ = writeln!(
            out,
            "  {} step(s) done: {}",
            folded.len(),
            folded.join(", ")
        );
    }
    let shown: Vec<&StepView> = steps.iter().filter(|s| !foldable(s)).collect();
    let durations: Vec<String> = shown
        .iter()
        .map(|s| s.duration_ms.map(duration::short).unwrap_or_default())
        .collect();
    let id_w = width(shown.iter().map(|s| s.id.as_str()));
    let state_w = width(shown.iter().map(|s| s.state.label()));
    let time_w = width(durations.iter().map(String::as_str));
    let owner_w = width(shown.iter().filter_map(|s| s.owner.as_deref()));
    for (s, time) in shown.iter().zip(&durations) {
        let _ = writeln!(
            out,
            "  {:<id_w$}  {:<state_w$}  {:>time_w$}{}{}{}{}{}",
            s.id,
            s.state.label(),
            time,
            against_plan(&s.id)
                .map(|p| format!("  ({p})"))
                .unwrap_or_default(),
            if owner_w > 0 {
                format!("  {:<owner_w$}", s.owner.as_deref().unwrap_or(""))
            } else {
                String::new()
            },
            if s.attempts > 1 {
                format!("  attempt {}", s.attempts)
            } else {
                String::new()
            },
            s.rollback
                .as_ref()
                .map(|rb| format!("  {}", rb.label()))
                .unwrap_or_default(),
            s.detail
                .as_ref()
                .map(|d| format!("  {}", d.lines().next().unwrap_or_default()))
                .unwrap_or_default()
        );
        for w in &s.warnings {
            let _ = writeln!(out, "    warning: {w}");
        }
    }
}

fn write_gates(out: &mut String, gates: &[GateView]) {
    if gates.is_empty() {
        return;
    }
    out.push_str("\ngates\n");
    for g in gates {
        let _ = writeln!(
            out,
            "  {}.{:<20} latest {} (target {}) {} after {} measurement(s){}",
            g.step,
            g.gate,
            g.latest_value.map_or_else(|| "-".into(), number::exact),
            g.condition,
            g.result
                .map_or_else(|| "measuring".into(), |r| crate::event::words(&r)),
            g.measurements,
            if g.shadow { " (shadow)" } else { "" }
        );
    }
}

fn write_triggers(out: &mut String, triggers: &[TriggerView]) {
    if triggers.is_empty() {
        return;
    }
    out.push_str("\ntriggers\n");
    for t in triggers {
        let _ = writeln!(
            out,
            "  {:<24} {}; latest {}{}",
            t.id,
            trigger_health(t),
            t.latest_value.map_or_else(|| "-".into(), number::exact),
            t.condition
                .as_ref()
                .map(|c| format!(" (fires if {c})"))
                .unwrap_or_default()
        );
    }
}

/// `FIRED`, `source failing (N errors: ...)`, or armed / disarmed with what
/// the latest measurement says (`BREACHING`, `ok`, `not measured yet`).
fn trigger_health(t: &TriggerView) -> String {
    if t.fired {
        return "FIRED".to_string();
    }
    if t.errors > 0 {
        return format!(
            "source failing ({} errors: {})",
            t.errors,
            t.last_error.as_deref().unwrap_or("?")
        );
    }
    let health = match t.health {
        Some(TriggerHealth::Breaching) => "BREACHING".to_string(),
        Some(h) => h.label().to_string(),
        None => "not measured yet".into(),
    };
    if t.armed {
        format!("armed, {health}")
    } else {
        format!("disarmed, last {health}")
    }
}

fn write_approvals(out: &mut String, approvals: &[ApprovalView]) {
    if approvals.is_empty() {
        return;
    }
    out.push_str("\napprovals\n");
    for a in approvals {
        let yes = a.votes.iter().filter(|v| v.approve).count();
        let _ = writeln!(
            out,
            "  {:<24} {}{} of {} approved{}{}",
            a.step,
            if a.pending { "PENDING, " } else { "" },
            yes,
            a.needed.max(1),
            if a.timed_out { ", timed out" } else { "" },
            a.decided
                .as_ref()
                .map(|d| format!("; decided: {} (journal seq {})", d.decision.label(), d.seq))
                .unwrap_or_default()
        );
        for v in &a.votes {
            let _ = writeln!(
                out,
                "    {} by {} at {}{}",
                if v.approve { "approved" } else { "REJECTED" },
                v.who,
                v.at,
                v.reason
                    .as_deref()
                    .map(|r| format!(": {}", crate::text::one_line(r)))
                    .unwrap_or_default()
            );
        }
    }
}

fn write_milestones(out: &mut String, milestones: &[MilestoneView]) {
    if milestones.is_empty() {
        return;
    }
    out.push_str("\nmilestones\n");
    for m in milestones {
        let _ = writeln!(out, "  {} {} ({})", m.at, m.name, m.who);
    }
}

fn write_notes(out: &mut String, notes: &[NoteView]) {
    if notes.is_empty() {
        return;
    }
    out.push_str("\nlast notes\n");
    for n in notes {
        let _ = writeln!(
            out,
            "  {} {}: {}",
            n.at,
            n.who,
            crate::text::one_line(&n.text)
        );
    }
}
