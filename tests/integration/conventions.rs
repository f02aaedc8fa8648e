//! What users of cargo, ripgrep, gh and terraform expect of a command line:
//! versioned JSON objects from every `--format json`, one name per format
//! (old names still accepted), `-v` / `RUST_LOG`, help that ends with exit
//! codes and an example, `--version` naming the commit, completions and man
//! pages that their tools accept.

use serde_json::Value;

use crate::support::cutover::{Cutover, Output};
use crate::support::tools::require;

const RUNBOOK: &str = r#"[runbook]
name = "conventions"

[sources.local]
kind = "command"
timeout = "5s"

[[step]]
id = "one"
run = "echo one"
dry_run = "run"

[[step.gate]]
name = "ok"
when = "after"
source = "local"
query = "echo 1"
pass_if = "== 1"
"#;

const CHECKLIST: &str = r#"[checklist]
name = "launch"

[[item]]
id = "smoke"
title = "Smoke test"
run = "true"
"#;

/// A finished run `r1` and `r2` of `RUNBOOK`, and a checklist checked once.
fn workspace() -> Cutover {
    let c = Cutover::new()
        .runbook(RUNBOOK)
        .file("checks/launch.toml", CHECKLIST)
        .env("CUTOVER_NOW", "2026-11-25T12:00:00Z");
    for id in ["r1", "r2"] {
        let out = c.exec(&["run", "runbook.toml", "--run-id", id, "--no-progress"]);
        assert_eq!(out.code, 0, "{out:?}");
    }
    let out = c.exec(&["check", "checks/launch.toml"]);
    assert_eq!(out.code, 0, "{out:?}");
    c
}

fn object_with_version(what: &str, text: &str) -> Value {
    let v: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("{what}: not one JSON document ({e}):\n{text}"));
    assert!(v.is_object(), "{what}: not an object:\n{text}");
    assert!(
        v["format_version"].as_u64().is_some_and(|n| n >= 1),
        "{what}: no format_version:\n{text}"
    );
    v
}

#[test]
fn every_json_output_is_an_object_with_format_version() {
    let c = workspace();
    let commands: [&[&str]; 12] = [
        &["validate", "runbook.toml", "checks/launch.toml"],
        &["plan", "runbook.toml"],
        &["sources", "runbook.toml"],
        &["query", "local", "echo 2", "--runbook", "runbook.toml"],
        &["status", "r1"],
        &["runs"],
        &["check", "checks/launch.toml"],
        &["check", "--history"],
        &["report", "r1"],
        &["report", "r1", "r2"],
        &["report", "--summary", ".cutover/runs"],
        &["runs", "--dir", "no-such-dir"],
    ];
    for args in commands {
        let out = c.exec(&[args, &["--format", "json"][..]].concat());
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        object_with_version(&args.join(" "), &out.stdout);
    }
    // `gate` prints one JSON object per line (JSON Lines): each versioned.
    let out = c.exec(&["gate", "runbook.toml", "one", "--format", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines.len() >= 2, "{}", out.stdout);
    for line in lines {
        object_with_version("gate", line);
    }
}

#[test]
fn wrapped_lists_keep_their_entries_under_a_named_field() {
    let c = workspace();
    let runs = object_with_version("runs", &c.exec(&["runs", "--format", "json"]).stdout);
    assert_eq!(runs["format_version"], 2);
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(2), "{runs}");
    let sources = object_with_version(
        "sources",
        &c.exec(&["sources", "runbook.toml", "--format", "json"])
            .stdout,
    );
    assert_eq!(sources["format_version"], 2);
    assert_eq!(sources["sources"][0]["source"], "local", "{sources}");
    let history = object_with_version(
        "history",
        &c.exec(&["check", "--history", "--format", "json"]).stdout,
    );
    assert_eq!(history["format_version"], 2);
    assert_eq!(history["weeks"][0]["runs"], 1, "{history}");
    let reports = object_with_version(
        "report",
        &c.exec(&["report", "r1", "r2", "--format", "json"]).stdout,
    );
    assert_eq!(reports["format_version"], 2);
    assert_eq!(reports["report_format"], "cutover-reports");
    assert_eq!(reports["reports"][1]["run_id"], "r2", "{reports}");
    let status = object_with_version(
        "status",
        &c.exec(&["status", "r1", "--format", "json"]).stdout,
    );
    assert_eq!(status["format_version"], 1);
    assert_eq!(status["state"], "completed", "{status}");
}

#[test]
fn old_format_names_are_still_accepted() {
    let c = workspace();
    let pairs: [(&[&str], &str, &str); 5] = [
        (&["validate", "runbook.toml"], "human", "text"),
        (&["check", "checks/launch.toml"], "human", "text"),
        (&["check", "checks/launch.toml"], "markdown", "md"),
        (&["status", "r1"], "human", "text"),
        (&["report", "r1"], "markdown", "md"),
    ];
    for (args, old, new) in pairs {
        let a: Output = c.exec(&[args, &["--format", old][..]].concat());
        let b: Output = c.exec(&[args, &["--format", new][..]].concat());
        assert_eq!(a.code, 0, "{args:?} --format {old}: {a:?}");
        assert_eq!(a.stdout, b.stdout, "{args:?}: {old} and {new} differ");
    }
    // The help names only the current names.
    let help = c.exec(&["check", "--help"]).stdout;
    assert!(help.contains("text") && help.contains("md"), "{help}");
    assert!(
        !help.contains("markdown") || help.contains("old names"),
        "{help}"
    );
}

#[test]
fn verbose_and_rust_log_show_diagnostics_on_every_command_and_cutover_log_is_an_alias() {
    let c = workspace();
    let quiet = c.exec(&["validate", "runbook.toml"]);
    assert_eq!(quiet.code, 0);
    assert!(!quiet.stderr.contains("INFO"), "{}", quiet.stderr);
    for args in [
        &["-v", "validate", "runbook.toml"][..],
        &["validate", "-v", "runbook.toml"],
        &["-v", "plan", "runbook.toml"],
        &["-v", "status", "r1"],
        &["-v", "runs"],
        &["-v", "check", "checks/launch.toml"],
        &["-v", "report", "r1"],
        &[
            "-v",
            "query",
            "local",
            "echo 2",
            "--runbook",
            "runbook.toml",
        ],
    ] {
        let out = c.exec(args);
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains(" INFO "),
            "{args:?}: no -v diagnostics:\n{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("DEBUG"),
            "{args:?}: -v is info:\n{}",
            out.stderr
        );
    }
    let out = c.exec(&[
        "-vv",
        "query",
        "local",
        "echo 2",
        "--runbook",
        "runbook.toml",
    ]);
    assert!(
        out.stderr.contains("DEBUG"),
        "-vv is debug:\n{}",
        out.stderr
    );
    for var in ["RUST_LOG", "CUTOVER_LOG"] {
        let mut cmd = c.command();
        cmd.env(var, "cutover=debug")
            .args(["validate", "runbook.toml"]);
        let out = cmd.output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("DEBUG"), "{var}=cutover=debug:\n{stderr}");
    }
    // A bad filter is said, not silently ignored; the command still runs.
    let mut cmd = c.command();
    cmd.env("RUST_LOG", "cutover=loud")
        .args(["validate", "runbook.toml"]);
    let out = cmd.output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: ignoring `RUST_LOG=cutover=loud`: "),
        "{stderr}"
    );
}

#[test]
fn help_ends_with_exit_codes_and_an_example_for_every_command() {
    let c = Cutover::new();
    let top = c.exec(&["--help"]);
    assert_eq!(top.code, 0);
    let subcommands: Vec<String> = top
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A description wrapped onto the next line is indented further.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|s| s != "help")
        .collect();
    assert!(subcommands.len() >= 20, "{subcommands:?}");
    for args in std::iter::once(Vec::new()).chain(subcommands.iter().map(|s| vec![s.as_str()])) {
        let out = c.exec(&[&args[..], &["--help"][..]].concat());
        assert_eq!(out.code, 0, "{args:?}");
        let help = out.stdout.trim_end();
        assert!(help.contains("\nExit codes:\n"), "{args:?}:\n{help}");
        let example = help.lines().last().unwrap_or_default();
        assert!(
            example.trim_start().starts_with("cutover "),
            "{args:?} ends with no example:\n{help}"
        );
        assert!(help.contains("\nExample:\n"), "{args:?}:\n{help}");
    }
}

#[test]
fn version_names_the_commit_and_build_date() {
    let out = Cutover::new().exec(&["--version"]);
    assert_eq!(out.code, 0);
    let line = out.stdout.trim_end();
    let root = env!("CARGO_MANIFEST_DIR");
    let git = std::process::Command::new("git")
        .args(["-C", root, "rev-parse", "--git-dir"])
        .output();
    if !git.is_ok_and(|o| o.status.success()) {
        // Built from a tarball: the version alone.
        assert!(line.starts_with("cutover 0."), "{line}");
        return;
    }
    // `cutover 0.1.0 (1a2b3c4d5e6f 2026-12-06)`
    let (head, rest) = line
        .split_once(" (")
        .expect("commit and date in parentheses");
    assert!(head.starts_with("cutover "), "{line}");
    let (commit, date) = rest
        .trim_end_matches(')')
        .split_once(' ')
        .expect("commit then date");
    let commit = commit.trim_end_matches("-dirty");
    assert!(
        commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "{line}"
    );
    let known = std::process::Command::new("git")
        .args([
            "-C",
            root,
            "cat-file",
            "-e",
            &format!("{commit}^{{commit}}"),
        ])
        .status()
        .expect("git");
    assert!(known.success(), "{commit} is no commit of this repository");
    assert_eq!(date.len(), 10, "{line}");
    assert!(date.chars().filter(|c| *c == '-').count() == 2, "{line}");
}

#[test]
fn bash_completions_parse_and_every_shell_gets_some() {
    let c = Cutover::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = c.exec(&["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {out:?}");
        assert!(out.stdout.contains("cutover"), "{shell}");
        assert!(out.stdout.contains("validate"), "{shell}");
    }
    let out = c.exec(&["completions", "bash"]);
    std::fs::write(c.path("cutover.bash"), &out.stdout).expect("write");
    let bash = std::process::Command::new(require("bash", "bash"))
        .arg("-n")
        .arg(c.path("cutover.bash"))
        .output()
        .expect("bash -n");
    assert!(
        bash.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&bash.stderr)
    );
    // The script completes the subcommands and --format values.
    assert!(out.stdout.contains("completions"), "{}", out.stdout);
    assert!(out.stdout.contains("mermaid"), "{}", out.stdout);
    let bad = c.exec(&["completions", "tcsh"]);
    assert_eq!(bad.code, 1, "{bad:?}");
}

/// `groff -man -ww -z`: every warning on, output discarded; anything on
/// stderr is a warning or an error.
fn groff_warnings(page: &std::path::Path) -> String {
    let out = std::process::Command::new(require("groff", "groff-base"))
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(page)
        .output()
        .expect("groff");
    assert!(out.status.success(), "groff failed on {}", page.display());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn man_pages_render_without_warnings() {
    let c = Cutover::new();
    let out = c.exec(&["man"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        &out.stdout[..80]
    );
    assert!(
        out.stdout.contains(".TH cutover 1"),
        "{}",
        &out.stdout[..200]
    );
    std::fs::write(c.path("cutover.1"), &out.stdout).expect("write");
    let warnings = groff_warnings(&c.path("cutover.1"));
    assert!(warnings.is_empty(), "cutover.1:\n{warnings}");
    // One page per command in a directory, as git and cargo ship them.
    let out = c.exec(&["man", "--dir", "man/man1"]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut pages: Vec<String> = std::fs::read_dir(c.path("man/man1"))
        .expect("man dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert!(pages.contains(&"cutover.1".to_string()), "{pages:?}");
    assert!(pages.contains(&"cutover-run.1".to_string()), "{pages:?}");
    assert!(pages.contains(&"cutover-check.1".to_string()), "{pages:?}");
    assert!(pages.len() >= 20, "{pages:?}");
    for page in &pages {
        let warnings = groff_warnings(&c.path(&format!("man/man1/{page}")));
        assert!(warnings.is_empty(), "{page}:\n{warnings}");
    }
    let run = std::fs::read_to_string(c.path("man/man1/cutover-run.1")).expect("page");
    assert!(run.contains("\\-\\-dry\\-run"), "options are listed");
    assert!(
        run.contains("EXIT CODES") || run.contains("Exit codes"),
        "{run}"
    );
    // `man -l` reads it (no pager, no terminal).
    if let Ok(man) = std::process::Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(c.path("man/man1/cutover-run.1"))
        .env("MANWIDTH", "80")
        .output()
    {
        let text = String::from_utf8_lossy(&man.stdout);
        assert!(
            man.status.success() && text.contains("cutover-run"),
            "{text}"
        );
    }
}

#[test]
fn check_and_plan_colour_what_people_read_when_asked_and_never_otherwise() {
    let c = Cutover::new()
        .runbook(RUNBOOK)
        .file(
            "checks/launch.toml",
            format!("{CHECKLIST}\n[[item]]\nid = \"broken\"\ntitle = \"Broken \\u001b[2J\"\nrun = \"exit 1\"\n"),
        );
    let out = c.exec(&["--color", "always", "check", "checks/launch.toml"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("\x1b[1;31mNOT READY\x1b[0m"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\x1b[1;31mFAIL\x1b[0m"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\x1b[32mPASS\x1b[0m"), "{}", out.stdout);
    // Columns stay aligned: the colour is put around the padded cell's text.
    let plain = c.exec(&["--color", "never", "check", "checks/launch.toml"]);
    assert!(!plain.stdout.contains('\x1b'), "{}", plain.stdout);
    let strip = |s: &str| {
        s.replace("\x1b[1;31m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[1;32m", "")
            .replace("\x1b[0m", "")
    };
    assert_eq!(strip(&out.stdout), plain.stdout);
    // Without --color, not a terminal: no colour.
    let auto = c.exec(&["check", "checks/launch.toml"]);
    assert_eq!(auto.stdout, plain.stdout);

    let out = c.exec(&["--color", "always", "plan", "runbook.toml"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("\x1b[1mwave 1\x1b[0m"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("  - \x1b[1mone\x1b[0m"),
        "{}",
        out.stdout
    );
    let plain = c.exec(&["plan", "runbook.toml"]);
    assert!(!plain.stdout.contains('\x1b'), "{}", plain.stdout);
}

#[test]
fn the_readmes_first_runbook_validates_without_warnings_and_runs() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let section = readme
        .split("## Your first runbook")
        .nth(1)
        .expect("the section");
    let toml = section
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a toml block");
    let c = Cutover::new().file("hello.toml", toml);
    let out = c.exec(&["validate", "--deny-warnings", "hello.toml"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = c.exec(&["run", "hello.toml", "--no-progress"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("read | hello"), "{}", out.stderr);
}
