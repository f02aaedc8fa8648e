//! Driving a run in the shared journal (a real PostgreSQL, support/postgres.rs):
//! the driver writes every record to the database as its database user,
//! other users vote and follow from other directories, a second driver is
//! refused with who holds the run, the database going away mid-run pauses
//! the run without losing a record, and a driver killed with SIGKILL is
//! resumed from another working directory.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::postgres::{Database, Postgres, shared};
use crate::support::run::{kill9, wait_exit, wait_until};

const PEOPLE: &[(&str, &str)] = &[
    ("op", "cutover_operator"),
    ("op2", "cutover_operator"),
    ("alice", "cutover_approver"),
    ("bob", "cutover_approver"),
    ("vic", "cutover_viewer"),
];

/// `cutover ARGS --journal-url URL-of-person`, run in `dir`.
fn as_person(dir: &Path, db: &Database, person: &str, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(crate::support::cutover::BIN)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CUTOVER_ACTOR")
        .args(args)
        .args(["--journal-url", &db.url(person)])
        .stdin(Stdio::null())
        .output()
        .expect("run cutover");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `cutover run runbook.toml --run-id r --wait` driven by `person`.
fn spawn_driver(c: &Cutover, db: &Database, person: &str, extra: &[&str]) -> Child {
    c.command()
        .args(["run", "runbook.toml", "--run-id", "r", "--wait"])
        .args(extra)
        .args(["--journal-url", &db.url(person)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the driver")
}

/// The run's records in the database, read with `journal export` by `person`.
fn exported(db: &Database, person: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = as_person(dir.path(), db, person, &["journal", "export", "r"]);
    if code != 0 {
        assert!(err.contains("no run `r`"), "{err}");
        return Vec::new();
    }
    out.lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn has(records: &[Value], kind: &str, step: Option<&str>) -> bool {
    records
        .iter()
        .any(|r| r["type"] == kind && step.is_none_or(|s| r["data"]["step"] == s))
}

fn completed(records: &[Value]) -> bool {
    records
        .iter()
        .any(|r| r["type"] == "run_finished" && r["data"]["outcome"] == "completed")
}

fn wait_for_record(db: &Database, kind: &str, step: Option<&str>) {
    wait_until(
        &format!("a `{kind}` record in the shared journal"),
        Duration::from_secs(30),
        || has(&exported(db, "vic"), kind, step),
    );
}

fn assert_contiguous(records: &[Value]) {
    let seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "seq is contiguous from 1");
}

#[test]
fn a_run_driven_in_the_shared_journal_takes_votes_from_other_database_users() {
    let db = shared().database(PEOPLE);
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "shared-drive"

[[step]]
id = "prep"
run = "echo prep >> effects"

[[step]]
id = "switch"
approval = { required = true, min = 2, reason = true, timeout = "60s" }
run = "echo switch >> effects"
"#,
    );
    let driver = spawn_driver(&c, &db, "op", &[]);
    wait_for_record(&db, "approval_requested", Some("switch"));
    // Followers on any host see the run driven (not stopped).
    let elsewhere = tempfile::tempdir().unwrap();
    let (code, view, err) = as_person(
        elsewhere.path(),
        &db,
        "vic",
        &["status", "r", "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let view: Value = serde_json::from_str(&view).unwrap();
    assert_eq!(view["driven"], true, "{view}");
    assert_ne!(view["state"], "stopped", "{view}");

    // A second driver, on any host, is told who holds the run.
    let (code, _, err) = as_person(elsewhere.path(), &db, "op2", &["resume", "r"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("is being driven by") && err.contains(&db.user("op")),
        "{err}"
    );
    // `--as` is refused: the driver is the database user.
    let (code, _, err) = as_person(
        elsewhere.path(),
        &db,
        "op2",
        &["run", "x.toml", "--as", "mallory"],
    );
    assert_ne!(code, 0);
    assert!(err.contains("`--as mallory`"), "{err}");
    // The background hypercare watch takes a run over through the file
    // journal's lock: refused with the shared journal, before anything starts.
    std::fs::copy(
        c.path("runbook.toml"),
        elsewhere.path().join("runbook.toml"),
    )
    .unwrap();
    let (code, _, err) = as_person(
        elsewhere.path(),
        &db,
        "op2",
        &[
            "run",
            "runbook.toml",
            "--run-id",
            "r9",
            "--detach-hypercare",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("does not work with the shared journal yet"),
        "{err}"
    );

    // A viewer's vote is refused by the database; two approvers' count.
    let (code, _, err) = as_person(
        elsewhere.path(),
        &db,
        "vic",
        &["approve", "r", "switch", "--reason", "me too"],
    );
    assert_eq!(code, 1, "{err}");
    for person in ["alice", "bob"] {
        let (code, _, err) = as_person(
            elsewhere.path(),
            &db,
            person,
            &["approve", "r", "switch", "--reason", "checked"],
        );
        assert_eq!(code, 0, "{person}: {err}");
    }
    let (code, err) = wait_exit(driver, Duration::from_secs(30));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "prep\nswitch\n"
    );

    let records = exported(&db, "vic");
    assert_contiguous(&records);
    assert!(completed(&records), "{records:?}");
    // Every record the driver wrote is its database user's; the votes are
    // the voters'.
    for r in &records {
        let actor = r["actor"].as_str().unwrap();
        let expected = match r["type"].as_str().unwrap() {
            "approval_granted" | "approval_decided" => {
                [db.user("alice"), db.user("bob")].contains(&actor.to_string())
            }
            _ => actor == db.user("op"),
        };
        assert!(expected, "{r}");
        assert!(r.get("as").is_none(), "{r}");
    }
    // The run is no longer driven: another operator may take it (it has ended).
    let (code, _, err) = as_person(elsewhere.path(), &db, "op2", &["resume", "r"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("completed"), "{err}");
}

#[test]
fn the_database_stopped_mid_run_pauses_the_run_and_loses_nothing() {
    let pg = Postgres::start_private();
    let db = pg.database(PEOPLE);
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "outage"

[[step]]
id = "one"
run = "echo one >> effects"

[[step]]
id = "wait"
run = "touch waiting; n=0; until [ -e go ] || [ $n -ge 600 ]; do sleep 0.05; n=$((n+1)); done; echo wait >> effects"

[[step]]
id = "three"
run = "echo three >> effects"
"#,
    );
    let driver = spawn_driver(&c, &db, "op", &[]);
    wait_until("the waiting step", Duration::from_secs(30), || {
        c.path("waiting").exists()
    });
    // The step ends while the database is down: its end cannot be made
    // durable, so the next step must not start until the database is back.
    let during = std::thread::spawn({
        let go = c.path("go");
        let effects = c.path("effects");
        move || {
            std::thread::sleep(Duration::from_millis(500));
            std::fs::write(go, "").unwrap();
            // Still down (3 s from when it stopped): what ran by now.
            std::thread::sleep(Duration::from_secs(2));
            std::fs::read_to_string(effects).unwrap_or_default()
        }
    });
    let stopped = Instant::now();
    let stopped_at = ms_of_day(std::time::SystemTime::now());
    pg.outage(Duration::from_secs(3));
    let back = Instant::now();
    let effects_during = during.join().unwrap();
    assert!(
        effects_during.contains("wait") && !effects_during.contains("three"),
        "a step started while the journal was down: {effects_during}"
    );
    let (code, err) = wait_exit(driver, Duration::from_mins(1));
    assert_eq!(code, 0, "{err}");
    assert!(back - stopped >= Duration::from_secs(3));
    assert!(err.contains("unreachable"), "{err}");
    assert!(err.contains("is back after"), "{err}");
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "one\nwait\nthree\n"
    );
    let records = exported(&db, "vic");
    assert_contiguous(&records);
    for step in ["one", "wait", "three"] {
        let finished = records
            .iter()
            .filter(|r| {
                r["type"] == "step_state"
                    && r["data"]["step"] == step
                    && r["data"]["state"] == "done"
            })
            .count();
        assert_eq!(finished, 1, "step `{step}` finished once: {records:?}");
    }
    assert!(completed(&records));
    let three_started = records
        .iter()
        .find(|r| r["type"] == "step_state" && r["data"]["step"] == "three")
        .map(|r| chrono_ms(r["ts"].as_str().unwrap()))
        .unwrap();
    assert!(
        three_started >= stopped_at + 3000,
        "step `three` started {} ms after the database was stopped for 3 s",
        three_started - stopped_at
    );
}

/// Milliseconds since midnight UTC, like [`chrono_ms`] of a journal time.
fn ms_of_day(t: std::time::SystemTime) -> i64 {
    let since = t.duration_since(std::time::UNIX_EPOCH).unwrap();
    i64::try_from((since.as_secs() % 86_400) * 1000 + u64::from(since.subsec_millis())).unwrap()
}

#[test]
fn a_driver_killed_with_sigkill_is_resumed_from_another_directory() {
    let db = shared().database(PEOPLE);
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "crash"

[[step]]
id = "prep"
run = "echo prep >> effects"

[[step]]
id = "wait"
idempotent = true
run = "touch waiting; n=0; until [ -e go ] || [ $n -ge 600 ]; do sleep 0.05; n=$((n+1)); done; echo wait >> effects"

[[step]]
id = "last"
run = "echo last >> effects"
"#,
    );
    let mut driver = c
        .command()
        .args(["run", "runbook.toml", "--run-id", "r"])
        .args(["--journal-url", &db.url("op")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_record(&db, "process_started", Some("wait"));
    kill9(&mut driver);
    let _ = driver.wait();
    // The driver's session ended with it: the room sees the run stopped.
    wait_until("the run shown stopped", Duration::from_secs(10), || {
        let (_, view, _) = as_person(c.dir(), &db, "vic", &["status", "r", "--format", "json"]);
        serde_json::from_str::<Value>(&view).is_ok_and(|v| v["state"] == "stopped")
    });

    // Another host: its own checkout of the project (the same runbook at
    // the same relative path), another operator; the run is in the database.
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(c.path("runbook.toml"), other.path().join("runbook.toml")).unwrap();
    std::fs::write(other.path().join("go"), "").unwrap();
    let (code, _, err) = as_person(other.path(), &db, "op2", &["resume", "r"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("decision by"),
        "the idempotent step is re-run: {err}"
    );
    let here = std::fs::read_to_string(c.path("effects")).unwrap();
    assert_eq!(here, "prep\n", "nothing ran twice on the crashed host");
    let there = std::fs::read_to_string(other.path().join("effects")).unwrap();
    assert_eq!(there, "wait\nlast\n", "{err}");
    let records = exported(&db, "vic");
    assert_contiguous(&records);
    assert!(has(&records, "run_resumed", None));
    assert!(completed(&records));
    let resumed_by = records
        .iter()
        .find(|r| r["type"] == "run_resumed")
        .map(|r| r["actor"].as_str().unwrap().to_string());
    assert_eq!(resumed_by, Some(db.user("op2")));
}

#[test]
fn the_runbook_names_its_shared_journal_and_its_password_never_shows() {
    let db = shared().database(PEOPLE);
    let c = Cutover::new()
        .runbook(
            r#"
[runbook]
name = "from-runbook"

[secrets]
journal_url = { env = "JOURNAL_URL" }

[journal]
url = "{{ secrets.journal_url }}"

[[step]]
id = "leak"
dry_run = "run"
run = "echo \"url=$CUTOVER_JOURNAL_URL pw=$PGPW\""
"#,
        )
        .env("JOURNAL_URL", db.url("op"))
        .env("CUTOVER_JOURNAL_URL", db.url("op"))
        .env("PGPW", db.password("op"));
    // The runbook's URL: no `--journal-url`, no environment variable read
    // by cutover itself (CUTOVER_JOURNAL_URL is set for the step only).
    let out = c
        .command()
        .env_remove("CUTOVER_JOURNAL_URL")
        .args(["run", "runbook.toml", "--run-id", "r"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        !c.path(".cutover/runs/r").exists(),
        "no local journal was written"
    );
    let records = exported(&db, "vic");
    assert!(completed(&records));
    let line = records
        .iter()
        .find(|r| r["type"] == "output")
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(line.contains("pw=***"), "{records:?}");
    // The step's environment holds the URL given to cutover (the password
    // masked in the journal, the terminal and the report).
    let (_, report, _) = as_person(c.dir(), &db, "vic", &["report", "r"]);
    for text in [line.as_str(), &err, &report] {
        assert!(!text.contains(&db.password("op")), "{text}");
    }

    // With the URL in the environment, the step sees it; it is masked too.
    let out = c
        .command()
        .args(["run", "runbook.toml", "--run-id", "r2"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let (_, text, _) = as_person(c.dir(), &db, "vic", &["journal", "export", "r2"]);
    assert!(text.contains("pw=***"), "{text}");
    assert!(!text.contains(&db.password("op")), "{text}");
    assert!(!err.contains(&db.password("op")), "{err}");
}

/// Who watches and writes while the driver runs: `followers` followers,
/// `writers` people each noting, then waiting `pause` seconds (0: as fast
/// as they can).
#[derive(Clone, Copy)]
struct Load {
    followers: usize,
    writers: usize,
    pause: f64,
}

const QUIET: Load = Load {
    followers: 0,
    writers: 0,
    pause: 0.0,
};

/// A busy war room: 50 followers, 10 people noting once a second each.
const WAR_ROOM: Load = Load {
    followers: 50,
    writers: 10,
    pause: 1.0,
};

/// A stress test: 50 followers, 10 people noting as fast as they can.
const STRESS: Load = Load {
    followers: 50,
    writers: 10,
    pause: 0.0,
};

/// Processes killed when dropped, so a failed benchmark leaves none behind.
struct Reaped(Vec<Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The steps of the overhead benchmark.
const BENCH_STEPS: usize = 200;

/// A runbook whose first step waits for `go` (so followers can attach to
/// the run first) and then `BENCH_STEPS` steps that do nothing.
fn bench_runbook() -> String {
    let mut text = String::from(
        "[runbook]\nname = \"bench\"\n\n[[step]]\nid = \"start\"\ndry_run = \"run\"\nrun = \"n=0; until [ -e go ] || [ $n -ge 1200 ]; do sleep 0.05; n=$((n+1)); done\"\n",
    );
    for i in 0..BENCH_STEPS {
        let _ = write!(
            text,
            "\n[[step]]\nid = \"s{i}\"\ndry_run = \"run\"\nrun = \"true\"\n"
        );
    }
    text
}

/// Milliseconds per step from the end of `start` to the end of the run,
/// read from the journal's own timestamps.
fn per_step_ms(records: &[Value]) -> f64 {
    let ts = |r: &Value| chrono_ms(r["ts"].as_str().unwrap());
    let begin = records
        .iter()
        .find(|r| {
            r["type"] == "step_state"
                && r["data"]["step"] == "start"
                && r["data"]["state"] == "done"
        })
        .map(ts)
        .expect("start done");
    let end = records
        .iter()
        .find(|r| r["type"] == "run_finished")
        .map(ts)
        .expect("run finished");
    (end - begin) as f64 / BENCH_STEPS as f64
}

/// `2026-12-06T11:15:32.818Z` as milliseconds since the day began (runs
/// here never cross midnight... unless they do: then add a day).
fn chrono_ms(ts: &str) -> i64 {
    let time = &ts[11..23];
    let h: i64 = time[0..2].parse().unwrap();
    let m: i64 = time[3..5].parse().unwrap();
    let s: i64 = time[6..8].parse().unwrap();
    let ms: i64 = time[9..12].parse().unwrap();
    ((h * 60 + m) * 60 + s) * 1000 + ms
}

/// Drive the benchmark runbook once in `c` (its journal where `url` says,
/// or a local file), with `followers` followers and `writers` people
/// noting while it runs; the per-step milliseconds.
fn drive_once(c: &Cutover, db: &Database, run_id: &str, shared: bool, load: Load) -> f64 {
    let Load {
        followers,
        writers,
        pause,
    } = load;
    let _ = std::fs::remove_file(c.path("go"));
    let mut run = c.command();
    run.args(["run", "runbook.toml", "--run-id", run_id, "--no-progress"]);
    if shared {
        run.args(["--journal-url", &db.url("op")]);
    }
    // A file, not a pipe: the driver prints a line per note, more than a
    // pipe nobody reads holds.
    let log = std::fs::File::create(c.path(&format!("{run_id}.log"))).unwrap();
    let mut driver = run
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let source = |args: &mut std::process::Command| {
        if shared {
            args.args(["--journal-url", &db.url("vic")]);
        }
    };
    wait_until("the run to start", Duration::from_secs(30), || {
        let mut status = c.command();
        status.args(["status", run_id, "--format", "json"]);
        source(&mut status);
        status.output().is_ok_and(|o| o.status.success())
    });
    let mut others = Reaped(
        (0..followers)
            .map(|_| {
                let mut follow = c.command();
                follow.args(["status", run_id, "--follow", "--format", "json"]);
                source(&mut follow);
                follow
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect(),
    );
    for w in 0..writers {
        let script = format!(
            "for i in $(seq 1 1000); do \"$0\" note {run_id} \"note $i from {w}\" \"$@\" >/dev/null 2>&1 || exit 0; sleep {pause}; done"
        );
        let mut sh = std::process::Command::new("sh");
        sh.current_dir(c.dir())
            .args(["-c", &script, crate::support::cutover::BIN]);
        if shared {
            sh.args(["--journal-url", &db.url("vic")]);
        }
        others.0.push(
            sh.stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    // Followers attached: go.
    std::thread::sleep(Duration::from_secs(1));
    std::fs::write(c.path("go"), "").unwrap();
    let deadline = Instant::now() + Duration::from_mins(5);
    let status = loop {
        if let Some(status) = driver.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            kill9(&mut driver);
            panic!("run {run_id} did not end in 5 minutes");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(others);
    let err = std::fs::read_to_string(c.path(&format!("{run_id}.log"))).unwrap_or_default();
    assert!(status.success(), "{err}");
    let text = if shared {
        as_person(c.dir(), db, "vic", &["journal", "export", run_id]).1
    } else {
        std::fs::read_to_string(c.path(&format!(".cutover/runs/{run_id}/journal.jsonl"))).unwrap()
    };
    let records: Vec<Value> = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    per_step_ms(&records)
}

/// The driver's per-step overhead: the shared journal against the local
/// file, and with 50 followers and 10 people noting against none (goal:
/// within 1.2×). Each figure is the median of 3 runs of 200 empty steps.
#[test]
#[ignore = "benchmark: run with `scripts/bench-shared-drive` or `-- --ignored --nocapture`"]
fn driver_overhead_benchmark() {
    let mut people: Vec<(&str, &str)> = PEOPLE.to_vec();
    let writers: Vec<String> = (0..10).map(|i| format!("w{i}")).collect();
    people.extend(writers.iter().map(|w| (w.as_str(), "cutover_viewer")));
    let db = shared().database(&people);
    let c = Cutover::new().runbook(&bench_runbook());
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut n = 0;
    let mut measure = |shared: bool, load: Load| {
        median(
            (0..3)
                .map(|_| {
                    n += 1;
                    drive_once(&c, &db, &format!("b{n}"), shared, load)
                })
                .collect(),
        )
    };
    let stress = std::env::var_os("CUTOVER_BENCH_STRESS").is_some();
    let (busy, what) = if stress {
        (STRESS, "50 followers, 10 people noting as fast as they can")
    } else {
        (
            WAR_ROOM,
            "50 followers, 10 people noting once a second each",
        )
    };
    println!(
        "per-step time of the driver, {BENCH_STEPS} empty steps, median of 3 runs; busy: {what}"
    );
    let file = measure(false, QUIET);
    println!("  file journal, quiet:   {file:.2} ms");
    let file_busy = measure(false, busy);
    println!(
        "  file journal, busy:    {file_busy:.2} ms ({:.2}x quiet)",
        file_busy / file
    );
    let shared_quiet = measure(true, QUIET);
    println!(
        "  shared journal, quiet: {shared_quiet:.2} ms ({:.2}x the file journal)",
        shared_quiet / file
    );
    let shared_busy = measure(true, busy);
    println!(
        "  shared journal, busy:  {shared_busy:.2} ms ({:.2}x quiet; goal <= 1.2x; the file journal's busy/quiet: {:.2}x)",
        shared_busy / shared_quiet,
        file_busy / file
    );
}

#[test]
fn hypercare_of_a_run_in_the_shared_journal_is_ended_early_from_another_host() {
    let db = shared().database(PEOPLE);
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "hypercare-shared"

[hypercare]
duration = "10m"

[[step]]
id = "switch"
dry_run = "run"
run = "echo switch >> effects"
"#,
    );
    let driver = spawn_driver(&c, &db, "op", &[]);
    wait_for_record(&db, "hypercare_started", None);
    let elsewhere = tempfile::tempdir().unwrap();
    // A viewer may not end it; an operator on another host may, with a reason.
    let (code, _, err) = as_person(
        elsewhere.path(),
        &db,
        "vic",
        &["resume", "r", "--end-hypercare", "--reason", "all green"],
    );
    assert_ne!(code, 0, "{err}");
    let (code, _, err) = as_person(
        elsewhere.path(),
        &db,
        "op2",
        &["resume", "r", "--end-hypercare", "--reason", "all green"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("the process driving the run completes it"),
        "{err}"
    );
    let (code, err) = wait_exit(driver, Duration::from_secs(30));
    assert_eq!(code, 0, "{err}");
    let records = exported(&db, "vic");
    assert!(completed(&records), "{records:?}");
    let ended = records
        .iter()
        .find(|r| r["type"] == "hypercare_ended")
        .unwrap();
    assert_eq!(ended["actor"].as_str(), Some(db.user("op2").as_str()));
}
