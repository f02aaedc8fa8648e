//! The report as Markdown: for a ticket, a wiki page or a terminal.
//! Every string from the journal goes through `text::markdown`.

use std::fmt::Write as _;

use super::model::{CheckKind, Report};
use super::view::{
    self, SECTIONS, Span, Table, opt_ms, opt_ts, summary_rows, target, value as v, warnings,
};
use crate::text::markdown::{cell as esc, code, code_cell, line as esc_line};
use crate::text::number;

/// Spans as Markdown: text escaped (for a table cell or a line), a step id
/// as prose, code as a code span; tones are not shown.
pub fn spans(s: &[Span], in_table: bool) -> String {
    let mut out = String::new();
    for sp in s {
        match sp {
            Span::Text(t) | Span::Id(t) | Span::Tone(_, t) | Span::Value(t) => {
                out.push_str(&if in_table { esc(t) } else { esc_line(t) });
            }
            Span::Code(t) => out.push_str(&if in_table { code_cell(t) } else { code(t) }),
        }
    }
    out
}

fn table(o: &mut String, t: &Table) {
    let _ = writeln!(
        o,
        "| {} |\n|{}",
        t.head.join(" | "),
        "---|".repeat(t.head.len())
    );
    for row in &t.rows {
        o.push('|');
        for c in row {
            let _ = write!(o, " {} |", spans(c, true));
        }
        o.push('\n');
    }
}

pub fn render(r: &Report) -> String {
    let mut o = String::new();
    write_title(&mut o, r);
    super::headline::markdown(&mut o, r);
    super::schedule::markdown(&mut o, r);
    super::compare::markdown(&mut o, r);
    for (i, write_section) in SECTION_WRITERS.iter().enumerate() {
        let gap = if i == 0 { "" } else { "\n" };
        let _ = writeln!(o, "{gap}## {}\n", SECTIONS[i]);
        write_section(&mut o, r);
    }
    o
}

/// The writer of each of `SECTIONS`, in order.
const SECTION_WRITERS: [fn(&mut String, &Report); 12] = [
    write_summary,
    write_milestones,
    write_impact,
    write_steps,
    write_rollback,
    write_checks,
    write_approvals,
    write_deviations,
    write_notes,
    write_timeline,
    write_outcomes,
    write_actions,
];

/// The title, and a banner for each thing a reader must know before
/// trusting the numbers (`view::warnings`).
fn write_title(o: &mut String, r: &Report) {
    let title = r.runbook.as_deref().unwrap_or("unknown runbook");
    let _ = writeln!(
        o,
        "# Post-launch report: {} (run {})\n",
        esc_line(title),
        code(&r.run_id)
    );
    for w in warnings(r) {
        let _ = writeln!(o, "> **{}**\n", esc_line(&w));
    }
}

/// The run at a glance, and its closing message.
fn write_summary(o: &mut String, r: &Report) {
    let _ = writeln!(o, "| | |\n|---|---|");
    let rows = summary_rows(r);
    for (k, v) in rows {
        let _ = writeln!(o, "| {k} | {} |", esc(&v));
    }
    if let Some(m) = &r.message {
        let _ = writeln!(o, "\n{}", esc_line(m));
    }
}

/// Milestones, marked or derived, with who recorded them.
fn write_milestones(o: &mut String, r: &Report) {
    if r.milestones.is_empty() {
        let _ = writeln!(o, "None.");
    } else {
        let _ = writeln!(o, "| time | milestone | recorded by |\n|---|---|---|");
        for m in &r.milestones {
            let who = m.who.as_deref().unwrap_or("");
            let _ = writeln!(
                o,
                "| {} | {} ({}) | {} |",
                m.at.rfc3339(),
                esc(&m.name),
                esc(&m.origin),
                esc(who)
            );
        }
    }
}

/// When impact started, was detected and mitigated, and the times between.
fn write_impact(o: &mut String, r: &Report) {
    let i = &r.impact;
    if i.impact_start.is_none() && i.detected.is_none() {
        let _ = writeln!(
            o,
            "No trigger fired and no `impact-*` milestone was marked."
        );
    } else {
        let basis =
            |b: &Option<String>| b.as_deref().map(|b| format!(" ({b})")).unwrap_or_default();
        let _ = writeln!(
            o,
            "- Impact start: {}{}",
            opt_ts(i.impact_start),
            basis(&i.start_basis)
        );
        let _ = writeln!(
            o,
            "- Detected: {}{}",
            opt_ts(i.detected),
            basis(&i.detect_basis)
        );
        let _ = writeln!(
            o,
            "- Mitigated: {}{}",
            opt_ts(i.mitigated),
            basis(&i.mitigate_basis)
        );
        if i.impact_end.is_some() {
            let _ = writeln!(o, "- Impact end: {}", opt_ts(i.impact_end));
        }
        let _ = writeln!(
            o,
            "- **Time to detect: {}** ({})",
            opt_ms(i.ttd_ms),
            i.ttd_ms.map_or("—".into(), |m| format!("{m} ms"))
        );
        let _ = writeln!(
            o,
            "- **Time to mitigate: {}** ({})",
            opt_ms(i.ttm_ms),
            i.ttm_ms.map_or("—".into(), |m| format!("{m} ms"))
        );
    }
}

/// Each step planned vs actual, the critical path, the last output of steps that printed.
fn write_steps(o: &mut String, r: &Report) {
    table(o, &view::steps(r));
    let _ = writeln!(o, "\n{}", spans(&view::critical_path(r), false));
    for s in r.steps.values() {
        if s.output.last_lines.is_empty() {
            continue;
        }
        let _ = writeln!(o, "\nLast output of {}:\n\n```text", code(&s.id));
        for l in &s.output.last_lines {
            let _ = writeln!(o, "{}", crate::text::one_line(l).replace("```", "'''"));
        }
        let _ = writeln!(o, "```");
    }
}

/// What was rolled back, in order.
fn write_rollback(o: &mut String, r: &Report) {
    match view::rollback(r) {
        None => {
            let _ = writeln!(o, "No rollback.");
        }
        Some(rb) => {
            let _ = writeln!(o, "{}\n", spans(&rb.sentence, false));
            table(o, &rb.table);
        }
    }
}

/// Gates and triggers: a row each, then the queries they asked.
fn write_checks(o: &mut String, r: &Report) {
    if r.checks.is_empty() {
        let _ = writeln!(o, "None.");
    } else {
        let _ = writeln!(
            o,
            "| check | kind | target | measurements (gate: pass / fail; trigger: breach / ok) | min | max | last | first breach | result |\n|---|---|---|---|---|---|---|---|---|"
        );
        for c in r.checks.values() {
            let kind = match (c.kind, c.shadow) {
                (CheckKind::Gate, true) => {
                    format!("{} gate (shadow)", c.when.as_deref().unwrap_or(""))
                }
                (CheckKind::Gate, false) => format!("{} gate", c.when.as_deref().unwrap_or("")),
                (CheckKind::Trigger, _) => "trigger".into(),
            };
            let breach = c.first_breach.map_or_else(
                || "—".into(),
                |t| format!("{} at {}", v(c.first_breach_value), t.clock()),
            );
            let result = spans(&view::check_result(c), true);
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                code_cell(&c.key),
                kind.trim(),
                esc(&target(c)),
                c.counts_text(),
                v(c.min),
                v(c.max),
                v(c.last),
                breach,
                result
            );
        }
        let _ = writeln!(o, "\nQueries:\n");
        for c in r.checks.values() {
            let _ = writeln!(
                o,
                "- {} on {}: {}{}",
                code(&c.key),
                code(&c.source),
                code(&c.query),
                c.baseline
                    .map(|b| format!(" (baseline {})", number::short(b)))
                    .unwrap_or_default()
            );
        }
    }
}

/// Go/no-go votes and decisions.
fn write_approvals(o: &mut String, r: &Report) {
    if r.approvals.is_empty() {
        let _ = writeln!(o, "None.");
    } else {
        table(o, &view::approvals(r));
    }
}

/// Where the run left the plan.
fn write_deviations(o: &mut String, r: &Report) {
    if r.deviations.is_empty() {
        let _ = writeln!(o, "None: the run went as planned.");
    } else {
        table(o, &view::deviations(r));
    }
}

/// The operators' notes.
fn write_notes(o: &mut String, r: &Report) {
    if r.notes.is_empty() {
        let _ = writeln!(o, "None.");
    }
    for n in &r.notes {
        let _ = writeln!(
            o,
            "- {} {}: {}",
            n.at.rfc3339(),
            esc_line(&n.who),
            esc_line(&n.text)
        );
    }
}

/// Every event, in order.
fn write_timeline(o: &mut String, r: &Report) {
    table(o, &view::timeline(r));
}

/// Each outcome's last verdict against its target, or when it is due.
fn write_outcomes(o: &mut String, r: &Report) {
    if r.outcomes.is_empty() {
        let _ = writeln!(o, "None (the runbook has no `[[outcome]]`).");
    } else {
        table(o, &super::after::outcomes_table(r));
    }
}

/// The action items and suggested follow-ups; without any, an empty table
/// for the review to fill in.
fn write_actions(o: &mut String, r: &Report) {
    if let Some(t) = super::after::actions_table(r) {
        table(o, &t);
        return;
    }
    let _ = writeln!(
        o,
        "| # | action | owner | due |\n|---|---|---|---|\n| 1 | | | |\n| 2 | | | |\n| 3 | | | |"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, StepState};
    use crate::report::build::testing::TestJournal;

    #[test]
    fn commands_in_code_spans_read_as_written() {
        let cmd = "cp a b && echo 0 > x/error_rate";
        let mut b = TestJournal::new("j", "r");
        let at = "2026-01-01T00:00:00.000Z";
        b.push(
            at,
            "op@h",
            Event::StepState {
                step: "db_migrate".into(),
                state: StepState::Failed,
                detail: Some(format!("`{cmd}` exited 1; see `a|b`")),
            },
        );
        b.push(
            at,
            "op@h",
            Event::Note {
                text: "<script>alert(1)</script> ran `cat x | wc`".into(),
            },
        );
        let md = render(&b.finish());
        // In the timeline and deviations tables: step id and command verbatim, pipe escaped.
        assert!(
            md.contains(&format!(
                "step `db_migrate` failed: `{cmd}` exited 1; see `a\\|b`"
            )),
            "{md}"
        );
        assert!(!md.contains("&gt; x/error"), "{md}");
        assert!(!md.contains("db\\_migrate`"), "{md}");
        // A note's markup stays escaped outside its code span.
        assert!(
            md.contains("&lt;script&gt;alert(1)&lt;/script&gt; ran `cat x | wc`"),
            "{md}"
        );
        assert!(!md.contains("<script>"), "{md}");
    }

    #[test]
    fn trigger_measurements_are_breaches_not_passes() {
        use crate::event::Verdict;
        let mut b = TestJournal::new("j", "r");
        let gate = ("s", Some("g"));
        let trigger = ("errors", None);
        let at = "2026-01-01T00:00:00.000Z";
        // A trigger's verdict is its `fire_if`: pass = breach.
        for v in [
            Verdict::Fail,
            Verdict::Fail,
            Verdict::Fail,
            Verdict::Pass,
            Verdict::Pass,
        ] {
            b.measurement(at, trigger, Some(1.0), v);
        }
        b.measurement(at, trigger, None, Verdict::Error);
        b.measurement(at, gate, Some(1.0), Verdict::Pass);
        let r = b.finish();
        let t = &r.checks["errors"];
        assert_eq!(
            t.trigger_counts,
            Some(crate::report::model::TriggerCounts {
                breach: 2,
                ok: 3,
                inconclusive: 0,
                error: 1
            })
        );
        assert_eq!(r.checks["s.g"].trigger_counts, None);
        let md = render(&r);
        assert!(md.contains("| `errors` | trigger |"), "{md}");
        assert!(
            md.contains("| 2 breach, 3 ok, 0 inconclusive, 1 error |"),
            "{md}"
        );
        assert!(
            md.contains("| 1 pass, 0 fail, 0 inconclusive, 0 error |"),
            "{md}"
        );
        let html = crate::report::html::render(&r);
        assert!(html.contains("6 measurements: 2 breach, 3 ok, 0 inconclusive, 1 error"));
        let json: serde_json::Value =
            serde_json::from_str(&crate::report::json::render(&r)).unwrap();
        assert_eq!(
            json["checks"]["errors"]["trigger_counts"],
            serde_json::json!({"breach": 2, "ok": 3, "inconclusive": 0, "error": 1})
        );
        assert!(json["checks"]["s.g"]["trigger_counts"].is_null());
    }
}
