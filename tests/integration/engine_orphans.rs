//! A `kill -9` of cutover leaves the running step's process group alive (it
//! is its own group); `cutover resume` must stop it before the step runs
//! again, and journal that it did.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::journal::{assert_seq_contiguous, journal, of_type};
use crate::support::run::{
    Reap, Watched, bin, cutover_exits, gone, kill9, lives_on, pgid_of, pid_in, read_pid,
    spawn_run_quiet, wait_for_process_started, wait_until,
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
    assert!(
        lives_on(leader) && lives_on(grandchild),
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

/// One step of `max_parallel` runs that ignores SIGTERM the first time (so
/// only SIGKILL ends it) and writes its leader's pid to `ID.pid`; counts its
/// starts in `ID.starts`.
fn stubborn_step(id: &str, idempotent: bool, grace: &str) -> String {
    format!(
        r#"
[[step]]
id = "{id}"
needs = []
idempotent = {idempotent}
grace = "{grace}"
run = '''
echo x >> {id}.starts
if [ -f {id}.again ]; then exit 0; fi
touch {id}.again
echo $$ > {id}.pid
trap '' TERM
sleep 60 &
wait
'''
"#
    )
}

/// Start the run, wait until every one of `steps` journaled its group and
/// wrote its pid, `kill -9` cutover.
fn crash_with_running(c: &Cutover, steps: &[&str]) {
    let mut child = spawn_run_quiet(c, &[]);
    for step in steps {
        wait_for_process_started(c, step, "step");
        wait_until(
            &format!("`{step}` to write its pid"),
            Duration::from_secs(10),
            || pid_in(&c.path(&format!("{step}.pid"))).is_some(),
        );
    }
    kill9(&mut child);
}

fn starts(c: &Cutover, step: &str) -> usize {
    std::fs::read_to_string(c.path(&format!("{step}.starts")))
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn leftover_commands_are_stopped_together_not_one_after_another() {
    let grace = Duration::from_secs(3);
    let c = Cutover::new().runbook(&format!(
        "[runbook]\nname = \"parallel\"\nmax_parallel = 3\n{}{}{}",
        stubborn_step("a", true, "3s"),
        stubborn_step("b", true, "3s"),
        stubborn_step("c", true, "3s"),
    ));
    let _reap = [
        Reap::new(&c, "a.pid"),
        Reap::new(&c, "b.pid"),
        Reap::new(&c, "c.pid"),
    ];
    crash_with_running(&c, &["a", "b", "c"]);
    let leaders: Vec<i32> = ["a", "b", "c"]
        .iter()
        .map(|s| read_pid(&c, &format!("{s}.pid")))
        .collect();
    assert!(
        leaders.iter().all(|&p| lives_on(p)),
        "a step died with cutover"
    );

    let started = std::time::Instant::now();
    let stderr = cutover_exits(&c, &["resume", "r"], 0);
    let took = started.elapsed();
    // One after another would take at least 3 graces (9 s); together about
    // one. The bound leaves a slow machine room without letting that pass.
    assert!(
        took < grace * 7 / 3,
        "resume took {took:?}: the groups were not stopped together\n{stderr}"
    );
    assert!(took >= grace, "SIGKILL came before the grace: {took:?}");
    for &leader in &leaders {
        assert!(gone(leader), "group {leader} survived the resume");
    }
    assert!(
        stderr.contains(
            "stopping 3 commands left running by the crashed process: SIGTERM now, SIGKILL in 3s"
        ),
        "{stderr}"
    );
    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    let stopped = of_type(&j, "orphan_stopped");
    assert_eq!(stopped.len(), 3, "{stopped:?}");
    let mut pgids: Vec<i64> = stopped
        .iter()
        .map(|s| s["data"]["pgid"].as_i64().unwrap())
        .collect();
    pgids.sort_unstable();
    let mut expected: Vec<i64> = leaders.iter().map(|&p| i64::from(p)).collect();
    expected.sort_unstable();
    assert_eq!(pgids, expected);
    for s in &stopped {
        assert_eq!(s["data"]["signal"], "SIGKILL");
        assert_eq!(s["data"]["stopped"], true);
    }
    for step in ["a", "b", "c"] {
        assert_eq!(starts(&c, step), 2, "`{step}` runs again once");
    }
}

#[test]
fn a_signal_while_leftovers_are_stopped_kills_them_and_pauses_before_any_rerun() {
    let c = Cutover::new().runbook(&format!(
        "[runbook]\nname = \"stop-phase\"\n{}",
        stubborn_step("migrate", true, "8s"),
    ));
    let _reap = Reap::new(&c, "migrate.pid");
    crash_with_running(&c, &["migrate"]);
    let leader = read_pid(&c, "migrate.pid");
    assert!(lives_on(leader), "the step died with cutover");

    let resume = Watched::new(
        bin(&c)
            .args(["resume", "r"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let spawned = std::time::Instant::now();
    // The stop phase has begun: SIGTERM (ignored) was sent, the grace runs.
    resume.wait_for_stderr("SIGTERM now, SIGKILL in 8s");
    assert!(lives_on(leader), "stopped before the grace was over");
    crate::support::run::signal(resume.child(), Signal::SIGINT);
    let (code, stderr) = resume.wait_exit(Duration::from_secs(10));
    let took = spawned.elapsed();
    assert_eq!(code, 4, "{stderr}");
    // Waiting out the 8 s grace would take over 8 s.
    assert!(
        took < Duration::from_secs(6),
        "the signal waited for the grace: {took:?}\n{stderr}"
    );
    assert!(gone(leader), "the leftover group survived the signal");
    assert_eq!(starts(&c, "migrate"), 1, "the step ran again: {stderr}");
    assert!(
        stderr.contains(
            "stopping 1 command left running by the crashed process: SIGTERM now, SIGKILL in 8s"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("cutover resume r"), "{stderr}");

    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    let seq = |r: &Value| r["seq"].as_u64().unwrap();
    let resumed = of_type(&j, "run_resumed");
    let stopped = of_type(&j, "orphan_stopped");
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert_eq!(stopped[0]["data"]["signal"], "SIGKILL");
    assert_eq!(stopped[0]["data"]["stopped"], true);
    assert!(seq(resumed[0]) < seq(stopped[0]), "run_resumed came late");
    assert_eq!(of_type(&j, "interrupted").len(), 1);
    assert!(of_type(&j, "decision").is_empty(), "decided anyway");
    assert_eq!(of_type(&j, "attempt_started").len(), 1, "re-run anyway");
    let paused = of_type(&j, "paused");
    assert_eq!(paused.last().unwrap()["data"]["reason"], "interrupted");
    let finished = of_type(&j, "run_finished");
    assert_eq!(finished.last().unwrap()["data"]["outcome"], "paused");

    // A plain resume then goes on: nothing is left to stop.
    cutover_exits(&c, &["resume", "r"], 0);
    assert_eq!(starts(&c, "migrate"), 2);
}

#[test]
fn a_command_started_on_another_host_is_left_alone_and_the_operator_decides() {
    let c = Cutover::new().runbook(&runbook("sleep 60 & echo $! > grandchild.pid"));
    let _reap = Reap::new(&c, "leader.pid");
    let (leader, grandchild) = crash_mid_step(&c);

    // The journal is on shared storage; resume runs on another host.
    let path = c.path(".cutover/runs/r/journal.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut edited = 0;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let Ok(mut v) = serde_json::from_str::<Value>(l) else {
                return l.to_string();
            };
            if v["type"] != "process_started" {
                return l.to_string();
            }
            assert!(
                v["data"]["process"]["host"]
                    .as_str()
                    .is_some_and(|h| !h.is_empty())
            );
            assert!(
                v["data"]["process"]["pid_ns"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("pid:["))
            );
            v["data"]["process"]["host"] = "db-other".into();
            edited += 1;
            v.to_string()
        })
        .collect();
    assert_eq!(edited, 1);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let stderr = cutover_exits(&c, &["resume", "r"], 4);
    assert!(!gone(leader), "resume touched a group of another host");
    assert!(!gone(grandchild), "resume touched a group of another host");
    assert!(!c.path("seen").exists(), "the step ran again");
    assert!(
        stderr.contains("it started on host db-other (or in another PID namespace), so cutover cannot tell whether it still runs"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cutover resume r --rerun migrate"),
        "{stderr}"
    );
    assert!(stderr.contains("cutover resume r --abort"), "{stderr}");
    let j = journal(&c, "r");
    assert_seq_contiguous(&j);
    assert!(of_type(&j, "orphan_stopped").is_empty());
    let absent = of_type(&j, "orphan_absent");
    assert_eq!(absent.len(), 1, "{absent:?}");
    assert_eq!(absent[0]["data"]["why"], "elsewhere");
    assert_eq!(absent[0]["data"]["host"], "db-other");
    assert!(of_type(&j, "decision").is_empty(), "decided on its own");
    assert_eq!(of_type(&j, "attempt_started").len(), 1);
    let paused = of_type(&j, "paused");
    assert_eq!(paused.last().unwrap()["data"]["reason"], "needs_decision");
    assert_eq!(paused.last().unwrap()["data"]["step"], "migrate");
}

#[test]
fn resume_rollback_journals_no_rerun_decision_for_an_idempotent_step_in_flight() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "rollback-in-flight"

[[step]]
id = "warm"
run = "echo warm >> effects"
rollback = "echo undo-warm >> effects"

[[step]]
id = "migrate"
idempotent = true
grace = "1s"
run = "echo $$ > leader.pid; echo migrate >> effects; sleep 60"
rollback = "echo undo-migrate >> effects"
"#,
    );
    let _reap = Reap::new(&c, "leader.pid");
    let mut child = spawn_run_quiet(&c, &[]);
    wait_for_process_started(&c, "migrate", "step");
    wait_until("the step's pid", Duration::from_secs(10), || {
        pid_in(&c.path("leader.pid")).is_some()
    });
    kill9(&mut child);

    let stderr = cutover_exits(&c, &["resume", "r", "--rollback"], 3);
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "warm\nmigrate\nundo-warm\n",
        "{stderr}"
    );
    let j = journal(&c, "r");
    let decisions: Vec<&Value> = of_type(&j, "decision");
    assert!(
        decisions.iter().all(|d| d["data"]["choice"] != "rerun"),
        "a rerun nobody ran: {decisions:?}"
    );
    assert!(
        decisions.iter().any(|d| d["data"]["choice"] == "rollback"),
        "{decisions:?}"
    );
}
