//! The report as Markdown: for a ticket, a wiki page or a terminal.
//! Every string from the journal goes through `escape::markdown`.

use std::fmt::Write as _;

use super::escape::{code, code_cell, markdown as esc, markdown_line as esc_line};
use super::fmt_value;
use super::model::{CheckKind, CheckReport, Report, StepReport};
use super::time::{Ts, human_ms};

/// Section headings, shared with the HTML renderer (tests look for them).
pub const SECTIONS: [&str; 11] = [
    "Summary",
    "Milestones",
    "Time to detect and mitigate",
    "Planned vs actual",
    "Rollback",
    "Gates and triggers",
    "Approvals and decisions",
    "Deviations",
    "Operator notes",
    "Timeline",
    "Action items",
];

fn opt_ts(t: Option<Ts>) -> String {
    t.map_or_else(|| "—".into(), Ts::rfc3339)
}

fn opt_ms(ms: Option<u64>) -> String {
    ms.map_or_else(|| "—".into(), human_ms)
}

/// Lines that say what a reader must know before trusting the numbers.
pub fn warnings(r: &Report) -> Vec<String> {
    let mut w = Vec::new();
    if r.in_progress {
        w.push("in progress: the run has not finished; figures are as of its last event".into());
    }
    if let Some(n) = r.truncated_at {
        w.push(format!(
            "journal truncated at line {n} (a crash mid-write); that line is ignored"
        ));
    }
    if !r.bad_lines.is_empty() {
        w.push(format!(
            "{} unreadable journal line(s) skipped: {}",
            r.bad_lines.len(),
            r.bad_lines.join("; ")
        ));
    }
    if !r.unknown_kinds.is_empty() {
        let kinds: Vec<String> = r
            .unknown_kinds
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        w.push(format!(
            "event kinds from a newer cutover ignored: {}",
            kinds.join(", ")
        ));
    }
    w
}

/// The readiness checklists evaluated before the first step, in a line.
fn readiness(r: &Report) -> String {
    if r.readiness.is_empty() {
        return "— (no checklist required)".into();
    }
    r.readiness
        .iter()
        .map(|x| {
            let state = match (x.ready, x.overridden) {
                (true, _) => "ready".to_string(),
                (false, true) => format!(
                    "NOT ready, overridden{}",
                    x.reason
                        .as_ref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ),
                (false, false) => format!(
                    "NOT ready{}",
                    x.reason
                        .as_ref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
            };
            format!("{} {state}", x.checklist)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The summary table's rows (plain text, escaped by each renderer).
pub fn summary_rows(r: &Report) -> Vec<(&'static str, String)> {
    vec![
        ("Runbook", r.runbook.clone().unwrap_or_default()),
        (
            "Change ticket",
            r.change.clone().unwrap_or_else(|| "—".into()),
        ),
        ("Owner", r.owner.clone().unwrap_or_else(|| "—".into())),
        (
            "Environment",
            format!(
                "{}{}",
                r.env.as_deref().unwrap_or("(default)"),
                if r.production { " (production)" } else { "" }
            ),
        ),
        (
            "Mode",
            if r.dry_run {
                "dry run".into()
            } else {
                "real run".into()
            },
        ),
        ("Outcome", r.outcome_label.clone()),
        ("Run by", r.started_by.clone().unwrap_or_default()),
        (
            "Resumed by",
            if r.resumed_by.is_empty() {
                "—".into()
            } else {
                r.resumed_by.join(", ")
            },
        ),
        ("Readiness", readiness(r)),
        ("Started", opt_ts(r.started)),
        (
            "Ended",
            if r.in_progress {
                format!("— (in progress; last event {})", opt_ts(r.ended))
            } else {
                opt_ts(r.ended)
            },
        ),
        ("Duration", opt_ms(r.duration_ms)),
        ("Run id", r.run_id.clone()),
        ("Plan", r.plan_hash.clone().unwrap_or_default()),
        (
            "Journal",
            format!(
                "{} ({} events, {} output lines, {} measurements)",
                r.journal, r.events, r.output_lines, r.measurements
            ),
        ),
    ]
}

/// Target of a check in words: `must be < 0.3` / `fires if > 0.02 for 30s`.
pub fn target(c: &CheckReport) -> String {
    match c.kind {
        CheckKind::Gate => format!("pass if {}", c.condition),
        CheckKind::Trigger => format!("fire if {}", c.condition),
    }
}

/// A step's execution time, with the paused time it leaves out.
pub fn actual(s: &StepReport) -> String {
    let d = opt_ms(s.duration_ms);
    if s.paused_ms > 0 {
        format!("{d} (+{} paused)", human_ms(s.paused_ms))
    } else {
        d
    }
}

#[expect(
    clippy::many_single_char_names,
    reason = "a renderer: `r` the report, `o` the output; short names keep the markup readable"
)]
pub fn render(r: &Report) -> String {
    let mut o = String::new();
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

    let _ = writeln!(o, "## {}\n", SECTIONS[0]);
    let _ = writeln!(o, "| | |\n|---|---|");
    let rows = summary_rows(r);
    for (k, v) in rows {
        let _ = writeln!(o, "| {k} | {} |", esc(&v));
    }
    if let Some(m) = &r.message {
        let _ = writeln!(o, "\n{}", esc_line(m));
    }

    let _ = writeln!(o, "\n## {}\n", SECTIONS[1]);
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

    let _ = writeln!(o, "\n## {}\n", SECTIONS[2]);
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

    let _ = writeln!(o, "\n## {}\n", SECTIONS[3]);
    let _ = writeln!(
        o,
        "| step | kind | needs | state | planned timeout | actual | waited for approval | attempts | output lines | critical path |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for s in r.steps.values() {
        let retries = s.attempts.len().saturating_sub(1);
        let attempts = format!(
            "{}{}",
            s.attempts.len(),
            if retries > 0 {
                format!(
                    " ({retries} retr{})",
                    if retries == 1 { "y" } else { "ies" }
                )
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            esc(&s.id),
            esc(&s.kind),
            esc(&s.needs.join(", ")),
            esc(&s.state),
            opt_ms(s.planned_timeout_ms),
            actual(s),
            opt_ms(s.waited_for_approval_ms),
            attempts,
            s.output.stdout_lines + s.output.stderr_lines,
            if s.on_critical_path { "yes" } else { "" }
        );
    }
    let cp = &r.critical_path;
    let share = cp
        .share
        .map_or(String::new(), |s| format!(", {:.0}% of the run", s * 100.0));
    let _ = writeln!(
        o,
        "\nCritical path: {} ({}{share}).",
        if cp.steps.is_empty() {
            "—".into()
        } else {
            cp.steps
                .iter()
                .map(|s| code(s))
                .collect::<Vec<_>>()
                .join(" → ")
        },
        human_ms(cp.duration_ms)
    );
    for s in r.steps.values() {
        if s.output.last_lines.is_empty() {
            continue;
        }
        let _ = writeln!(o, "\nLast output of {}:\n\n```text", code(&s.id));
        for l in &s.output.last_lines {
            let _ = writeln!(o, "{}", l.replace("```", "'''"));
        }
        let _ = writeln!(o, "```");
    }

    let _ = writeln!(o, "\n## {}\n", SECTIONS[4]);
    match &r.rollback {
        None => {
            let _ = writeln!(o, "No rollback.");
        }
        Some(rb) => {
            let state = match rb.ok {
                Some(true) => "finished".to_string(),
                Some(false) => format!("FAILED for {}", rb.failed.join(", ")),
                None => "did not finish".into(),
            };
            let _ = writeln!(
                o,
                "Started {} because {}; {state}{}.\n",
                rb.started.rfc3339(),
                esc_line(&rb.reason),
                rb.finished
                    .map(|f| format!(
                        " at {} after {}",
                        f.rfc3339(),
                        human_ms(f.since(rb.started))
                    ))
                    .unwrap_or_default()
            );
            let _ = writeln!(
                o,
                "| step | rollback action | result | exit | duration |\n|---|---|---|---|---|"
            );
            for id in &rb.steps {
                let Some(step) = r.steps.get(id) else {
                    continue;
                };
                // A step rolled back although it did not finish (`rollback_partial`).
                let name = if rb.partial.contains(id) {
                    format!("{} (partial: it did not finish)", esc(id))
                } else {
                    esc(id)
                };
                let Some(x) = &step.rollback else {
                    let _ = writeln!(o, "| {name} | | not started | | |");
                    continue;
                };
                let result = match x.ok {
                    Some(true) => "ok".to_string(),
                    Some(false) => format!(
                        "FAILED{}",
                        x.detail
                            .as_ref()
                            .map(|d| format!(": {d}"))
                            .unwrap_or_default()
                    ),
                    None => "running".into(),
                };
                let _ = writeln!(
                    o,
                    "| {name} | {} | {} | {} | {} |",
                    code_cell(&x.action),
                    esc(&result),
                    x.exit_code.map_or(String::new(), |c| c.to_string()),
                    opt_ms(x.duration_ms)
                );
            }
        }
    }

    let _ = writeln!(o, "\n## {}\n", SECTIONS[5]);
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
            let v = |x: Option<f64>| x.map_or_else(|| "—".into(), fmt_value);
            let breach = c.first_breach.map_or_else(
                || "—".into(),
                |t| format!("{} at {}", v(c.first_breach_value), t.clock()),
            );
            let result = match (&c.fired, &c.result) {
                (Some(f), _) => format!(
                    "FIRED at {}: value {} {} (held {} ms), {}",
                    f.at.rfc3339(),
                    v(f.value),
                    f.condition,
                    f.held_ms,
                    f.action
                ),
                (None, Some(res)) => format!(
                    "{res}{}",
                    c.detail
                        .as_ref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ),
                (None, None)
                    if c.kind == CheckKind::Trigger && c.counts.pass + c.counts.fail > 0 =>
                {
                    "did not fire".into()
                }
                _ => "not evaluated".into(),
            };
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
                esc(&result)
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
                    .map(|b| format!(" (baseline {})", fmt_value(b)))
                    .unwrap_or_default()
            );
        }
    }

    let _ = writeln!(o, "\n## {}\n", SECTIONS[6]);
    if r.approvals.is_empty() {
        let _ = writeln!(o, "None.");
    } else {
        let _ = writeln!(
            o,
            "| time | who | step | decision | why |\n|---|---|---|---|---|"
        );
        for a in &r.approvals {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                a.at.rfc3339(),
                esc(&a.who),
                esc(a.step.as_deref().unwrap_or("")),
                esc(&a.decision),
                esc(a.reason.as_deref().unwrap_or(""))
            );
        }
    }

    let _ = writeln!(o, "\n## {}\n", SECTIONS[7]);
    if r.deviations.is_empty() {
        let _ = writeln!(o, "None: the run went as planned.");
    } else {
        let _ = writeln!(
            o,
            "| time | kind | step | what | who |\n|---|---|---|---|---|"
        );
        for d in &r.deviations {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                d.at.rfc3339(),
                esc(&d.kind),
                esc(d.step.as_deref().unwrap_or("")),
                esc(&d.text),
                esc(&d.who)
            );
        }
    }

    let _ = writeln!(o, "\n## {}\n", SECTIONS[8]);
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

    let _ = writeln!(o, "\n## {}\n", SECTIONS[9]);
    let _ = writeln!(o, "| time | who | event |\n|---|---|---|");
    for e in &r.timeline {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            e.at.clock(),
            esc(&e.who),
            esc(&e.text)
        );
    }

    let _ = writeln!(o, "\n## {}\n", SECTIONS[10]);
    let _ = writeln!(
        o,
        "| # | action | owner | due |\n|---|---|---|---|\n| 1 | | | |\n| 2 | | | |\n| 3 | | | |"
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, StepState};
    use crate::report::builder::Builder;

    #[test]
    fn commands_in_code_spans_read_as_written() {
        let cmd = "cp a b && echo 0 > x/error_rate";
        let mut b = Builder::new("j", "r");
        let at = "2026-01-01T00:00:00.000Z";
        b.push(
            1,
            at,
            "op@h",
            Event::StepState {
                step: "db_migrate".into(),
                state: StepState::Failed,
                detail: Some(format!("`{cmd}` exited 1; see `a|b`")),
            },
        );
        b.push(
            2,
            at,
            "op@h",
            Event::Note {
                text: "<script>alert(1)</script> ran `cat x | wc`".into(),
            },
        );
        let md = render(&b.finish(None, Vec::new()));
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
        use crate::report::builder::MeasuredCheck;
        use crate::signals::Verdict;
        let mut b = Builder::new("j", "r");
        let gate = MeasuredCheck::Gate {
            step: "s",
            gate: "g",
        };
        let trigger = MeasuredCheck::Trigger { trigger: "errors" };
        let at = "2026-01-01T00:00:00.000Z";
        // A trigger's verdict is its `fire_if`: pass = breach.
        for v in [
            Verdict::Fail,
            Verdict::Fail,
            Verdict::Fail,
            Verdict::Pass,
            Verdict::Pass,
        ] {
            b.measurement(trigger, at, Some(1.0), v, None);
        }
        b.measurement(trigger, at, None, Verdict::Error, None);
        b.measurement(gate, at, Some(1.0), Verdict::Pass, None);
        let r = b.finish(None, Vec::new());
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
