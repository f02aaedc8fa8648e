//! What changed between a reviewed plan (the JSON `cutover plan -o` wrote)
//! and the plan built from the runbook now: the lines `run --plan` shows
//! when it refuses. A structural diff of the two (masked) JSON documents:
//! variables, steps added and removed, and per step, gate, trigger, source
//! and secret every field that differs, by its path (`approval.min: 1 → 2`,
//! `command: `a` → `b``). Pure, so every rule is unit-tested.

use serde_json::{Map, Value};

/// At most this many lines; the rest are counted.
const MAX_LINES: usize = 40;
/// A value longer than this is cut with `…`.
const MAX_VALUE: usize = 80;

/// The top-level plan fields that are derived from others (`waves` from
/// `needs`, `hash` from everything) or said in other words below.
const DERIVED: [&str; 5] = ["hash", "waves", "runbook", "vars", "runbook_sha256"];

/// Runbook tables compared entry by entry, with the word for one entry.
const KEYED: [(&str, &str); 4] = [
    ("steps", "step"),
    ("triggers", "trigger"),
    ("sources", "source"),
    ("secrets", "secret"),
];

/// Every difference between `saved` and `now`, one line each, in the order
/// a reviewer reads a plan: plan settings, variables, runbook settings,
/// steps, triggers, sources, secrets.
pub fn changes(saved: &Value, now: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in union(saved, now) {
        if !DERIVED.contains(&key.as_str()) {
            leaves(&key, field(saved, &key), field(now, &key), &mut |l| {
                out.push(l);
            });
        }
    }
    entries(
        "variable",
        field(saved, "vars"),
        field(now, "vars"),
        &mut out,
    );
    let (rb_saved, rb_now) = (field(saved, "runbook"), field(now, "runbook"));
    for key in union(rb_saved, rb_now) {
        let keyed = KEYED.iter().any(|(k, _)| *k == key);
        // `runbook.vars` are the variables before overlays: `vars` said it.
        if !keyed && key != "vars" {
            leaves(
                &format!("runbook.{key}"),
                field(rb_saved, &key),
                field(rb_now, &key),
                &mut |l| out.push(l),
            );
        }
    }
    for (key, word) in KEYED {
        entries(word, field(rb_saved, key), field(rb_now, key), &mut out);
    }
    if key_order(field(rb_saved, "steps")) != key_order(field(rb_now, "steps"))
        && same_members(field(rb_saved, "steps"), field(rb_now, "steps"))
    {
        out.push(format!(
            "steps reordered: {} → {}",
            key_order(field(rb_saved, "steps")).join(", "),
            key_order(field(rb_now, "steps")).join(", ")
        ));
    }
    if out.is_empty() && field(saved, "runbook_sha256") != field(now, "runbook_sha256") {
        out.push(
            "the runbook file changed, but nothing the plan resolves to (a comment or formatting?)"
                .into(),
        );
    }
    if out.len() > MAX_LINES {
        let more = out.len() - MAX_LINES;
        out.truncate(MAX_LINES);
        out.push(format!("... and {more} more"));
    }
    out
}

fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&Value::Null)
}

/// The keys of two objects: `a`'s in order, then those only `b` has.
fn union(a: &Value, b: &Value) -> Vec<String> {
    let empty = Map::new();
    let (a, b) = (
        a.as_object().unwrap_or(&empty),
        b.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<String> = a.keys().cloned().collect();
    keys.extend(b.keys().filter(|k| !a.contains_key(*k)).cloned());
    keys
}

/// An object's entries or an array's elements, each by its name (`id`).
fn keyed(v: &Value) -> Vec<(String, &Value)> {
    match v {
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let id = e
                    .get("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("#{}", i + 1), str::to_string);
                (id, e)
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn key_order(v: &Value) -> Vec<String> {
    keyed(v).into_iter().map(|(k, _)| k).collect()
}

fn same_members(a: &Value, b: &Value) -> bool {
    let (mut a, mut b) = (key_order(a), key_order(b));
    a.sort();
    b.sort();
    a == b
}

/// Named entries (`step `a``, `variable `x``) removed, added or changed.
fn entries(word: &str, saved: &Value, now: &Value, out: &mut Vec<String>) {
    let (old, new) = (keyed(saved), keyed(now));
    for (key, before) in &old {
        let name = format!("{word} `{key}`");
        match find(&new, key) {
            None => out.push(format!("{name} removed")),
            Some(after) if !before.is_object() => {
                if *before != after {
                    out.push(format!("{name}: {} → {}", shown(before), shown(after)));
                }
            }
            Some(after) => {
                for key in union(before, after) {
                    leaves(&key, field(before, &key), field(after, &key), &mut |l| {
                        out.push(format!("{name}: {l}"));
                    });
                }
            }
        }
    }
    for (key, after) in &new {
        if find(&old, key).is_none() {
            let value = if after.is_object() {
                String::new()
            } else {
                format!(" (= {})", shown(after))
            };
            out.push(format!("{word} `{key}` added{value}"));
        }
    }
}

fn find<'a>(list: &[(String, &'a Value)], key: &str) -> Option<&'a Value> {
    list.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

/// `path: before → after` for every differing leaf under `path`; gates in
/// a step compared by id, like steps.
fn leaves(path: &str, a: &Value, b: &Value, out: &mut dyn FnMut(String)) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Null, Value::Object(_)) => out(format!("{} added", said(path))),
        (Value::Object(_), Value::Null) => out(format!("{} removed", said(path))),
        (Value::Object(_), Value::Object(_)) => {
            for key in union(a, b) {
                leaves(
                    &format!("{path}.{key}"),
                    field(a, &key),
                    field(b, &key),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if has_ids(x) && has_ids(y) => {
            let word = if path == "gates" { "gate" } else { path };
            let mut lines = Vec::new();
            entries(word, a, b, &mut lines);
            for l in lines {
                out(l);
            }
        }
        _ => {
            let code = path.ends_with("command");
            let show = |v: &Value| {
                if code && let Some(s) = v.as_str() {
                    format!("`{}`", cut(s))
                } else {
                    shown(v)
                }
            };
            out(format!("{}: {} → {}", said(path), show(a), show(b)));
        }
    }
}

fn has_ids(list: &[Value]) -> bool {
    !list.is_empty()
        && list
            .iter()
            .all(|e| e.get("id").is_some_and(Value::is_string))
}

/// A path as a reviewer says it: a step's command is its `command`.
fn said(path: &str) -> &str {
    match path {
        "action.command" => "command",
        "action" => "action",
        other => other,
    }
}

/// A JSON value on one line: `none` for null, cut when long.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        other => cut(&other.to_string()),
    }
}

fn cut(text: &str) -> String {
    let line = crate::text::one_line(text);
    if line.chars().count() <= MAX_VALUE {
        return line.into_owned();
    }
    let mut s: String = line.chars().take(MAX_VALUE - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[allow(
        clippy::needless_pass_by_value,
        reason = "test documents read better inline"
    )]
    fn plan(vars: Value, steps: Value) -> Value {
        json!({
            "format_version": 1, "hash": "h", "env": null, "production": false,
            "runbook_sha256": "s", "runbook_path": "rb.toml", "waves": [],
            "vars": vars,
            "runbook": { "name": "n", "max_parallel": 1, "steps": steps, "triggers": [],
                         "sources": {}, "secrets": {}, "vars": {} },
        })
    }

    fn step(id: &str, command: &str) -> Value {
        json!({ "id": id, "needs": [], "approval": null, "gates": [],
                "action": { "kind": "run", "command": command }, "rollback": null })
    }

    #[test]
    fn the_same_plan_has_no_changes() {
        let p = plan(json!({"a": "1"}), json!([step("a", "x")]));
        assert!(changes(&p, &p).is_empty());
    }

    #[test]
    fn variables_steps_commands_gates_and_approvals() {
        let mut deploy = step("deploy", "deploy 1");
        deploy["gates"] = json!([{ "id": "healthy", "count": 2, "condition_text": "== 1" }]);
        let saved = plan(
            json!({"version": "1", "gone": "x"}),
            json!([deploy.clone(), step("old", "o")]),
        );
        let mut deploy2 = step("deploy", "deploy 2");
        deploy2["gates"] = json!([
            { "id": "healthy", "count": 3, "condition_text": "== 1" },
            { "id": "latency", "count": 1, "condition_text": "< 1" },
        ]);
        deploy2["approval"] = json!({ "min": 1 });
        let now = plan(
            json!({"version": "2", "new": "y"}),
            json!([deploy2, step("fresh", "f")]),
        );
        assert_eq!(
            changes(&saved, &now),
            [
                "variable `gone` removed",
                "variable `version`: \"1\" → \"2\"",
                "variable `new` added (= \"y\")",
                "step `deploy`: command: `deploy 1` → `deploy 2`",
                "step `deploy`: approval added",
                "step `deploy`: gate `healthy`: count: 2 → 3",
                "step `deploy`: gate `latency` added",
                "step `old` removed",
                "step `fresh` added",
            ]
        );
    }

    #[test]
    fn settings_and_order() {
        let saved = plan(json!({}), json!([step("a", "x"), step("b", "y")]));
        let mut now = plan(json!({}), json!([step("b", "y"), step("a", "x")]));
        now["env"] = json!("staging");
        now["runbook"]["max_parallel"] = json!(2);
        assert_eq!(
            changes(&saved, &now),
            [
                "env: none → \"staging\"",
                "runbook.max_parallel: 1 → 2",
                "steps reordered: a, b → b, a",
            ]
        );
    }

    #[test]
    fn only_the_file_changed() {
        let saved = plan(json!({}), json!([step("a", "x")]));
        let mut now = saved.clone();
        now["runbook_sha256"] = json!("t");
        assert_eq!(
            changes(&saved, &now),
            [
                "the runbook file changed, but nothing the plan resolves to (a comment or formatting?)"
            ]
        );
    }

    #[test]
    fn long_values_and_many_lines_are_cut() {
        let saved = plan(json!({}), json!([step("a", &"x".repeat(200))]));
        let now = plan(json!({}), json!([step("a", "y")]));
        let line = &changes(&saved, &now)[0];
        assert!(line.contains('…') && line.chars().count() < 120, "{line}");
        let many: Vec<Value> = (0..50).map(|i| step(&format!("s{i}"), "x")).collect();
        let lines = changes(
            &plan(json!({}), json!([])),
            &plan(json!({}), Value::Array(many)),
        );
        assert_eq!(lines.len(), MAX_LINES + 1);
        assert_eq!(lines[MAX_LINES], "... and 10 more");
    }
}
