//! `cutover check`, `attest`, `waive` and checklist validation, run as users
//! run them: against the shared real Prometheus, a closed port, and files
//! in a temporary directory.

use serde_json::Value;

use crate::support::cutover::{Cutover, Output};
use crate::support::prometheus::{free_port, shared};

/// Fixed "now" so that expiry is deterministic.
const NOW: &str = "2026-11-25T12:00:00Z";

fn job(name: &str) -> String {
    format!("checks_{name}_{}", std::process::id())
}

fn checklist(prom_url: &str, items: &str) -> String {
    format!(
        r#"[checklist]
name = "launch"
owner = "team-payments"

[sources.prom]
kind = "prometheus"
url = "{prom_url}"
timeout = "2s"

{items}
"#
    )
}

fn check(text: &str, extra: &[&str]) -> (Cutover, Output) {
    let c = Cutover::new()
        .file("checks/launch.toml", text)
        .env("CUTOVER_NOW", NOW)
        .args(["check", "checks/launch.toml"])
        .args(extra.iter().copied());
    let out = c.run();
    (c, out)
}

/// `launch.toml` holding `text`, with the clock pinned to `NOW`.
fn launch(text: &str) -> Cutover {
    Cutover::new()
        .file("launch.toml", text)
        .env("CUTOVER_NOW", NOW)
}

/// `cutover ARGS` with `c`'s environment: (exit code, stdout, stderr).
fn cli(c: &Cutover, args: &[&str]) -> (i32, String, String) {
    let out = c.exec(args);
    (out.code, out.stdout, out.stderr)
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("json ({e}): {out:?}"))
}

fn item<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checklists"][0]["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["id"] == id))
        .unwrap_or_else(|| panic!("no item {id} in {report}"))
}

#[test]
fn a_signal_item_passes_then_fails_after_the_pushed_value_changes() {
    let prom = shared();
    let job = job("budget");
    let query = format!("cutover_checks_error_budget{{job=\"{job}\"}}");
    let items = format!(
        r#"[[item]]
id = "error-budget"
title = "Error budget healthy"
source = "prom"
query = '{query}'
pass_if = "> 0.25"
"#
    );
    let text = checklist(&prom.url(), &items);

    prom.push_visible(&job, "cutover_checks_error_budget", "0.8");
    let (_, out) = check(&text, &[]);
    assert_eq!(out.code, 0, "ready: {out:?}");
    assert!(out.stdout.contains("PASS"), "{}", out.stdout);
    assert!(out.stdout.contains("0.8 vs > 0.25"), "{}", out.stdout);
    assert!(out.stdout.contains("readiness: ready"), "{}", out.stdout);

    prom.push_visible(&job, "cutover_checks_error_budget", "0.1");
    let (_, out) = check(&text, &["--format", "json"]);
    assert_eq!(out.code, 1, "not ready: {out:?}");
    let report = json(&out);
    assert_eq!(report["readiness"], "not_ready");
    let budget = item(&report, "error-budget");
    assert_eq!(budget["status"], "fail");
    assert_eq!(budget["value"], "0.1");
    assert_eq!(budget["target"], "> 0.25");
    assert_eq!(budget["measurement"]["value"], 0.1);
}

#[test]
fn prometheus_down_is_an_error_and_never_ready() {
    let text = checklist(
        &format!("http://127.0.0.1:{}", free_port()),
        r#"[[item]]
id = "error-budget"
title = "Error budget healthy"
source = "prom"
query = "slo:error_budget_remaining:ratio"
pass_if = "> 0.25"

[[item]]
id = "smoke"
title = "Smoke test"
run = "true"
"#,
    );
    let (_, out) = check(&text, &[]);
    assert_eq!(
        out.code, 2,
        "could not evaluate, not ready, not ready=0: {out:?}"
    );
    assert!(out.stdout.contains("ERROR"), "{}", out.stdout);
    assert!(out.stdout.contains("unreachable"), "{}", out.stdout);
    assert!(out.stdout.contains("readiness: could not evaluate"));
    let (_, out) = check(&text, &["--format", "json"]);
    assert_eq!(out.code, 2);
    let report = json(&out);
    assert_eq!(report["readiness"], "error");
    assert_eq!(item(&report, "error-budget")["status"], "error");
    assert_eq!(item(&report, "smoke")["status"], "pass");
    assert_eq!(report["checklists"][0]["summary"]["errors"], 1);
    assert_eq!(report["checklists"][0]["summary"]["blockers_failing"], 1);

    // A warning that errors does not fail the gate, unless --fail-on-warn.
    let warn = text.replacen(
        "title = \"Error budget healthy\"",
        "title = \"Error budget healthy\"\nseverity = \"warning\"",
        1,
    );
    assert_eq!(check(&warn, &[]).1.code, 0);
    assert_eq!(check(&warn, &["--fail-on-warn"]).1.code, 2);
}

const EXPIRING: &str = r#"[checklist]
name = "launch"

[[item]]
id = "load-test"
title = "Load test signed off"
owner = "perf-team"
attested = { by = "priya", at = "2026-11-01", evidence = "https://jira/PERF-1", expires = "2026-11-20" }

[[item]]
id = "smoke"
title = "Smoke test"
run = "exit 3"

[[item]]
id = "fresh"
title = "Fresh attestation"
attested = { by = "dana", at = "2026-11-24", evidence = "https://x/1", expires = "2026-12-24" }

[[waiver]]
item = "smoke"
reason = "flaky in CI"
approver = "head-of-sre"
expires = "2026-11-22T08:00:00Z"
"#;

#[test]
fn expired_waivers_and_attestations_fail_and_say_since_when() {
    let (_, out) = check(EXPIRING, &["--format", "json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let report = json(&out);
    let load = item(&report, "load-test");
    assert_eq!(load["status"], "fail");
    let detail = load["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("expired since 2026-11-20"), "{detail}");
    let smoke = item(&report, "smoke");
    assert_eq!(smoke["status"], "fail");
    assert_eq!(smoke["value"], "exit 3");
    let detail = smoke["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("waiver by head-of-sre expired since 2026-11-22T08:00:00Z"),
        "{detail}"
    );
    assert_eq!(smoke["waiver"]["expired"], true);
    assert_eq!(item(&report, "fresh")["status"], "pass");

    // Before the expiry dates, the same file is ready (the waiver covers smoke).
    let out = Cutover::new()
        .file("c.toml", EXPIRING)
        .env("CUTOVER_NOW", "2026-11-19T00:00:00Z")
        .args(["check", "c.toml"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("WAIVED"), "{}", out.stdout);
}

#[test]
fn junit_is_xml_with_one_testcase_per_item() {
    let text = EXPIRING.replace("Smoke test", r#"Smoke <test> & \"quotes\" \u0001"#);
    let (c, out) = check(&text, &["--format", "junit", "--output", "report.xml"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("readiness: not ready"),
        "{}",
        out.stderr
    );
    let parsed = std::process::Command::new(crate::support::tools::require("python3", "python3"))
        .arg("-c")
        .arg(
            "import sys, xml.etree.ElementTree as ET\n\
             root = ET.parse(sys.argv[1]).getroot()\n\
             cases = root.findall('.//testcase')\n\
             print(len(cases), len(root.findall('.//failure')), root.tag)\n\
             print([c.get('name') for c in cases])",
        )
        .arg(c.path("report.xml"))
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&parsed.stdout);
    assert!(
        parsed.status.success(),
        "not well-formed XML: {}\n{}",
        String::from_utf8_lossy(&parsed.stderr),
        std::fs::read_to_string(c.path("report.xml")).unwrap_or_default()
    );
    assert!(stdout.starts_with("3 2 testsuites"), "{stdout}");
    assert!(
        stdout.contains("smoke: Smoke <test> & \"quotes\""),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(c.path("report.xml")).expect("written");
    assert!(xml.contains("measured: exit 3"), "{xml}");
}

#[test]
fn github_output_has_one_annotation_per_failing_item_and_a_step_summary() {
    let c = Cutover::new()
        .file("checks/launch.toml", EXPIRING)
        .env("CUTOVER_NOW", NOW)
        .env("GITHUB_STEP_SUMMARY", "summary.md")
        .args(["check", "checks/launch.toml", "--format", "github"]);
    let out = c.run();
    assert_eq!(out.code, 1, "{out:?}");
    let annotations: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 2, "{}", out.stdout);
    assert!(annotations.iter().all(|a| a.starts_with("::error ")));
    assert!(
        annotations[0].contains("title=launch fail%3A load-test::"),
        "{}",
        annotations[0]
    );
    // Each annotation points at the line of its item's `id`.
    assert!(
        annotations[0].starts_with("::error file=checks/launch.toml,line=5,title="),
        "{}",
        annotations[0]
    );
    assert!(
        annotations[1].starts_with("::error file=checks/launch.toml,line=11,title="),
        "{}",
        annotations[1]
    );
    let summary = std::fs::read_to_string(c.path("summary.md")).expect("summary written");
    assert!(summary.contains("| Item |"), "{summary}");
    assert!(summary.contains("load-test"), "{summary}");
}

#[test]
fn json_output_round_trips_through_serde_json() {
    let (_, out) = check(EXPIRING, &["--format", "json"]);
    let value = json(&out);
    let again: Value = serde_json::from_str(&serde_json::to_string(&value).expect("serialize"))
        .expect("parse again");
    assert_eq!(value, again);
    let typed: cutover::readiness::result::CheckReport =
        serde_json::from_str(&out.stdout).expect("the documented shape");
    assert_eq!(serde_json::to_value(&typed).expect("serialize"), value);
    assert_eq!(typed.checklists[0].items.len(), 3);
}

const COMMENTED: &str = r#"# Launch checklist for payments.
# Keep this file reviewed.

[checklist]
name = "launch"   # shown in CI

# --- people ---

[[item]]
id = "load-test"     # perf signs off
title = "Load test signed off"
# attested below by `cutover attest`

[[item]]
id = "comms"
title = "Comms drafted"
severity = "warning"


# --- end of items ---
"#;

fn keeps_every_line(before: &str, after: &str) {
    let mut rest = after.lines();
    for line in before.lines() {
        assert!(
            rest.any(|l| l == line),
            "line {line:?} lost or moved:\n{after}"
        );
    }
}

#[test]
fn attest_and_waive_keep_every_comment_and_blank_line() {
    let c = launch(COMMENTED);
    let run = |args: &[&str]| cli(&c, args);
    let (code, stdout, stderr) = run(&[
        "attest",
        "launch.toml",
        "load-test",
        "--evidence",
        "https://jira/PERF-1",
        "--expires",
        "7d",
        "--as",
        "priya",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let attested = std::fs::read_to_string(c.path("launch.toml")).expect("read");
    keeps_every_line(COMMENTED, &attested);
    assert!(
        attested.contains(r#"attested = { by = "priya", at = "2026-11-25T12:00:00Z", evidence = "https://jira/PERF-1", expires = "2026-12-02T12:00:00Z" }"#),
        "{attested}"
    );

    let (code, stdout, stderr) = run(&[
        "waive",
        "launch.toml",
        "comms",
        "--reason",
        "status page owner on leave",
        "--approver",
        "vp-eng",
        "--expires",
        "2026-12-01",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let waived = std::fs::read_to_string(c.path("launch.toml")).expect("read");
    keeps_every_line(&attested, &waived);
    assert!(waived.contains("[[waiver]]\nitem = \"comms\""), "{waived}");

    let (code, stdout, stderr) = run(&["validate", "launch.toml"]);
    assert_eq!(code, 0, "the edited file validates: {stdout}{stderr}");
    let (code, stdout, _) = run(&["check", "launch.toml"]);
    assert_eq!(code, 0, "attested + waived = ready: {stdout}");

    // Unknown items are refused with a suggestion, and the file is untouched.
    let (code, _, stderr) = run(&[
        "attest",
        "launch.toml",
        "load-tst",
        "--evidence",
        "https://x",
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("did you mean `load-test`"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(c.path("launch.toml")).expect("read"),
        waived
    );
    let (code, _, stderr) = run(&[
        "waive",
        "launch.toml",
        "comms",
        "--reason",
        "x",
        "--approver",
        "y",
        "--expires",
        "2020-01-01",
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("already past"), "{stderr}");
}

const SUB_TABLE: &str = r#"# Launch checklist with an attestation written as a sub-table.
[checklist]
name = "launch"

[[item]]
id = "a"
title = "A"

# how it was attested
[item.attested]
by = "x"   # who
at = "2026-01-01"
evidence = "https://old"

# the end
"#;

#[test]
fn attest_updates_a_sub_table_attestation_in_place() {
    let c = launch(SUB_TABLE);
    let run = |args: &[&str]| cli(&c, args);
    let (code, stdout, stderr) = run(&[
        "attest",
        "launch.toml",
        "a",
        "--evidence",
        "https://new",
        "--as",
        "me",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let edited = std::fs::read_to_string(c.path("launch.toml")).expect("read");
    // Every comment line and blank line survives, in order.
    let kept: Vec<&str> = SUB_TABLE
        .lines()
        .filter(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        .collect();
    keeps_every_line(&kept.join("\n"), &edited);
    for line in [
        "[item.attested]",
        "by = \"me\"   # who",
        "at = \"2026-11-25T12:00:00Z\"",
        "evidence = \"https://new\"",
    ] {
        assert!(
            edited.lines().any(|l| l == line),
            "{line:?} missing:\n{edited}"
        );
    }
    assert!(!edited.contains("attested="), "{edited}");
    assert!(!edited.contains("https://old"), "{edited}");
    let (code, stdout, stderr) = run(&["validate", "launch.toml"]);
    assert_eq!(code, 0, "the edited file validates: {stdout}{stderr}");
}

#[test]
fn attest_without_user_or_as_records_user_at_host() {
    let c = launch(COMMENTED);
    let mut cmd = c.command();
    cmd.env_remove("USER").args([
        "attest",
        "launch.toml",
        "load-test",
        "--evidence",
        "https://jira/PERF-1",
    ]);
    let o = cmd.output().expect("run cutover");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("unknown"), "{stdout}");
    let edited = std::fs::read_to_string(c.path("launch.toml")).expect("read");
    let by = edited
        .split("by = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an attestation");
    assert!(
        by.contains('@') && by != "unknown",
        "by = {by:?}:\n{edited}"
    );
    assert!(stdout.contains(&format!("attested by {by}")), "{stdout}");
}

/// `validate checks/bad.toml` of `text` exits 1 and its stderr holds every
/// one of `expected`.
fn validate_fails_saying(text: &str, expected: &[&str]) -> Cutover {
    let c = Cutover::new().file("checks/bad.toml", text);
    let (code, _, stderr) = cli(&c, &["validate", "checks/bad.toml"]);
    assert_eq!(code, 1, "{stderr}");
    for expected in expected {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    c
}

#[test]
fn checklist_errors_point_at_file_line_and_column() {
    let text = r#"[checklist]
name = "launch"

[sources.prom]
kind = "prometheus"
url = "http://127.0.0.1:9090"

[[item]]
id = "a"
title = "A"
severity = "blocer"
source = "prm"
query = "up"
pass_if = "> 0"

[[item]]
id = "a"
title = "Twice"
run = "true"
timeout = "soon"

[[item]]
id = "b"
title = "B"
attested = { by = "x", at = "yesterday", evidence = "https://x" }

[[waiver]]
item = "c"
reason = "r"
approver = "p"
expires = "2026-12-01"
"#;
    let c = validate_fails_saying(
        text,
        &[
            "checks/bad.toml:11:12",
            "unknown severity `blocer`",
            "did you mean `blocker`",
            "checks/bad.toml:12:10",
            "unknown source `prm`",
            "checks/bad.toml:17:6",
            "duplicate item id `a`",
            "checks/bad.toml:20:11",
            "invalid duration `soon`",
            "checks/bad.toml:25:29",
            "invalid date `yesterday`",
            "checks/bad.toml:28:8",
            "waiver names unknown item `c`",
        ],
    );
    // Same file through `check`: could not evaluate.
    let out = c.exec(&["check", "checks/bad.toml", "--format", "json"]);
    assert_eq!(out.code, 2, "{out:?}");
    let report = json(&out);
    assert_eq!(report["readiness"], "error");
    assert!(
        report["checklists"][0]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("checks/bad.toml:11:12")),
        "{report}"
    );
    // A syntax error too.
    let out = Cutover::new()
        .file("c.toml", "[checklist]\nname = \"x\n")
        .args(["validate", "c.toml"])
        .run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("c.toml:2:"), "{}", out.stderr);
}

#[test]
fn the_example_checklist_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/checks/launch.toml");
    let out = Cutover::new().args(["validate", path]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("ok (checklist, 8 items, 1 waiver)"),
        "{}",
        out.stdout
    );
}

#[test]
fn committed_checklist_schema_matches_the_code() {
    let out = Cutover::new().args(["schema", "checklist"]).run();
    assert_eq!(out.code, 0);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/checklist.schema.json"
    ))
    .expect("committed schema");
    assert_eq!(
        out.stdout, committed,
        "docs/checklist.schema.json is stale: run `cargo run -q -- schema checklist > docs/checklist.schema.json`"
    );
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["title"], "cutover readiness checklist");
    assert!(v["$defs"]["RawItem"]["properties"]["dry_run_passed"].is_object());
}

fn journal(run_id: &str, env: &str, dry_run: bool, outcome: &str, finished: &str) -> String {
    format!(
        r#"{{"format_version":1,"journal":"cutover-journal","run_id":"{run_id}","created":"{finished}"}}
{{"seq":1,"ts":"{finished}","run_id":"{run_id}","actor":"ci@host","type":"run_started","data":{{"plan_hash":"h","runbook_name":"payments-db-cutover","runbook_path":"runbooks/payments-db-cutover.toml","runbook_sha256":"s","env":"{env}","production":false,"dry_run":{dry_run},"pid":1,"set":[],"plan":{{}}}}}}
{{"seq":2,"ts":"{finished}","run_id":"{run_id}","actor":"ci@host","type":"run_finished","data":{{"outcome":"{outcome}","exit_code":0,"dry_run":{dry_run},"failed_steps":[],"message":"done"}}}}
"#
    )
}

#[test]
fn dry_run_passed_reads_the_run_journals() {
    let text = r#"[checklist]
name = "launch"

[[item]]
id = "rollback-rehearsed"
title = "Dry run in staging this week"
dry_run_passed = { runbook = "payments-db-cutover", env = "staging", within = "7d" }
"#;
    let base = || {
        Cutover::new()
            .file("c.toml", text)
            .env("CUTOVER_NOW", NOW)
            .args(["check", "c.toml", "--format", "json"])
    };
    let out = base()
        .file(
            ".cutover/runs/old/journal.jsonl",
            journal(
                "old",
                "staging",
                true,
                "completed",
                "2026-11-01T10:00:00.000Z",
            ),
        )
        .file(
            ".cutover/runs/real/journal.jsonl",
            journal(
                "real",
                "staging",
                false,
                "completed",
                "2026-11-24T10:00:00.000Z",
            ),
        )
        .file(
            ".cutover/runs/prod/journal.jsonl",
            journal(
                "prod",
                "production",
                true,
                "completed",
                "2026-11-24T10:00:00.000Z",
            ),
        )
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    let detail = item(&json(&out), "rollback-rehearsed")["detail"].clone();
    assert!(
        detail.as_str().is_some_and(|d| d.contains("`old`")),
        "{detail}"
    );
    let out = base()
        .file(
            ".cutover/runs/new/journal.jsonl",
            journal(
                "new",
                "staging",
                true,
                "completed",
                "2026-11-23T10:00:00.000Z",
            ),
        )
        .run();
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn history_reports_the_pass_rate_per_week() {
    let c = Cutover::new().file("c.toml", EXPIRING);
    for (now, code) in [
        ("2026-11-17T10:00:00Z", 0),
        ("2026-11-18T10:00:00Z", 0),
        ("2026-11-25T10:00:00Z", 1),
    ] {
        let mut cmd = c.command();
        cmd.env("CUTOVER_NOW", now).args(["check", "c.toml"]);
        assert_eq!(cmd.output().expect("run").status.code(), Some(code));
    }
    let (code, stdout, _) = cli(&c, &["check", "--history"]);
    assert_eq!(code, 0, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[1].contains("2026-W47") && lines[1].ends_with("100%"),
        "{stdout}"
    );
    assert!(
        lines[2].contains("2026-W48") && lines[2].ends_with("0%"),
        "{stdout}"
    );
    let rates = json(&c.exec(&["check", "--history", "--format", "json"]));
    assert_eq!(rates["weeks"][0]["runs"], 2);
    assert_eq!(rates["weeks"][0]["pass_rate"], 1.0);
}

#[test]
fn secrets_never_reach_any_output() {
    let secret = "s3cr3t-t0ken-value";
    let text = format!(
        r#"[checklist]
name = "launch"

[secrets]
token = {{ env = "CHECK_TOKEN" }}

[sources.prom]
kind = "prometheus"
url = "http://127.0.0.1:{}/{{{{ secrets.token }}}}"
timeout = "2s"

[[item]]
id = "budget"
title = "Budget"
source = "prom"
query = 'up{{token="{{{{ secrets.token }}}}"}}'
pass_if = "> 0"

[[item]]
id = "echo"
title = "Echo"
run = "echo {{{{ secrets.token }}}}; exit 1"
"#,
        free_port()
    );
    for format in ["human", "json", "junit", "github", "markdown"] {
        let out = Cutover::new()
            .file("c.toml", &text)
            .env("CHECK_TOKEN", secret)
            .args(["check", "c.toml", "--format", format])
            .run();
        assert_eq!(out.code, 2, "{format}: {out:?}");
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{format} leaked the secret: {out:?}"
        );
    }
}

const REQUIRING: &str = r#"[runbook]
name = "r"
requires = ["../checks/c.toml"]

[[step]]
id = "a"
run = "echo step-ran > ran.txt"
rollback = "true"
"#;

const FAILING_CHECKLIST: &str = r#"[checklist]
name = "c"

[[item]]
id = "smoke"
title = "Smoke"
run = "exit 1"
"#;

#[test]
fn a_runbook_with_a_failing_required_checklist_refuses_to_run_without_override() {
    let c = Cutover::new()
        .file("runbooks/r.toml", REQUIRING)
        .file("checks/c.toml", FAILING_CHECKLIST);
    let run = |extra: &[&str]| {
        let (code, _, stderr) = cli(
            &c,
            &[&["run", "runbooks/r.toml", "--no-progress"], extra].concat(),
        );
        (code, stderr)
    };
    let (code, stderr) = run(&["--run-id", "refused"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("nothing was started"), "{stderr}");
    assert!(stderr.contains("`smoke` fail"), "{stderr}");
    let ran = || c.path("runbooks/ran.txt").exists() || c.path("ran.txt").exists();
    assert!(!ran(), "no step ran");
    assert!(!c.path(".cutover/runs/refused").exists(), "no journal");

    let (code, stderr) = run(&[
        "--run-id",
        "over",
        "--override-readiness",
        "--reason",
        "CAB accepted the risk",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(ran(), "the step ran");
    let journal =
        std::fs::read_to_string(c.path(".cutover/runs/over/journal.jsonl")).expect("journal");
    let readiness: Value = journal
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| r["type"] == "readiness")
        .expect("a readiness event");
    assert_eq!(readiness["data"]["ready"], false);
    assert_eq!(readiness["data"]["overridden"], true);
    assert_eq!(readiness["data"]["reason"], "CAB accepted the risk");
    assert_eq!(readiness["data"]["summary"]["failing"][0]["id"], "smoke");

    // Ready once the item passes: no override needed, journaled as ready.
    std::fs::write(
        c.path("checks/c.toml"),
        FAILING_CHECKLIST.replace("exit 1", "exit 0"),
    )
    .expect("write");
    let (code, stderr) = run(&["--run-id", "ok"]);
    assert_eq!(code, 0, "{stderr}");
    let journal =
        std::fs::read_to_string(c.path(".cutover/runs/ok/journal.jsonl")).expect("journal");
    assert!(journal.contains(r#""type":"readiness","data":{"checklist":"checks/c.toml","overridden":false,"ready":true"#), "{journal}");
}

#[test]
fn items_are_evaluated_concurrently() {
    let items = (0..12)
        .map(|i| format!("[[item]]\nid = \"slow-{i}\"\ntitle = \"Slow {i}\"\nrun = \"sleep 1\"\n"))
        .collect::<Vec<_>>()
        .join("\n");
    let text = format!("[checklist]\nname = \"slow\"\n\n{items}");
    let started = std::time::Instant::now();
    let (_, out) = check(&text, &[]);
    let elapsed = started.elapsed();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        elapsed < std::time::Duration::from_secs(6),
        "12 one-second items took {elapsed:?}: not concurrent"
    );
}

#[test]
fn env_overlays_apply_and_unknown_envs_are_errors_only_when_overlays_exist() {
    let text = r#"[checklist]
name = "envs"

[vars]
code = "1"

[env.staging.vars]
code = "0"

[[item]]
id = "code"
title = "Code"
run = "exit {{ vars.code }}"
"#;
    assert_eq!(check(text, &[]).1.code, 1);
    assert_eq!(check(text, &["--env", "staging"]).1.code, 0);
    let (_, out) = check(text, &["--env", "stagin", "--format", "json"]);
    assert_eq!(out.code, 2, "{out:?}");
    let problem = json(&out)["checklists"][0]["problem"].clone();
    assert!(
        problem
            .as_str()
            .is_some_and(|p| p.contains("did you mean `staging`")),
        "{problem}"
    );
    let plain =
        "[checklist]\nname = \"p\"\n\n[[item]]\nid = \"a\"\ntitle = \"A\"\nrun = \"true\"\n";
    assert_eq!(check(plain, &["--env", "production"]).1.code, 0);
}

/// Datadog cannot be reached from here: a local server serves the bodies of
/// Datadog's API reference ("Query timeseries points", "Get a monitor's
/// details"). A checklist reads a metric and a monitor through the CLI, with
/// keys from the environment that never reach any output format.
#[test]
fn datadog_metric_and_monitor_items_through_the_cli() {
    use crate::datadog::{monitor_reply, v1_body};
    use crate::support::http_server::{HttpServer, Reply};
    const API_KEY: &str = "dd-api-checklist-0123456789";
    const APP_KEY: &str = "dd-app-checklist-9876543210";
    let server = HttpServer::start();
    server.route(
        "GET",
        "/api/v1/query",
        [Reply::json(
            200,
            &v1_body("[[1700000000000,0.002],[1700000060000,0.004],[1700000120000,null]]"),
        )],
    );
    server.route("GET", "/api/v1/monitor/101", [monitor_reply(101, "OK")]);
    server.route("GET", "/api/v1/monitor/102", [monitor_reply(102, "Alert")]);
    let text = format!(
        r#"[checklist]
name = "launch"

[secrets]
dd_api_key = {{ env = "DD_API_KEY" }}
dd_app_key = {{ env = "DD_APP_KEY" }}

[sources.dd]
kind = "datadog"
url = "{}"
api_key = "{{{{ secrets.dd_api_key }}}}"
app_key = "{{{{ secrets.dd_app_key }}}}"
timeout = "2s"

[[item]]
id = "error-rate"
title = "Error rate below 0.5%"
source = "dd"
query = "avg:trace.http.request.errors{{service:payments}}"
pass_if = "< 0.005"

[[item]]
id = "latency-monitor"
title = "Latency monitor is OK"
source = "dd"
monitor = 101
pass_if = "== 0"

[[item]]
id = "saturation-monitor"
title = "Saturation monitor is OK"
severity = "warning"
source = "dd"
monitor = 102
pass_if = "== 0"
"#,
        server.url()
    );
    let c = Cutover::new()
        .file("checks/launch.toml", &text)
        .env("DD_API_KEY", API_KEY)
        .env("DD_APP_KEY", APP_KEY);
    let out = c.exec(&["check", "checks/launch.toml", "--format", "json"]);
    assert_eq!(out.code, 0, "warnings do not block: {}", out.stdout);
    let report = json(&out);
    assert_eq!(item(&report, "error-rate")["status"], "pass", "{report}");
    assert_eq!(item(&report, "latency-monitor")["status"], "pass");
    assert_eq!(item(&report, "saturation-monitor")["status"], "fail");
    let with_warn = c.exec(&["check", "checks/launch.toml", "--fail-on-warn"]);
    assert_eq!(with_warn.code, 1, "the Alert monitor fails");
    let requests = server.requests();
    assert!(requests.len() >= 6, "{}", requests.len());
    for r in &requests {
        assert_eq!(r.header("dd-api-key"), Some(API_KEY));
        assert_eq!(r.header("dd-application-key"), Some(APP_KEY));
    }
    for format in ["human", "json", "junit", "github", "markdown"] {
        let out = c.exec(&["check", "checks/launch.toml", "--format", format]);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            !all.contains(API_KEY) && !all.contains(APP_KEY),
            "{format}: {all}"
        );
    }
}

#[test]
fn validate_check_sources_asks_checklist_and_runbook_sources() {
    let up = shared().url();
    let down = format!("http://127.0.0.1:{}", free_port());
    let item = r#"[[item]]
id = "budget"
title = "Error budget"
source = "prom"
query = "vector(1)"
pass_if = "> 0"
"#;
    let runbook = |url: &str| {
        format!(
            r#"[runbook]
name = "r"

[sources.prom]
kind = "prometheus"
url = "{url}"
timeout = "2s"

[[step]]
id = "a"
run = "true"
rollback = "true"
"#
        )
    };
    let c = Cutover::new()
        .file("checks/up.toml", checklist(&up, item))
        .file("checks/down.toml", checklist(&down, item))
        .file("up.toml", runbook(&up))
        .file("down.toml", runbook(&down));
    let validate = |files: &[&str]| {
        let (code, _, stderr) = cli(&c, &[&["validate", "--check-sources"], files].concat());
        (code, stderr)
    };
    let (code, err) = validate(&["checks/up.toml", "up.toml"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("prom (prometheus): reachable"), "{err}");
    for down_file in ["checks/down.toml", "down.toml"] {
        let (code, err) = validate(&["checks/up.toml", down_file]);
        assert_eq!(code, 1, "{down_file}: {err}");
        assert!(err.contains("prom (prometheus): unreachable"), "{err}");
        assert!(
            err.contains(&format!(
                "{down_file}: valid, but not every signal source answered"
            )),
            "{err}"
        );
    }
    // Without the flag, nothing is asked: a down source is still a valid file.
    let (code, _, stderr) = cli(&c, &["validate", "checks/down.toml", "down.toml"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_checklist_with_a_top_level_typo_still_reports_every_other_error() {
    let text = r#"[checklst]
name = "launch"

[sources.prom]
kind = "prometheus"
url = "http://127.0.0.1:9090"

[[item]]
id = "a"
title = "A"
severity = "warn"
source = "prm"
query = "up"
pass_if = "> 0"

[[item]]
id = "a"
title = "Twice"
run = "true"
timeout = "soon"

[[item]]
title = "No id"
run = "true"

[[item]]
id = "b"
title = "B"
dry_run_passed = { runbook = "x", env = "staging", within = "7" }
"#;
    validate_fails_saying(
        text,
        &[
            "checks/bad.toml:1:2",
            "unknown top-level key `checklst`",
            "did you mean `checklist`",
            "checks/bad.toml:11:12",
            "unknown severity `warn`",
            "did you mean `warning`",
            "checks/bad.toml:12:10",
            "unknown source `prm`",
            "checks/bad.toml:17:6",
            "duplicate item id `a`",
            "checks/bad.toml:20:11",
            "invalid duration `soon`",
            "checks/bad.toml:22:1",
            "missing field `id`",
            "checks/bad.toml:29:61",
            "invalid duration `7`",
            "add a unit, e.g. \"7d\"",
            "checks/bad.toml: invalid (7 errors)",
        ],
    );
}

#[test]
fn dry_run_passed_fails_when_the_dry_runs_queries_did_not_work() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let runbook = format!(
        r#"[runbook]
name = "payments-db-cutover"

[env.staging]

[sources.prom]
kind = "prometheus"
url = "{closed}"
timeout = "1s"

[[step]]
id = "switch"
run = "echo switched >> effects"
rollback = "true"

[[step.gate]]
when = "before"
source = "prom"
query = "up"
pass_if = "> 0"
count = 1
interval = "50ms"
error_limit = 0
"#
    );
    let checklist = r#"[checklist]
name = "launch"

[[item]]
id = "rehearsed"
title = "Dry run in staging this week"
dry_run_passed = { runbook = "payments-db-cutover", env = "staging", within = "7d" }
"#;
    let c = Cutover::new()
        .file("runbooks/cutover.toml", runbook)
        .file("c.toml", checklist);
    let out = c.exec(&[
        "run",
        "runbooks/cutover.toml",
        "--dry-run",
        "--env",
        "staging",
        "--run-id",
        "d",
        "--no-progress",
    ]);
    assert_eq!(out.code, 0, "a dry run reports, it does not fail: {out:?}");
    assert!(out.stderr.contains("queries FAILED"), "{}", out.stderr);
    let out = c.exec(&["check", "c.toml", "--format", "json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let report = json(&out);
    let it = item(&report, "rehearsed");
    assert_eq!(it["status"], "fail", "{it}");
    let detail = it["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(
            "the dry run `d` of `payments-db-cutover` on `staging` completed but 1 query (`switch.before-1`) failed"
        ),
        "{detail}"
    );
}

#[test]
fn a_taken_run_id_is_refused_before_readiness_runs_and_ready_is_said_once() {
    let c = Cutover::new()
        .file(
            "runbooks/r.toml",
            r#"[runbook]
name = "r"
requires = ["../checks/c.toml"]

[[step]]
id = "a"
run = "true"
rollback = "true"
"#,
        )
        .file(
            "checks/c.toml",
            r#"[checklist]
name = "c"

[[item]]
id = "counted"
title = "Counts its evaluations"
run = "echo x >> evaluated"
"#,
        );
    let run = || {
        cli(
            &c,
            &[
                "run",
                "runbooks/r.toml",
                "--run-id",
                "once",
                "--no-progress",
            ],
        )
    };
    let (code, _, stderr) = run();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr.matches("readiness `").count(),
        1,
        "said once, with the run's events: {stderr}"
    );
    let (code, _, stderr) = run();
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
    let evaluated = std::fs::read_to_string(c.path("checks/evaluated"))
        .or_else(|_| std::fs::read_to_string(c.path("evaluated")))
        .unwrap();
    assert_eq!(
        evaluated.lines().count(),
        1,
        "the checklist ran only for the first run"
    );
}
