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
}

/// A small deterministic generator (64-bit LCG): the fuzz rounds are the
/// same on every run, and a failing round can be replayed by its number.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// What the votes journaled (in order) decide under the rules: the first
/// rejection is a no-go, `min` different approvers a go; with the closing
/// vote's seq. Votes after it must not exist.
fn expected_decision(
    votes: &[(u64, String, bool, String)],
    min: usize,
) -> Option<(&'static str, u64)> {
    let mut approvers: Vec<&str> = Vec::new();
    for (seq, who, approve, _) in votes {
        if !approve {
            return Some(("no_go", *seq));
        }
        approvers.push(who);
        if approvers.len() >= min {
            return Some(("go", *seq));
        }
    }
    None
}

#[test]
fn fuzz_many_voters_at_once_keep_every_go_no_go_invariant() {
    const ROUNDS: u64 = 20;
    const PEOPLE: [&str; 4] = ["alice", "bob", "carol", "dave"];
    let mut rng = Lcg(0x5eed_cafe);
    for round in 0..ROUNDS {
        let min = 1 + rng.next(3) as usize;
        let on_reject = if rng.next(2) == 0 {
            "abort"
        } else {
            "rollback"
        };
        let c = Cutover::new().runbook(&runbook(&format!(
            "min = {min}, reason = true, on_reject = \"{on_reject}\""
        )));
        let run = spawn_run(&c, &["--wait", "--as", "op"]);
        wait_for_type(&c, "approval_requested");
        // Each voter: a person, approve or reject, and a reason that names
        // the voter (one in ten gives none: refused whatever else happens).
        let voters: Vec<Vec<String>> = (0..4 + rng.next(4))
            .map(|i| {
                let mut args = vec!["--as".to_string(), PEOPLE[rng.next(4) as usize].to_string()];
                if rng.next(5) == 0 {
                    args.push("--reject".into());
                }
                if rng.next(10) != 0 {
                    args.extend(["--reason".to_string(), format!("v{i}")]);
                }
                args
            })
            .collect();
        let results = vote_at_once(&c, &voters);
        let context = format!("round {round} (min {min}): {voters:?} -> {results:?}");
        let j = journal_tolerant(&c, "r");
        let journaled = votes(&j);
        // exit 0 ⇔ counted: journaled (with its reason), before the decision.
        for (i, (code, stderr)) in results.iter().enumerate() {
            let mine = journaled
                .iter()
                .any(|(_, _, _, reason)| *reason == format!("v{i}"));
            match code {
                0 => assert!(mine, "voter {i} got exit 0 but is not journaled; {context}"),
                1 => {
                    assert!(!mine, "voter {i} got exit 1 but is journaled; {context}");
                    assert!(
                        stderr.contains("already decided")
                            || stderr.contains("already approved")
                            || stderr.contains("needs a reason"),
                        "voter {i}: {stderr}; {context}"
                    );
                }
                other => panic!("voter {i} exit {other}: {stderr}; {context}"),
            }
        }
        // One person never counts twice.
        let mut granted: Vec<&str> = journaled
            .iter()
            .filter(|v| v.2)
            .map(|v| v.1.as_str())
            .collect();
        granted.sort_unstable();
        let all = granted.len();
        granted.dedup();
        assert_eq!(granted.len(), all, "a person approved twice; {context}");
        // Exactly the decision the journaled votes make, closed by the last
        // of them, once.
        let decided = of_type(&j, "approval_decided");
        let expected = expected_decision(&journaled, min);
        match expected {
            None => assert!(decided.is_empty(), "{context}"),
            Some((decision, vote_seq)) => {
                assert_eq!(decided.len(), 1, "{context}");
                assert_eq!(decided[0]["data"]["decision"], decision, "{context}");
                assert_eq!(decided[0]["data"]["vote_seq"], vote_seq, "{context}");
                assert_eq!(journaled.last().map(|v| v.0), Some(vote_seq), "{context}");
            }
        }
        if expected.is_none() {
            // Nobody decided: stop the waiting run (SIGTERM aborts).
            crate::support::run::signal(&run, nix::sys::signal::Signal::SIGTERM);
        }
        let (code, stderr) = wait_exit(run, Duration::from_secs(20));
        let j = journal(&c, "r");
        let effects = std::fs::read_to_string(c.path("effects")).unwrap_or_default();
        if let Some(("go", _)) = expected {
            assert_eq!(code, 0, "{stderr}; {context}");
            assert_eq!(effects, "switch\n", "{context}");
            let running = crate::support::journal::seq_of(&j, "switch", "running");
            assert!(
                running > seq(of_type(&j, "approval_decided")[0]),
                "{context}"
            );
        } else {
            assert!(
                !switch_started(&j),
                "the step started without a go; {context}"
            );
            assert_eq!(effects, "", "{context}");
            let want = if expected.is_some() && on_reject == "rollback" {
                3
            } else {
                4
            };
            assert_eq!(code, want, "{stderr}; {context}");
        }
        assert_eq!(
            of_type(&j, "approval_decided").len(),
            usize::from(expected.is_some())
        );
        crate::support::journal::assert_seq_contiguous(&j);
    }
}

#[test]
fn a_vote_racing_the_timeout_is_either_counted_or_refused() {
    for (round, delay_ms) in [300u64, 400, 450, 500, 550, 650].into_iter().enumerate() {
        let c = Cutover::new().runbook(&runbook(
            "timeout = \"350ms\", on_timeout = \"abort\", on_reject = \"abort\"",
        ));
        let run = spawn_run(&c, &["--wait", "--as", "op"]);
        wait_for_type(&c, "approval_requested");
        // The stimulus of the race, not a synchronisation: either side may win.
        std::thread::sleep(Duration::from_millis(delay_ms));
        let (code, stderr) = crate::support::run::cutover(
            &c,
            &["approve", "r", "switch", "--reason", "go", "--as", "alice"],
        );
        let (run_code, run_err) = wait_exit(run, Duration::from_secs(20));
        let j = journal(&c, "r");
        let decided = of_type(&j, "approval_decided");
        assert_eq!(decided.len(), 1, "round {round}: {stderr}");
        if code == 0 {
            assert_eq!(decided[0]["data"]["decision"], "go", "round {round}");
            assert!(
                of_type(&j, "approval_timed_out").is_empty(),
                "round {round}"
            );
            assert_eq!(run_code, 0, "round {round}: {run_err}");
            assert_eq!(
                std::fs::read_to_string(c.path("effects")).unwrap(),
                "switch\n"
            );
        } else {
            assert_eq!(code, 1, "round {round}: {stderr}");
            assert!(
                stderr.contains("the go/no-go of `switch` was already decided: no-go (journal seq"),
                "round {round}: {stderr}"
            );
            assert_eq!(decided[0]["data"]["decision"], "no_go", "round {round}");
            assert_eq!(decided[0]["data"]["reason"], "timeout", "round {round}");
            assert!(votes(&j).is_empty(), "round {round}");
            assert!(!switch_started(&j), "round {round}");
            assert_eq!(run_code, 4, "round {round}: {run_err}");
        }
    }
}

/// A production runbook (the default env is production), `switch` needing
/// a go/no-go that the driver may not give; `EXTRA` goes into `[runbook]`.
const PRODUCTION: &str = r#"
[runbook]
name = "prod"
production = true
EXTRA

[[step]]
id = "switch"
approval = { required = true, no_self_approval = true, reason = true, on_reject = "abort" }
run = "echo switch >> effects"
"#;

/// `cutover status r` as text.
fn status_text(c: &Cutover) -> String {
    let out = bin(c).args(["status", "r"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The login user of this process, as cutover names it (`user` of `user@host`).
fn login(c: &Cutover) -> String {
    let j = journal(c, "r");
    let actor = of_type(&j, "run_started")[0]["actor"]
        .as_str()
        .unwrap()
        .to_string();
    actor.split('@').next().unwrap().to_string()
}

#[test]
fn production_counts_the_login_user_and_refuses_a_name_given() {
    let c = Cutover::new().runbook(&PRODUCTION.replace("EXTRA", ""));
    // The driver cannot name themselves someone else either.
    let err = cutover_exits(
        &c,
        &["run", "runbook.toml", "--run-id", "r", "--as", "op"],
        1,
    );
    assert!(
        err.contains("in a production run the person is the login user")
            && err.contains(
                "(`op`) is refused unless the runbook says `[runbook] declared_identities = true`"
            ),
        "{err}"
    );
    assert!(
        !c.path(".cutover/runs/r/journal.jsonl").exists(),
        "nothing journaled"
    );
    // Without a name: the run pauses for its go/no-go.
    cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 4);
    let me = login(&c);
    let err = cutover_exits(
        &c,
        &["approve", "r", "switch", "--reason", "ok", "--as", "alice"],
        1,
    );
    assert!(err.contains(&format!("the login user (`{me}`)")), "{err}");
    let out = bin(&c)
        .args(["approve", "r", "switch", "--reason", "ok"])
        .env("CUTOVER_ACTOR", "alice")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "CUTOVER_ACTOR is a name given too"
    );
    // The login user drives the run: `no_self_approval` holds, whatever name
    // they would have typed.
    let err = cutover_exits(&c, &["approve", "r", "switch", "--reason", "ok"], 1);
    assert!(
        err.contains(&format!("`{me}` is driving this run")),
        "{err}"
    );
    let err = cutover_exits(&c, &["resume", "r", "--as", "bob"], 1);
    assert!(err.contains("declared_identities"), "{err}");
    assert!(
        votes(&journal(&c, "r")).is_empty(),
        "no refused vote is journaled"
    );
    // Stopping one's own run is always allowed; journaled as the login.
    cutover_exits(
        &c,
        &[
            "approve",
            "r",
            "switch",
            "--reject",
            "--reason",
            "not tonight",
        ],
        0,
    );
    let j = journal(&c, "r");
    let rejected = of_type(&j, "approval_rejected");
    assert_eq!(rejected[0]["data"]["identity"], "login");
    assert!(rejected[0].get("as").is_none(), "{}", rejected[0]);
    assert_eq!(
        of_type(&j, "approval_decided")[0]["data"]["decision"],
        "no_go"
    );
    cutover_exits(&c, &["resume", "r"], 4);
    assert!(!switch_started(&journal(&c, "r")));
}

#[test]
fn production_with_declared_identities_journals_the_name_as_declared() {
    let c = Cutover::new().runbook(&PRODUCTION.replace("EXTRA", "declared_identities = true"));
    cutover_exits(
        &c,
        &["run", "runbook.toml", "--run-id", "r", "--as", "op"],
        4,
    );
    let err = cutover_exits(
        &c,
        &["approve", "r", "switch", "--reason", "mine", "--as", "op"],
        1,
    );
    assert!(err.contains("`op` is driving this run"), "{err}");
    let said = cutover_exits(
        &c,
        &[
            "approve", "r", "switch", "--reason", "green", "--as", "alice",
        ],
        0,
    );
    assert!(said.contains("(as alice, declared)"), "{said}");
    assert!(said.contains("decided: go"), "{said}");
    let j = journal(&c, "r");
    let granted = of_type(&j, "approval_granted");
    assert_eq!(granted[0]["as"], "alice");
    assert_eq!(granted[0]["data"]["identity"], "declared");
    let text = status_text(&c);
    assert!(text.contains("(as alice, declared)"), "{text}");
    assert!(text.contains("decided: go (journal seq"), "{text}");
    cutover_exits(&c, &["resume", "r", "--as", "op"], 0);
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "switch\n"
    );
}

#[test]
fn outside_production_a_vote_has_no_identity_field() {
    let c = Cutover::new().runbook(&runbook("reason = true"));
    cutover_exits(
        &c,
        &["run", "runbook.toml", "--run-id", "r", "--as", "op"],
        4,
    );
    cutover_exits(
        &c,
        &["approve", "r", "switch", "--reason", "ok", "--as", "alice"],
        0,
    );
    let j = journal(&c, "r");
    let granted = of_type(&j, "approval_granted");
    assert_eq!(granted[0]["as"], "alice");
    assert!(
        granted[0]["data"].get("identity").is_none(),
        "{}",
        granted[0]
    );
}

/// Append `line` (a record's JSON with `SEQ` for its seq) to run `r`'s
/// journal as an older cutover would have: a vote and no decision.
fn append_legacy(c: &Cutover, line: &str) {
    use std::io::Write as _;
    let next = journal(c, "r").len() + 1;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(c.path(".cutover/runs/r/journal.jsonl"))
        .unwrap();
    writeln!(f, "{}", line.replace("SEQ", &next.to_string())).unwrap();
}

#[test]
fn votes_an_older_cutover_journaled_without_a_decision_still_decide() {
    for (vote, on_resume, ran) in [
        (
            r#"{"seq":SEQ,"ts":"2026-01-01T00:00:00.000Z","run_id":"r","actor":"old@host","as":"alice","type":"approval_granted","data":{"step":"switch","auto":false}}"#,
            0,
            true,
        ),
        (
            r#"{"seq":SEQ,"ts":"2026-01-01T00:00:00.000Z","run_id":"r","actor":"old@host","as":"bob","type":"approval_rejected","data":{"step":"switch","reason":"no"}}"#,
            4,
            false,
        ),
    ] {
        let c = Cutover::new().runbook(&runbook("on_reject = \"abort\""));
        cutover_exits(
            &c,
            &["run", "runbook.toml", "--run-id", "r", "--as", "op"],
            4,
        );
        append_legacy(&c, vote);
        let seq_of_vote = seq(journal(&c, "r").last().unwrap());
        // Status reads it as before: the vote decided the go/no-go.
        let text = status_text(&c);
        assert!(!text.contains("PENDING"), "{text}");
        // A vote now is told it is decided.
        let err = cutover_exits(&c, &["approve", "r", "switch", "--as", "carol"], 1);
        assert!(
            err.contains(&format!(
                "was already decided: {} (journal seq {seq_of_vote})",
                if ran { "go" } else { "no-go" }
            )),
            "{err}"
        );
        // Resume journals the decision those votes made, then acts on it.
        cutover_exits(&c, &["resume", "r", "--as", "op"], on_resume);
        let j = journal(&c, "r");
        let decided = of_type(&j, "approval_decided");
        assert_eq!(decided.len(), 1);
        assert_eq!(decided[0]["data"]["vote_seq"], seq_of_vote);
        assert_eq!(switch_started(&j), ran);
    }
}

#[test]
fn a_rerun_after_a_no_go_asks_again_and_the_old_votes_do_not_count() {
    let c = Cutover::new().runbook(&runbook("min = 2, on_reject = \"abort\""));
    cutover_exits(
        &c,
        &["run", "runbook.toml", "--run-id", "r", "--as", "op"],
        4,
    );
    cutover_exits(&c, &["approve", "r", "switch", "--as", "alice"], 0);
    cutover_exits(
        &c,
        &["approve", "r", "switch", "--reject", "--as", "bob"],
        0,
    );
    cutover_exits(&c, &["resume", "r", "--as", "op"], 4);
    assert!(!switch_started(&journal(&c, "r")));
    // The no-go holds: a plain resume asks the operator to decide.
    let err = cutover_exits(&c, &["approve", "r", "switch", "--as", "carol"], 1);
    assert!(err.contains("already decided: no-go"), "{err}");
    // `--rerun` ends it: the step asks for a new go/no-go.
    cutover_exits(&c, &["resume", "r", "--as", "op", "--rerun", "switch"], 4);
    let j = journal(&c, "r");
    assert_eq!(of_type(&j, "approval_requested").len(), 2);
    let said = cutover_exits(&c, &["approve", "r", "switch", "--as", "carol"], 0);
    assert!(
        said.contains("1 of 2 approvals"),
        "alice's earlier vote does not count: {said}"
    );
    let said = cutover_exits(&c, &["approve", "r", "switch", "--as", "alice"], 0);
    assert!(said.contains("decided: go"), "{said}");
    cutover_exits(&c, &["resume", "r", "--as", "op"], 0);
    let j = journal(&c, "r");
    let decided = of_type(&j, "approval_decided");
    assert_eq!(
        decided
            .iter()
            .map(|d| d["data"]["decision"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["no_go", "go"]
    );
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "switch\n"
    );
}

#[test]
fn a_yes_at_the_prompt_and_a_rejection_from_another_terminal_decide_once() {
    use crate::warroom::Tty;
    for round in 0..4 {
        let c = Cutover::new().runbook(&runbook("on_reject = \"abort\""));
        let mut tty = Tty::start(&c, "run runbook.toml --run-id r --no-progress --as op");
        tty.wait_for_text("type `yes REASON` to approve");
        let bob = spawn_vote(&c, &["--reject", "--reason", "no", "--as", "bob"]);
        tty.type_line("yes fine\n");
        let bob = bob.wait_with_output().unwrap();
        let bob_err = String::from_utf8_lossy(&bob.stderr).into_owned();
        let (code, screen) = tty.finish();
        let j = journal(&c, "r");
        let decided = of_type(&j, "approval_decided");
        assert_eq!(decided.len(), 1, "round {round}: {screen}");
        let decision = decided[0]["data"]["decision"].as_str().unwrap().to_string();
        if decision == "go" {
            assert_eq!(bob.status.code(), Some(1), "round {round}: {bob_err}");
            assert!(
                bob_err.contains("already decided: go"),
                "round {round}: {bob_err}"
            );
            assert_eq!(decided[0]["data"]["by"], serde_json::json!(["op"]));
            assert_eq!(code, 0, "round {round}: {screen}");
            assert_eq!(
                std::fs::read_to_string(c.path("effects")).unwrap(),
                "switch\n"
            );
        } else {
            assert_eq!(bob.status.code(), Some(0), "round {round}: {bob_err}");
            // The operator's `yes` came too late: refused at the prompt (or
            // typed after it had gone), never journaled.
            assert!(
                of_type(&j, "approval_granted").is_empty(),
                "round {round}: {screen}"
            );
            assert!(!switch_started(&j), "round {round}: {screen}");
            assert_eq!(code, 4, "round {round}: {screen}");
        }
    }
}

#[test]
fn the_prompt_counts_votes_from_other_terminals_and_goes_on_at_min() {
    use crate::warroom::Tty;
    let c = Cutover::new().runbook(&runbook("min = 2"));
    let mut tty = Tty::start(&c, "run runbook.toml --run-id r --no-progress --as op");
    tty.wait_for_text("type `yes REASON` to approve");
    cutover_exits(&c, &["approve", "r", "switch", "--as", "alice"], 0);
    tty.wait_for_text("awaits approval: 1 of 2 (alice)");
    tty.type_line("yes\n");
    let (code, screen) = tty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("step `switch` approved by alice, op: go"),
        "{screen}"
    );
    let j = journal(&c, "r");
    assert_eq!(
        of_type(&j, "approval_decided")[0]["data"]["by"],
        serde_json::json!(["alice", "op"])
    );
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "switch\n"
    );
}

#[test]
fn declared_identities_without_a_production_env_is_a_warning() {
    let c = Cutover::new()
        .runbook(&PRODUCTION.replace("production = true\nEXTRA", "declared_identities = true"));
    let err = cutover_exits(&c, &["validate", "runbook.toml"], 0);
    assert!(
        err.contains("`declared_identities` has no effect: no env of this runbook is production"),
        "{err}"
    );
    // With a production env it is what the runbook means: no warning.
    let c = Cutover::new().runbook(&format!(
        "{}\n[env.live]\nproduction = true\n",
        PRODUCTION.replace("production = true\nEXTRA", "declared_identities = true")
    ));
    let err = cutover_exits(&c, &["validate", "runbook.toml"], 0);
    assert!(!err.contains("declared_identities"), "{err}");
}
