//! Hardening of what cutover reads and writes (issue 11, items 4, 10, 12,
//! 13): no symbolic link followed under `.cutover/runs/`, private modes
//! whatever the umask, the run id rule, control characters shown visibly in
//! every human output, journals of a newer format refused by writers, and an
//! aborted run that says only that it was aborted.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::support::cutover::Cutover;
use crate::support::journal::{journal, journal_tolerant, of_type, outcome};
use crate::support::run::{
    bin, cutover, cutover_exits, signal, spawn_run, wait_exit, wait_for, wait_for_type, wait_until,
};

const ESC_OUTPUT: &str = "\u{1b}]0;TITLE\u{7}\u{1b}[2J";
const ESC_SHOWN: &str = r"\x1b]0;TITLE\x07\x1b[2J";

/// A run that pauses at once (a manual step, no terminal): exit 4.
const MANUAL: &str = r#"
[runbook]
name = "files"

[[step]]
id = "call"
manual = "call the bank"
"#;

fn paused_run(id: &str) -> Cutover {
    let c = Cutover::new().runbook(MANUAL);
    cutover_exits(&c, &["run", "runbook.toml", "--run-id", id], 4);
    c
}

fn mode(c: &Cutover, name: &str) -> u32 {
    std::fs::symlink_metadata(c.path(name))
        .unwrap_or_else(|e| panic!("stat `{name}`: {e}"))
        .permissions()
        .mode()
        & 0o777
}

fn no_raw_controls(what: &str, text: &str) {
    assert!(
        !text.contains(['\u{1b}', '\u{7}']),
        "{what} has raw control characters: {text:?}"
    );
}

// ---- item 4: symbolic links and modes ----------------------------------

#[test]
fn a_lock_file_symlinked_to_a_victim_is_refused_and_the_victim_kept() {
    for (lock, args) in [
        ("journal.lock", vec!["resume", "p1"]),
        ("journal.append.lock", vec!["note", "p1", "hello"]),
    ] {
        let c = paused_run("p1");
        std::fs::write(c.path("victim.txt"), "precious\n").unwrap();
        let link = c.path(&format!(".cutover/runs/p1/{lock}"));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(c.path("victim.txt"), &link).unwrap();
        let before = std::fs::read_to_string(c.path(".cutover/runs/p1/journal.jsonl")).unwrap();
        let stderr = cutover_exits(&c, &args, 1);
        assert!(
            stderr.contains(&format!("`.cutover/runs/p1/{lock}`"))
                && stderr.contains("is a symbolic link"),
            "{lock}: {stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(c.path("victim.txt")).unwrap(),
            "precious\n",
            "{lock}"
        );
        let after = std::fs::read_to_string(c.path(".cutover/runs/p1/journal.jsonl")).unwrap();
        assert_eq!(before, after, "{lock}: nothing journaled");
    }
}

#[test]
fn a_journal_symlinked_to_another_journal_is_not_written_through() {
    let c = paused_run("p1");
    let run = c.path(".cutover/runs/p1");
    std::fs::rename(run.join("journal.jsonl"), c.path("other.jsonl")).unwrap();
    std::os::unix::fs::symlink(c.path("other.jsonl"), run.join("journal.jsonl")).unwrap();
    let before = std::fs::read_to_string(c.path("other.jsonl")).unwrap();
    for args in [
        vec!["note", "p1", "hello"],
        vec!["status", "p1"],
        vec!["resume", "p1"],
        vec!["note", ".cutover/runs/p1/journal.jsonl", "hello"],
    ] {
        let stderr = cutover_exits(&c, &args, 1);
        assert!(stderr.contains("is a symbolic link"), "{args:?}: {stderr}");
    }
    assert_eq!(
        std::fs::read_to_string(c.path("other.jsonl")).unwrap(),
        before
    );
}

#[test]
fn run_refuses_a_symlinked_run_directory() {
    let c = Cutover::new().runbook(MANUAL);
    std::fs::create_dir_all(c.path(".cutover/runs")).unwrap();
    std::fs::create_dir(c.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink(c.path("elsewhere"), c.path(".cutover/runs/p2")).unwrap();
    let stderr = cutover_exits(&c, &["run", "runbook.toml", "--run-id", "p2"], 1);
    assert!(
        stderr.contains("`.cutover/runs/p2`") && stderr.contains("is a symbolic link"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(c.path("elsewhere")).unwrap().count(), 0);
    // Commands that take a run refuse it too, and `runs` skips it.
    let paused = paused_run("p1");
    std::fs::rename(paused.path(".cutover/runs/p1"), c.path("elsewhere/p1")).unwrap();
    std::os::unix::fs::symlink(c.path("elsewhere/p1"), c.path(".cutover/runs/p1")).unwrap();
    for args in [
        vec!["status", "p1"],
        vec!["note", "p1", "x"],
        vec!["report", "p1"],
    ] {
        let stderr = cutover_exits(&c, &args, 1);
        assert!(stderr.contains("is a symbolic link"), "{args:?}: {stderr}");
    }
    let (code, stderr) = cutover(&c, &["runs"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("is a symbolic link"), "{stderr}");
}

#[test]
fn run_directories_and_journals_are_private_whatever_the_umask() {
    let c = Cutover::new().runbook(MANUAL);
    // With `--run-id` and with a generated id, under a shell with umask 000.
    for args in [&["--run-id", "p3"][..], &[][..]] {
        let status = std::process::Command::new("sh")
            .current_dir(c.dir())
            .env("NO_COLOR", "1")
            .args([
                "-c",
                "umask 000; exec \"$0\" run runbook.toml \"$@\"",
                crate::support::cutover::BIN,
            ])
            .args(args)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(4), "{args:?}");
    }
    let mut dirs: Vec<String> = std::fs::read_dir(c.path(".cutover/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for dir in dirs {
        let run = format!(".cutover/runs/{dir}");
        assert_eq!(mode(&c, &run), 0o700, "{run}");
        for file in ["journal.jsonl", "journal.lock", "journal.append.lock"] {
            assert_eq!(mode(&c, &format!("{run}/{file}")), 0o600, "{run}/{file}");
        }
    }
}

// ---- item 4: checklists edited by attest / waive -------------------------

const CHECKLIST: &str = r#"[checklist]
name = "launch"

[[item]]
id = "load-test"
title = "Load test signed off"
"#;

#[test]
fn attest_refuses_a_symlinked_checklist_and_never_writes_through_a_planted_temp_file() {
    let attest = [
        "attest",
        "launch.toml",
        "load-test",
        "--evidence",
        "https://jira/PERF-1",
        "--as",
        "priya",
    ];
    // A checklist that is a link: editing it would replace the link with a copy.
    let c = Cutover::new()
        .file("shared/launch.toml", CHECKLIST)
        .env("CUTOVER_NOW", "2026-11-25T12:00:00Z");
    std::os::unix::fs::symlink(c.path("shared/launch.toml"), c.path("launch.toml")).unwrap();
    let out = c.exec(&attest);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("`launch.toml` is a symbolic link")
            && out.stderr.contains("shared/launch.toml"),
        "{}",
        out.stderr
    );
    assert!(
        std::fs::symlink_metadata(c.path("launch.toml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(c.path("shared/launch.toml")).unwrap(),
        CHECKLIST
    );

    // A link planted where the edit's temporary file goes is not written through.
    let c = Cutover::new()
        .file("launch.toml", CHECKLIST)
        .file("victim.txt", "precious\n")
        .env("CUTOVER_NOW", "2026-11-25T12:00:00Z");
    std::fs::set_permissions(
        c.path("launch.toml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::os::unix::fs::symlink(c.path("victim.txt"), c.path("launch.toml.cutover-tmp")).unwrap();
    let out = c.exec(&attest);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        std::fs::read_to_string(c.path("victim.txt")).unwrap(),
        "precious\n"
    );
    assert!(
        std::fs::read_to_string(c.path("launch.toml"))
            .unwrap()
            .contains("priya")
    );
    assert_eq!(
        mode(&c, "launch.toml"),
        0o644,
        "the checklist keeps its mode"
    );
}

// ---- item 10: the run id rule ------------------------------------------

#[test]
fn run_ids_follow_one_rule_everywhere() {
    let c = Cutover::new().runbook(MANUAL);
    let long = "a".repeat(300);
    for id in [
        long.as_str(),
        "a\nb",
        "a\u{1b}[2Jb",
        "a b",
        "..",
        ".hidden",
        "a/b",
        "",
    ] {
        let stderr = cutover_exits(&c, &["run", "runbook.toml", "--run-id", id], 1);
        assert!(
            stderr.contains("1 to 128 characters of `A-Z`, `a-z`, `0-9`, `.`, `_` and `-`"),
            "{id:?}: {stderr}"
        );
        no_raw_controls("the refusal", &stderr);
    }
    assert!(!c.path(".cutover/runs").exists() || dir_is_empty(&c, ".cutover/runs"));
    // 128 characters is fine.
    let ok = "b".repeat(128);
    cutover_exits(&c, &["run", "runbook.toml", "--run-id", &ok], 4);
    // A run reference that is not a path is checked against the rule too.
    for args in [
        vec!["status", "a\u{1b}[2Jb"],
        vec!["note", "a b", "x"],
        vec!["resume", long.as_str()],
    ] {
        let stderr = cutover_exits(&c, &args, 1);
        assert!(stderr.contains("1 to 128 characters"), "{args:?}: {stderr}");
        no_raw_controls("the refusal", &stderr);
    }
    // Paths to a run directory or a journal still work.
    let path = format!(".cutover/runs/{ok}");
    cutover_exits(&c, &["status", &path], 0);
    cutover_exits(&c, &["status", &format!("{path}/journal.jsonl")], 0);
}

fn dir_is_empty(c: &Cutover, name: &str) -> bool {
    std::fs::read_dir(c.path(name)).unwrap().next().is_none()
}

// ---- item 10: control characters shown visibly ---------------------------

#[test]
fn a_generated_run_id_is_made_of_the_allowed_characters() {
    let c = Cutover::new().runbook(&MANUAL.replace(
        "name = \"files\"",
        "name = \"Payments / DB — cutover\\u001b[2J\"",
    ));
    let (code, stderr) = cutover(&c, &["run", "runbook.toml"]);
    assert_eq!(code, 4, "{stderr}");
    let ids: Vec<String> = std::fs::read_dir(c.path(".cutover/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = &ids[0];
    assert!(id.starts_with("Payments---DB---cutover--2J-"), "{id}");
    assert!(
        id.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
        "{id}"
    );
    no_raw_controls("run output", &stderr);
    // The runs table shows the runbook name visibly.
    let out = bin(&c).args(["runs"]).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    no_raw_controls("runs", &table);
    assert!(table.contains(r"cutover\x1b[2J"), "{table}");
}

const NOISY: &str = r#"
[runbook]
name = "noisy"

[[step]]
id = "noise"
run = 'printf "\033]0;TITLE\007\033[2J\n"; touch started; while [ ! -f go ]; do sleep 0.05; done'
"#;

#[test]
fn escape_sequences_are_shown_visibly_in_every_human_output() {
    let c = Cutover::new().runbook(NOISY);
    let child = spawn_run(&c, &["--no-progress", "--as", "op\u{1b}[31m"]);
    wait_for(&c, "the noisy output line", |r| r["type"] == "output");
    let note = "look \u{1b}[2J\nrun completed: fake";
    cutover_exits(&c, &["note", "r", note, "--as", "dana"], 0);
    wait_for_type(&c, "note");
    std::fs::write(c.path("go"), "").unwrap();
    let (code, stderr) = wait_exit(child, Duration::from_secs(20));
    assert_eq!(code, 0, "{stderr}");
    no_raw_controls("run output", &stderr);
    assert!(stderr.contains(&format!("noise | {ESC_SHOWN}")), "{stderr}");
    assert!(
        stderr.contains(r"(as dana): look \x1b[2J\nrun completed: fake"),
        "{stderr}"
    );
    assert!(stderr.contains(r"(as op\x1b[31m)"), "{stderr}");

    // The journal keeps the bytes.
    let j = journal(&c, "r");
    assert_eq!(of_type(&j, "note")[0]["data"]["text"], note);
    let output: Vec<&Value> = of_type(&j, "output");
    assert_eq!(output[0]["data"]["line"], ESC_OUTPUT);

    let status = String::from_utf8(bin(&c).args(["status", "r"]).output().unwrap().stdout).unwrap();
    no_raw_controls("status", &status);
    assert!(
        status.contains(r"look \x1b[2J\nrun completed: fake"),
        "{status}"
    );
    assert!(status.contains(r"op\x1b[31m"), "{status}");
    let json = String::from_utf8(
        bin(&c)
            .args(["status", "r", "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let json: Value = serde_json::from_str(&json).unwrap();
    assert!(
        json.to_string().contains(r"\u001b[2J"),
        "JSON keeps the bytes"
    );

    for format in ["md", "html"] {
        let out = bin(&c)
            .args(["report", "r", "--format", format])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        no_raw_controls(format, &text);
        assert!(
            text.contains(r"\x1b]0;TITLE\x07\x1b[2J"),
            "{format}: {text}"
        );
        assert!(text.contains(r"\x1b[2J"), "{format}");
    }
}

#[test]
fn error_messages_and_diagnostics_show_control_characters_visibly() {
    let c = paused_run("r");
    let stderr = cutover_exits(&c, &["done", "r", "ca\u{1b}[2Jll"], 1);
    assert!(stderr.contains(r"no step `ca\x1b[2Jll`"), "{stderr}");
    no_raw_controls("done", &stderr);
    // A string in the runbook (escaped in TOML) quoted by a diagnostic...
    let c = Cutover::new().runbook(&MANUAL.replace("id = \"call\"", "id = \"ca\\u001b[2Jll\""));
    let stderr = cutover_exits(&c, &["validate", "runbook.toml"], 1);
    no_raw_controls("validate", &stderr);
    assert!(stderr.contains(r"ca\x1b[2Jll"), "{stderr}");
    // ...and a raw one, which TOML refuses, in the quoted source line.
    let c = Cutover::new().runbook(&MANUAL.replace("call the bank", "call \u{1b}[2J the bank"));
    let stderr = cutover_exits(&c, &["validate", "runbook.toml"], 1);
    no_raw_controls("validate", &stderr);
    assert!(stderr.contains(r"call \x1b[2J the bank"), "{stderr}");
    // The caret still points at the offending character.
    let lines: Vec<&str> = stderr.lines().collect();
    let source = lines.iter().position(|l| l.contains(r"\x1b")).unwrap();
    let caret = lines[source + 1].find('^').unwrap();
    assert_eq!(&lines[source][caret..caret + 4], r"\x1b", "{stderr}");
}

// ---- item 12: a journal of a newer format --------------------------------

#[test]
fn writers_refuse_a_journal_of_a_newer_format_before_appending() {
    let c = paused_run("r");
    let path = c.path(".cutover/runs/r/journal.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replacen("\"format_version\":1", "\"format_version\":99", 1);
    std::fs::write(&path, &text).unwrap();
    for args in [
        vec!["note", "r", "hello"],
        vec!["mark", "r", "impact-start"],
        vec!["done", "r", "call"],
        vec!["approve", "r", "call", "--reason", "ok"],
    ] {
        let stderr = cutover_exits(&c, &args, 1);
        assert!(
            stderr.contains("has format version 99; this cutover reads up to 1"),
            "{args:?}: {stderr}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "{args:?}");
    }
}

// ---- item 13: an abort says only that it aborted -------------------------

const SLOW: &str = r#"
[runbook]
name = "slow"

[[step]]
id = "slow"
run = "touch started; sleep 30"
rollback = "echo undo >> effects"
"#;

fn assert_only_aborted(what: &str, stderr: &str) {
    assert!(stderr.contains("run aborted"), "{what}: {stderr}");
    assert!(!stderr.contains("run paused"), "{what}: {stderr}");
    assert!(!stderr.contains("continue with"), "{what}: {stderr}");
}

#[test]
fn sigterm_and_a_double_ctrl_c_say_only_that_the_run_aborted() {
    for signals in [
        &[Signal::SIGTERM][..],
        &[Signal::SIGINT, Signal::SIGINT][..],
    ] {
        let c = Cutover::new().runbook(SLOW);
        let child = spawn_run(&c, &["--no-progress"]);
        wait_for_type(&c, "process_started");
        for (i, s) in signals.iter().enumerate() {
            signal(&child, *s);
            // The next signal only once this one is journaled.
            wait_until("the interrupt", Duration::from_secs(10), || {
                of_type(&journal_tolerant(&c, "r"), "interrupted").len() > i
            });
        }
        let (code, stderr) = wait_exit(child, Duration::from_secs(30));
        assert_eq!(code, 4, "{signals:?}: {stderr}");
        assert_only_aborted(&format!("{signals:?}"), &stderr);
        let j = journal(&c, "r");
        assert_eq!(outcome(&j), "aborted");
        assert!(
            of_type(&j, "paused").is_empty(),
            "{signals:?}: no pause journaled"
        );
        let status =
            String::from_utf8(bin(&c).args(["status", "r"]).output().unwrap().stdout).unwrap();
        assert!(status.contains("ABORTED"), "{status}");
        assert!(!status.contains("continue with"), "{status}");
    }
}

#[test]
fn a_rejected_go_no_go_that_aborts_says_only_that_the_run_aborted() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "gonogo"

[[step]]
id = "switch"
approval = { required = true, on_reject = "abort" }
run = "echo switch >> effects"
"#,
    );
    let child = spawn_run(&c, &["--wait", "--no-progress", "--as", "bob"]);
    wait_for_type(&c, "approval_requested");
    cutover_exits(
        &c,
        &[
            "approve", "r", "switch", "--reject", "--as", "alice", "--reason", "no",
        ],
        0,
    );
    let (code, stderr) = wait_exit(child, Duration::from_secs(20));
    assert_eq!(code, 4, "{stderr}");
    assert_only_aborted("on_reject", &stderr);
    // `resume --abort` of a paused run says the same.
    let c = paused_run("r");
    let stderr = cutover_exits(&c, &["resume", "r", "--abort"], 4);
    assert_only_aborted("resume --abort", &stderr);
}
