//! Hypercare with a real Prometheus: after the last step the run keeps its
//! triggers armed for `[hypercare] duration`; a breach pushed then rolls
//! the completed steps back in reverse order (exit 3); without one the run
//! completes only once the time is up; a person may end it early from
//! another terminal; a crash during it resumes the watch for the time left.

use std::time::Duration;

use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::journal::{journal, of_type, outcome, seq};
use crate::support::prometheus::{Prometheus, rollback_trigger, shared};
use crate::support::run::{bin, cutover, kill9, spawn_run, wait_exit, wait_for_type};

/// Two steps with rollbacks that log, a rollback trigger on `query`, and
/// a hypercare of `hypercare`.
fn runbook(prom: &Prometheus, query: &str, hypercare: &str) -> Cutover {
    Cutover::new().runbook(&format!(
        r#"
[runbook]
name = "hypercare"

[hypercare]
duration = "{hypercare}"
{trigger}
[[step]]
id = "a"
run = "echo a"
rollback = "echo undo-a >> undo.log"

[[step]]
id = "b"
run = "echo b"
rollback = "echo undo-b >> undo.log"
"#,
        trigger = rollback_trigger(&prom.url(), "errors", query, "0s", "300ms")
    ))
}

/// Milliseconds from record `a` to record `b` (their `ts`).
fn ms_between(a: &Value, b: &Value) -> i64 {
    let t = |r: &Value| {
        cutover::journal::Ts::parse(r["ts"].as_str().unwrap())
            .unwrap()
            .ms
    };
    t(b) - t(a)
}

#[test]
fn a_breach_during_hypercare_rolls_back_every_step_in_reverse_order() {
    let prom = shared();
    let job = format!("hypercare_breach_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_hypercare_errors", "0");
    let c = runbook(prom, &query, "30s");
    let child = spawn_run(&c, &[]);
    wait_for_type(&c, "hypercare_started");
    prom.push(&job, "cutover_hypercare_errors", "1");
    let (code, stderr) = wait_exit(child, Duration::from_secs(25));
    prom.delete(&job);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("HYPERCARE"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(c.path("undo.log")).unwrap(),
        "undo-b\nundo-a\n"
    );
    let j = journal(&c, "r");
    let started = of_type(&j, "hypercare_started");
    assert_eq!(started.len(), 1);
    assert_eq!(
        started[0]["data"]["triggers"],
        serde_json::json!(["errors"])
    );
    let fired = of_type(&j, "trigger_fired");
    assert_eq!(fired.len(), 1);
    assert!(seq(started[0]) < seq(fired[0]));
    let ended = of_type(&j, "hypercare_ended");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["data"]["reason"], "rollback");
    let rollback = of_type(&j, "rollback_started");
    assert_eq!(rollback[0]["data"]["steps"], serde_json::json!(["b", "a"]));
    assert_eq!(rollback[0]["data"]["reason"]["trigger"], "errors");
    assert_eq!(outcome(&j), "rolled_back");
}

#[test]
fn without_a_breach_the_run_completes_when_hypercare_is_over_not_before() {
    let prom = shared();
    let job = format!("hypercare_quiet_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_hypercare_quiet", "0");
    let c = runbook(prom, &query, "5s");
    let child = spawn_run(&c, &[]);
    let (code, stderr) = wait_exit(child, Duration::from_secs(30));
    prom.delete(&job);
    assert_eq!(code, 0, "{stderr}");
    let j = journal(&c, "r");
    let started = of_type(&j, "hypercare_started")[0];
    assert_eq!(started["data"]["duration_ms"], 5000);
    let ended = of_type(&j, "hypercare_ended")[0];
    assert_eq!(ended["data"]["reason"], "elapsed");
    let finished = of_type(&j, "run_finished")[0];
    assert!(seq(ended) < seq(finished));
    assert!(
        ms_between(started, finished) >= 5000,
        "the run ended {} ms into a 5 s hypercare",
        ms_between(started, finished)
    );
    assert!(
        of_type(&j, "trigger_measurement").len() >= 2,
        "triggers kept watching"
    );
    assert!(of_type(&j, "trigger_fired").is_empty());
    assert_eq!(outcome(&j), "completed");
    assert!(of_type(&j, "rollback_started").is_empty());
}

#[test]
fn end_hypercare_from_another_terminal_completes_the_live_run() {
    let prom = shared();
    let job = format!("hypercare_early_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_hypercare_early", "0");
    let c = runbook(prom, &query, "10m");
    let child = spawn_run(&c, &[]);
    wait_for_type(&c, "hypercare_started");
    let status = bin(&c).args(["status", "r"]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("HYPERCARE: 9m") || text.contains("HYPERCARE: 10m"),
        "{text}"
    );
    assert!(text.contains("left (until"), "{text}");
    let status = bin(&c)
        .args(["status", "r", "--format", "json"])
        .output()
        .unwrap();
    let view: Value = serde_json::from_slice(&status.stdout).unwrap();
    let left = view["hypercare"]["remaining_ms"].as_u64().unwrap();
    assert!(left > 500_000 && left <= 600_000, "{view}");
    assert_eq!(view["hypercare"]["triggers"], serde_json::json!(["errors"]));
    let (refused, stderr) = cutover(&c, &["resume", "r", "--end-hypercare"]);
    assert_eq!(refused, 1, "`--reason` is required: {stderr}");
    assert!(stderr.contains("--reason"), "{stderr}");
    let (code, stderr) = cutover(
        &c,
        &[
            "resume",
            "r",
            "--end-hypercare",
            "--reason",
            "all quiet",
            "--as",
            "alice",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = wait_exit(child, Duration::from_secs(10));
    prom.delete(&job);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("hypercare ended early by"), "{stderr}");
    assert!(stderr.contains("(as alice): all quiet"), "{stderr}");
    let j = journal(&c, "r");
    let ended = of_type(&j, "hypercare_ended");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["data"]["reason"], "ended_early");
    assert_eq!(ended[0]["data"]["why"], "all quiet");
    assert_eq!(outcome(&j), "completed");
    // Once it is over, there is nothing to end.
    let (code, stderr) = cutover(&c, &["resume", "r", "--end-hypercare", "--reason", "x"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("is not in hypercare"), "{stderr}");
}

#[test]
fn a_crash_during_hypercare_resumes_the_watch_for_the_time_left() {
    let prom = shared();
    let job = format!("hypercare_crash_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_hypercare_crash", "0");
    let c = runbook(prom, &query, "6s");
    let mut child = spawn_run(&c, &[]);
    wait_for_type(&c, "hypercare_started");
    kill9(&mut child);
    let (code, stderr) = cutover(&c, &["resume", "r"]);
    prom.delete(&job);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("hypercare goes on"), "{stderr}");
    let j = journal(&c, "r");
    assert_eq!(
        of_type(&j, "hypercare_started").len(),
        1,
        "one hypercare, resumed"
    );
    let started = of_type(&j, "hypercare_started")[0];
    let resumed = of_type(&j, "run_resumed")[0];
    let finished = of_type(&j, "run_finished")[0];
    let total = ms_between(started, finished);
    assert!(total >= 6000, "ended {total} ms into a 6 s hypercare");
    assert!(
        total < 6000 + 4000,
        "the resume watched the whole 6 s again ({total} ms)"
    );
    assert!(seq(resumed) < seq(finished));
    assert!(
        of_type(&j, "trigger_armed")
            .iter()
            .any(|r| seq(r) > seq(resumed)),
        "the resume re-armed the trigger"
    );
    assert_eq!(outcome(&j), "completed");
    assert_eq!(
        of_type(&j, "hypercare_ended")[0]["data"]["reason"],
        "elapsed"
    );
}

#[test]
fn a_pause_trigger_during_hypercare_pauses_and_resume_watches_the_time_left() {
    let prom = shared();
    let job = format!("hypercare_pause_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_hypercare_pause", "0");
    let c = Cutover::new().runbook(
        &rollback_trigger(&prom.url(), "errors", &query, "0s", "300ms")
            .replace("action = \"rollback\"", "action = \"pause\"")
            .replace(
                "[sources.prom]",
                "[runbook]\nname = \"pause\"\n\n[hypercare]\nduration = \"8s\"\n\n[[step]]\nid = \"a\"\nrun = \"echo a\"\nrollback = \"echo undo-a >> undo.log\"\n\n[sources.prom]",
            ),
    );
    let child = spawn_run(&c, &[]);
    wait_for_type(&c, "hypercare_started");
    prom.push(&job, "cutover_hypercare_pause", "1");
    let (code, stderr) = wait_exit(child, Duration::from_secs(20));
    assert_eq!(code, 4, "{stderr}");
    let j = journal(&c, "r");
    assert_eq!(of_type(&j, "trigger_fired")[0]["data"]["action"], "pause");
    assert!(
        of_type(&j, "hypercare_ended").is_empty(),
        "paused, still in hypercare"
    );
    assert!(of_type(&j, "rollback_started").is_empty());
    // The breach is over; the resume watches what is left, then completes.
    prom.push_visible(&job, "cutover_hypercare_pause", "0");
    let (code, stderr) = cutover(&c, &["resume", "r"]);
    prom.delete(&job);
    assert_eq!(code, 0, "{stderr}");
    let j = journal(&c, "r");
    let started = of_type(&j, "hypercare_started")[0];
    let finished = of_type(&j, "run_finished");
    let last = finished.last().unwrap();
    assert_eq!(last["data"]["outcome"], "completed");
    assert!(
        ms_between(started, last) >= 8000,
        "ended before the 8 s were up"
    );
    assert_eq!(
        of_type(&j, "hypercare_ended")[0]["data"]["reason"],
        "elapsed"
    );
    assert!(!c.path("undo.log").exists());
}

/// Journal time `ts` in milliseconds.
fn ms(ts: &Value) -> i64 {
    cutover::journal::Ts::parse(ts.as_str().unwrap())
        .unwrap()
        .ms
}

#[test]
fn a_trigger_fired_during_hypercare_is_in_the_report_timeline_and_its_ttd_and_ttm() {
    let prom = shared();
    let job = format!("hypercare_report_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_hypercare_report", "0");
    // Fires after 1 s of breach, so detection takes measurable time.
    let c = runbook(prom, &query, "30s");
    let text = std::fs::read_to_string(c.path("runbook.toml")).unwrap();
    std::fs::write(
        c.path("runbook.toml"),
        text.replace("for = \"0s\"", "for = \"1s\""),
    )
    .unwrap();
    let child = spawn_run(&c, &[]);
    wait_for_type(&c, "hypercare_started");
    prom.push(&job, "cutover_hypercare_report", "1");
    let (code, stderr) = wait_exit(child, Duration::from_secs(25));
    prom.delete(&job);
    assert_eq!(code, 3, "{stderr}");
    let j = journal(&c, "r");
    let hypercare = of_type(&j, "hypercare_started")[0];
    let fired = of_type(&j, "trigger_fired")[0];
    assert!(seq(hypercare) < seq(fired), "fired during hypercare");
    // Impact starts at the first measurement of the breaching streak that
    // made the trigger fire; detected when it fired; mitigated when the
    // rollback finished.
    let mut streak = None;
    for m in of_type(&j, "trigger_measurement") {
        let m = &m["data"]["measurement"];
        if ms(&m["at"]) > ms(&fired["ts"]) {
            break;
        }
        streak = if m["verdict"] == "pass" {
            streak.or(Some(ms(&m["at"])))
        } else {
            None
        };
    }
    let breach = streak.expect("a breaching measurement before the fire");
    assert!(
        breach > ms(&hypercare["ts"]),
        "the breach came in hypercare"
    );
    let mitigated = ms(&of_type(&j, "rollback_finished")[0]["ts"]);

    let out = bin(&c)
        .args(["report", "r", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let impact = &report["impact"];
    assert_eq!(impact["ttd_ms"], ms(&fired["ts"]) - breach, "{impact}");
    assert_eq!(impact["ttm_ms"], mitigated - breach, "{impact}");
    assert!(
        impact["ttd_ms"].as_i64().unwrap() >= 1000,
        "held 1 s: {impact}"
    );
    assert_eq!(impact["detect_basis"], "trigger fired");
    assert_eq!(impact["mitigate_basis"], "rollback finished");
    let timeline = report["timeline"].as_array().unwrap();
    let at = |kind: &str| {
        timeline
            .iter()
            .position(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("no `{kind}` in the timeline: {timeline:?}"))
    };
    let fired_entry = &timeline[at("trigger_fired")];
    assert_eq!(fired_entry["seq"], fired["seq"]);
    assert_eq!(ms(&fired_entry["at"]), ms(&fired["ts"]));
    assert!(at("hypercare_started") < at("trigger_fired"));
    assert!(at("trigger_fired") < at("hypercare_ended"));
    assert!(at("hypercare_ended") < at("rollback_started"));
    let md = String::from_utf8(bin(&c).args(["report", "r"]).output().unwrap().stdout).unwrap();
    let ttd = impact["ttd_ms"].as_i64().unwrap();
    let ttm = impact["ttm_ms"].as_i64().unwrap();
    for needle in [
        format!("({ttd} ms)"),
        format!("({ttm} ms)"),
        "hypercare started".to_string(),
        "hypercare cut short by the rollback".to_string(),
    ] {
        assert!(md.contains(&needle), "missing {needle}:\n{md}");
    }
}
