//! Honest KPIs in `cutover report --summary`: only finished real runs in a
//! production env count toward the change failure rate (the others listed
//! apart with why), the denominators are shown, each figure names its runs
//! in JSON, `--env`/`--runbook`/`--since`/`--until` filter, `--by month`
//! adds a trend, and action items count toward a closure rate.

use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::run::{bin, cutover_at, cutover_exits};

const RUNBOOK: &str = r#"
[runbook]
name = "kpi"

[env.prod]
production = true

[env.staging.vars]
x = "1"

[vars]
x = "0"
fail = "0"

[[step]]
id = "a"
run = "echo a"
rollback = "echo undo"

[[step]]
id = "b"
run = "exit {{ vars.fail }}"
"#;

fn summary(c: &Cutover, extra: &[&str]) -> Value {
    let out = bin(c)
        .args(["report", "--summary", ".cutover/runs", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

#[test]
fn only_production_runs_count_and_filters_and_months_name_their_runs() {
    let c = Cutover::new().runbook(RUNBOOK);
    let run = |now: &str, id: &str, env: &str, fail: bool, code: i32| {
        let set = format!("fail={}", u8::from(fail));
        cutover_at(
            &c,
            now,
            &[
                "run",
                "runbook.toml",
                "--run-id",
                id,
                "--env",
                env,
                "--set",
                &set,
            ],
            code,
        );
    };
    run("2026-10-05T10:00:00Z", "oct-prod-ok", "prod", false, 0);
    run("2026-10-20T10:00:00Z", "oct-prod-bad", "prod", true, 3);
    run(
        "2026-11-02T10:00:00Z",
        "nov-staging-bad",
        "staging",
        true,
        3,
    );
    run("2026-11-03T10:00:00Z", "nov-prod-ok", "prod", false, 0);
    cutover_at(
        &c,
        "2026-11-04T10:00:00Z",
        &[
            "run",
            "runbook.toml",
            "--run-id",
            "nov-prod-dry",
            "--env",
            "prod",
            "--dry-run",
        ],
        0,
    );
    // An action item due at the end of October, closed in time.
    cutover_at(
        &c,
        "2026-10-21T10:00:00Z",
        &[
            "action",
            "oct-prod-bad",
            "fix b",
            "--owner",
            "bob",
            "--due",
            "2026-10-31",
        ],
        0,
    );
    cutover_at(
        &c,
        "2026-10-30T10:00:00Z",
        &["action", "oct-prod-bad", "--close", "1"],
        0,
    );

    let s = summary(&c, &[]);
    assert_eq!(
        ids(&s["counted_runs"]),
        ["oct-prod-ok", "oct-prod-bad", "nov-prod-ok"]
    );
    assert_eq!(ids(&s["failed_change_runs"]), ["oct-prod-bad"]);
    assert_eq!(s["failed_changes"], 1);
    assert_eq!(s["change_failure_rate"], 1.0 / 3.0);
    let apart: Vec<(&str, &str)> = s["not_counted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["run_id"].as_str().unwrap(), n["why"].as_str().unwrap()))
        .collect();
    assert_eq!(
        apart,
        [
            (
                "nov-staging-bad",
                "not a production env (`--env` counts it)"
            ),
            ("nov-prod-dry", "dry run")
        ]
    );
    assert_eq!(s["action_items_due"], 1);
    assert_eq!(s["action_closure_rate"], 1.0);
    assert_eq!(ids(&s["action_item_runs"]), ["oct-prod-bad"]);
    assert!(s.get("by_month").is_none());

    // `--env staging`: its real runs count.
    let s = summary(&c, &["--env", "staging"]);
    assert_eq!(ids(&s["counted_runs"]), ["nov-staging-bad"]);
    assert_eq!(s["change_failure_rate"], 1.0);
    // `--since` / `--until` (a date is its start, UTC).
    let s = summary(&c, &["--since", "2026-11-01"]);
    assert_eq!(ids(&s["counted_runs"]), ["nov-prod-ok"]);
    let s = summary(&c, &["--until", "2026-11-01"]);
    assert_eq!(ids(&s["counted_runs"]), ["oct-prod-ok", "oct-prod-bad"]);
    let s = summary(&c, &["--runbook", "other"]);
    assert!(s["runs"].as_array().unwrap().is_empty());
    assert_eq!(s["change_failure_rate"], Value::Null);

    let s = summary(&c, &["--by", "month"]);
    let months = s["by_month"].as_array().unwrap();
    assert_eq!(months.len(), 2);
    assert_eq!(months[0]["month"], "2026-10");
    assert_eq!(
        ids(&months[0]["counted_runs"]),
        ["oct-prod-ok", "oct-prod-bad"]
    );
    assert_eq!(months[0]["change_failure_rate"], 0.5);
    assert_eq!(months[1]["month"], "2026-11");
    assert_eq!(months[1]["change_failure_rate"], 0.0);

    let md = String::from_utf8(
        bin(&c)
            .args(["report", "--summary", ".cutover/runs", "--by", "month"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        md.contains("| Change failure rate | 33.3% (1 of 3 finished real runs in production envs; 2 not counted) |"),
        "{md}"
    );
    assert!(
        md.contains("| Action items closed by their due date | 100.0% (1 of 1 due) |"),
        "{md}"
    );
    assert!(
        md.contains("| `nov-staging-bad` | not a production env"),
        "{md}"
    );
    assert!(md.contains("| 2026-10 | 2 | 1 | 50.0% |"), "{md}");

    let stderr = cutover_exits(
        &c,
        &["report", "--summary", ".cutover/runs", "--since", "soon"],
        1,
    );
    assert!(
        stderr.contains("`--since` is `soon`, not a date"),
        "{stderr}"
    );
}
