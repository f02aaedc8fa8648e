//! A `kill -9` of cutover leaves the running step's process group alive (it
//! is its own group); `cutover resume` must stop it before the step runs
//! again, and journal that it did.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::journal::{assert_seq_contiguous, journal, of_type};
// Also reachable from here, where other test files found them first.
pub(crate) use crate::support::run::{Reap, wait_for_process_started};
use crate::support::run::{
    bin, cutover_exits, gone, kill9, pgid_of, pid_in, read_pid, spawn_run_quiet, wait_until,
};

/// The first time, start a grandchild and hang (the crash comes then); the
/// second time, write down whether the first run's grandchild still lives.
fn runbook(first_time: &str) -> String {
    format!(
        r#"
[runbook]
name = "orphans"

[[step]]
id = "migrate"
idempotent = true
grace = "1s"
run = '''
if [ -f again ]; then
  g=$(cat grandchild.pid)
  s=$(cut -d' ' -f3 /proc/$g/stat 2>/dev/null)
  if [ -n "$s" ] && [ "$s" != Z ]; then echo alive > seen; else echo gone > seen; fi
else
  touch again
  echo $$ > leader.pid
  {first_time}
  wait
fi
'''
"#
    )
}

/// Start the run, wait until the step's group is journaled, `kill -9`
/// cutover; returns the step's leader and grandchild pids.
fn crash_mid_step(c: &Cutover) -> (i32, i32) {
    let mut child = spawn_run_quiet(c, &[]);
    wait_for_process_started(c, "migrate", "step");
    wait_until(
        "the step to start its grandchild",
        Duration::from_secs(10),
        || pid_in(&c.path("grandchild.pid")).is_some(),
    );
    kill9(&mut child);
    (read_pid(c, "leader.pid"), read_pid(c, "grandchild.pid"))
}

fn resume_and_check(c: &Cutover, leader: i32, grandchild: i32) -> (String, Vec<Value>) {
    let stderr = cutover_exits(c, &["resume", "r"], 0);
    assert_eq!(
        std::fs::read_to_string(c.path("seen")).unwrap().trim(),
        "gone",
        "the crashed run's grandchild was still alive when the step ran again"
    );
    assert!(
        gone(grandchild),
        "grandchild {grandchild} survived the resume"
    );
    assert!(gone(leader), "leader {leader} survived the resume");
    let j = journal(c, "r");
    assert_seq_contiguous(&j);
    let started = of_type(&j, "process_started");
    assert_eq!(started.len(), 2, "one group per attempt: {started:?}");
    assert_eq!(started[0]["data"]["process"]["pgid"], leader);
    assert_eq!(started[0]["data"]["phase"], "step");
    assert!(
        started[0]["data"]["process"]["start_ticks"]
            .as_u64()
            .unwrap()
            > 0
    );
    (stderr, j)
}

#[test]
fn resume_stops_the_crashed_runs_step_before_running_it_again() {
    let c = Cutover::new().runbook(&runbook("sleep 60 & echo $! > grandchild.pid"));
    let _reap = Reap::new(&c, "leader.pid");
    let (leader, grandchild) = crash_mid_step(&c);
    // The test can fail: SIGKILL of cutover left the step running.
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        !gone(leader) && !gone(grandchild),
        "the step died with cutover"
    );

    let (stderr, j) = resume_and_check(&c, leader, grandchild);
    let stopped = of_type(&j, "orphan_stopped");
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    let data = &stopped[0]["data"];
    assert_eq!(data["step"], "migrate");
    assert_eq!(data["phase"], "step");
    assert_eq!(data["pgid"], leader);
    assert_eq!(data["signal"], "SIGTERM");
    assert_eq!(data["stopped"], true);
    assert!(
        stderr.contains(&format!(
            "step `migrate` was still running from the crashed process (group {leader}): stopped it with SIGTERM"
        )),
        "{stderr}"
    );
    // Stopped before the step's second attempt started.
    let rerun = of_type(&j, "attempt_started")[1]["seq"].as_u64().unwrap();
    assert!(stopped[0]["seq"].as_u64().unwrap() < rerun);

    // The report shows it as a deviation.
    let report = bin(&c)
        .args(["report", "r", "--format", "md"])
        .output()
        .unwrap();
    assert_eq!(
        report.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let md = String::from_utf8_lossy(&report.stdout);
    assert!(md.contains("orphan-stopped"), "{md}");
}

#[test]
fn a_grandchild_left_alone_that_ignores_sigterm_is_killed() {
    // The grandchild ignores SIGTERM, and its shell is gone by the time
    // resume looks: only the leader-less rule can find it, only SIGKILL end it.
    let c = Cutover::new().runbook(&runbook(
        "(trap '' TERM; exec sleep 60) & echo $! > grandchild.pid",
    ));
    let _reap = Reap::new(&c, "leader.pid");
    let (leader, grandchild) = crash_mid_step(&c);
    let _ = kill(Pid::from_raw(leader), Signal::SIGKILL);
    wait_until(
        &format!("leader {leader} to die"),
        Duration::from_secs(5),
        || gone(leader),
    );
    assert!(!gone(grandchild), "the grandchild died with its shell");
    assert_eq!(pgid_of(grandchild), Some(leader));

    let (stderr, j) = resume_and_check(&c, leader, grandchild);
    let stopped = of_type(&j, "orphan_stopped");
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert_eq!(stopped[0]["data"]["signal"], "SIGKILL");
    assert_eq!(stopped[0]["data"]["stopped"], true);
    assert!(stderr.contains("stopped it with SIGKILL"), "{stderr}");
}

#[test]
fn a_step_that_ended_with_the_crash_is_journaled_as_not_running() {
    let c = Cutover::new().runbook(&runbook("sleep 60 & echo $! > grandchild.pid"));
    let _reap = Reap::new(&c, "leader.pid");
    let (leader, grandchild) = crash_mid_step(&c);
    // An operator stopped it by hand before resuming.
    let _ = nix::sys::signal::killpg(Pid::from_raw(leader), Signal::SIGKILL);
    wait_until(
        &format!("group {leader} to die"),
        Duration::from_secs(5),
        || gone(leader) && gone(grandchild),
    );

    let (stderr, j) = resume_and_check(&c, leader, grandchild);
    assert!(of_type(&j, "orphan_stopped").is_empty());
    let absent = of_type(&j, "orphan_absent");
    assert_eq!(absent.len(), 1, "{absent:?}");
    assert_eq!(absent[0]["data"]["why"], "gone");
    assert!(
        stderr.contains(
            "step `migrate` was in flight when the run stopped; nothing of it is left running"
        ),
        "{stderr}"
    );
}
