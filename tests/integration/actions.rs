//! `cutover action`: follow-up action items added, closed and listed any
//! time after a run, masked like notes, in the report with the follow-ups
//! the run's deviations suggest (marked suggested until someone adds one).

use crate::support::cutover::Cutover;
use crate::support::journal::{journal, of_type};
use crate::support::run::{bin, cutover};

fn stdout(c: &Cutover, args: &[&str]) -> String {
    let out = bin(c).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn actions_are_added_closed_listed_and_reported_with_suggested_follow_ups() {
    let c = Cutover::new()
        .runbook(
            r#"
[runbook]
name = "actions"

[secrets]
token = { env = "ACTIONS_TOKEN" }

[[step]]
id = "flaky"
run = "exit 1"
on_failure = "continue"

[[step]]
id = "b"
run = "echo {{ secrets.token }} > /dev/null"
"#,
        )
        .env("ACTIONS_TOKEN", "s3cr3t-t0ken");
    let out = c.exec(&["run", "runbook.toml", "--run-id", "r"]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Nothing added yet: the failed-but-continued step is suggested.
    let listed = stdout(&c, &["action", "r"]);
    assert!(listed.contains("no action items"), "{listed}");
    assert!(
        listed.contains("Step `flaky` failed and was let through"),
        "{listed}"
    );
    let key = listed
        .lines()
        .find(|l| l.contains("`flaky`"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    assert!(key.starts_with('S'), "{listed}");

    let (code, stderr) = cutover(&c, &["action", "r", "fix it"]);
    assert_eq!(code, 1, "an owner is needed: {stderr}");
    assert!(stderr.contains("`--owner NAME`"), "{stderr}");
    let (code, stderr) = cutover(
        &c,
        &["action", "r", "fix it", "--owner", "bob", "--due", "soon"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("`--due` is `soon`"), "{stderr}");

    let (code, stderr) = cutover(
        &c,
        &[
            "action",
            "r",
            "make `flaky` pass",
            "--owner",
            "bob",
            "--due",
            "2030-01-31",
            "--from",
            &key,
            "--as",
            "alice",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("action #1 added by"), "{stderr}");
    // Pasted by an operator whose environment has the secret: masked.
    let out = bin(&c)
        .env("ACTIONS_TOKEN", "s3cr3t-t0ken")
        .args([
            "action",
            "r",
            "rotate s3cr3t-t0ken after the run",
            "--owner",
            "carol",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, stderr) = cutover(
        &c,
        &["action", "r", "--close", "1", "--note", "done in PR 42"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("action #1 closed by"), "{stderr}");
    let (code, stderr) = cutover(&c, &["action", "r", "--close", "1"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("closed already"), "{stderr}");
    let (code, stderr) = cutover(&c, &["action", "r", "--close", "9"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no action item #9"), "{stderr}");

    let listed = stdout(&c, &["action", "r"]);
    assert!(
        listed.contains("#1   closed  make `flaky` pass  (owner bob, due 2030-01-31, closed"),
        "{listed}"
    );
    assert!(listed.contains("#2   open"), "{listed}");
    assert!(!listed.contains("s3cr3t-t0ken"), "masked: {listed}");
    assert!(
        !listed.contains("suggested follow-ups"),
        "the suggestion was adopted: {listed}"
    );

    let j = journal(&c, "r");
    let added = of_type(&j, "action_added");
    assert_eq!(added.len(), 2);
    assert_eq!(added[0]["data"]["owner"], "bob");
    assert_eq!(added[0]["data"]["suggestion"], key.as_str());
    assert_eq!(added[0]["as"], "alice");
    assert_eq!(
        of_type(&j, "action_closed")[0]["data"]["note"],
        "done in PR 42"
    );
    assert!(
        !std::fs::read_to_string(c.path(".cutover/runs/r/journal.jsonl"))
            .unwrap()
            .contains("s3cr3t-t0ken")
    );

    let md = stdout(&c, &["report", "r"]);
    let section = md.split("## Action items").nth(1).unwrap();
    assert!(
        section.contains(r"| \#1 | make `flaky` pass | bob | 2030-01-31 | closed"),
        "{section}"
    );
    assert!(
        section.contains(r"| \#2 | rotate \*\*\* after the run | carol |"),
        "{section}"
    );
    assert!(section.contains("| open |"), "{section}");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&c, &["report", "r", "--format", "json"])).unwrap();
    assert_eq!(json["action_items"][0]["closed_on_time"], true);
    assert_eq!(json["suggested_follow_ups"][0]["adopted_by"], 1);
}

#[test]
fn a_run_with_a_rollback_suggests_following_it_up_until_someone_does() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "rolled"

[[step]]
id = "a"
run = "echo a"
rollback = "echo undo"

[[step]]
id = "b"
run = "exit 3"
"#,
    );
    let out = c.exec(&["run", "runbook.toml", "--run-id", "r"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let md = stdout(&c, &["report", "r"]);
    let section = md.split("## Action items").nth(1).unwrap();
    assert!(section.contains("The run rolled back"), "{section}");
    assert!(section.contains("| suggested |"), "{section}");
}
