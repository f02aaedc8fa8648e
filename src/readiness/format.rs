//! Rendering a `CheckReport`: a human table, JSON, JUnit XML, GitHub
//! workflow annotations (both written by `ci`) and Markdown. Pure functions of the report, so each
//! format is unit-tested on its escaping.

use std::fmt::Write as _;

use super::result::{CheckReport, ChecklistReport, ItemResult, Readiness, Status};
use crate::ci::github::{Annotation, Level, Place};
use crate::ci::junit;
use crate::text::markdown as md;

/// `value vs target`, as one cell.
fn value_vs_target(item: &ItemResult) -> String {
    match (&item.value, &item.target) {
        (Some(v), Some(t)) => format!("{v} vs {t}"),
        (Some(v), None) => v.clone(),
        (None, Some(t)) => format!("? vs {t}"),
        (None, None) => String::new(),
    }
}

fn waiver_cell(item: &ItemResult) -> String {
    item.waiver.as_ref().map_or_else(String::new, |w| {
        let date = w.expires.strip_suffix("T00:00:00Z").unwrap_or(&w.expires);
        if w.expired {
            format!("{} (expired {date})", w.approver)
        } else {
            format!("{} until {date}", w.approver)
        }
    })
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

fn counts(c: &ChecklistReport) -> String {
    let s = &c.summary;
    format!(
        "{} passed, {} failed, {} error{}, {} waived",
        s.passed,
        s.failed,
        s.errors,
        if s.errors == 1 { "" } else { "s" },
        s.waived
    )
}

/// The SGR colour of a result: pass green, fail red, error yellow, waived dim.
fn status_color(status: Status) -> &'static str {
    match status {
        Status::Pass => "32",
        Status::Fail => "1;31",
        Status::Error => "1;33",
        Status::Waived => "2",
    }
}

fn readiness_color(r: Readiness) -> &'static str {
    match r {
        Readiness::Ready => "1;32",
        Readiness::NotReady => "1;31",
        Readiness::Error => "1;33",
    }
}

/// The table people read in a terminal: text from checklists shown
/// visibly (control characters escaped), the results coloured when `color`.
pub fn human(report: &CheckReport, color: bool) -> String {
    use crate::text::visible;
    let paint = |code: &str, text: &str| {
        if color {
            crate::text::color::paint(code, text)
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    for c in &report.checklists {
        let _ = writeln!(
            out,
            "{} ({}): {} — {}",
            visible(&c.name),
            visible(&c.path),
            paint(
                readiness_color(c.readiness),
                &c.readiness.name().to_uppercase()
            ),
            counts(c)
        );
        if let Some(p) = &c.problem {
            let _ = writeln!(out, "  problem: {}", visible(p));
        }
        let header = [
            "ITEM",
            "OWNER",
            "SEVERITY",
            "RESULT",
            "VALUE vs TARGET",
            "WAIVER",
        ];
        let rows: Vec<[String; 6]> = c
            .items
            .iter()
            .map(|i| {
                [
                    crate::text::one_line(&i.id).into_owned(),
                    crate::text::one_line(i.owner.as_deref().unwrap_or("-")).into_owned(),
                    i.severity.name().to_string(),
                    i.status.name().to_uppercase(),
                    shorten(&crate::text::one_line(&value_vs_target(i)), 48),
                    crate::text::one_line(&waiver_cell(i)).into_owned(),
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        // Padded first, coloured after, so escape sequences never count as width.
        let line = |cells: &[String], status: Option<Status>| {
            let mut l = String::from(" ");
            for (n, (cell, w)) in cells.iter().zip(widths).enumerate() {
                let padded = format!("{cell:<w$}");
                match status {
                    Some(st) if n == 3 => {
                        let shown = paint(status_color(st), cell);
                        let _ = write!(l, " {shown}{} ", &padded[cell.len()..]);
                    }
                    _ => {
                        let _ = write!(l, " {padded} ");
                    }
                }
            }
            l.trim_end().to_string()
        };
        let _ = writeln!(out, "{}", line(&header.map(str::to_string), None));
        for (row, item) in rows.iter().zip(&c.items) {
            let _ = writeln!(out, "{}", line(row, Some(item.status)));
        }
        let notes: Vec<&ItemResult> = c
            .items
            .iter()
            .filter(|i| i.status != Status::Pass)
            .collect();
        if !notes.is_empty() {
            out.push('\n');
        }
        for i in notes {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                paint(status_color(i.status), i.status.name()),
                crate::text::one_line(&i.id),
                visible(&i.detail)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "readiness: {}",
        paint(readiness_color(report.readiness), report.readiness.name())
    );
    out
}

/// Pretty JSON: the documented shape (`CheckReport`).
pub fn json(report: &CheckReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// JUnit XML valid against the Jenkins JUnit schema: one `<testsuite>` per
/// checklist, one `<testcase>` per item; a failing item has a `<failure>`
/// (an unevaluated one an `<error>`) with the measured value against the
/// target; a waived item is `<skipped>`, saying who waived it and why. A
/// checklist that is invalid or could not be evaluated has one more test
/// case, `checklist`, in error with the reason and every error's place.
pub fn junit(report: &CheckReport) -> String {
    let suites: Vec<junit::Suite> = report
        .checklists
        .iter()
        .map(|c| junit_suite(c, &report.at))
        .collect();
    junit::render("cutover check", &suites)
}

fn junit_suite(c: &ChecklistReport, at: &str) -> junit::Suite {
    let mut cases = Vec::new();
    if let Some(problem) = &c.problem {
        let mut body = problem.clone();
        for d in &c.diagnostics {
            body.push('\n');
            body.push_str(&d.line_text());
        }
        cases.push(junit::Case {
            name: "checklist".into(),
            classname: c.name.clone(),
            outcome: junit::Outcome::Errored(junit::Problem {
                message: problem.clone(),
                kind: "checklist".into(),
                body,
            }),
            output: String::new(),
        });
    }
    for i in &c.items {
        let body = format!(
            "measured: {}\ntarget: {}\n{}",
            i.value.as_deref().unwrap_or("-"),
            i.target.as_deref().unwrap_or("-"),
            i.detail
        );
        let problem = || junit::Problem {
            message: i.detail.clone(),
            kind: i.severity.name().to_string(),
            body: body.clone(),
        };
        let outcome = match i.status {
            Status::Pass => junit::Outcome::Passed,
            Status::Fail => junit::Outcome::Failed(problem()),
            Status::Error => junit::Outcome::Errored(problem()),
            Status::Waived => junit::Outcome::Skipped(match &i.waiver {
                Some(w) => format!(
                    "waived by {} until {}: {}\n{}",
                    w.approver, w.expires, w.reason, i.detail
                ),
                None => i.detail.clone(),
            }),
        };
        cases.push(junit::Case {
            name: format!("{}: {}", i.id, i.title),
            classname: match &i.category {
                Some(cat) => format!("{}.{cat}", c.name),
                None => c.name.clone(),
            },
            outcome,
            output: String::new(),
        });
    }
    junit::Suite {
        name: c.name.clone(),
        timestamp: Some(at.to_string()),
        properties: vec![
            ("path".into(), c.path.clone()),
            ("readiness".into(), c.readiness.name().into()),
        ],
        cases,
        output: String::new(),
    }
}

/// One annotation per failing or unevaluated item (waived items are not
/// failing): `::error` for blockers, `::warning` for warnings, on the line
/// of the item's `id`. An invalid checklist has one per error and warning,
/// at its place; one that could not be evaluated for another reason, one
/// for the whole file.
pub fn github(report: &CheckReport) -> String {
    let mut out = String::new();
    for c in &report.checklists {
        let title = format!("{} could not be evaluated", c.name);
        for d in &c.diagnostics {
            let _ = writeln!(out, "{}", d.annotation(&title).render());
        }
        if let Some(p) = c.problem.as_ref().filter(|_| c.diagnostics.is_empty()) {
            let annotation = Annotation {
                level: Level::Error,
                file: Some(c.path.clone()),
                place: None,
                title: Some(title),
                message: p.clone(),
            };
            let _ = writeln!(out, "{}", annotation.render());
        }
        for i in c
            .items
            .iter()
            .filter(|i| matches!(i.status, Status::Fail | Status::Error))
        {
            let _ = writeln!(out, "{}", item_annotation(c, i).render());
        }
    }
    out
}

fn item_annotation(c: &ChecklistReport, i: &ItemResult) -> Annotation {
    let vs = value_vs_target(i);
    Annotation {
        level: match i.severity {
            super::model::Severity::Blocker => Level::Error,
            super::model::Severity::Warning => Level::Warning,
        },
        file: Some(c.path.clone()),
        place: i.line.map(|line| Place {
            line,
            col: None,
            end_line: None,
            end_col: None,
        }),
        title: Some(format!("{} {}: {}", c.name, i.status.name(), i.id)),
        message: format!(
            "{}: {}{}",
            i.title,
            i.detail,
            if vs.is_empty() {
                String::new()
            } else {
                format!(" ({vs})")
            }
        ),
    }
}

/// A Markdown summary (also what `github` appends to `$GITHUB_STEP_SUMMARY`).
pub fn markdown(report: &CheckReport) -> String {
    let mut out = String::new();
    let mark = |r: Readiness| match r {
        Readiness::Ready => "✅",
        Readiness::NotReady => "❌",
        Readiness::Error => "⚠️",
    };
    let _ = writeln!(
        out,
        "## {} Readiness: {}\n",
        mark(report.readiness),
        report.readiness.name()
    );
    for c in &report.checklists {
        let _ = writeln!(
            out,
            "### {} {} ({})\n\n{}{}\n",
            mark(c.readiness),
            md::line(&c.name),
            md::code(&c.path),
            counts(c),
            c.problem
                .as_ref()
                .map(|p| format!("\n\n**could not be evaluated:** {}", md::line(p)))
                .unwrap_or_default()
        );
        out.push_str("| Item | Owner | Severity | Result | Value vs target | Waiver | Detail |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
        for i in &c.items {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                md::cell(&format!("{} — {}", i.id, i.title)),
                md::cell(i.owner.as_deref().unwrap_or("-")),
                i.severity.name(),
                match i.status {
                    Status::Pass => "✅ pass",
                    Status::Fail => "❌ fail",
                    Status::Error => "⚠️ error",
                    Status::Waived => "➖ waived",
                },
                md::cell(&value_vs_target(i)),
                md::cell(&waiver_cell(i)),
                md::cell(&i.detail)
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_markdown_summary_shows_checklist_text_as_text() {
        let item = serde_json::json!({
            "id": "db_backup", "title": "<b>restore</b> | drill", "owner": null,
            "severity": "blocker", "category": null, "kind": "attest", "status": "fail",
            "value": null, "target": null, "detail": "run `a|b`\nfirst", "waiver": null,
        });
        let report: CheckReport = serde_json::from_value(serde_json::json!({
            "format_version": 1, "at": "2026-12-01T00:00:00Z", "env": null,
            "fail_on_warn": false, "readiness": "not_ready",
            "checklists": [{
                "name": "launch *now*", "path": "checks/a|b.toml", "owner": null,
                "launch": null, "readiness": "not_ready", "summary": {
                    "total": 1, "passed": 0, "failed": 1, "errors": 0, "waived": 0,
                    "blockers_failing": 1, "warnings_failing": 0,
                },
                "items": [item],
            }],
        }))
        .expect("a report");
        let md = markdown(&report);
        assert!(
            md.contains("### ❌ launch \\*now\\* (`checks/a|b.toml`)\n"),
            "{md}"
        );
        // One row: the pipes escaped, markup as entities, the newline a space.
        assert!(
            md.contains(
                "| db\\_backup — &lt;b&gt;restore&lt;/b&gt; \\| drill | - | blocker | ❌ fail |  |  | run `a\\|b` first |\n"
            ),
            "{md}"
        );
    }
}
