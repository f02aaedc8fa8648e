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
        let mut out = String::new();
        self.write_headline(&mut out);
        self.write_after(&mut out);
        write_steps(&mut out, &self.steps);
        write_gates(&mut out, &self.gates);
        write_triggers(&mut out, &self.triggers);
        write_approvals(&mut out, &self.approvals);
        write_milestones(&mut out, &self.milestones);
        write_notes(&mut out, &self.notes);
        if let Some(h) = &self.paused_hint {
            let _ = writeln!(out, "\n{h}");
        }
        // Names, notes and messages come from runbooks, people and commands:
        // no escape sequence in them reaches the terminal raw.
        crate::text::visible(&out).into_owned()
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

fn write_steps(out: &mut String, steps: &[StepView]) {
    out.push_str("\nsteps\n");
    for s in steps {
        let _ = writeln!(
            out,
            "  {:<24} {:<18} {:>8}{}{}{}",
            s.id,
            s.state.label(),
            s.duration_ms.map(duration::short).unwrap_or_default(),
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
