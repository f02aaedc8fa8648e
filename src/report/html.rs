//! The report as one self-contained HTML file: inline CSS and SVG, no script,
//! no font or image from anywhere, readable on screen and on paper. Every
//! string from the journal goes through `escape::html`.

use std::fmt::Write as _;

use super::chart;
use super::escape::html as esc;
use super::model::{CheckKind, Report};
use super::view::{
    self, SECTIONS, Span, Table, opt_ms, opt_ts, summary_rows, target, value as v, warnings,
};
use crate::text::number;

const CSS: &str = r"
:root { --fg:#1b1f24; --muted:#5b6470; --line:#d0d7de; --ok:#1a7f37; --bad:#cf222e; --warn:#9a6700; --rb:#8250df; --bar:#0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: var(--fg); margin: 24px auto; max-width: 1000px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 28px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
code, pre { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; font-size: 12px; }
pre { background: #f6f8fa; padding: 6px 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
.muted { color: var(--muted); } .ok { color: var(--ok); } .bad { color: var(--bad); font-weight: 600; } .warn { color: var(--warn); }
.banner { border: 2px solid var(--warn); background: #fff8c5; padding: 6px 10px; margin: 8px 0; font-weight: 600; }
.outcome { display: inline-block; padding: 2px 8px; border-radius: 4px; font-weight: 600; border: 1px solid currentColor; }
.kpi { display: inline-block; margin: 4px 16px 4px 0; } .kpi b { font-size: 20px; display: block; }
svg text { font: 11px system-ui, sans-serif; fill: var(--fg); }
svg .tick { fill: var(--muted); font-size: 10px; }
svg .axis { stroke: var(--line); stroke-width: 1; }
svg .planned { fill: none; stroke: var(--muted); stroke-dasharray: 4 3; } svg .planned.clipped { stroke-dasharray: 1 3; }
svg .bar.step { fill: var(--bar); } svg .bar.step.failed, svg .bar.step.stopped { fill: var(--bad); }
svg .bar.step.critical { stroke: #000; stroke-width: 1.5; }
svg .bar.wait { fill: #d0d7de; } svg .pause { fill: #fff3c4; opacity: 0.8; }
svg .bar.rollback { fill: var(--rb); } svg .bar.rollback.failed { fill: var(--bad); }
svg .bar.rollback.partial { fill: #d8c6f5; stroke: var(--rb); stroke-width: 1.5; stroke-dasharray: 3 2; } svg .bar.rollback.partial.failed { fill: #ffd8d3; stroke: var(--bad); }
svg .label.rollback { fill: var(--rb); }
svg .threshold { stroke: var(--bad); stroke-dasharray: 5 3; stroke-width: 1.2; } svg .threshold-label { fill: var(--bad); }
svg .line { fill: none; stroke: var(--bar); stroke-width: 1.2; }
svg .pt { fill: var(--bar); } svg .pt.breach { fill: var(--bad); }
svg .fired { stroke: var(--warn); stroke-width: 2; }
.legend span { margin-right: 14px; } .sw { display: inline-block; width: 12px; height: 10px; margin-right: 4px; vertical-align: middle; }
.check { break-inside: avoid; margin: 12px 0 18px; }
.actions td { height: 28px; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } table, svg { break-inside: avoid; } a { color: inherit; } }
";

/// Defence in depth behind the escaping: the page may run no script and fetch
/// nothing, whatever a journal string might smuggle in.
pub const CSP: &str = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">";

fn h2(o: &mut String, i: usize) {
    let id = SECTIONS[i].to_lowercase().replace(' ', "-");
    let _ = write!(o, "<section id=\"{id}\"><h2>{}</h2>", SECTIONS[i]);
}

/// Spans as HTML: every string escaped, a step id or code in `<code>`, a
/// tone as a CSS class.
pub fn spans(s: &[Span]) -> String {
    let mut out = String::new();
    for sp in s {
        match sp {
            Span::Text(t) => out.push_str(&esc(t)),
            Span::Id(t) | Span::Code(t) => {
                let _ = write!(out, "<code>{}</code>", esc(t));
            }
            Span::Tone(tone, t) => {
                let _ = write!(out, "<span class=\"{}\">{}</span>", tone.class(), esc(t));
            }
            Span::Value(t) => {
                let _ = write!(out, "<b class=\"fired-value\">{}</b>", esc(t));
            }
        }
    }
    out
}

/// A table of the view's cells.
fn view_table(o: &mut String, t: &Table) {
    table(
        o,
        t.head,
        t.rows
            .iter()
            .map(|row| row.iter().map(|c| spans(c)).collect()),
    );
}

fn table(o: &mut String, head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    o.push_str("<table><thead><tr>");
    for h in head {
        let _ = write!(o, "<th>{h}</th>");
    }
    o.push_str("</tr></thead><tbody>");
    for row in rows {
        o.push_str("<tr>");
        for cell in row {
            // Cells arrive already escaped (some hold markup of ours).
            let _ = write!(o, "<td>{cell}</td>");
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table>");
}

fn outcome_class(r: &Report) -> &'static str {
    use crate::event::Outcome;
    match (r.in_progress, r.outcome) {
        (false, Some(Outcome::Completed)) => "ok",
        (true, _) | (false, None | Some(Outcome::Paused)) => "warn",
        _ => "bad",
    }
}

pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(64 * 1024);
    write_head(&mut o, r);
    super::headline::html(&mut o, r);
    super::schedule::html(&mut o, r);
    super::compare::html(&mut o, r);
    for (i, write_section) in SECTION_WRITERS.iter().enumerate() {
        h2(&mut o, i);
        write_section(&mut o, r);
        o.push_str("</section>");
    }
    let _ = writeln!(
        o,
        "<p class=\"muted\">Generated by cutover {} from the journal alone.</p></body></html>",
        env!("CARGO_PKG_VERSION")
    );
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

/// The document's head, the title, the outcome and a banner for each thing
/// a reader must know before trusting the numbers (`view::warnings`).
fn write_head(o: &mut String, r: &Report) {
    let title = format!(
        "Post-launch report: {} (run {})",
        r.runbook.as_deref().unwrap_or("unknown runbook"),
        r.run_id
    );
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{CSP}<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body>",
        esc(&title)
    );
    let _ = write!(o, "<h1>{}</h1>", esc(&title));
    let _ = write!(
        o,
        "<p><span class=\"outcome {}\">{}</span> <span class=\"muted\">{}{}</span></p>",
        outcome_class(r),
        esc(&r.outcome_label),
        if r.dry_run { "dry run" } else { "real run" },
        r.message
            .as_ref()
            .map(|m| format!(" · {}", esc(m)))
            .unwrap_or_default()
    );
    for w in warnings(r) {
        let _ = write!(o, "<p class=\"banner\">{}</p>", esc(&w));
    }
}

/// The run at a glance.
fn write_summary(o: &mut String, r: &Report) {
    let rows = summary_rows(r);
    o.push_str("<table><tbody>");
    for (k, v) in rows {
        let _ = write!(o, "<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    }
    o.push_str("</tbody></table>");
}

/// Milestones, marked or derived, with who recorded them.
fn write_milestones(o: &mut String, r: &Report) {
    if r.milestones.is_empty() {
        o.push_str("<p>None.</p>");
    } else {
        table(
            o,
            &["time", "milestone", "origin", "recorded by"],
            r.milestones.iter().map(|m| {
                vec![
                    m.at.rfc3339(),
                    format!("<b>{}</b>", esc(&m.name)),
                    esc(&m.origin),
                    esc(m.who.as_deref().unwrap_or("")),
                ]
            }),
        );
    }
}

/// Time to detect and to mitigate, and the times they are measured between.
fn write_impact(o: &mut String, r: &Report) {
    let i = &r.impact;
    if i.impact_start.is_none() && i.detected.is_none() {
        o.push_str("<p>No trigger fired and no <code>impact-*</code> milestone was marked.</p>");
    } else {
        let _ = write!(
            o,
            "<p><span class=\"kpi\">time to detect<b id=\"ttd\" data-ms=\"{}\">{}</b></span><span class=\"kpi\">time to mitigate<b id=\"ttm\" data-ms=\"{}\">{}</b></span></p>",
            i.ttd_ms.map_or(String::new(), |m| m.to_string()),
            opt_ms(i.ttd_ms),
            i.ttm_ms.map_or(String::new(), |m| m.to_string()),
            opt_ms(i.ttm_ms)
        );
        let basis = |b: &Option<String>| esc(b.as_deref().unwrap_or(""));
        table(
            o,
            &["", "time", "from"],
            [
                vec![
                    "impact start".into(),
                    opt_ts(i.impact_start),
                    basis(&i.start_basis),
                ],
                vec![
                    "detected".into(),
                    opt_ts(i.detected),
                    basis(&i.detect_basis),
                ],
                vec![
                    "mitigated".into(),
                    opt_ts(i.mitigated),
                    basis(&i.mitigate_basis),
                ],
                vec!["impact end".into(), opt_ts(i.impact_end), String::new()],
            ],
        );
    }
}

/// The Gantt chart of steps planned vs actual, their table, the critical path, the last output of steps that printed.
fn write_steps(o: &mut String, r: &Report) {
    o.push_str("<p class=\"legend\"><span><i class=\"sw\" style=\"background:#0969da\"></i>step (actual)</span><span><i class=\"sw\" style=\"border:1px dashed #5b6470\"></i>planned (duration on the schedule, else the timeout)</span><span><i class=\"sw\" style=\"background:#d0d7de\"></i>waiting for a go/no-go</span><span><i class=\"sw\" style=\"background:#fff3c4\"></i>paused (no process drove the run)</span><span><i class=\"sw\" style=\"background:#cf222e\"></i>failed / stopped</span><span><i class=\"sw\" style=\"background:#8250df\"></i>rollback</span><span><i class=\"sw\" style=\"background:#0969da;outline:1.5px solid #000\"></i>critical path</span>");
    if r.rollback.as_ref().is_some_and(|rb| !rb.partial.is_empty()) {
        o.push_str("<span class=\"partial-rollback\"><i class=\"sw\" style=\"background:#d8c6f5;border:1.5px dashed #8250df\"></i>rollback of a step that did not finish (partial)</span>");
    }
    o.push_str("</p>");
    o.push_str(&chart::gantt(r));
    view_table(o, &view::steps(r));
    let _ = write!(o, "<p>{}</p>", spans(&view::critical_path(r)));
    for s in r.steps.values().filter(|s| !s.output.last_lines.is_empty()) {
        let _ = write!(
            o,
            "<p class=\"muted\">Last output of <code>{}</code>:</p><pre>",
            esc(&s.id)
        );
        for l in &s.output.last_lines {
            o.push_str(&esc(l));
            o.push('\n');
        }
        o.push_str("</pre>");
    }
}

/// What was rolled back, in order.
fn write_rollback(o: &mut String, r: &Report) {
    match view::rollback(r) {
        None => o.push_str("<p>No rollback.</p>"),
        Some(rb) => {
            let _ = write!(o, "<p>{}</p>", spans(&rb.sentence));
            view_table(o, &rb.table);
        }
    }
}

/// A block per gate and trigger: target, source, query, result, its measurements and their chart.
fn write_checks(o: &mut String, r: &Report) {
    if r.checks.is_empty() {
        o.push_str("<p>None.</p>");
    }
    for c in r.checks.values() {
        let kind = match (c.kind, c.shadow) {
            (CheckKind::Gate, true) => format!(
                "{} gate <span class=\"warn\">(shadow: measured, not enforced)</span>",
                esc(c.when.as_deref().unwrap_or(""))
            ),
            (CheckKind::Gate, false) => format!("{} gate", esc(c.when.as_deref().unwrap_or(""))),
            (CheckKind::Trigger, _) => format!(
                "trigger{}",
                c.action
                    .as_ref()
                    .map(|a| format!(" (action {})", esc(a)))
                    .unwrap_or_default()
            ),
        };
        let result = spans(&view::check_result(c));
        let _ = write!(
            o,
            "<div class=\"check\"><h3><code>{}</code> <span class=\"muted\">{kind}</span></h3><p>Target: <b>{}</b> · source <code>{}</code> · query <code>{}</code>{}</p><p>Result: {result}</p><p class=\"muted\">{} measurements: {} · min {} · max {} · last {}{}</p>",
            esc(&c.key),
            esc(&target(c)),
            esc(&c.source),
            esc(&c.query),
            c.baseline
                .map(|b| format!(" · baseline {}", esc(&number::short(b))))
                .unwrap_or_default(),
            c.points.len(),
            c.counts_text(),
            v(c.min),
            v(c.max),
            v(c.last),
            c.first_breach
                .map(|t| format!(
                    " · first breach {} at {}",
                    v(c.first_breach_value),
                    t.rfc3339()
                ))
                .unwrap_or_default()
        );
        o.push_str(&chart::series(c));
        o.push_str("</div>");
    }
}

/// Go/no-go votes and decisions.
fn write_approvals(o: &mut String, r: &Report) {
    if r.approvals.is_empty() {
        o.push_str("<p>None.</p>");
    } else {
        view_table(o, &view::approvals(r));
    }
}

/// Where the run left the plan.
fn write_deviations(o: &mut String, r: &Report) {
    if r.deviations.is_empty() {
        o.push_str("<p>None: the run went as planned.</p>");
    } else {
        view_table(o, &view::deviations(r));
    }
}

/// The operators' notes.
fn write_notes(o: &mut String, r: &Report) {
    if r.notes.is_empty() {
        o.push_str("<p>None.</p>");
    } else {
        o.push_str("<ul class=\"notes\">");
        for n in &r.notes {
            let _ = write!(
                o,
                "<li><span class=\"muted\">{} {}</span><p class=\"note\">{}</p></li>",
                n.at.rfc3339(),
                esc(&n.who),
                esc(&n.text)
            );
        }
        o.push_str("</ul>");
    }
}

/// Every event, in order.
fn write_timeline(o: &mut String, r: &Report) {
    view_table(o, &view::timeline(r));
}

/// Each outcome's last verdict against its target, or when it is due.
fn write_outcomes(o: &mut String, r: &Report) {
    if r.outcomes.is_empty() {
        o.push_str("<p>None (the runbook has no <code>[[outcome]]</code>).</p>");
    } else {
        view_table(o, &super::after::outcomes_table(r));
    }
}

/// The action items and suggested follow-ups; without any, an empty table
/// for the review to fill in.
fn write_actions(o: &mut String, r: &Report) {
    if let Some(t) = super::after::actions_table(r) {
        view_table(o, &t);
        return;
    }
    o.push_str("<p class=\"muted\">For the team to fill in after the review.</p>");
    o.push_str("<table class=\"actions\"><thead><tr><th>#</th><th>action</th><th>owner</th><th>due</th></tr></thead><tbody>");
    for n in 1..=5 {
        let _ = write!(o, "<tr><td>{n}</td><td></td><td></td><td></td></tr>");
    }
    o.push_str("</tbody></table>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, StepState};
    use crate::report::build::testing::TestJournal;

    #[test]
    fn every_journal_string_is_escaped() {
        let evil = "<img src=x onerror=alert(1)>";
        let mut b = TestJournal::new("j<x>", "r\"'");
        let at = "2026-01-01T00:00:00.000Z";
        b.push(
            at,
            evil,
            Event::StepState {
                step: evil.into(),
                state: StepState::Running,
                detail: Some(evil.into()),
            },
        );
        b.output(
            at,
            evil,
            crate::event::Stream::Stdout,
            "</pre><script>x</script>",
        );
        b.push(
            at,
            evil,
            Event::Note {
                text: "<script>alert(1)</script>".into(),
            },
        );
        b.push(
            at,
            evil,
            Event::Milestone {
                name: evil.into(),
                at: None,
                step: None,
            },
        );
        b.push(
            at,
            evil,
            Event::StepState {
                step: evil.into(),
                state: StepState::Failed,
                detail: Some(evil.into()),
            },
        );
        let html = render(&b.finish_with(vec![evil.into()]));
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;/pre&gt;&lt;script&gt;x"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("in progress"));
    }
}
