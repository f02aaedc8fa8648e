//! Crash safety: `kill -9` of `cutover run` at many points chosen by event
//! count, then `cutover resume`: no done step runs twice, and the journal's
//! `seq` has no gap and no duplicate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::support::cutover::Cutover;
use crate::support::journal::{
    assert_seq_contiguous, journal, journal_tolerant, of_type, outcome, steps_of,
};
use crate::support::run::{
    Reap, cutover, cutover_exits, gone, gone_within, kill9, read_pid, spawn_run_quiet,
    wait_for_process_started, wait_for_text,
};

const STEPS: usize = 6;

fn runbook() -> String {
    let mut text = String::from("[runbook]\nname = \"crash\"\nmax_parallel = 2\n");
    for i in 0..STEPS {
        // Two independent chains, so two steps are often in flight at once.
        let needs = if i >= 2 {
            format!("needs = [\"s{}\"]\n", i - 2)
        } else {
            "needs = []\n".into()
        };
        let _ = write!(
            text,
            "\n[[step]]\nid = \"s{i}\"\n{needs}idempotent = true\nrun = \"echo s{i} >> effects; echo out-s{i}; sleep 0.05\"\nrollback = \"echo undo-s{i} >> undo\"\n"
        );
    }
    text
}

fn effects(c: &Cutover) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in std::fs::read_to_string(c.path("effects"))
        .unwrap_or_default()
        .lines()
    {
        *counts.entry(line.to_string()).or_insert(0) += 1;
    }
    counts
}

/// Steps journaled `done` in `records`.
fn done_steps(records: &[serde_json::Value]) -> Vec<String> {
    of_type(records, "step_state")
        .iter()
        .filter(|r| r["data"]["state"] == "done")
        .map(|r| r["data"]["step"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn kill_9_at_twenty_points_then_resume_loses_and_repeats_nothing() {
    // One full run to learn how many events a run has.
    let full = Cutover::new().runbook(&runbook());
    cutover_exits(&full, &["run", "runbook.toml", "--run-id", "r"], 0);
    let total = journal(&full, "r").len();
    assert!(total > 25, "a run of {STEPS} steps has {total} events");

    let points: Vec<usize> = (0..20).map(|i| 1 + i * (total - 2) / 20).collect();
    for at in points {
        let c = Cutover::new().runbook(&runbook());
        let mut child = spawn_run_quiet(&c, &[]);
        let path = c.path(".cutover/runs/r/journal.jsonl");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let lines = std::fs::read_to_string(&path).map_or(0, |t| t.lines().count());
            // The header is line 1.
            if lines > at || child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "run did not reach event {at}");
            std::thread::yield_now();
        }
        kill9(&mut child);
        // Children of the killed process are in their own groups: let every
        // in-flight one the journal knows of finish its side effect before
        // counting. (One started but not yet journaled belongs to a step
        // that is not done, whose effects are not compared.)
        let before = journal_tolerant(&c, "r");
        for started in of_type(&before, "process_started") {
            let pgid = i32::try_from(started["data"]["process"]["pgid"].as_i64().unwrap()).unwrap();
            assert!(
                gone_within(pgid, Duration::from_secs(10)),
                "killed at event {at}: group {pgid} still running"
            );
        }
        let done_before = done_steps(&before);
        let effects_before = effects(&c);

        eprintln!(
            "killed at event {at}/{total}: {} event(s) durable, done {done_before:?}",
            before.len()
        );
        let (code, stderr) = cutover(&c, &["resume", "r"]);
        assert_eq!(code, 0, "killed at event {at}: {stderr}");

        let after = journal(&c, "r");
        assert_seq_contiguous(&after);
        let counts = effects(&c);
        for step in &done_before {
            assert_eq!(
                counts.get(step).copied(),
                effects_before.get(step).copied(),
                "killed at event {at}: done step `{step}` ran again"
            );
            assert_eq!(
                counts.get(step).copied(),
                Some(1),
                "killed at event {at}: `{step}`"
            );
        }
        for i in 0..STEPS {
            assert!(
                counts.contains_key(&format!("s{i}")),
                "killed at event {at}: s{i} never ran"
            );
        }
        // Exactly one `done` per step: a step journaled done twice fails here.
        let mut done_after = done_steps(&after);
        done_after.sort();
        let mut expected: Vec<String> = (0..STEPS).map(|i| format!("s{i}")).collect();
        expected.sort();
        assert_eq!(
            done_after, expected,
            "killed at event {at}: every step done exactly once"
        );
        // Every event written before the crash is still there, unchanged.
        for (old, new) in before.iter().zip(&after) {
            assert_eq!(old, new, "killed at event {at}: journal rewritten");
        }
    }
}

#[test]
fn a_non_idempotent_step_in_flight_at_a_crash_waits_for_a_decision() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "decide"

[[step]]
id = "transfer"
run = "echo $$ > leader.pid; echo started >> effects; sleep 30"
rollback = "true"
"#,
    );
    let _reap = Reap::new(&c, "leader.pid");
    let mut child = spawn_run_quiet(&c, &[]);
    wait_for_text(&c, "effects", "started");
    wait_for_process_started(&c, "transfer", "step");
    kill9(&mut child);

    let stderr = cutover_exits(&c, &["resume", "r"], 4);
    assert!(
        stderr.contains("cutover resume r --rerun transfer"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cutover resume r --skip transfer"),
        "{stderr}"
    );

    cutover_exits(
        &c,
        &["resume", "r", "--skip", "transfer", "--as", "dana"],
        0,
    );
    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    let decision = of_type(&j, "decision");
    assert_eq!(decision[0]["data"]["choice"], "skip");
    assert_eq!(decision[0]["data"]["context"], "resume");
    assert_eq!(decision[0]["as"], "dana");
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "started\n",
        "not re-run"
    );
    // The killed run's step lived on in its own group; the first resume
    // stopped it before asking for the decision.
    let leader = read_pid(&c, "leader.pid");
    assert!(gone(leader), "step {leader} still running");
    let stopped = of_type(&j, "orphan_stopped");
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert_eq!(stopped[0]["data"]["step"], "transfer");
    assert!(stopped[0]["seq"].as_u64() < decision[0]["seq"].as_u64());
}

/// `a`, `b` done, `c` fails: the rollback runs `b_rollback` (which must
/// write its pid to `rb.pid` and `undo-b-start` to `undo.log`), then `a`'s.
fn rollback_runbook(name: &str, b_rollback: &str) -> String {
    format!(
        r#"
[runbook]
name = "{name}"

[[step]]
id = "a"
run = "true"
rollback = "echo undo-a >> undo.log"

[[step]]
id = "b"
run = "true"
rollback = "{b_rollback}"

[[step]]
id = "c"
run = "exit 1"
"#
    )
}

/// Run `r` and `kill -9` it once `b`'s rollback has started.
fn crash_in_the_rollback_of_b(c: &Cutover) {
    let mut child = spawn_run_quiet(c, &[]);
    wait_for_text(c, "undo.log", "undo-b-start");
    wait_for_process_started(c, "b", "rollback");
    kill9(&mut child);
}

#[test]
fn a_crash_mid_rollback_resumes_the_rollback() {
    let c = Cutover::new().runbook(&rollback_runbook(
        "rollback-crash",
        // The first time, hang (the crash comes then); the second time, finish.
        "if [ -f again ]; then echo undo-b >> undo.log; else echo $$ > rb.pid; touch again; echo undo-b-start >> undo.log; sleep 30; fi",
    ));
    let _reap = Reap::new(&c, "rb.pid");
    crash_in_the_rollback_of_b(&c);
    // The killed run's rollback command lives on in its own group: resume
    // must stop it before running b's rollback again.
    let leader = read_pid(&c, "rb.pid");
    assert!(!gone(leader), "the rollback died with cutover");

    cutover_exits(&c, &["resume", "r"], 3);
    assert_eq!(
        std::fs::read_to_string(c.path("undo.log")).unwrap(),
        "undo-b-start\nundo-b\nundo-a\n",
        "b's interrupted rollback runs again, then a's"
    );
    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    assert_eq!(
        of_type(&j, "rollback_started").len(),
        1,
        "one rollback, resumed"
    );
    assert_eq!(of_type(&j, "run_resumed").len(), 1);
    assert_eq!(steps_of(&j, "rollback_step_finished"), ["b", "a"]);
    let stopped = of_type(&j, "orphan_stopped");
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert_eq!(stopped[0]["data"]["step"], "b");
    assert_eq!(stopped[0]["data"]["phase"], "rollback");
    assert_eq!(stopped[0]["data"]["pgid"], leader);
    assert_eq!(outcome(&j), "rolled_back");
}

#[test]
fn a_rollback_cut_off_by_a_crash_and_then_skipped_is_not_said_to_run_again() {
    let c = Cutover::new().runbook(&rollback_runbook(
        "rollback-crash-skip",
        "echo $$ > rb.pid; echo undo-b-start >> undo.log; sleep 30",
    ));
    let _reap = Reap::new(&c, "rb.pid");
    crash_in_the_rollback_of_b(&c);
    let stderr = cutover_exits(
        &c,
        &["resume", "r", "--skip-rollback", "b", "--as", "alice"],
        3,
    );
    assert!(stderr.contains("rollback of `b` skipped"), "{stderr}");
    assert!(!stderr.contains("cut off by the crash"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(c.path("undo.log")).unwrap(),
        "undo-b-start\nundo-a\n",
        "{stderr}"
    );
    let j = journal(&c, "r");
    assert_eq!(outcome(&j), "rolled_back");
    let finished = of_type(&j, "run_finished");
    let message = finished.last().unwrap()["data"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("except `b` (rollback skipped by alice: undone by hand)"),
        "{message}"
    );
}

#[test]
fn notes_appended_from_other_writers_interleave_safely_with_10000_output_lines() {
    use cutover::event::Event;
    use cutover::journal::{Stamp, append_external};

    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "busy"

[[step]]
id = "chatty"
run = "i=0; while [ $i -lt 10000 ]; do echo line $i; i=$((i+1)); done"
"#,
    );
    let child = spawn_run_quiet(&c, &[]);
    wait_for_text(&c, ".cutover/runs/r/journal.jsonl", "line 1");
    let path = c.path(".cutover/runs/r/journal.jsonl");
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let stamp = Stamp::new(Some(format!("writer{w}")));
                for n in 0..25 {
                    append_external(
                        &path,
                        &stamp,
                        Event::Note {
                            text: format!("note {w}-{n}"),
                        },
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    let outputs = of_type(&j, "output").len();
    assert_eq!(outputs, 10_000);
    let mut notes: Vec<String> = of_type(&j, "note")
        .iter()
        .map(|r| r["data"]["text"].as_str().unwrap().to_string())
        .collect();
    notes.sort();
    let mut expected: Vec<String> = (0..4)
        .flat_map(|w| (0..25).map(move |n| format!("note {w}-{n}")))
        .collect();
    expected.sort();
    assert_eq!(notes, expected, "every note exactly once");
}

/// Two non-idempotent steps in flight at a crash: one resume decides one of
/// them and pauses for the other; the next resume decides the other. The
/// first decision holds: the run goes on, it is not asked for again.
#[test]
fn decisions_about_two_steps_in_flight_at_a_crash_converge() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "two-in-flight"
max_parallel = 2

[[step]]
id = "s10"
needs = []
run = "if [ -e crashed ]; then echo rerun-s10 >> effects; else echo $$ > s10.pid; echo started-s10 >> effects; sleep 30; fi"
rollback = "true"

[[step]]
id = "s11"
needs = []
run = "if [ -e crashed ]; then echo rerun-s11 >> effects; else echo $$ > s11.pid; echo started-s11 >> effects; sleep 30; fi"
rollback = "true"
"#,
    );
    let _reap10 = Reap::new(&c, "s10.pid");
    let _reap11 = Reap::new(&c, "s11.pid");
    let mut child = spawn_run_quiet(&c, &[]);
    wait_for_process_started(&c, "s10", "step");
    wait_for_process_started(&c, "s11", "step");
    kill9(&mut child);
    std::fs::write(c.path("crashed"), "").unwrap();

    // Asked about both, with one command that decides them all.
    let stderr = cutover_exits(&c, &["resume", "r"], 4);
    assert!(
        stderr.contains("cutover resume r --rerun s10 --rerun s11"),
        "{stderr}"
    );
    // One decision: the other step is still undecided, and only it is asked about.
    let stderr = cutover_exits(&c, &["resume", "r", "--rerun", "s10"], 4);
    assert!(stderr.contains("--rerun s11"), "{stderr}");
    assert!(!stderr.contains("--rerun s10"), "s10 was decided: {stderr}");
    // The second decision: both run again, once each, and the run completes.
    cutover_exits(&c, &["resume", "r", "--rerun", "s11"], 0);
    let mut effects: Vec<String> = std::fs::read_to_string(c.path("effects"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    effects.sort();
    assert_eq!(
        effects,
        ["rerun-s10", "rerun-s11", "started-s10", "started-s11"]
    );
    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    let decisions: Vec<(&str, &str)> = of_type(&j, "decision")
        .iter()
        .map(|d| {
            (
                d["data"]["step"].as_str().unwrap_or(""),
                d["data"]["choice"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [("s10", "rerun"), ("s11", "rerun")],
        "each decided once"
    );
    assert_eq!(outcome(&j), "completed");
}
