//! The words of the report's sections, computed once for the Markdown and
//! the HTML renderer: headings, sentences and table cells as plain,
//! unescaped strings (`Span`s). Each renderer only escapes them and lays them
//! out (`markdown::spans`, `html::spans`); the JSON renders the model itself.

use super::model::{CheckKind, CheckReport, Report, RollbackStepReport, StepReport};
use super::time::Ts;
use crate::journal::SKIPPED_WHY;
use crate::text::{duration, number};

/// Section headings (tests look for them).
pub const SECTIONS: [&str; 12] = [
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
    "Outcomes vs targets",
    "Action items",
];

/// How a renderer may colour a piece of text (HTML: a CSS class; Markdown: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Ok,
    Bad,
    Warn,
    Muted,
    Rollback,
}

impl Tone {
    pub fn class(self) -> &'static str {
        match self {
            Tone::Ok => "ok",
            Tone::Bad => "bad",
            Tone::Warn => "warn",
            Tone::Muted => "muted",
            Tone::Rollback => "rb",
        }
    }
}

/// A piece of a sentence or a table cell, unescaped.
#[derive(Debug, Clone, PartialEq)]
pub enum Span {
    /// Text (journal strings and our own words).
    Text(String),
    /// A step id: prose in Markdown, `<code>` in HTML.
    Id(String),
    /// A command, a query, a check key: a code span in both.
    Code(String),
    /// Text in a tone.
    Tone(Tone, String),
    /// A measured value the reader should see first (HTML: bold).
    Value(String),
}

/// A table cell: spans one after another.
pub type Cell = Vec<Span>;

pub fn text(s: impl Into<String>) -> Span {
    Span::Text(s.into())
}

/// A table: the heading of each column and the cells of each row.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub head: &'static [&'static str],
    pub rows: Vec<Vec<Cell>>,
}

/// A cell of one text span.
fn cell(s: impl Into<String>) -> Cell {
    vec![Span::Text(s.into())]
}

pub fn opt_ts(t: Option<Ts>) -> String {
    t.map_or_else(|| "—".into(), Ts::rfc3339)
}

pub fn opt_ms(ms: Option<u64>) -> String {
    ms.map_or_else(|| "—".into(), duration::precise)
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

/// Each name once, in order of first appearance (a run resumed three times
/// by the same person lists them once).
fn distinct(names: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(&n.as_str()) {
            out.push(n);
        }
    }
    out
}

/// The summary table's rows.
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
        (
            "Success metrics",
            super::after::outcomes_headline(r).unwrap_or_else(|| "—".into()),
        ),
        ("Run by", r.started_by.clone().unwrap_or_default()),
        (
            "Resumed by",
            if r.resumed_by.is_empty() {
                "—".into()
            } else {
                distinct(&r.resumed_by).join(", ")
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

/// Target of a check in words: `pass if < 0.3` / `fire if > 0.02 for 30s`.
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
        format!("{d} (+{} paused)", duration::precise(s.paused_ms))
    } else {
        d
    }
}

/// "Planned vs actual": one row per step, in plan order.
pub fn steps(r: &Report) -> Table {
    Table {
        head: &[
            "step",
            "kind",
            "needs",
            "state",
            "planned timeout",
            "actual",
            "waited for approval",
            "attempts",
            "output lines",
            "critical path",
        ],
        rows: r
            .steps
            .values()
            .map(|s| {
                let retries = s.attempts.len().saturating_sub(1);
                let attempts = if retries > 0 {
                    vec![
                        text(format!("{} ", s.attempts.len())),
                        Span::Tone(
                            Tone::Warn,
                            format!("({retries} retr{})", if retries == 1 { "y" } else { "ies" }),
                        ),
                    ]
                } else {
                    cell(s.attempts.len().to_string())
                };
                let mut name = vec![Span::Id(s.id.clone())];
                if let Some(owner) = &s.owner {
                    name.push(text(format!(" ({owner})")));
                }
                vec![
                    name,
                    cell(s.kind.clone()),
                    cell(s.needs.join(", ")),
                    cell(s.state.clone()),
                    cell(opt_ms(s.planned_timeout_ms)),
                    cell(actual(s)),
                    cell(opt_ms(s.waited_for_approval_ms)),
                    attempts,
                    cell((s.output.stdout_lines + s.output.stderr_lines).to_string()),
                    cell(if s.on_critical_path { "yes" } else { "" }),
                ]
            })
            .collect(),
    }
}

/// "Critical path: `a` → `b` (1.20s, 80% of the run)."
pub fn critical_path(r: &Report) -> Vec<Span> {
    let cp = &r.critical_path;
    let mut out = vec![text("Critical path: ")];
    if cp.steps.is_empty() {
        out.push(text("—"));
    }
    for (i, s) in cp.steps.iter().enumerate() {
        if i > 0 {
            out.push(text(" → "));
        }
        out.push(Span::Code(s.clone()));
    }
    out.push(text(format!(
        " ({}{}).",
        duration::precise(cp.duration_ms),
        cp.share
            .map_or(String::new(), |s| format!(", {:.0}% of the run", s * 100.0))
    )));
    out
}

/// How a step rolled back although it did not finish (`rollback_partial`) is marked.
pub const PARTIAL: &str = "(partial: it did not finish)";

/// The "Rollback" section: `None` without a rollback.
pub struct RollbackView {
    /// "Started X because Y; finished at Z after N."
    pub sentence: Vec<Span>,
    pub table: Table,
}

pub fn rollback(r: &Report) -> Option<RollbackView> {
    let rb = r.rollback.as_ref()?;
    let state = match rb.ok {
        Some(true) => Span::Tone(Tone::Ok, "finished".into()),
        Some(false) => Span::Tone(Tone::Bad, format!("FAILED for {}", rb.failed.join(", "))),
        None => Span::Tone(Tone::Warn, "did not finish".into()),
    };
    let sentence = vec![
        text(format!("Started {} because ", rb.started.rfc3339())),
        text(rb.reason.clone()),
        text("; "),
        state,
        text(format!(
            "{}.",
            rb.finished
                .map(|f| format!(
                    " at {} after {}",
                    f.rfc3339(),
                    duration::precise(f.since(rb.started))
                ))
                .unwrap_or_default()
        )),
    ];
    let rows = rb
        .steps
        .iter()
        .map(|id| {
            let mut name = vec![Span::Id(id.clone())];
            if rb.partial.contains(id) {
                name.extend([text(" "), Span::Tone(Tone::Warn, PARTIAL.into())]);
            }
            match r.steps.get(id).and_then(|s| s.rollback.as_ref()) {
                None => vec![name, vec![], cell("not started"), vec![], vec![]],
                Some(x) => vec![
                    name,
                    if x.action.is_empty() {
                        vec![]
                    } else {
                        vec![Span::Code(x.action.clone())]
                    },
                    rollback_result(x),
                    cell(x.exit_code.map_or(String::new(), |c| c.to_string())),
                    cell(opt_ms(x.duration_ms)),
                ],
            }
        })
        .collect();
    Some(RollbackView {
        sentence,
        table: Table {
            head: &["step", "rollback action", "result", "exit", "duration"],
            rows,
        },
    })
}

/// A rollback step's result: every attempt, and a skip (`--skip-rollback`).
fn rollback_result(x: &RollbackStepReport) -> Vec<Span> {
    let mut out = Vec::new();
    if let Some(by) = &x.skipped_by {
        out.push(Span::Tone(Tone::Warn, format!("skipped by {by}")));
        out.push(text(match &x.skip_reason {
            Some(said) => format!(": {said}"),
            None => format!(" ({SKIPPED_WHY})"),
        }));
        // What its own action did before the operator skipped it.
        match (x.ok, &x.detail) {
            (Some(false), Some(d)) => out.push(text(format!(" after it failed: {d}"))),
            (Some(false), None) => out.push(text(" after it failed")),
            (None, _) if x.attempts > 0 => out.push(text(" after it did not finish")),
            _ => {}
        }
    } else {
        out.extend(match x.ok {
            Some(true) => vec![Span::Tone(Tone::Ok, "ok".into())],
            Some(false) => {
                let mut c = vec![Span::Tone(Tone::Bad, "FAILED".into())];
                if let Some(d) = &x.detail {
                    c.push(text(format!(": {d}")));
                }
                c
            }
            None if x.attempts == 0 => cell("not started"),
            None => cell("running"),
        });
    }
    if !x.failed_attempts.is_empty() {
        let earlier: Vec<String> = x
            .failed_attempts
            .iter()
            .map(|a| {
                let why = match (a.exit_code, &a.detail, a.ok) {
                    (Some(c), _, _) => format!("exit {c}"),
                    (None, Some(d), _) => d.clone(),
                    (None, None, None) => "did not finish".into(),
                    (None, None, Some(_)) => "failed".into(),
                };
                let verb = if a.ok.is_none() { "" } else { "failed: " };
                format!("{} {verb}{why}", ordinal(a.attempt))
            })
            .collect();
        out.push(text(format!(
            " ({} attempt; {})",
            ordinal(x.attempts),
            earlier.join("; ")
        )));
    }
    out
}

/// `1st`, `2nd`, `3rd`, `4th`, ...
fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A measured value, `—` if none.
pub fn value(x: Option<f64>) -> String {
    x.map_or_else(|| "—".into(), number::short)
}

/// What became of a gate or trigger, in words.
pub fn check_result(c: &CheckReport) -> Vec<Span> {
    match (&c.fired, &c.result) {
        (Some(f), _) => vec![
            Span::Tone(Tone::Bad, "FIRED".into()),
            text(format!(" at {}: value ", f.at.rfc3339())),
            Span::Value(value(f.value)),
            text(format!(
                " {} (held {} ms), action {}",
                f.condition, f.held_ms, f.action
            )),
        ],
        (None, Some(res)) => {
            let tone = if res == "pass" { Tone::Ok } else { Tone::Bad };
            let mut out = vec![Span::Tone(tone, res.clone())];
            if let Some(d) = &c.detail {
                out.push(text(format!(": {d}")));
            }
            out
        }
        (None, None) if c.kind == CheckKind::Trigger && c.counts.pass + c.counts.fail > 0 => {
            vec![Span::Tone(Tone::Ok, "did not fire".into())]
        }
        _ => vec![Span::Tone(Tone::Muted, "not evaluated".into())],
    }
}

/// Approvals, rejections and decisions.
pub fn approvals(r: &Report) -> Table {
    Table {
        head: &["time", "who", "step", "decision", "why"],
        rows: r
            .approvals
            .iter()
            .map(|a| {
                vec![
                    cell(a.at.rfc3339()),
                    cell(a.who.clone()),
                    cell(a.step.clone().unwrap_or_default()),
                    cell(a.decision.clone()),
                    cell(a.reason.clone().unwrap_or_default()),
                ]
            })
            .collect(),
    }
}

/// What did not go as planned.
pub fn deviations(r: &Report) -> Table {
    Table {
        head: &["time", "kind", "step", "what", "who"],
        rows: r
            .deviations
            .iter()
            .map(|d| {
                vec![
                    cell(d.at.rfc3339()),
                    cell(d.kind.clone()),
                    cell(d.step.clone().unwrap_or_default()),
                    cell(d.text.clone()),
                    cell(d.who.clone()),
                ]
            })
            .collect(),
    }
}

/// Every significant event, at its UTC clock time.
pub fn timeline(r: &Report) -> Table {
    Table {
        head: &["time (UTC)", "who", "event"],
        rows: r
            .timeline
            .iter()
            .map(|e| {
                let tone = match e.kind.as_str() {
                    "trigger_fired" | "rollback_started" | "approval_rejected" => Some(Tone::Bad),
                    "rollback_step_finished" | "rollback_finished" | "rollback_step_started" => {
                        Some(Tone::Rollback)
                    }
                    "note" | "milestone" => Some(Tone::Warn),
                    _ => None,
                };
                let event = match tone {
                    Some(t) => Span::Tone(t, e.text.clone()),
                    None => Span::Text(e.text.clone()),
                };
                vec![cell(e.at.clock()), cell(e.who.clone()), vec![event]]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumed_by_names_each_person_once() {
        let r = Report {
            resumed_by: vec!["root@vm".into(), "bob@h".into(), "root@vm".into()],
            ..Report::default()
        };
        let rows = summary_rows(&r);
        let (_, by) = rows.iter().find(|(k, _)| *k == "Resumed by").unwrap();
        assert_eq!(by, "root@vm, bob@h");
    }
}
