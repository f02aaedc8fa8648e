//! `cutover attest` / `cutover waive`: edit a checklist in place with
//! `toml_edit`, so every comment, blank line and key order survives. The
//! functions take and return text; the command validates the result before
//! writing it, so an edit can never leave an invalid checklist behind.

use std::time::SystemTime;

use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table, TableLike, Value};

use super::time::{format_human, format_instant};
use crate::diag::did_you_mean;

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("the checklist is not valid TOML: {0}")]
    Parse(String),
    #[error("the checklist has no item `{item}`{}", .help.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownItem { item: String, help: Option<String> },
    #[error(
        "item `{item}` is checked automatically (`{kind}`): only attestation items can be attested; waive it instead"
    )]
    NotAttestable { item: String, kind: String },
}

const AUTOMATED: &[&str] = &["source", "run", "http", "dry_run_passed"];

fn parse(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>()
        .map_err(|e| EditError::Parse(e.message().to_string()))
}

/// The `[[item]]` table with this id, or a did-you-mean error.
fn find_item<'a>(doc: &'a mut DocumentMut, id: &str) -> Result<&'a mut Table, EditError> {
    let ids: Vec<String> = doc
        .get("item")
        .and_then(Item::as_array_of_tables)
        .map(|items| {
            items
                .iter()
                .filter_map(|t| t.get("id").and_then(Item::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !ids.iter().any(|i| i == id) {
        return Err(EditError::UnknownItem {
            item: id.to_string(),
            help: did_you_mean(id, ids.iter().map(String::as_str)),
        });
    }
    doc.get_mut("item")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|items| {
            items
                .iter_mut()
                .find(|t| t.get("id").and_then(Item::as_str) == Some(id))
        })
        .ok_or_else(|| EditError::UnknownItem {
            item: id.to_string(),
            help: None,
        })
}

/// Record an attestation of item `id`: sets its `attested` inline table
/// (replacing an older one in place).
pub fn attest(
    text: &str,
    id: &str,
    by: &str,
    evidence: &str,
    expires: Option<SystemTime>,
    now: SystemTime,
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let item = find_item(&mut doc, id)?;
    if let Some(kind) = AUTOMATED.iter().find(|k| item.contains_key(k)) {
        return Err(EditError::NotAttestable {
            item: id.to_string(),
            kind: (*kind).to_string(),
        });
    }
    let fields = [
        ("by", Some(by.to_string())),
        ("at", Some(format_instant(now))),
        ("evidence", Some(evidence.to_string())),
        ("expires", expires.map(format_human)),
    ];
    match item.get_mut("attested") {
        // `[item.attested]` or `attested = { ... }`: update its keys in place,
        // so the comments and layout around them survive.
        Some(existing) if existing.is_table_like() => {
            let table = existing.as_table_like_mut().expect("table-like");
            for (key, value) in &fields {
                match value {
                    Some(v) => set_key(table, key, v),
                    None => {
                        table.remove(key);
                    }
                }
            }
            if let Some(inline) = existing.as_inline_table_mut() {
                tidy_inline(inline);
            }
        }
        // Something else (invalid anyway): replace the value, keeping the
        // comment that may follow it on its line.
        Some(existing) => {
            let suffix = existing
                .as_value()
                .and_then(|v| v.decor().suffix())
                .and_then(|s| s.as_str())
                .map(str::to_string);
            let mut value = Value::InlineTable(new_inline(&fields));
            value.decor_mut().set_prefix(" ");
            if let Some(suffix) = suffix {
                value.decor_mut().set_suffix(suffix);
            }
            *existing = Item::Value(value);
        }
        None => {
            item.insert(
                "attested",
                Item::Value(Value::InlineTable(new_inline(&fields))),
            );
        }
    }
    Ok(doc.to_string())
}

/// Record a waiver of item `id`: updates its `[[waiver]]` in place, or
/// appends a new one at the end of the file.
pub fn waive(
    text: &str,
    id: &str,
    reason: &str,
    approver: &str,
    expires: SystemTime,
    now: SystemTime,
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    find_item(&mut doc, id)?;
    let last = last_position(doc.as_table());
    let fill = |t: &mut Table| {
        set_key(t, "reason", reason);
        set_key(t, "approver", approver);
        set_key(t, "expires", &format_human(expires));
        set_key(t, "at", &format_instant(now));
    };
    let existing = doc
        .get_mut("waiver")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|ws| {
            ws.iter_mut()
                .find(|t| t.get("item").and_then(Item::as_str) == Some(id))
        });
    if let Some(w) = existing {
        fill(w);
        return Ok(doc.to_string());
    }
    let mut table = Table::new();
    table.insert("item", toml_edit::value(id));
    fill(&mut table);
    // After every other table, so the new waiver is appended, never wedged
    // between an existing table and its keys.
    table.set_position(last + 1);
    table.decor_mut().set_prefix("\n");
    if let Some(ws) = doc.get_mut("waiver").and_then(Item::as_array_of_tables_mut) {
        ws.push(table);
    } else {
        let mut ws = ArrayOfTables::new();
        ws.push(table);
        doc.insert("waiver", Item::ArrayOfTables(ws));
    }
    let mut out = doc.to_string();
    if !text.ends_with('\n') && !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// Set `key` to the string `value`, keeping the old value's surrounding
/// whitespace and trailing comment when the key already exists.
fn set_key(table: &mut dyn TableLike, key: &str, value: &str) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = Value::from(value);
            *old.decor_mut() = decor;
        }
        None => {
            table.insert(key, toml_edit::value(value));
        }
    }
}

/// A fresh `{ by = ..., at = ..., ... }` with the usual spacing.
fn new_inline(fields: &[(&str, Option<String>)]) -> InlineTable {
    let mut table = InlineTable::new();
    for (key, value) in fields {
        if let Some(v) = value {
            table.insert(*key, v.as_str().into());
        }
    }
    table.fmt();
    table
}

/// Give keys added to an existing inline table the usual ` = ` spacing
/// (an inline table holds no comments, so nothing else is at stake).
fn tidy_inline(table: &mut InlineTable) {
    table.fmt();
}

/// The highest document position of any table, however nested.
fn last_position(table: &Table) -> isize {
    let mut max = table.position().unwrap_or(0);
    for (_, item) in table {
        match item {
            Item::Table(t) => max = max.max(last_position(t)),
            Item::ArrayOfTables(ts) => {
                for t in ts {
                    max = max.max(last_position(t));
                }
            }
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readiness::time::parse_instant;

    const TEXT: &str = r#"# Launch checklist
[checklist]
name = "launch" # the launch

# People
[[item]]
id = "load-test"   # perf team signs off
title = "Load test signed off"

[[item]]
id = "smoke"
title = "Smoke test"
run = "true"

# waivers below
[[waiver]]
item = "smoke"
reason = "flaky"
approver = "cto"
expires = "2026-01-01"

# trailing comment
"#;

    fn now() -> SystemTime {
        parse_instant("2026-11-25T10:00:00Z").expect("valid")
    }

    /// Every line of `before` is still in `after`, in order.
    fn keeps_lines(before: &str, after: &str) {
        let mut rest = after.lines();
        for line in before.lines() {
            assert!(
                rest.any(|l| l == line),
                "line {line:?} lost or reordered in:\n{after}"
            );
        }
    }

    #[test]
    fn attest_adds_an_inline_table_and_keeps_everything_else() {
        let out = attest(
            TEXT,
            "load-test",
            "alice",
            "https://perf/1",
            Some(now() + std::time::Duration::from_hours(7 * 24)),
            now(),
        )
        .expect("edits");
        keeps_lines(TEXT, &out);
        assert!(
            out.contains(r#"attested = { by = "alice", at = "2026-11-25T10:00:00Z", evidence = "https://perf/1", expires = "2026-12-02T10:00:00Z" }"#),
            "{out}"
        );
        let again = attest(&out, "load-test", "bob", "https://perf/2", None, now()).expect("edits");
        assert_eq!(again.matches("attested =").count(), 1, "{again}");
        assert!(again.contains("bob"));
    }

    #[test]
    fn attest_updates_a_sub_table_in_place_keeping_its_comments() {
        let text = r#"[checklist]
name = "launch"

[[item]]
id = "a"
title = "A"

# how it was attested
[item.attested]
by = "x"   # who
at = "2026-01-01"
evidence = "https://old" # link
expires = "2026-02-01"

# next
[[item]]
id = "b"
title = "B"
attested = { by = "y",  at = "2026-01-01", evidence = "https://old" } # inline
"#;
        let out = attest(text, "a", "me", "https://new", None, now()).expect("edits");
        for line in [
            "# how it was attested",
            "[item.attested]",
            "by = \"me\"   # who",
            "at = \"2026-11-25T10:00:00Z\"",
            "evidence = \"https://new\" # link",
            "# next",
        ] {
            assert!(out.lines().any(|l| l == line), "{line:?} missing:\n{out}");
        }
        assert!(
            !out.contains("expires = \"2026-02-01\""),
            "stale expiry kept:\n{out}"
        );
        assert!(!out.contains("attested="), "{out}");
        let out = attest(&out, "b", "me", "https://new", None, now()).expect("edits");
        assert!(
            out.contains(r#"attested = { by = "me", at = "2026-11-25T10:00:00Z", evidence = "https://new" } # inline"#),
            "{out}"
        );
    }

    #[test]
    fn waive_keeps_the_comments_on_the_keys_it_updates() {
        let text = TEXT.replace("reason = \"flaky\"", "reason = \"flaky\"   # see INC-1");
        let expires = parse_instant("2026-12-24").expect("valid");
        let out = waive(&text, "smoke", "still flaky", "vp", expires, now()).expect("edits");
        assert!(
            out.lines()
                .any(|l| l == "reason = \"still flaky\"   # see INC-1"),
            "{out}"
        );
    }

    #[test]
    fn attest_refuses_unknown_and_automated_items() {
        let e = attest(TEXT, "load-tset", "a", "e", None, now()).expect_err("unknown");
        assert!(e.to_string().contains("did you mean `load-test`"), "{e}");
        let e = attest(TEXT, "smoke", "a", "e", None, now()).expect_err("automated");
        assert!(e.to_string().contains("checked automatically"), "{e}");
    }

    #[test]
    fn waive_updates_in_place_or_appends_at_the_end() {
        let expires = parse_instant("2026-12-24").expect("valid");
        let out = waive(TEXT, "smoke", "still flaky", "vp", expires, now()).expect("edits");
        assert_eq!(out.matches("[[waiver]]").count(), 1, "{out}");
        assert!(out.contains("reason = \"still flaky\""));
        assert!(out.contains("expires = \"2026-12-24\""));
        let out = waive(TEXT, "load-test", "late", "vp", expires, now()).expect("edits");
        keeps_lines(TEXT, &out);
        assert_eq!(out.matches("[[waiver]]").count(), 2, "{out}");
        let tail = out.rsplit("[[waiver]]").next().expect("two");
        assert!(tail.contains("item = \"load-test\""), "{out}");
    }
}
