//! Rendering a `CheckReport`: a human table, JSON, JUnit XML, GitHub
//! workflow annotations and Markdown. Pure functions of the report, so each
//! format is unit-tested on its escaping.

use std::fmt::Write as _;

use super::result::{CheckReport, ChecklistReport, ItemResult, Readiness, Status};
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

/// The table people read in a terminal.
pub fn human(report: &CheckReport) -> String {
    let mut out = String::new();
    for c in &report.checklists {
        let _ = writeln!(
            out,
            "{} ({}): {} — {}",
            c.name,
            c.path,
            c.readiness.name().to_uppercase(),
            counts(c)
        );
        if let Some(p) = &c.problem {
            let _ = writeln!(out, "  problem: {p}");
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
                    i.id.clone(),
                    i.owner.clone().unwrap_or_else(|| "-".into()),
                    i.severity.name().to_string(),
                    i.status.name().to_uppercase(),
                    shorten(&value_vs_target(i), 48),
                    waiver_cell(i),
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut l = String::from(" ");
            for (cell, w) in cells.iter().zip(widths) {
                let _ = write!(l, " {cell:<w$} ");
            }
            l.trim_end().to_string()
        };
        let _ = writeln!(out, "{}", line(&header.map(str::to_string)));
        for row in &rows {
            let _ = writeln!(out, "{}", line(row));
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
            let _ = writeln!(out, "  {} {}: {}", i.status.name(), i.id, i.detail);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "readiness: {}", report.readiness.name());
    out
}

/// Pretty JSON: the documented shape (`CheckReport`).
pub fn json(report: &CheckReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Escape text for XML content and attribute values; characters XML 1.0
/// cannot hold at all (most control characters) are dropped.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one `<testsuite>` per checklist, one `<testcase>` per item;
/// a failing item has a `<failure>` (an unevaluated one an `<error>`) with
/// the measured value against the target; a waived item is `<skipped>`.
pub fn junit(report: &CheckReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = |f: fn(&ChecklistReport) -> usize| report.checklists.iter().map(f).sum::<usize>();
    let _ = writeln!(
        out,
        "<testsuites name=\"cutover check\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        total(|c| c.items.len()),
        total(|c| c.summary.failed),
        total(|c| c.summary.errors),
        total(|c| c.summary.waived),
    );
    for c in &report.checklists {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" timestamp=\"{}\">",
            xml_escape(&c.name),
            c.items.len(),
            c.summary.failed,
            c.summary.errors,
            c.summary.waived,
            xml_escape(&report.at)
        );
        let _ = writeln!(
            out,
            "    <properties><property name=\"path\" value=\"{}\"/><property name=\"readiness\" value=\"{}\"/></properties>",
            xml_escape(&c.path),
            xml_escape(c.readiness.name())
        );
        for i in &c.items {
            let classname = match &i.category {
                Some(cat) => format!("{}.{cat}", c.name),
                None => c.name.clone(),
            };
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\"",
                xml_escape(&format!("{}: {}", i.id, i.title)),
                xml_escape(&classname)
            );
            let body = format!(
                "measured: {}\ntarget: {}\n{}",
                i.value.as_deref().unwrap_or("-"),
                i.target.as_deref().unwrap_or("-"),
                i.detail
            );
            let tag = match i.status {
                Status::Pass => {
                    out.push_str("/>\n");
                    continue;
                }
                Status::Fail => "failure",
                Status::Error => "error",
                Status::Waived => "skipped",
            };
            let _ = writeln!(
                out,
                ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>",
                xml_escape(&i.detail),
                i.severity.name(),
                xml_escape(&body)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// GitHub workflow command data: `%`, CR and LF are escaped.
fn gh_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub workflow command property values also escape `:` and `,`.
fn gh_property(text: &str) -> String {
    gh_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One annotation per failing or unevaluated item (waived items are not
/// failing): `::error` for blockers, `::warning` for warnings.
pub fn github(report: &CheckReport) -> String {
    let mut out = String::new();
    for c in &report.checklists {
        if let Some(p) = &c.problem {
            let _ = writeln!(
                out,
                "::error title={}::{}",
                gh_property(&format!("{} could not be evaluated", c.name)),
                gh_data(p)
            );
        }
        for i in c
            .items
            .iter()
            .filter(|i| matches!(i.status, Status::Fail | Status::Error))
        {
            let level = match i.severity {
                super::model::Severity::Blocker => "error",
                super::model::Severity::Warning => "warning",
            };
            let vs = value_vs_target(i);
            let _ = writeln!(
                out,
                "::{level} file={}{},title={}::{}: {}{}",
                gh_property(&c.path),
                i.line.map(|l| format!(",line={l}")).unwrap_or_default(),
                gh_property(&format!("{} {}: {}", c.name, i.status.name(), i.id)),
                gh_data(&i.title),
                gh_data(&i.detail),
                if vs.is_empty() {
                    String::new()
                } else {
                    gh_data(&format!(" ({vs})"))
                }
            );
        }
    }
    out
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
    fn xml_escaping_covers_markup_quotes_and_control_characters() {
        assert_eq!(
            xml_escape("a<b & \"c\" 'd'>\u{1}\n"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;&#10;"
        );
    }

    #[test]
    fn github_commands_escape_their_separators() {
        assert_eq!(gh_data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(gh_property("a: b, c"), "a%3A b%2C c");
    }

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
