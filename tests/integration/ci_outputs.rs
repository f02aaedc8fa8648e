//! What CI systems read: JUnit XML valid against the Jenkins JUnit schema
//! (tests/fixtures/junit/jenkins-junit.xsd, checked with `xmllint`), GitHub
//! workflow annotations that point at file, line and column, and the
//! Markdown job summary.

use std::path::Path;

use serde_json::Value;

use crate::support::cutover::{Cutover, Output};
use crate::support::tools::require;

const NOW: &str = "2026-11-25T12:00:00Z";

const READY: &str = r#"[checklist]
name = "ready"

[[item]]
id = "smoke"
title = "Smoke test"
run = "true"
"#;

const NOT_READY: &str = r#"[checklist]
name = "not-ready"

[[item]]
id = "smoke"
title = "Smoke <test> & \"quotes\""
run = "exit 3"

[[item]]
id = "comms"
title = "Comms drafted"
severity = "warning"
"#;

const WAIVED: &str = r#"[checklist]
name = "waived"

[[item]]
id = "smoke"
title = "Smoke test"
category = "testing"
run = "exit 3"

[[waiver]]
item = "smoke"
reason = "flaky in CI"
approver = "head-of-sre"
expires = "2026-12-01"
"#;

/// Two errors: an unknown severity (line 7) and a waiver for no item (line 10).
const INVALID: &str = r#"[checklist]
name = "invalid"

[[item]]
id = "a"
title = "A"
severity = "blocer"
run = "true"

[[waiver]]
item = "c"
reason = "r"
approver = "p"
expires = "2026-12-01"
"#;

/// Valid, but `--env stagin` names no overlay: it cannot be evaluated.
const ENVS: &str = r#"[checklist]
name = "envs"

[vars]
code = "0"

[env.staging.vars]
code = "0"

[[item]]
id = "code"
title = "Code"
run = "exit {{ vars.code }}"
"#;

fn checks() -> Cutover {
    Cutover::new()
        .env("CUTOVER_NOW", NOW)
        .file("checks/ready.toml", READY)
        .file("checks/not-ready.toml", NOT_READY)
        .file("checks/waived.toml", WAIVED)
        .file("checks/invalid.toml", INVALID)
        .file("checks/envs.toml", ENVS)
}

fn schema() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit/jenkins-junit.xsd")
}

/// `xmllint --schema` on `file`: panics with what it said when invalid.
fn assert_valid_junit(file: &Path) {
    let out = std::process::Command::new(require("xmllint", "libxml2-utils"))
        .arg("--noout")
        .arg("--schema")
        .arg(schema())
        .arg(file)
        .output()
        .expect("run xmllint");
    assert!(
        out.status.success(),
        "not valid against the Jenkins JUnit schema:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(file).unwrap_or_default()
    );
}

#[test]
fn junit_of_ready_not_ready_waived_invalid_and_unevaluable_checklists_is_valid_jenkins_junit() {
    let c = checks();
    let cases = [
        ("ready", vec!["checks/ready.toml"], 0),
        ("not-ready", vec!["checks/not-ready.toml"], 1),
        ("waived", vec!["checks/waived.toml"], 0),
        ("invalid", vec!["checks/invalid.toml"], 2),
        (
            "unevaluable",
            vec!["checks/envs.toml", "--env", "stagin"],
            2,
        ),
        (
            "all",
            vec![
                "checks/ready.toml",
                "checks/not-ready.toml",
                "checks/waived.toml",
                "checks/invalid.toml",
            ],
            2,
        ),
    ];
    for (name, args, code) in cases {
        let file = format!("{name}.xml");
        let out = c.exec(
            &[
                &["check", "--format", "junit", "-o", file.as_str()][..],
                &args[..],
            ]
            .concat(),
        );
        assert_eq!(out.code, code, "{name}: {out:?}");
        assert_valid_junit(&c.path(&file));
    }
    let xml = std::fs::read_to_string(c.path("waived.xml")).expect("written");
    assert!(xml.contains("<skipped>"), "{xml}");
    assert!(xml.contains("waived by head-of-sre"), "{xml}");
    // An invalid checklist is an errored testcase carrying its errors, with
    // the place of each.
    let xml = std::fs::read_to_string(c.path("invalid.xml")).expect("written");
    assert!(
        xml.contains(r#"tests="1" failures="0" errors="1""#),
        "{xml}"
    );
    assert!(
        xml.contains("<error message=\"the checklist is invalid (2 errors"),
        "{xml}"
    );
    assert!(
        xml.contains("checks/invalid.toml:7:12: error: unknown severity `blocer`"),
        "{xml}"
    );
    assert!(
        xml.contains("checks/invalid.toml:11:8: error: waiver names unknown item `c`"),
        "{xml}"
    );
    let xml = std::fs::read_to_string(c.path("unevaluable.xml")).expect("written");
    assert!(xml.contains("unknown environment `stagin`"), "{xml}");
    assert!(
        xml.contains(r#"<testcase name="checklist" classname="envs">"#),
        "{xml}"
    );
}

#[test]
fn github_annotations_of_an_invalid_checklist_point_at_each_error() {
    let c = checks();
    let out = c.exec(&["check", "checks/invalid.toml", "--format", "github"]);
    assert_eq!(out.code, 2, "{out:?}");
    let annotations: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 2, "{}", out.stdout);
    assert!(
        annotations[0].starts_with(
            "::error file=checks/invalid.toml,line=7,col=12,endLine=7,endColumn=19,title="
        ),
        "{}",
        annotations[0]
    );
    assert!(
        annotations[0].contains("::unknown severity `blocer`%0Ahelp: did you mean `blocker`?"),
        "{}",
        annotations[0]
    );
    assert!(
        annotations[1].starts_with("::error file=checks/invalid.toml,line=11,col=8,"),
        "{}",
        annotations[1]
    );
}

/// A runbook with a warning (step `b` has no rollback, line 10), an unknown
/// step in `needs` (line 11) and a bad duration (line 12).
const BROKEN_RUNBOOK: &str = r#"[runbook]
name = "broken"

[[step]]
id = "a"
run = "true"
rollback = "true"

[[step]]
id = "b"
needs = ["aa"]
timeout = "soon"
run = "true"
"#;

#[test]
fn validate_github_annotates_runbooks_and_checklists_at_their_spans() {
    let c = checks().file("runbooks/broken.toml", BROKEN_RUNBOOK);
    let out = c.exec(&[
        "validate",
        "--format",
        "github",
        "runbooks/broken.toml",
        "checks/invalid.toml",
        "checks/ready.toml",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    let annotations: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 5, "{}", out.stdout);
    assert!(
        annotations[0].starts_with("::warning file=runbooks/broken.toml,line=10,col=6,"),
        "{}",
        annotations[0]
    );
    assert!(
        annotations[1].starts_with("::error file=runbooks/broken.toml,line=11,col=10,"),
        "{}",
        annotations[1]
    );
    assert!(
        annotations[1].contains("::step `b` needs unknown step `aa`"),
        "{}",
        annotations[1]
    );
    assert!(
        annotations[2].starts_with("::error file=runbooks/broken.toml,line=12,col=11,"),
        "{}",
        annotations[2]
    );
    assert!(
        annotations[3].starts_with("::error file=checks/invalid.toml,line=7,col=12,"),
        "{}",
        annotations[3]
    );
    // Help text travels with the message (GitHub shows the whole message).
    assert!(
        annotations[3].contains("did you mean `blocker`"),
        "{}",
        annotations[3]
    );
}

#[test]
fn validate_junit_is_valid_jenkins_junit_with_one_testcase_per_file() {
    let c = checks().file("runbooks/broken.toml", BROKEN_RUNBOOK);
    let out = c.exec(&[
        "validate",
        "--format",
        "junit",
        "runbooks/broken.toml",
        "checks/invalid.toml",
        "checks/ready.toml",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    std::fs::write(c.path("validate.xml"), &out.stdout).expect("write");
    assert_valid_junit(&c.path("validate.xml"));
    let xml = &out.stdout;
    assert!(
        xml.contains(r#"tests="3" failures="2" errors="0""#),
        "{xml}"
    );
    assert!(
        xml.contains("runbooks/broken.toml:11:10: error: step `b` needs unknown step `aa`"),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testcase name="checks/ready.toml""#),
        "{xml}"
    );
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("json ({e}): {out:?}"))
}

#[test]
fn validate_json_is_one_versioned_object() {
    let c = checks().file("runbooks/broken.toml", BROKEN_RUNBOOK);
    let out = c.exec(&[
        "validate",
        "--format",
        "json",
        "runbooks/broken.toml",
        "checks/ready.toml",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    let v = json(&out);
    assert_eq!(v["format_version"], 2, "{v}");
    assert_eq!(v["valid"], false, "{v}");
    let files = v["files"].as_array().expect("files");
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["file"], "runbooks/broken.toml");
    assert_eq!(files[0]["kind"], "runbook");
    assert_eq!(files[0]["diagnostics"][0]["line"], 10);
    assert_eq!(files[0]["diagnostics"][1]["line"], 11);
    assert_eq!(files[1]["kind"], "checklist");
    assert_eq!(files[1]["valid"], true);
}
