//! A real rollback trigger: Prometheus + pushgateway on loopback. A metric
//! pushed above the trigger's threshold mid-run stops the in-flight step and
//! rolls back the completed ones in reverse order, exit 3, all journaled.

use std::time::Duration;

use crate::support::cutover::Cutover;
use crate::support::journal::{assert_seq_contiguous, journal, of_type, outcome, seq, seq_of};
use crate::support::prometheus::{rollback_trigger, shared};
use crate::support::run::{gone, read_pid, spawn_run_quiet, wait_for_file};

#[test]
fn a_prometheus_trigger_stops_the_step_and_rolls_back_in_reverse_order() {
    let prom = shared();
    let job = format!("engine_trigger_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_engine_errors", "0");

    let c = Cutover::new().runbook(&format!(
        r#"
[runbook]
name = "trigger"
{trigger}
[[step]]
id = "a"
run = "echo a"
rollback = "echo undo-a >> undo.log"

[[step]]
id = "b"
run = "echo b"
rollback = "echo undo-b >> undo.log"

[[step]]
id = "soak"
run = "echo $$ > soak.pid; sleep 60"
rollback = "echo undo-soak >> undo.log"
grace = "1s"
"#,
        trigger = rollback_trigger(&prom.url(), "errors", &query, "0s", "500ms")
    ));
    let out = prom.breach_mid_run(&c, &job, "cutover_engine_errors", Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("TRIGGER `errors` FIRED"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(c.path("undo.log")).unwrap(),
        "undo-b\nundo-a\n"
    );
    let leader = read_pid(&c, "soak.pid");
    assert!(gone(leader), "the in-flight step's process is gone");

    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    let fired = of_type(&j, "trigger_fired");
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0]["data"]["value"], 1.0);
    assert!(!of_type(&j, "trigger_measurement").is_empty());
    let stopped = seq_of(&j, "soak", "stopped");
    let rollback = of_type(&j, "rollback_started");
    assert_eq!(rollback[0]["data"]["reason"]["trigger"], "errors");
    assert_eq!(rollback[0]["data"]["steps"], serde_json::json!(["b", "a"]));
    assert!(seq(fired[0]) < stopped);
    assert!(
        stopped < seq(rollback[0]),
        "in-flight steps stop before rollback"
    );
    assert_eq!(of_type(&j, "run_finished").len(), 1);
    assert_eq!(outcome(&j), "rolled_back");
}

fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

/// Benchmark (`scripts/bench-engine` runs it): time from a pushed breach
/// being visible in Prometheus to the first rollback command starting.
/// Goal: <= the trigger interval + 50 ms.
#[test]
#[ignore = "benchmark: run with `scripts/bench-engine` or `-- --ignored --nocapture`"]
fn trigger_reaction_latency() {
    let prom = shared();
    let interval_ms = 1000;
    let mut latencies = Vec::new();
    for round in 0..5 {
        let job = format!("engine_latency_{}_{round}", std::process::id());
        let query = prom.push_visible(&job, "cutover_latency_errors", "0");
        let trigger = rollback_trigger(
            &prom.url(),
            "errors",
            &query,
            "0s",
            &format!("{interval_ms}ms"),
        );
        let c = Cutover::new().runbook(&format!(
            r#"
[runbook]
name = "latency"
{trigger}
[[step]]
id = "a"
run = "true"
rollback = "date +%s%N > rollback.ns"

[[step]]
id = "soak"
run = "touch soaking; sleep 60"
grace = "1s"
"#
        ));
        // Start at a different phase against Prometheus's 1 s scrape each
        // round: the watcher's tick would otherwise stay locked to it.
        std::thread::sleep(Duration::from_millis((round * 293) % 1000));
        let child = spawn_run_quiet(&c, &[]);
        wait_for_file(&c, "soaking");
        // Let the watcher settle into its rhythm, at a random-ish phase.
        std::thread::sleep(Duration::from_millis(1500 + 137 * round));
        prom.push(&job, "cutover_latency_errors", "1");
        let visible = loop {
            if prom.query(&query).first().is_some_and(|s| s.1 == "1") {
                break now_ns();
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let out = child.wait_with_output().unwrap();
        prom.delete(&job);
        assert_eq!(out.status.code(), Some(3));
        let started: u128 = std::fs::read_to_string(c.path("rollback.ns"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let ms = (started as f64 - visible as f64) / 1e6;
        // The engine's own part: the firing query was sent -> rollback command started.
        let j = journal(&c, "r");
        let fired = of_type(&j, "trigger_fired")[0]["seq"].as_u64().unwrap();
        let sent = of_type(&j, "trigger_measurement")
            .iter()
            .rfind(|r| r["seq"].as_u64().unwrap() < fired)
            .map(|r| r["data"]["measurement"]["at"].as_str().unwrap().to_string())
            .unwrap();
        let sent = humantime::parse_rfc3339(&sent)
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let engine_ms = (started as f64 - sent as f64) / 1e6;
        eprintln!(
            "round {round}: breach visible -> rollback command started: {ms:.1} ms \
             (firing query sent -> rollback started: {engine_ms:.1} ms)"
        );
        latencies.push(ms);
    }
    latencies.sort_by(f64::total_cmp);
    eprintln!(
        "trigger reaction latency (interval {interval_ms} ms): min {:.1} ms, median {:.1} ms, max {:.1} ms; goal <= {} ms",
        latencies[0],
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
        interval_ms + 50
    );
}
