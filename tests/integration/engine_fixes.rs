//! Launch-night fixes: `--yes` never stands in for an approval that names
//! people; `[runbook] production`; a failed rollback can be retried or
//! skipped; a step whose after-gates failed is rolled back.

use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::journal::{journal, of_type, outcome, steps_of};
use crate::support::run::{cutover, cutover_exits, effects};

/// The message of the last `run_finished`; panics when there is none.
fn finished_message(j: &[Value]) -> String {
    let last = of_type(j, "run_finished")
        .last()
        .map(|r| r["data"].clone())
        .unwrap_or_default();
    last["message"].as_str().unwrap().to_string()
}

// ---- 1. --yes and production ---------------------------------------------

#[test]
fn yes_does_not_stand_in_for_an_approval_that_names_people() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "strict"

[teams]
sre = ["alice", "bob"]

[[step]]
id = "plain"
approval = { required = true }
run = "echo plain >> effects"

[[step]]
id = "switch"
approval = { min = 2, approvers = ["team:sre"], no_self_approval = true }
run = "echo switched >> effects"
"#,
    );
    let stderr = cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r", "--yes"], 4);
    assert!(
        stderr.contains("--yes approves automatically (journaled as auto): `plain`"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "step `switch`: --yes does not stand in for an approval that names approvers, needs 2 people and forbids self-approval"
        ),
        "{stderr}"
    );
    assert_eq!(effects(&c), "plain\n", "{stderr}");
    assert!(!stderr.contains("outside production"), "{stderr}");
    let j = journal(&c, "r");
    let granted: Vec<&str> = steps_of(&j, "approval_granted");
    assert_eq!(granted, ["plain"]);
    assert_eq!(outcome(&j), "paused");
    // Resuming with --yes again does not approve it either.
    let stderr = cutover_exits(&c, &["resume", "r", "--yes"], 4);
    assert!(stderr.contains("does not stand in"), "{stderr}");
    assert_eq!(steps_of(&journal(&c, "r"), "approval_granted"), ["plain"]);
    // Real votes do.
    for who in ["alice", "bob"] {
        cutover_exits(
            &c,
            &["approve", "r", "switch", "--as", who, "--reason", "go"],
            0,
        );
    }
    cutover_exits(&c, &["resume", "r"], 0);
    assert_eq!(effects(&c), "plain\nswitched\n");
}

#[test]
fn the_pause_hint_offers_yes_only_where_it_would_approve() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "hint"

[[step]]
id = "plain"
approval = { required = true }
run = "true"
"#,
    );
    let stderr = cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 4);
    assert!(
        stderr.contains("(or, outside production: cutover resume r --yes)"),
        "{stderr}"
    );
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "hint"

[[step]]
id = "named"
approval = { approvers = ["alice"] }
run = "true"
"#,
    );
    let stderr = cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 4);
    assert!(!stderr.contains("--yes"), "{stderr}");
}

#[test]
fn runbook_production_makes_the_default_env_production() {
    let runbook = r#"
[runbook]
name = "prod"
production = true

[vars]
target = "prod-db"

[env.staging]
production = false
vars = { target = "staging-db" }

[env.canary]

[[step]]
id = "switch"
approval = { required = true }
run = "echo {{ vars.target }} >> effects"
"#;
    // Without --env: production, --yes approves nothing.
    let c = Cutover::new().runbook(runbook);
    let stderr = cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r", "--yes"], 4);
    assert!(stderr.contains("does not approve anything"), "{stderr}");
    assert_eq!(effects(&c), "");
    let j = journal(&c, "r");
    assert_eq!(of_type(&j, "run_started")[0]["data"]["production"], true);
    assert!(of_type(&j, "approval_granted").is_empty());
    // An overlay that says `production = false` is not; one that does not
    // say inherits the runbook's.
    for (env, code, effect) in [("staging", 0, "staging-db\n"), ("canary", 4, "")] {
        let c = Cutover::new().runbook(runbook);
        let args = [
            "run",
            "runbook.toml",
            "--run-id",
            "r",
            "--env",
            env,
            "--yes",
        ];
        cutover_exits(&c, &args, code);
        assert_eq!(effects(&c), effect, "--env {env}");
    }
}

// ---- 2. after a failed rollback ------------------------------------------

const ROLLBACK_FAILS: &str = r#"
[runbook]
name = "rbfail"

[[step]]
id = "prep"
run = "echo prep >> effects"
rollback = "echo undo-prep >> effects"

[[step]]
id = "freeze"
run = "echo freeze >> effects"
rollback = "test -f fixed || exit 7; echo undo-freeze >> effects"

[[step]]
id = "switch"
run = "exit 1"
"#;

fn failed_rollback() -> Cutover {
    let c = Cutover::new().runbook(ROLLBACK_FAILS);
    let stderr = cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 5);
    assert!(stderr.contains("ROLLBACK FAILED at `freeze`"), "{stderr}");
    assert!(stderr.contains("not rolled back yet: `prep`"), "{stderr}");
    assert!(stderr.contains("cutover resume r --rollback"), "{stderr}");
    assert!(
        stderr.contains("cutover resume r --skip-rollback freeze"),
        "{stderr}"
    );
    let j = journal(&c, "r");
    let message = finished_message(&j);
    assert!(message.contains("not rolled back yet: `prep`"), "{message}");
    assert_eq!(effects(&c), "prep\nfreeze\n");
    // A plain resume says what to do, and changes nothing.
    let (code, stderr) = cutover(&c, &["resume", "r"]);
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("not rolled back yet: `prep`"), "{stderr}");
    assert!(stderr.contains("cutover resume r --rollback"), "{stderr}");
    assert!(
        stderr.contains("cutover resume r --skip-rollback freeze"),
        "{stderr}"
    );
    assert_eq!(journal(&c, "r").len(), j.len());
    c
}

#[test]
fn a_failed_rollback_is_retried_then_the_rest_runs() {
    let c = failed_rollback();
    std::fs::write(c.path("fixed"), "").unwrap();
    let stderr = cutover_exits(&c, &["resume", "r", "--rollback"], 3);
    assert!(
        stderr.contains("running the rollback of `freeze` again"),
        "{stderr}"
    );
    assert_eq!(effects(&c), "prep\nfreeze\nundo-freeze\nundo-prep\n");
    let j = journal(&c, "r");
    assert_eq!(
        steps_of(&j, "rollback_step_started"),
        ["freeze", "freeze", "prep"]
    );
    assert_eq!(of_type(&j, "rollback_started").len(), 1);
    assert_eq!(outcome(&j), "rolled_back");
    let resumed = of_type(&j, "run_resumed");
    assert_eq!(resumed.len(), 1);
    // Over for good: nothing runs twice.
    let stderr = cutover_exits(&c, &["resume", "r", "--rollback"], 3);
    assert!(stderr.contains("already ended"), "{stderr}");
    assert_eq!(effects(&c), "prep\nfreeze\nundo-freeze\nundo-prep\n");
}

#[test]
fn a_failed_rollback_retried_and_failing_again_still_names_what_is_left() {
    let c = failed_rollback();
    let stderr = cutover_exits(&c, &["resume", "r", "--rollback"], 5);
    assert!(stderr.contains("not rolled back yet: `prep`"), "{stderr}");
    assert_eq!(effects(&c), "prep\nfreeze\n");
    assert_eq!(outcome(&journal(&c, "r")), "rollback_failed");
    std::fs::write(c.path("fixed"), "").unwrap();
    cutover_exits(&c, &["resume", "r", "--rollback"], 3);
    assert_eq!(effects(&c), "prep\nfreeze\nundo-freeze\nundo-prep\n");
}

#[test]
fn a_rollback_done_by_hand_is_skipped_and_the_rest_runs() {
    let c = failed_rollback();
    // Not part of the rollback: refused.
    let (code, stderr) = cutover(&c, &["resume", "r", "--skip-rollback", "switch"]);
    assert_eq!(code, 1, "{stderr}");
    let stderr = cutover_exits(
        &c,
        &["resume", "r", "--skip-rollback", "freeze", "--as", "alice"],
        3,
    );
    assert!(stderr.contains("rollback of `freeze` skipped"), "{stderr}");
    assert_eq!(effects(&c), "prep\nfreeze\nundo-prep\n");
    let j = journal(&c, "r");
    let decision = of_type(&j, "decision")
        .into_iter()
        .find(|d| d["data"]["step"] == "freeze")
        .expect("a decision about freeze");
    assert_eq!(decision["data"]["choice"], "skip");
    assert_eq!(decision["data"]["context"], "rollback");
    assert_eq!(decision["as"], "alice");
    assert_eq!(steps_of(&j, "rollback_step_started"), ["freeze", "prep"]);
    assert_eq!(outcome(&j), "rolled_back");
    let message = finished_message(&j);
    assert!(
        message.contains(
            "every completed step was rolled back, except `freeze` (rollback skipped by alice: undone by hand)"
        ),
        "{message}"
    );
}

// ---- 3. a failed after-gate rolls its step back ---------------------------

#[test]
fn a_step_whose_after_gate_failed_is_rolled_back() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "router"

[sources.local]
kind = "command"

[[step]]
id = "prep"
run = "echo prep >> effects"
rollback = "echo undo-prep >> effects"

[[step]]
id = "switch-dns"
run = "echo green > router"
rollback = "echo blue > router; echo undo-switch >> effects"

[[step.gate]]
when = "after"
source = "local"
query = "echo 500"
pass_if = "< 1"
count = 1
interval = "50ms"
"#,
    );
    let stderr = cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 3);
    assert_eq!(
        std::fs::read_to_string(c.path("router")).unwrap(),
        "blue\n",
        "{stderr}"
    );
    assert!(
        stderr.contains("rolling back `switch-dns` (its after-gates failed)"),
        "{stderr}"
    );
    assert!(!stderr.contains("nothing to roll back"), "{stderr}");
    // The live change is undone first, then the done steps.
    assert_eq!(effects(&c), "prep\nundo-switch\nundo-prep\n");
    let j = journal(&c, "r");
    let started = of_type(&j, "rollback_started")[0]["data"].clone();
    assert_eq!(started["steps"], serde_json::json!(["switch-dns", "prep"]));
    assert!(started.get("partial").is_none(), "{started}");
    let message = finished_message(&j);
    assert!(
        message.contains("`switch-dns` whose after-gates did not pass"),
        "{message}"
    );
}

#[test]
fn a_step_built_on_top_of_a_step_whose_after_gate_failed_is_undone_first() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "continue"

[sources.local]
kind = "command"

[[step]]
id = "a"
run = "echo a >> effects"
rollback = "echo undo-a >> effects"

[[step]]
id = "switch"
needs = ["a"]
on_failure = "continue"
run = "echo switch >> effects"
rollback = "echo undo-switch >> effects"

[[step.gate]]
when = "after"
source = "local"
query = "echo 5"
pass_if = "< 1"
count = 1
interval = "50ms"

[[step]]
id = "later"
needs = ["switch"]
run = "echo later >> effects"
rollback = "echo undo-later >> effects"

[[step]]
id = "boom"
needs = ["later"]
run = "false"
"#,
    );
    let stderr = cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 3);
    // Reverse order of the changes: `later` ran on top of `switch`.
    assert_eq!(
        effects(&c),
        "a\nswitch\nlater\nundo-later\nundo-switch\nundo-a\n",
        "{stderr}"
    );
    let j = journal(&c, "r");
    let started = of_type(&j, "rollback_started")[0]["data"].clone();
    assert_eq!(
        started["steps"],
        serde_json::json!(["later", "switch", "a"])
    );
}

#[test]
fn a_live_change_is_rolled_back_although_a_rerun_of_its_step_failed() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "rerun"

[sources.local]
kind = "command"

[[step]]
id = "switch"
run = "test ! -f marker && touch marker"
rollback = "rm -f marker"
on_failure = "ask"

[[step.gate]]
when = "after"
source = "local"
query = "echo 5"
pass_if = "< 1"
count = 1
interval = "50ms"
"#,
    );
    cutover_exits(&c, &["run", "runbook.toml", "--run-id", "x1"], 4);
    assert!(c.path("marker").exists());
    // Not idempotent: the second time, the action fails ("already exists").
    cutover_exits(&c, &["resume", "x1", "--rerun", "switch"], 4);
    let stderr = cutover_exits(&c, &["resume", "x1", "--rollback"], 3);
    assert!(
        !c.path("marker").exists(),
        "the first attempt's change is undone: {stderr}"
    );
    let j = journal(&c, "x1");
    assert_eq!(steps_of(&j, "rollback_step_finished"), ["switch"]);
    let message = finished_message(&j);
    assert!(
        message.contains("`switch` whose after-gates did not pass"),
        "{message}"
    );
}
