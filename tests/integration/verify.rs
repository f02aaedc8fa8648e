//! `cutover verify`: a run's `[[outcome]]`s measured against their targets
//! once due, on a real Prometheus, journaled as `outcome_measured`; exit 0
//! all met, 1 one missed, 2 could not measure; never measured twice unless
//! `--again`; `status` lists what is pending with its due time.

use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::journal::{journal, of_type};
use crate::support::prometheus::{free_port, shared};
use crate::support::run::{bin, cutover, cutover_at};

fn runbook(prom_url: &str, query: &str, outcomes: &str) -> Cutover {
    Cutover::new().runbook(
        &format!(
            r#"
[runbook]
name = "verify"

[sources.prom]
kind = "prometheus"
url = "{prom_url}"

[[step]]
id = "a"
run = "echo a"
{outcomes}
"#
        )
        .replace("QUERY", query),
    )
}

fn measured(c: &Cutover) -> Vec<Value> {
    of_type(&journal(c, "r"), "outcome_measured")
        .into_iter()
        .cloned()
        .collect()
}

#[test]
fn a_met_and_a_missed_outcome_exit_1_and_are_not_measured_twice() {
    let prom = shared();
    let job = format!("verify_met_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_verify_ratio", "0.999");
    let c = runbook(
        &prom.url(),
        &query,
        r#"
[[outcome]]
name = "availability"
source = "prom"
query = 'QUERY'
target = ">= 0.995"
at = "end"
owner = "team-payments"

[[outcome]]
name = "too-strict"
source = "prom"
query = 'QUERY'
target = "< 0.5"
at = "end"
"#,
    );
    let out = c.exec(&["run", "runbook.toml", "--run-id", "r"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (code, stderr) = cutover(&c, &["verify", "r", "--as", "carol"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("outcome `availability`: 0.999 (target >= 0.995) -> met"),
        "{stderr}"
    );
    assert!(
        stderr.contains("outcome `too-strict`: 0.999 (target < 0.5) -> MISSED"),
        "{stderr}"
    );
    let m = measured(&c);
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["data"]["outcome"], "availability");
    assert_eq!(m[0]["data"]["result"], "met");
    assert_eq!(m[0]["data"]["value"], 0.999);
    assert_eq!(m[0]["data"]["target"], ">= 0.995");
    assert_eq!(m[0]["data"]["measurement"]["query"], query);
    assert_eq!(m[0]["as"], "carol");
    assert_eq!(m[1]["data"]["result"], "missed");
    // From cron again: nothing is measured twice; the verdict stands.
    let (code, stderr) = cutover(&c, &["verify", "r"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("`--again` measures it again"), "{stderr}");
    assert_eq!(measured(&c).len(), 2);
    // `--again` measures both again, on the metric as it is now: the
    // verdicts follow it.
    prom.push_visible(&job, "cutover_verify_ratio", "0.2");
    let (code, stderr) = cutover(&c, &["verify", "r", "--again"]);
    assert_eq!(code, 1, "{stderr}");
    let m = measured(&c);
    assert_eq!(m.len(), 4);
    assert_eq!(m[2]["data"]["result"], "missed");
    assert_eq!(m[3]["data"]["result"], "met");
    prom.delete(&job);
    let md = bin(&c).args(["report", "r"]).output().unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("| Success metrics | 1 of 2 met (1 missed) |"),
        "{md}"
    );
    let section = md.split("## Outcomes vs targets").nth(1).unwrap();
    assert!(
        section.contains("| availability | `>= 0.995` | 0.2 | missed |"),
        "{section}"
    );
    assert!(
        section.contains("| too-strict | `< 0.5` | 0.2 | met |"),
        "{section}"
    );
    // The missed outcome is suggested as a follow-up, for its owner.
    let actions = md.split("## Action items").nth(1).unwrap();
    assert!(
        actions.contains("Outcome `availability` missed its target"),
        "{actions}"
    );
    assert!(actions.contains("team-payments"), "{actions}");
}

#[test]
fn an_outcome_whose_source_is_down_exits_2_and_is_tried_again_next_time() {
    let c = runbook(
        &format!("http://127.0.0.1:{}", free_port()),
        "up",
        r#"
[[outcome]]
name = "availability"
source = "prom"
query = 'QUERY'
target = ">= 0.995"
"#,
    );
    let out = c.exec(&["run", "runbook.toml", "--run-id", "r"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (code, stderr) = cutover(&c, &["verify", "r"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("could not measure"), "{stderr}");
    assert_eq!(measured(&c)[0]["data"]["result"], "unmeasured");
    // Not a verdict: the next verify tries again.
    let (code, _) = cutover(&c, &["verify", "r"]);
    assert_eq!(code, 2);
    assert_eq!(measured(&c).len(), 2);
}

#[test]
fn an_outcome_not_yet_due_is_listed_pending_and_measured_once_due() {
    let prom = shared();
    let job = format!("verify_due_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_verify_due", "1");
    let c = runbook(
        &prom.url(),
        &query,
        r#"
[[outcome]]
name = "day-after"
source = "prom"
query = 'QUERY'
target = ">= 1"
at = "24h"
"#,
    );
    let out = c.exec(&["run", "runbook.toml", "--run-id", "r"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (code, stderr) = cutover(&c, &["verify", "r"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("outcome `day-after`: due at"), "{stderr}");
    assert!(measured(&c).is_empty());
    let status = bin(&c).args(["status", "r"]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("day-after") && text.contains("pending"),
        "{text}"
    );
    assert!(text.contains("due "), "{text}");
    // A day later (the clock pinned), it is due.
    let later = cutover::journal::Ts {
        ms: cutover::journal::Ts::parse(journal(&c, "r")[1]["ts"].as_str().unwrap())
            .unwrap()
            .ms
            + 25 * 3_600_000,
    }
    .rfc3339();
    cutover_at(&c, &later, &["verify", "r"], 0);
    let m = measured(&c);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["data"]["result"], "met");
    assert!(m[0]["data"].get("early").is_none(), "{}", m[0]);
    // `--now` on a fresh run measures before it is due, and says so.
    prom.delete(&job);
}

#[test]
fn now_measures_an_outcome_before_it_is_due_and_says_so() {
    let prom = shared();
    let job = format!("verify_now_{}", std::process::id());
    let query = prom.push_visible(&job, "cutover_verify_now", "1");
    let c = runbook(
        &prom.url(),
        &query,
        r#"
[[outcome]]
name = "week-after"
source = "prom"
query = 'QUERY'
target = ">= 1"
at = "168h"
"#,
    );
    let out = c.exec(&["run", "runbook.toml", "--run-id", "r"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (code, stderr) = cutover(&c, &["verify", "r", "--now"]);
    prom.delete(&job);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("(measured before it was due)"), "{stderr}");
    let m = measured(&c);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["data"]["early"], true);
    assert!(m[0]["data"]["due"].as_str().is_some(), "{}", m[0]);
}
