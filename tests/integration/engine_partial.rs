//! `rollback_partial = true`: a step that started its action but did not
//! finish it (failed, stopped by a trigger, in flight at a crash) is rolled
//! back too, before the done steps; a step that never started its action
//! is not.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::cutover::Cutover;
use crate::support::journal::{journal, of_type, outcome, seq_of};
use crate::support::run::{
    Reap, bin, cutover, cutover_exits, effects, gone, kill9, read_pid, spawn_run, spawn_run_quiet,
    wait_for_process_started, wait_until,
};

/// Wait (20 s at most) until `file` exists; `what` names it in the panic.
fn wait_for(c: &Cutover, file: &str, what: &str) {
    wait_until(what, Duration::from_secs(20), || c.path(file).exists());
}

/// `rollback_started` records of the journal.
fn rollbacks(records: &[Value]) -> Vec<Value> {
    of_type(records, "rollback_started")
        .into_iter()
        .map(|r| r["data"].clone())
        .collect()
}

/// The steps whose rollback started, with their `partial` flag.
fn rollback_steps(records: &[Value]) -> Vec<(String, bool)> {
    of_type(records, "rollback_step_started")
        .iter()
        .map(|r| {
            (
                r["data"]["step"].as_str().unwrap_or_default().to_string(),
                r["data"]["partial"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[test]
fn a_failed_step_is_rolled_back_first_only_with_rollback_partial() {
    struct Case {
        rollback_partial: bool,
        effects: &'static str,
        planned: Value,
        partial: Value,
        started: Vec<(String, bool)>,
    }
    let cases = [
        Case {
            rollback_partial: true,
            effects: "a\nhalf\nundo-migrate\nundo-a\n",
            planned: json!(["migrate", "a"]),
            partial: json!(["migrate"]),
            started: vec![("migrate".into(), true), ("a".into(), false)],
        },
        Case {
            rollback_partial: false,
            effects: "a\nhalf\nundo-a\n",
            planned: json!(["a"]),
            partial: Value::Null,
            started: vec![("a".into(), false)],
        },
    ];
    for case in cases {
        let flag = case.rollback_partial;
        let c = Cutover::new().runbook(&format!(
            r#"
[runbook]
name = "partial"

[[step]]
id = "a"
run = "echo a >> effects"
rollback = "echo undo-a >> effects"

[[step]]
id = "migrate"
run = "echo half >> effects; exit 1"
rollback = "echo undo-migrate >> effects"
rollback_partial = {flag}
"#
        ));
        let (code, stderr) = cutover(&c, &["run", "runbook.toml", "--run-id", "r"]);
        assert_eq!(code, 3, "rollback_partial={flag}: {stderr}");
        assert_eq!(effects(&c), case.effects, "rollback_partial={flag}");
        assert_eq!(
            stderr.contains("rolling back `migrate` (it did not finish)"),
            flag,
            "{stderr}"
        );
        assert_eq!(
            stderr
                .contains("every completed step was rolled back, and the unfinished `migrate` too"),
            flag,
            "the run's last words name the partial step: {stderr}"
        );

        let j = journal(&c, "r");
        let rb = rollbacks(&j);
        assert_eq!(rb.len(), 1);
        assert_eq!(rb[0]["steps"], case.planned, "rollback_partial={flag}");
        assert_eq!(rb[0]["partial"], case.partial, "rollback_partial={flag}");
        assert_eq!(rollback_steps(&j), case.started);
        assert_eq!(outcome(&j), "rolled_back");

        // The report tells a partial rollback apart, in every format.
        let report = |format: &str| {
            let out = bin(&c)
                .args(["report", "r", "--format", format])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "report --format {format}");
            String::from_utf8(out.stdout).unwrap()
        };
        let json: Value = serde_json::from_str(&report("json")).unwrap();
        let md = report("md");
        let html = report("html");
        if flag {
            assert_eq!(json["rollback"]["partial"], json!(["migrate"]));
            assert_eq!(json["steps"]["migrate"]["rollback"]["partial"], true);
            assert_eq!(json["steps"]["a"]["rollback"]["partial"], false);
            assert!(
                md.contains("| migrate (partial: it did not finish) |"),
                "{md}"
            );
            assert!(html.contains("partial: it did not finish"));
        } else {
            assert_eq!(json["rollback"]["partial"], json!([]));
            assert!(json["steps"]["migrate"]["rollback"].is_null());
            assert!(!md.contains("did not finish"), "{md}");
        }
        // The Gantt chart draws a partial step's rollback bar apart, with a legend entry.
        let gantt = html
            .split("<svg class=\"gantt\"")
            .nth(1)
            .and_then(|s| s.split("</svg>").next())
            .expect("a Gantt chart");
        let bars: Vec<&str> = gantt
            .split("<rect class=\"bar rollback")
            .skip(1)
            .map(|b| b.split("</rect>").next().unwrap_or_default())
            .collect();
        let legend = html.contains("rollback of a step that did not finish (partial)");
        if flag {
            assert_eq!(bars.len(), 2, "{gantt}");
            assert!(
                bars[0].starts_with(" partial\"")
                    && bars[0].contains("rollback of migrate (partial: it did not finish)"),
                "{gantt}"
            );
            assert!(
                bars[1].starts_with('"') && bars[1].contains("rollback of a ("),
                "{gantt}"
            );
            assert!(legend, "{html}");
        } else {
            assert_eq!(bars.len(), 1, "{gantt}");
            assert!(!gantt.contains("partial"), "{gantt}");
            assert!(!legend);
        }

        // So does `cutover status`, as text and as JSON.
        let status = |format: &str| {
            let out = bin(&c)
                .args(["status", "r", "--format", format])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "status --format {format}");
            String::from_utf8(out.stdout).unwrap()
        };
        let text = status("text");
        let line = |id: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(&format!("{id} ")))
                .unwrap_or_else(|| panic!("no line for `{id}`:\n{text}"))
                .to_string()
        };
        assert!(line("a").contains("  rolled back"), "{text}");
        assert!(!line("a").contains("(partial)"), "{text}");
        let json: Value = serde_json::from_str(&status("json")).unwrap();
        let step = |id: &str| {
            json["steps"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["id"] == id)
                .cloned()
                .unwrap_or_else(|| panic!("no step `{id}`: {json}"))
        };
        assert_eq!(
            step("a")["rollback"],
            json!({"state": "rolled_back", "partial": false})
        );
        if flag {
            assert!(line("migrate").contains("rolled back (partial)"), "{text}");
            assert_eq!(
                step("migrate")["rollback"],
                json!({"state": "rolled_back", "partial": true})
            );
        } else {
            assert!(!line("migrate").contains("rolled back"), "{text}");
            assert!(step("migrate")["rollback"].is_null(), "{json}");
        }
    }
}

#[test]
fn a_trigger_stops_a_partial_step_then_its_rollback_runs_first() {
    let c = Cutover::new().file("level", "0\n").runbook(
        r#"
[runbook]
name = "partial-trigger"

[sources.local]
kind = "command"

[[trigger]]
id = "errors"
source = "local"
query = "cat level"
fire_if = "> 0.5"
for = "0s"
interval = "200ms"
action = "rollback"

[[step]]
id = "a"
run = "echo a >> effects"
rollback = "echo undo-a >> effects"

[[step]]
id = "migrate"
run = "echo $$ > migrate.pid; echo half >> effects; sleep 60"
rollback = "echo undo-migrate >> effects"
rollback_partial = true
grace = "1s"
"#,
    );
    let _reap = Reap::new(&c, "migrate.pid");
    let child = spawn_run(&c, &[]);
    wait_for(&c, "migrate.pid", "`migrate` starting");
    std::fs::write(c.path("level"), "1\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(effects(&c), "a\nhalf\nundo-migrate\nundo-a\n");
    let leader = read_pid(&c, "migrate.pid");
    assert!(gone(leader), "the step's group is stopped");

    let j = journal(&c, "r");
    let stopped = seq_of(&j, "migrate", "stopped");
    let started = of_type(&j, "rollback_step_started");
    assert_eq!(started[0]["data"]["step"], "migrate");
    assert_eq!(started[0]["data"]["partial"], true);
    assert!(
        stopped < started[0]["seq"].as_u64().unwrap(),
        "the step is stopped before its rollback runs"
    );
    let rb = rollbacks(&j);
    assert_eq!(rb[0]["reason"]["trigger"], "errors");
    assert_eq!(rb[0]["steps"], json!(["migrate", "a"]));
    assert_eq!(outcome(&j), "rolled_back");

    // `cutover status` says the stopped step's rollback was partial.
    let out = bin(&c).args(["status", "r"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let migrate = text
        .lines()
        .find(|l| l.trim_start().starts_with("migrate "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        migrate.contains("stopped") && migrate.contains("rolled back (partial)"),
        "{text}"
    );
    let html = bin(&c)
        .args(["report", "r", "--format", "html"])
        .output()
        .unwrap();
    let html = String::from_utf8(html.stdout).unwrap();
    assert_eq!(
        html.matches("<rect class=\"bar rollback partial\"").count(),
        1,
        "{html}"
    );
}

#[test]
fn a_step_stopped_in_its_before_gate_is_not_rolled_back() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "partial-gate"
max_parallel = 4

[sources.local]
kind = "command"

[[step]]
id = "a"
run = "echo a >> effects"
rollback = "echo undo-a >> effects"

[[step]]
id = "gated"
needs = ["a"]
run = "echo gated >> effects"
rollback = "echo undo-gated >> effects"
rollback_partial = true
[[step.gate]]
when = "before"
source = "local"
query = "touch gate-measured; echo 0"
pass_if = "< 1"
count = 100
interval = "1s"

[[step]]
id = "boom"
needs = ["a"]
run = "while [ ! -e gate-measured ]; do sleep 0.05; done; exit 1"
rollback = "echo undo-boom >> effects"
"#,
    );
    cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 3);
    assert_eq!(effects(&c), "a\nundo-a\n");
    let j = journal(&c, "r");
    seq_of(&j, "gated", "before_gates");
    assert!(
        of_type(&j, "step_state")
            .iter()
            .all(|r| !(r["data"]["step"] == "gated" && r["data"]["state"] == "running")),
        "`gated` never started its action"
    );
    let rb = rollbacks(&j);
    assert_eq!(rb[0]["steps"], json!(["a"]));
    assert_eq!(rollback_steps(&j), [("a".to_string(), false)]);
}

#[test]
fn crash_then_resume_rollback_rolls_the_in_flight_step_back_exactly_once() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "partial-crash"

[[step]]
id = "a"
run = "echo a >> effects"
# The first time, hang so the test can kill cutover mid-rollback.
rollback = "if [ ! -e undo-a.once ]; then touch undo-a.once; echo $$ > undo-a.pid; sleep 60; fi; echo undo-a >> effects"
grace = "1s"

[[step]]
id = "migrate"
run = "echo $$ > migrate.pid; echo half >> effects; sleep 60"
rollback = "echo undo-migrate >> effects"
rollback_partial = true
grace = "1s"
"#,
    );
    let _reap = Reap::new(&c, "migrate.pid");
    let _reap_undo = Reap::new(&c, "undo-a.pid");

    // 1. Crash while `migrate` is in flight.
    let mut child = spawn_run_quiet(&c, &[]);
    wait_for_process_started(&c, "migrate", "step");
    wait_for(&c, "migrate.pid", "`migrate` starting");
    kill9(&mut child);

    // 2. Roll back: `migrate` first; crash again in the rollback of `a`.
    let mut child = bin(&c)
        .args(["resume", "r", "--rollback"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&c, "undo-a.pid", "the rollback of `a`");
    kill9(&mut child);
    assert_eq!(effects(&c), "a\nhalf\nundo-migrate\n");

    // 3. Resume: the rollback under way goes on, without `migrate` again.
    let stderr = cutover_exits(&c, &["resume", "r"], 3);
    assert_eq!(effects(&c), "a\nhalf\nundo-migrate\nundo-a\n");
    assert!(
        stderr.contains("rollback of `a` was cut off by the crash: running it again"),
        "{stderr}"
    );

    // 4. Once more: the run is over, nothing runs.
    cutover_exits(&c, &["resume", "r", "--rollback"], 3);
    assert_eq!(effects(&c), "a\nhalf\nundo-migrate\nundo-a\n");

    let j = journal(&c, "r");
    let rb = rollbacks(&j);
    assert_eq!(rb.len(), 1, "one rollback, continued after the crash");
    assert_eq!(rb[0]["steps"], json!(["migrate", "a"]));
    assert_eq!(rb[0]["partial"], json!(["migrate"]));
    assert_eq!(
        rollback_steps(&j),
        [
            ("migrate".to_string(), true),
            ("a".to_string(), false),
            ("a".to_string(), false),
        ],
        "`a`'s rollback was cut by the crash and runs again; `migrate`'s ran once"
    );
    assert!(
        !of_type(&j, "orphan_stopped").is_empty(),
        "resume stopped what the crashed run left running"
    );
    assert_eq!(outcome(&j), "rolled_back");
}

#[test]
fn plan_shows_rollback_partial_and_validate_warns_on_a_manual_step() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "partial-plan"

[[step]]
id = "migrate"
run = "./migrate.sh"
rollback = "./unmigrate.sh"
rollback_partial = true

[[step]]
id = "call"
manual = "call the bank"
rollback = { manual = "call the bank back" }
rollback_partial = true
"#,
    );
    let text = bin(&c).args(["plan", "runbook.toml"]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(
            "rollback run: ./unmigrate.sh (also if the step started but did not finish: rollback_partial)"
        ),
        "{text}"
    );
    let out = bin(&c)
        .args(["plan", "runbook.toml", "--format", "json"])
        .output()
        .unwrap();
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = plan["runbook"]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["rollback_partial"], true);
    // No effect on a manual step, so the plan does not claim it.
    assert!(steps[1].get("rollback_partial").is_none());

    let stderr = cutover_exits(&c, &["validate", "runbook.toml"], 0);
    assert!(
        stderr.contains("warning: `rollback_partial` has no effect on a manual step"),
        "{stderr}"
    );
}
