//! Go/no-go votes racing each other through the binary: many `cutover
//! approve` processes at once against a waiting run. Every vote is judged
//! under the journal's append lock against every vote already journaled, and
//! the vote that closes the go/no-go journals the decision (`approval_decided`)
//! in the same write: one person counts once, a vote that got exit 0 is
//! counted, and a no-go decided first means the step never starts.

use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::journal::{journal, journal_tolerant, of_type, seq};
use crate::support::run::{bin, cutover_exits, spawn_run, wait_exit, wait_for_type};

/// One step with a go/no-go before it; `APPROVAL` is filled in per test.
const RUNBOOK: &str = r#"
[runbook]
name = "race"

[[step]]
id = "switch"
approval = { required = true, APPROVAL }
run = "echo switch >> effects"
"#;

fn runbook(approval: &str) -> String {
    RUNBOOK.replace("APPROVAL", approval)
}

/// `cutover approve r switch` with `args`, started now (not waited for).
fn spawn_vote(c: &Cutover, args: &[&str]) -> Child {
    bin(c)
        .args(["approve", "r", "switch"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cutover approve")
}

/// Start every vote at once, then wait for all: (exit code, stderr) each, in order.
fn vote_at_once(c: &Cutover, votes: &[Vec<String>]) -> Vec<(i32, String)> {
    let children: Vec<Child> = votes
        .iter()
        .map(|v| spawn_vote(c, &v.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().expect("wait for cutover approve");
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .collect()
}

/// The votes journaled for `switch`: (seq, person, approve, reason).
fn votes(j: &[Value]) -> Vec<(u64, String, bool, String)> {
    j.iter()
        .filter(|r| r["type"] == "approval_granted" || r["type"] == "approval_rejected")
        .map(|r| {
            (
                seq(r),
                r["as"].as_str().unwrap_or_default().to_string(),
                r["type"] == "approval_granted",
                r["data"]["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Whether `switch` ever went `running` (or started an attempt).
fn switch_started(j: &[Value]) -> bool {
    j.iter().any(|r| {
        (r["type"] == "step_state" && r["data"]["state"] == "running")
            || r["type"] == "attempt_started"
    })
}

#[test]
fn one_person_voting_six_times_at_once_counts_once() {
    for round in 0..6 {
        let c = Cutover::new().runbook(&runbook("min = 2, reason = true"));
        let run = spawn_run(&c, &["--wait", "--as", "op"]);
        wait_for_type(&c, "approval_requested");
        let votes_in: Vec<Vec<String>> = (0..6)
            .map(|i| {
                ["--reason", &format!("ok {i}"), "--as", "alice"]
                    .map(String::from)
                    .to_vec()
            })
            .collect();
        let results = vote_at_once(&c, &votes_in);
        let ok = results.iter().filter(|(code, _)| *code == 0).count();
        assert_eq!(
            ok, 1,
            "round {round}: exactly one vote by alice counts: {results:?}"
        );
        for (code, stderr) in results.iter().filter(|(code, _)| *code != 0) {
            assert_eq!(*code, 1, "round {round}: {stderr}");
            assert!(
                stderr.contains("`alice` already approved step `switch`"),
                "round {round}: {stderr}"
            );
        }
        let j = journal_tolerant(&c, "r");
        assert_eq!(
            votes(&j).len(),
            1,
            "round {round}: one grant journaled: {:?}",
            votes(&j)
        );
        assert!(
            of_type(&j, "approval_decided").is_empty(),
            "round {round}: 1 of 2 decides nothing"
        );
        assert!(
            !switch_started(&j),
            "round {round}: the step ran on one person's vote"
        );
        // A second person makes it a go.
        cutover_exits(
            &c,
            &["approve", "r", "switch", "--reason", "ok", "--as", "bob"],
            0,
        );
        let (code, stderr) = wait_exit(run, Duration::from_secs(20));
        assert_eq!(code, 0, "round {round}: {stderr}");
        let j = journal(&c, "r");
        let decided = of_type(&j, "approval_decided");
        assert_eq!(decided.len(), 1, "round {round}");
        assert_eq!(decided[0]["data"]["decision"], "go");
        assert_eq!(
            decided[0]["data"]["by"],
            serde_json::json!(["alice", "bob"])
        );
    }
}

#[test]
fn an_approval_and_a_rejection_at_once_decide_once_and_a_no_go_never_runs() {
    let mut seen = (0, 0);
    for round in 0..8 {
        let c = Cutover::new().runbook(&runbook("on_reject = \"abort\""));
        let run = spawn_run(&c, &["--wait", "--as", "op"]);
        wait_for_type(&c, "approval_requested");
        let results = vote_at_once(
            &c,
            &[
                ["--reason", "go", "--as", "alice"]
                    .map(String::from)
                    .to_vec(),
                ["--reject", "--reason", "no", "--as", "bob"]
                    .map(String::from)
                    .to_vec(),
            ],
        );
        let (run_code, run_err) = wait_exit(run, Duration::from_secs(20));
        let j = journal(&c, "r");
        let decided = of_type(&j, "approval_decided");
        assert_eq!(decided.len(), 1, "round {round}: one decision: {results:?}");
        let codes: Vec<i32> = results.iter().map(|(code, _)| *code).collect();
        let effects = std::fs::read_to_string(c.path("effects")).unwrap_or_default();
        if decided[0]["data"]["decision"] == "no_go" {
            seen.1 += 1;
            assert_eq!(
                codes,
                [1, 0],
                "round {round}: bob's rejection closed it: {results:?}"
            );
            assert!(
                results[0]
                    .1
                    .contains("the go/no-go of `switch` was already decided: no-go (journal seq"),
                "round {round}: {}",
                results[0].1
            );
            assert!(!switch_started(&j), "round {round}: a no-go step started");
            assert_eq!(effects, "", "round {round}");
            assert_eq!(run_code, 4, "round {round}: {run_err}");
        } else {
            seen.0 += 1;
            assert_eq!(
                codes,
                [0, 1],
                "round {round}: alice's go closed it: {results:?}"
            );
            assert!(
                results[1]
                    .1
                    .contains("the go/no-go of `switch` was already decided: go (journal seq"),
                "round {round}: {}",
                results[1].1
            );
            assert_eq!(effects, "switch\n", "round {round}");
            assert_eq!(run_code, 0, "round {round}: {run_err}");
        }
        // Every vote that got exit 0 is journaled before (or as) the decision.
        let decided_seq = seq(decided[0]);
        for (s, who, _, _) in votes(&j) {
            assert!(
                s < decided_seq,
                "round {round}: {who}'s vote after the decision"
            );
        }
    }
    assert!(seen.0 + seen.1 == 8, "{seen:?}");
}
