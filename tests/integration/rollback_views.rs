//! `status` and `report` after a failed rollback that was resumed: a
//! rollback skipped with `--skip-rollback` (undone by hand) shows as skipped
//! by whom, and a rollback run again with `--rollback` keeps its failed
//! attempt.

use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::run::cutover_exits;

const RUNBOOK: &str = r#"
[runbook]
name = "rbviews"

[[step]]
id = "a"
run = "echo a >> log"
rollback = "echo undo-a >> log"

[[step]]
id = "b"
run = "echo b >> log"
rollback = "test -f fixed || exit 7; echo undo-b >> log"

[[step]]
id = "c"
run = "echo c >> log"
rollback = "echo undo-c >> log"

[[step]]
id = "d"
run = "false"
"#;

/// `run` → exit 5: `b`'s rollback failed, `a`'s did not run.
fn failed_rollback() -> Cutover {
    let c = Cutover::new().runbook(RUNBOOK);
    cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r3"], 5);
    c
}

fn stdout(c: &Cutover, args: &[&str]) -> String {
    let out = c.exec(args);
    assert_eq!(out.code, 0, "cutover {args:?}: {}", out.stderr);
    out.stdout
}

fn json(c: &Cutover, args: &[&str]) -> Value {
    let text = stdout(c, args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The status text line of a step.
fn status_line(text: &str, step: &str) -> String {
    text.lines()
        .find(|l| l.trim_start().starts_with(&format!("{step} ")))
        .unwrap_or_else(|| panic!("no line for `{step}`: {text}"))
        .to_string()
}

/// The text of the report's `## title` section ("" when there is none).
fn section<'a>(md: &'a str, title: &str) -> &'a str {
    let rest = md.split(&format!("## {title}")).nth(1).unwrap_or_default();
    rest.split("\n## ").next().unwrap_or_default()
}

/// The row of a step in the report's Rollback table.
fn rollback_row(md: &str, step: &str) -> String {
    let section = md
        .split("## Rollback")
        .nth(1)
        .unwrap_or_else(|| panic!("no Rollback section: {md}"));
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .find(|l| l.starts_with(&format!("| {step} |")))
        .unwrap_or_else(|| panic!("no rollback row for `{step}`: {section}"))
        .to_string()
}

fn status_step<'a>(v: &'a Value, step: &str) -> &'a Value {
    v["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == step))
        .unwrap_or_else(|| panic!("no step `{step}`: {v}"))
}

#[test]
fn a_skipped_rollback_shows_as_skipped_by_whom_in_status_and_report() {
    let c = failed_rollback();
    let stderr = cutover_exits(
        &c,
        &["resume", "r3", "--skip-rollback", "b", "--as", "alice"],
        3,
    );
    // Allowed without `--reason`, with a hint; the final words fall back.
    assert!(
        stderr.contains("hint: `--reason \"...\"` records how it was undone by hand"),
        "{stderr}"
    );
    assert!(
        stderr.contains("except `b` (rollback skipped by alice: undone by hand)"),
        "{stderr}"
    );

    // status, text: b's rollback was skipped, not failed.
    let text = stdout(&c, &["status", "r3"]);
    assert!(text.contains("ROLLED BACK"), "{text}");
    let b_line = status_line(&text, "b");
    assert!(
        b_line.contains("rollback skipped (by alice: undone by hand)"),
        "{b_line}"
    );
    assert!(!b_line.contains("FAILED"), "{b_line}");
    assert!(status_line(&text, "a").contains("rolled back"), "{text}");

    // status, JSON.
    let v = json(&c, &["status", "r3", "--format", "json"]);
    let rb = &status_step(&v, "b")["rollback"];
    assert_eq!(rb["state"], "skipped", "{rb}");
    assert_eq!(rb["skipped_by"], "alice", "{rb}");
    assert!(rb.get("skip_reason").is_none(), "{rb}");
    let a_rb = &status_step(&v, "a")["rollback"];
    assert_eq!(a_rb["state"], "rolled_back", "{a_rb}");
    assert!(a_rb.get("skipped_by").is_none(), "{a_rb}");

    // report, Markdown: the table agrees with the JSON's `ok: true`.
    let md = stdout(&c, &["report", "r3"]);
    let row = rollback_row(&md, "b");
    assert!(row.contains("skipped by alice (undone by hand)"), "{row}");
    assert!(!row.contains("FAILED"), "{row}");
    assert!(rollback_row(&md, "a").contains("| ok |"), "{md}");
    // The skip is an operator's choice: a decision and a deviation.
    let deviations = section(&md, "Deviations");
    assert!(
        deviations.contains(
            "| rollback-skipped | b | rollback of `b` skipped by alice: undone by hand |"
        ),
        "{deviations}"
    );
    let decisions = section(&md, "Approvals and decisions");
    assert!(
        decisions.contains("| b | decision: skip rollback | undone by hand |"),
        "{decisions}"
    );

    // report, JSON.
    let report = json(&c, &["report", "r3", "--format", "json"]);
    assert_eq!(report["rollback"]["ok"], true, "{}", report["rollback"]);
    assert_eq!(report["rollback"]["failed"], serde_json::json!([]));
    let b_rb = &report["steps"]["b"]["rollback"];
    assert_eq!(b_rb["skipped_by"], "alice", "{b_rb}");
    assert!(b_rb.get("skip_reason").is_none(), "{b_rb}");
    assert!(b_rb["skipped_at"].is_string(), "{b_rb}");
    assert_eq!(b_rb["attempts"], 1, "{b_rb}");
    assert_eq!(report["steps"]["a"]["rollback"]["skipped_by"], Value::Null);
    assert!(
        report["deviations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "rollback-skipped" && d["step"] == "b"),
        "{}",
        report["deviations"]
    );
}

#[test]
fn a_skipped_rollback_shows_what_the_operator_did_by_hand() {
    const SAID: &str = "restored from snapshot by hand";
    let c = failed_rollback();
    let stderr = cutover_exits(
        &c,
        &[
            "resume",
            "r3",
            "--skip-rollback",
            "b",
            "--reason",
            SAID,
            "--as",
            "alice",
        ],
        3,
    );
    assert!(!stderr.contains("hint: `--reason"), "{stderr}");
    // The final message.
    assert!(
        stderr.contains(&format!("except `b` (rollback skipped by alice: {SAID})")),
        "{stderr}"
    );
    assert!(!stderr.contains("undone by hand)"), "{stderr}");

    // status, text and JSON.
    let text = stdout(&c, &["status", "r3"]);
    let b_line = status_line(&text, "b");
    assert!(
        b_line.contains(&format!("rollback skipped (by alice: {SAID})")),
        "{b_line}"
    );
    let v = json(&c, &["status", "r3", "--format", "json"]);
    let rb = &status_step(&v, "b")["rollback"];
    assert_eq!(rb["state"], "skipped", "{rb}");
    assert_eq!(rb["skipped_by"], "alice", "{rb}");
    assert_eq!(rb["skip_reason"], SAID, "{rb}");
    assert!(
        status_step(&v, "a")["rollback"]
            .get("skip_reason")
            .is_none(),
        "{v}"
    );

    // report, Markdown: Rollback table, deviation and the decision's why.
    let md = stdout(&c, &["report", "r3"]);
    let row = rollback_row(&md, "b");
    assert!(row.contains(&format!("skipped by alice: {SAID}")), "{row}");
    assert!(!row.contains("undone by hand"), "{row}");
    let deviations = section(&md, "Deviations");
    assert!(
        deviations.contains(&format!(
            "| rollback-skipped | b | rollback of `b` skipped by alice: {SAID} |"
        )),
        "{deviations}"
    );
    let decisions = section(&md, "Approvals and decisions");
    assert!(
        decisions.contains(&format!("| b | decision: skip rollback | {SAID} |")),
        "{decisions}"
    );

    // report, JSON.
    let report = json(&c, &["report", "r3", "--format", "json"]);
    let b_rb = &report["steps"]["b"]["rollback"];
    assert_eq!(b_rb["skipped_by"], "alice", "{b_rb}");
    assert_eq!(b_rb["skip_reason"], SAID, "{b_rb}");
    assert!(
        report["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["decision"] == "decision: skip rollback" && a["reason"] == SAID),
        "{}",
        report["approvals"]
    );
}

#[test]
fn a_rollback_run_again_keeps_its_failed_attempt() {
    let c = failed_rollback();
    std::fs::write(c.path("fixed"), "").unwrap();
    cutover_exits(&c, &["resume", "r3", "--rollback"], 3);

    let text = stdout(&c, &["status", "r3"]);
    let b_line = status_line(&text, "b");
    assert!(b_line.contains("rolled back (attempt 2)"), "{b_line}");
    let v = json(&c, &["status", "r3", "--format", "json"]);
    let rb = &status_step(&v, "b")["rollback"];
    assert_eq!(rb["state"], "rolled_back", "{rb}");
    assert_eq!(rb["attempts"], 2, "{rb}");

    let md = stdout(&c, &["report", "r3"]);
    let row = rollback_row(&md, "b");
    assert!(
        row.contains("ok (2nd attempt; 1st failed: exit 7)"),
        "{row}"
    );
    assert!(rollback_row(&md, "a").contains("| ok |"), "{md}");

    let report = json(&c, &["report", "r3", "--format", "json"]);
    let b_rb = &report["steps"]["b"]["rollback"];
    assert_eq!(b_rb["ok"], true, "{b_rb}");
    assert_eq!(b_rb["attempts"], 2, "{b_rb}");
    let failed = b_rb["failed_attempts"].as_array().expect("failed_attempts");
    assert_eq!(failed.len(), 1, "{b_rb}");
    assert_eq!(failed[0]["attempt"], 1);
    assert_eq!(failed[0]["ok"], false);
    assert_eq!(failed[0]["exit_code"], 7);
    assert_eq!(failed[0]["detail"], "exited with status 7");
    assert_eq!(b_rb["skipped_by"], Value::Null, "{b_rb}");
}

#[test]
fn a_rollback_that_fails_again_lists_both_attempts() {
    let c = failed_rollback();
    cutover_exits(&c, &["resume", "r3", "--rollback"], 5);
    let text = stdout(&c, &["status", "r3"]);
    assert!(
        status_line(&text, "b").contains("rollback FAILED (attempt 2)"),
        "{text}"
    );
    let md = stdout(&c, &["report", "r3"]);
    let row = rollback_row(&md, "b");
    assert!(
        row.contains("FAILED: exited with status 7 (2nd attempt; 1st failed: exit 7)"),
        "{row}"
    );
    assert!(rollback_row(&md, "a").contains("not started"), "{md}");
    // Then skipped by hand: the table says so, with what its action did.
    cutover_exits(
        &c,
        &["resume", "r3", "--skip-rollback", "b", "--as", "bob"],
        3,
    );
    let md = stdout(&c, &["report", "r3"]);
    let row = rollback_row(&md, "b");
    assert!(
        row.contains("skipped by bob (undone by hand) after it failed: exited with status 7 (2nd attempt; 1st failed: exit 7)"),
        "{row}"
    );
    let report = json(&c, &["report", "r3", "--format", "json"]);
    let b_rb = &report["steps"]["b"]["rollback"];
    assert_eq!(b_rb["skipped_by"], "bob", "{b_rb}");
    assert_eq!(b_rb["attempts"], 2, "{b_rb}");
    assert_eq!(b_rb["failed_attempts"].as_array().map(Vec::len), Some(1));
    let v = json(&c, &["status", "r3", "--format", "json"]);
    assert_eq!(status_step(&v, "b")["rollback"]["state"], "skipped");
}

#[test]
fn the_reason_for_a_skipped_rollback_is_masked() {
    const PW: &str = "s3cr3t-Pw-rbviews";
    let runbook = RUNBOOK.replace(
        "name = \"rbviews\"\n",
        "name = \"rbviews\"\n[secrets]\npw = { env = \"RBVIEWS_PW\" }\n",
    );
    let c = Cutover::new().runbook(&runbook).env("RBVIEWS_PW", PW);
    // (`exec`, not `cutover_exits`: the secret comes from `c`'s env.)
    let out = c.exec(&["run", "runbook.toml", "--run-id", "r3"]);
    assert_eq!(out.code, 5, "{}", out.stderr);
    let said = format!("reset the password to {PW} by hand");
    let out = c.exec(&["resume", "r3", "--skip-rollback", "b", "--reason", &said]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let stderr = out.stderr;
    let journal = std::fs::read_to_string(c.path(".cutover/runs/r3/journal.jsonl")).unwrap();
    let md = stdout(&c, &["report", "r3"]);
    for (what, text) in [("stderr", &stderr), ("journal", &journal), ("report", &md)] {
        assert!(!text.contains(PW), "{what} leaks the secret:\n{text}");
    }
    let report = json(&c, &["report", "r3", "--format", "json"]);
    assert_eq!(
        report["steps"]["b"]["rollback"]["skip_reason"],
        "reset the password to *** by hand"
    );
}
