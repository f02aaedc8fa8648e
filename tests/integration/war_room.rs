//! The war room's issue 15 end to end: `status --follow` through a whole
//! launch night (a go/no-go pause, a vote from another terminal, a resume,
//! a manual step marked done elsewhere), `latest` and prefixes, `.cutover/`
//! found from a subdirectory, `--wait` through a manual step, owners, an
//! escalation that notifies, and PagerDuty paging and resolving once.

use std::io::BufRead as _;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::http_server::{HttpServer, Reply};
use crate::support::journal::{journal, of_type, outcome};
use crate::support::run::{
    bin, cutover_exits, spawn_run, wait_exit, wait_for, wait_for_type, wait_until,
};

/// `cutover status r --follow --format json` in the background, its lines
/// collected as they come.
struct Follow {
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Follow {
    fn start(c: &Cutover, run: &str) -> Follow {
        let mut child = bin(c)
            .args(["status", run, "--follow", "--format", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not one JSON object per line: {e}: {line}"));
                sink.lock().unwrap().push(v);
            }
        });
        Follow {
            child,
            lines,
            reader,
        }
    }

    /// Wait (20 s at most) for a view `pred` accepts.
    fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) {
        wait_until(what, Duration::from_secs(20), || {
            self.lines.lock().unwrap().iter().any(&pred)
        });
    }

    fn views(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }
}

const NIGHT: &str = r#"
[runbook]
name = "night"

[[step]]
id = "prep"
owner = "alice"
run = "true"

[[step]]
id = "switch"
owner = "team:dba"
approval = { required = true }
run = "echo switched >> effects"
rollback = "true"

[[step]]
id = "dns"
owner = "bob"
manual = "flip the DNS record"
timeout = "2m"

[[step]]
id = "verify"
run = "true"
"#;

#[test]
fn follow_keeps_emitting_through_a_pause_a_vote_a_resume_and_a_manual_step_then_exits_0() {
    let c = Cutover::new().runbook(NIGHT);
    // Headless without --wait: the go/no-go pauses the run at once.
    cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 4);
    let follow = Follow::start(&c, "r");
    follow.wait_for("the paused view", |v| v["state"] == "paused");
    let paused = follow.views()[0].clone();
    let approval = paused["waiting_for"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["kind"] == "approval")
        .unwrap_or_else(|| panic!("{paused}"));
    assert_eq!(approval["step"], "switch");
    assert_eq!(
        approval["commands"][0],
        "cutover approve r switch --reason \"...\""
    );
    assert_eq!(paused["steps"][1]["owner"], "team:dba");

    // A vote from another terminal: the follow shows it (the run stays paused).
    cutover_exits(&c, &["approve", "r", "switch", "--as", "carol"], 0);
    follow.wait_for("the vote", |v| {
        v["approvals"][0]["decided"]["decision"] == "go"
    });
    // Another process resumes it and waits for the manual step.
    let resume = bin(&c)
        .args(["resume", "r", "--wait"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    follow.wait_for("the manual step waiting", |v| {
        v["state"] == "running"
            && v["waiting_for"]
                .as_array()
                .is_some_and(|w| w.iter().any(|w| w["commands"][0] == "cutover done r dns"))
    });
    cutover_exits(&c, &["done", "r", "dns", "--as", "bob"], 0);
    let (code, stderr) = wait_exit(resume, Duration::from_secs(20));
    assert_eq!(code, 0, "{stderr}");
    // The follow saw it complete, and left with 0.
    let (code, _) = wait_exit(follow.child, Duration::from_secs(5));
    assert_eq!(code, 0);
    let _ = follow.reader.join();
    let views = follow.lines.lock().unwrap().clone();
    let last = views.last().unwrap();
    assert_eq!(last["state"], "completed", "{last}");
    assert_eq!(last["waiting_for"], Value::Array(vec![]));
    // Every view is `status --format json`'s object.
    for v in &views {
        for key in [
            "run_id",
            "state",
            "steps",
            "approvals",
            "waiting_for",
            "last_seq",
        ] {
            assert!(v.get(key).is_some(), "{key}: {v}");
        }
    }
    let states: Vec<&str> = views.iter().map(|v| v["state"].as_str().unwrap()).collect();
    assert!(
        states.contains(&"paused") && states.contains(&"running"),
        "{states:?}"
    );
    // The milestone-free story is in the journal too.
    let j = journal(&c, "r");
    assert_eq!(outcome(&j), "completed");
    assert_eq!(of_type(&j, "manual_done")[0]["as"], "bob");
}

#[test]
fn status_shows_cutover_done_at_once_and_who_marked_it() {
    let c = Cutover::new().runbook(NIGHT);
    cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r", "--yes"], 4);
    // Paused at the manual step, with nobody driving: `done` shows at once.
    cutover_exits(
        &c,
        &["done", "r", "dns", "--as", "bob", "--note", "TTL 60"],
        0,
    );
    let out = bin(&c)
        .args(["status", "r", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dns = &v["steps"][2];
    assert_eq!(dns["state"], "done", "{v}");
    assert!(
        dns["detail"]
            .as_str()
            .is_some_and(|d| d.contains("marked done by") && d.contains("(as bob): TTL 60")),
        "{dns}"
    );
    assert!(
        !v["waiting_for"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["kind"] == "manual"),
        "{v}"
    );
}

#[test]
fn after_a_rollback_unrun_steps_are_cancelled_and_no_go_no_go_is_pending() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "rb"
max_parallel = 2

[[step]]
id = "a"
run = "true"
rollback = "true"

[[step]]
id = "b"
needs = ["a"]
run = "exit 3"
rollback = "true"

[[step]]
id = "gate"
needs = ["a"]
approval = { required = true }
run = "true"

[[step]]
id = "later"
needs = ["b", "gate"]
run = "true"
"#,
    );
    let child = spawn_run(&c, &["--wait"]);
    let (code, stderr) = wait_exit(child, Duration::from_secs(20));
    assert_eq!(code, 3, "{stderr}");
    let out = bin(&c)
        .args(["status", "r", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let state_of = |id: &str| {
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state_of("later"), "cancelled", "{v}");
    assert_eq!(state_of("gate"), "cancelled", "{v}");
    assert!(
        v["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["pending"] == false),
        "{v}"
    );
    let text = String::from_utf8(bin(&c).args(["status", "r"]).output().unwrap().stdout).unwrap();
    assert!(!text.contains("PENDING"), "{text}");
}

#[test]
fn latest_and_prefixes_name_a_run_from_any_subdirectory() {
    let c = Cutover::new()
        .runbook("[runbook]\nname = \"n\"\n\n[[step]]\nid = \"a\"\nrun = \"true\"\n")
        .file("deep/er/keep", "");
    for id in ["pay-1", "pay-2"] {
        cutover_exits(&c, &["run", "runbook.toml", "--run-id", id], 0);
    }
    let in_deep = |args: &[&str]| {
        let out = bin(&c)
            .current_dir(c.path("deep/er"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = in_deep(&["status", "latest"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("run `pay-2` (n): COMPLETED"), "{out}");
    let (code, out, _) = in_deep(&["status", "pay-1"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("run `pay-1`"), "{out}");
    let (code, _, err) = in_deep(&["status", "pay"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("`pay` names more than one run: `pay-1`, `pay-2`; give more of the run id"),
        "{err}"
    );
    // Every command that takes a run: a note on the latest one, by prefix.
    let (code, _, err) = in_deep(&["note", "latest", "from the basement"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        of_type(&journal(&c, "pay-2"), "note")[0]["data"]["text"],
        "from the basement"
    );
    let (code, _, err) = in_deep(&["runs"]);
    assert_eq!(code, 0, "{err}");
    // CUTOVER_DIR names the place from anywhere.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = bin(&c)
        .current_dir(elsewhere.path())
        .env("CUTOVER_DIR", c.path(".cutover"))
        .args(["status", "latest", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["run_id"], "pay-2");
}

#[test]
fn a_run_from_a_subdirectory_journals_in_the_project_and_resumes_from_anywhere() {
    let c = Cutover::new()
        .runbook(NIGHT)
        .file(".cutover/runs/.keep", "")
        .file("sub/keep", "");
    let out = bin(&c)
        .current_dir(c.path("sub"))
        .args(["run", "../runbook.toml", "--run-id", "s"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(c.path(".cutover/runs/s/journal.jsonl").is_file());
    assert!(!c.path("sub/.cutover").exists());
    // Started in the project's directory, resumed from a subdirectory: the
    // runbook path it was started with (`runbook.toml`) is the project's.
    cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 4);
    cutover_exits(&c, &["approve", "r", "switch", "--as", "carol"], 0);
    let out = bin(&c)
        .current_dir(c.path("sub"))
        .args(["resume", "r"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("cutover done r dns"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "switched\n"
    );
}

#[test]
fn readiness_finds_the_dry_run_from_a_subdirectory() {
    let c = Cutover::new()
        .runbook("[runbook]\nname = \"n\"\n\n[[step]]\nid = \"a\"\nrun = \"true\"\n")
        .file(
            "checks/launch.toml",
            "[checklist]\nname = \"launch\"\n\n[[item]]\nid = \"rehearsed\"\ntitle = \"dry run\"\ndry_run_passed = { runbook = \"n\", within = \"1d\" }\n",
        );
    cutover_exits(
        &c,
        &["run", "runbook.toml", "--run-id", "d", "--dry-run"],
        0,
    );
    let out = bin(&c)
        .current_dir(c.path("checks"))
        .args(["check", "launch.toml"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(c.path(".cutover/checks/history.jsonl").is_file());
    assert!(!c.path("checks/.cutover").exists());
}

#[test]
fn wait_goes_through_a_manual_step_marked_done_from_another_process() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "manual"

[[step]]
id = "dns"
manual = "flip the DNS record"
timeout = "5m"

[[step]]
id = "verify"
run = "echo verified >> effects"
"#,
    );
    let child = spawn_run(&c, &["--wait"]);
    wait_for(&c, "the manual step waiting", |r| {
        r["type"] == "step_state" && r["data"]["state"] == "awaiting_operator"
    });
    cutover_exits(&c, &["done", "r", "dns", "--as", "bob"], 0);
    let (code, stderr) = wait_exit(child, Duration::from_secs(20));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "manual step `dns` waits up to 5m (its timeout); mark it done from any terminal: cutover done r dns"
        ),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(c.path("effects")).unwrap(),
        "verified\n"
    );
    let j = journal(&c, "r");
    assert_eq!(outcome(&j), "completed");
    assert!(of_type(&j, "paused").is_empty());
}

#[test]
fn an_escalation_is_journaled_and_notified_with_the_command() {
    let hook = HttpServer::start();
    hook.route("POST", "/hook", [Reply::new(200)]);
    let c = Cutover::new().runbook(&format!(
        r#"
[runbook]
name = "esc"

[teams]
leads = ["carol", "dan"]

[notify.room]
url = "{}/hook"
events = ["approval_pending", "approval_escalated"]

[[step]]
id = "switch"
owner = "team:dba"
approval = {{ required = true, escalate_after = "1s", escalate_to = ["team:leads"] }}
run = "true"
"#,
        hook.url()
    ));
    let child = spawn_run(&c, &["--wait"]);
    wait_for_type(&c, "approval_escalated");
    cutover_exits(&c, &["approve", "r", "switch", "--as", "carol"], 0);
    let (code, stderr) = wait_exit(child, Duration::from_secs(20));
    assert_eq!(code, 0, "{stderr}");
    let j = journal(&c, "r");
    let reminded = of_type(&j, "approval_reminder");
    let escalated = of_type(&j, "approval_escalated");
    assert_eq!((reminded.len(), escalated.len()), (1, 1));
    assert_eq!(escalated[0]["data"]["to"][0], "team:leads");
    assert!(escalated[0]["data"]["waited_ms"].as_u64().unwrap() >= 1000);
    let bodies: Vec<Value> = hook
        .requests()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let esc = bodies
        .iter()
        .find(|b| b["event"] == "approval_escalated")
        .unwrap_or_else(|| panic!("{bodies:?}"));
    assert!(
        esc["text"]
            .as_str()
            .unwrap()
            .contains("ESCALATED to team:leads (carol, dan): step `switch` has waited"),
        "{esc}"
    );
    assert_eq!(esc["command"], "cutover approve r switch --reason \"...\"");
    assert_eq!(esc["owner"], "team:dba");
    let reminders = bodies
        .iter()
        .filter(|b| b["event"] == "approval_pending")
        .count();
    assert_eq!(reminders, 2, "the request, then the reminder: {bodies:?}");
}

/// The Events API v2's answer to an accepted event (`202 Accepted`).
fn accepted() -> Reply {
    Reply::json(
        202,
        r#"{"status":"success","message":"Event processed","dedup_key":"cutover/r"}"#,
    )
}

#[test]
fn pagerduty_pages_on_a_fired_trigger_and_resolves_when_the_rollback_finishes() {
    let pd = HttpServer::start();
    pd.route("POST", "/v2/enqueue", [accepted()]);
    let c = Cutover::new()
        .runbook(&format!(
            r#"
[runbook]
name = "paged"

[secrets]
pd_key = {{ env = "PD_ROUTING_KEY" }}

[notify.oncall]
kind = "pagerduty"
url = "{}/v2/enqueue"
routing_key = "{{{{ secrets.pd_key }}}}"

[sources.local]
kind = "command"

[[trigger]]
id = "errors"
source = "local"
query = "if [ -e switched ]; then echo 1; else echo 0; fi"
fire_if = "> 0.5"
interval = "100ms"
action = "rollback"

[[step]]
id = "switch"
owner = "team:dba"
run = "touch switched; sleep 5"
rollback = "rm -f switched"
"#,
            pd.url()
        ))
        .env("PD_ROUTING_KEY", "R0UT1NG-K3Y-0123456789");
    let child = c
        .command()
        .args(["run", "runbook.toml", "--run-id", "r"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, stderr) = wait_exit(child, Duration::from_secs(30));
    assert_eq!(code, 3, "{stderr}");
    let events: Vec<Value> = pd
        .requests()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["event_action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["trigger", "resolve"], "{events:?}");
    assert!(events.iter().all(|e| e["dedup_key"] == "cutover/r"));
    assert!(
        events
            .iter()
            .all(|e| e["routing_key"] == "R0UT1NG-K3Y-0123456789")
    );
    let page = &events[0]["payload"];
    assert_eq!(page["severity"], "critical");
    assert!(
        page["summary"]
            .as_str()
            .unwrap()
            .contains("trigger `errors` FIRED"),
        "{page}"
    );
    assert_eq!(page["custom_details"]["run_id"], "r");
    let text = std::fs::read_to_string(c.path(".cutover/runs/r/journal.jsonl")).unwrap();
    assert!(!text.contains("R0UT1NG-K3Y"), "the routing key is a secret");
    assert!(of_type(&journal(&c, "r"), "notify_failed").is_empty());
}

#[test]
fn the_report_credits_each_step_to_its_owner() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "owned"

[teams]
dba = ["carol"]

[[step]]
id = "prep"
owner = "alice"
run = "true"
rollback = "true"

[[step]]
id = "switch"
owner = "team:dba"
run = "true"
rollback = "true"

[[step]]
id = "tidy"
run = "true"
rollback = "true"
"#,
    );
    cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 0);
    let out = bin(&c)
        .args(["report", "r", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["steps"]["prep"]["owner"], "alice");
    assert_eq!(report["steps"]["switch"]["owner"], "team:dba");
    assert!(report["steps"]["tidy"].get("owner").is_none(), "{report}");
    let out = bin(&c).args(["report", "r"]).output().unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    let row = |id: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {id}")))
            .unwrap_or_else(|| panic!("no row for {id} in:\n{md}"))
            .to_string()
    };
    assert!(
        row("prep").starts_with("| prep (alice) |"),
        "{}",
        row("prep")
    );
    assert!(
        row("switch").starts_with("| switch (team:dba) |"),
        "{}",
        row("switch")
    );
    assert!(row("tidy").starts_with("| tidy |"), "{}", row("tidy"));
}
