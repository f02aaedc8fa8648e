//! `cutover validate`: good files pass, every kind of bad input points into the file.
//!
//! Each fixture in `tests/fixtures/invalid/` starts with `# expect: LINE:COL MESSAGE`
//! lines: every one must be reported as an error at exactly that position,
//! and the whole output must equal its snapshot in `snapshots/invalid/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::Value;

use crate::support::cutover::Cutover;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn expectations(text: &str) -> Vec<(u64, u64, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|rest| {
            let (pos, message) = rest.split_once(' ').unwrap_or((rest, ""));
            let (line, col) = pos.split_once(':').expect("LINE:COL");
            (
                line.parse().unwrap(),
                col.parse().unwrap(),
                message.to_string(),
            )
        })
        .collect()
}

fn diagnostics_json(path: &Path) -> (i32, Vec<Value>) {
    let out = Cutover::new()
        .args(["validate", "--format", "json"])
        .args([path])
        .run();
    let reports: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bad json from validate ({e}): {}\n{}",
            out.stdout, out.stderr
        )
    });
    let diags = reports["files"][0]["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (out.code, diags)
}

#[test]
fn every_invalid_fixture_reports_its_errors_at_the_right_place() {
    let dir = repo().join("tests/fixtures/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "the corpus must hold at least 30 files, has {}",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let expected = expectations(&text);
        assert!(
            !expected.is_empty(),
            "{} has no `# expect:` line",
            file.display()
        );
        let (code, diags) = diagnostics_json(file);
        if code != 1 {
            failures.push(format!("{}: exit {code}, expected 1", file.display()));
        }
        for (line, col, message) in expected {
            let found = diags.iter().any(|d| {
                d["severity"] == "error"
                    && d["line"] == line
                    && d["column"] == col
                    && d["message"].as_str().unwrap_or("").contains(&message)
            });
            if !found {
                failures.push(format!(
                    "{}: expected error at {line}:{col} containing {message:?}; got {}",
                    file.file_name().unwrap().to_string_lossy(),
                    diags
                        .iter()
                        .map(|d| format!("{}:{} {}", d["line"], d["column"], d["message"]))
                        .collect::<Vec<_>>()
                        .join(" | ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The invalid fixtures' names (`NAME` of `tests/fixtures/invalid/NAME.toml`), sorted.
fn invalid_fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("tests/fixtures/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Everything `cutover validate FILE` says, as an operator sees it: exit
/// code, stdout and stderr (run from the repository, so paths are relative).
fn validate_output(file: &str) -> String {
    let out = std::process::Command::new(crate::support::cutover::BIN)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("CUTOVER_LOG")
        .env_remove("RUST_LOG")
        .args(["validate", file])
        .output()
        .unwrap();
    let text = format!(
        "exit code: {}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    // Where the checkout is must not matter.
    text.replace(&repo().display().to_string(), "[REPO]")
}

/// The full output for every invalid fixture is snapshotted (one file per
/// fixture in `snapshots/invalid/`): a spurious, duplicated or reworded
/// diagnostic fails here, where the `# expect:` lines only check that the
/// expected ones are there. A new fixture fails until its snapshot is
/// reviewed and committed (README, Development: `INSTA_UPDATE=always`).
#[test]
fn every_invalid_fixture_prints_exactly_its_snapshot() {
    let fixtures = invalid_fixtures();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/invalid");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let mut failed = Vec::new();
    for name in &fixtures {
        let file = format!("tests/fixtures/invalid/{name}.toml");
        let output = validate_output(&file);
        settings.set_input_file(repo().join(&file));
        let matched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_snapshot!(name.as_str(), output));
        }));
        if matched.is_err() {
            failed.push(name.clone());
        }
    }
    assert!(
        failed.is_empty(),
        "the output of `cutover validate` changed for: {}\n(review: README, Development)",
        failed.join(", ")
    );
    // A snapshot whose fixture is gone would never be checked again.
    let snapshots = repo().join("tests/integration/snapshots/invalid");
    let stale: Vec<String> = std::fs::read_dir(&snapshots)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".snap").map(str::to_string))
        .filter(|name| !fixtures.contains(name))
        .collect();
    assert!(
        stale.is_empty(),
        "snapshots without a fixture in tests/fixtures/invalid/: {stale:?}"
    );
}

#[test]
fn a_wrongly_typed_secret_or_variable_is_one_error_not_also_undefined_where_it_is_used() {
    // The entry is declared, only malformed: the templates naming it must
    // not add "undefined ..." (with a help to declare what is declared).
    let out = Cutover::new()
        .file(
            "rb.toml",
            r#"[runbook]
name = "x"
[vars]
region = ["eu"]
[env.prod.vars]
zone = ["a"]
[secrets]
token = "TOKEN"
[[step]]
id = "a"
run = "deploy {{ vars.region }} {{ vars.zone }} {{ secrets.token }}"
rollback = "true"
"#,
        )
        .args(["validate", "rb.toml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains("undefined"), "{}", out.stderr);
    assert!(
        out.stderr.contains("rb.toml: invalid (3 errors)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_checklist_with_a_wrongly_typed_secret_or_variable_is_one_error_each() {
    let out = Cutover::new()
        .file(
            "c.toml",
            r#"[checklist]
name = "launch"
[vars]
service = ["payments"]
[secrets]
token = "TOKEN"
[[item]]
id = "health"
title = "service answers"
owner = "sre"
severity = "blocker"
run = "check {{ vars.service }} {{ secrets.token }}"
"#,
        )
        .args(["validate", "c.toml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains("undefined"), "{}", out.stderr);
    assert!(
        out.stderr.contains("c.toml: invalid (2 errors)"),
        "{}",
        out.stderr
    );
}

#[test]
fn human_output_shows_the_line_and_a_caret_under_the_span() {
    let out = Cutover::new()
        .file(
            "rb.toml",
            "[runbook]\nname = \"x\"\n[[step]]\nid = \"migrate\"\nrun = \"true\"\nrollback = \"true\"\n[[step]]\nid = \"switch\"\nneeds = [\"migrte\"]\nrun = \"true\"\nrollback = \"true\"\n",
        )
        .args(["validate", "rb.toml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let expected = "error: step `switch` needs unknown step `migrte`
 --> rb.toml:9:10
  |
9 | needs = [\"migrte\"]
  |          ^^^^^^^^ no such step
  = help: did you mean `migrate`?
";
    assert!(out.stderr.contains(expected), "stderr was:\n{}", out.stderr);
    assert!(
        out.stderr.contains("rb.toml: invalid (1 error)"),
        "{}",
        out.stderr
    );
}

#[test]
fn all_errors_of_a_file_are_reported_in_one_pass_sorted_by_position() {
    let file = repo().join("tests/fixtures/invalid/many-errors-at-once.toml");
    let out = Cutover::new().args(["validate"]).args([&file]).run();
    let positions: Vec<usize> = ["10:11", "13:10", "20:24"]
        .iter()
        .map(|p| {
            out.stderr
                .find(&format!("many-errors-at-once.toml:{p}"))
                .unwrap_or_else(|| panic!("{p} missing:\n{}", out.stderr))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "not sorted:\n{}",
        out.stderr
    );
}

#[test]
fn the_example_runbooks_are_valid() {
    for rb in ["runbooks/demo.toml", "runbooks/payments-db-cutover.toml"] {
        let out = Cutover::new()
            .args(["validate", "--deny-warnings"])
            .args([repo().join(rb)])
            .run();
        assert_eq!(out.code, 0, "{rb}: {}{}", out.stdout, out.stderr);
        assert!(out.stdout.contains(": ok ("), "{}", out.stdout);
    }
}

#[test]
fn warnings_do_not_fail_unless_denied() {
    let rb = "[runbook]\nname = \"x\"\n[[step]]\nid = \"a\"\nrun = \"kubectl delete pod x\"\n";
    let ok = Cutover::new()
        .runbook(rb)
        .args(["validate", "runbook.toml"])
        .run();
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(
        ok.stderr
            .contains("warning: step `a` changes things but has no `rollback`"),
        "{}",
        ok.stderr
    );
    let denied = Cutover::new()
        .runbook(rb)
        .args(["validate", "--deny-warnings", "runbook.toml"])
        .run();
    assert_eq!(denied.code, 1, "{}", denied.stderr);
}

#[test]
fn empty_file_is_an_error_not_a_crash() {
    let out = Cutover::new()
        .file("empty.toml", "")
        .args(["validate", "empty.toml"])
        .run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("error: file is empty"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("empty.toml:1:1"), "{}", out.stderr);
}

#[test]
fn non_utf8_file_names_the_position_of_the_bad_byte() {
    let mut bytes = b"[runbook]\nname = \"caf".to_vec();
    bytes.push(0xe9);
    bytes.extend_from_slice(b"\"\n");
    let out = Cutover::new()
        .file("latin1.toml", bytes)
        .args(["validate", "latin1.toml"])
        .run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("error: file is not valid UTF-8 text"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("latin1.toml:2:12"), "{}", out.stderr);
    assert!(out.stderr.contains("invalid byte 0xe9"), "{}", out.stderr);
}

#[test]
fn binary_garbage_is_an_error_not_a_crash() {
    // Valid UTF-8 but not TOML: control characters and random words.
    let mut garbage = String::new();
    let mut x: u32 = 12345;
    for _ in 0..4000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        garbage.push(char::from_u32((x >> 16) % 0x7f).unwrap_or('?'));
    }
    let out = Cutover::new()
        .file("garbage.toml", garbage)
        .args(["validate", "garbage.toml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("error:"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    // Capped: a binary file must not print thousands of errors.
    assert!(
        out.stderr.matches("error:").count() <= 50,
        "{}",
        out.stderr.matches("error:").count()
    );
}

#[test]
fn ten_megabyte_file_is_handled() {
    let mut text = String::from("[runbook]\nname = \"big\"\n");
    let mut i = 0;
    while text.len() < 10 * 1024 * 1024 {
        let _ = write!(
            text,
            "[[step]]\nid = \"s{i}\"\nrun = \"echo {i} && echo padding-padding-padding-padding\"\nrollback = \"true\"\n"
        );
        i += 1;
    }
    text.push_str(
        "[[step]]\nid = \"last\"\nneeds = [\"nope\"]\nrun = \"true\"\nrollback = \"true\"\n",
    );
    let lines = text.lines().count();
    let out = Cutover::new()
        .file("big.toml", text)
        .args(["validate", "big.toml"])
        .run();
    assert_eq!(out.code, 1, "{}", &out.stderr[..out.stderr.len().min(2000)]);
    assert!(
        out.stderr.contains("needs unknown step `nope`"),
        "{}",
        &out.stderr[..out.stderr.len().min(2000)]
    );
    assert!(
        out.stderr.contains(&format!("big.toml:{}:10", lines - 2)),
        "{}",
        &out.stderr[..out.stderr.len().min(2000)]
    );
}

#[test]
fn json_output_is_machine_readable() {
    let out = Cutover::new()
        .args(["validate", "--format", "json"])
        .args([
            repo().join("runbooks/demo.toml"),
            repo().join("tests/fixtures/invalid/needs-itself.toml"),
        ])
        .run();
    assert_eq!(out.code, 1);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["format_version"], 2);
    assert_eq!(v["valid"], false);
    assert_eq!(v["files"][0]["valid"], true);
    assert_eq!(v["files"][1]["valid"], false);
    assert_eq!(v["files"][1]["errors"], 1);
}

fn mutate(text: &str, ops: &[(u8, usize, char)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (op, at, c) in ops {
        if chars.is_empty() {
            break;
        }
        let at = at % chars.len();
        match op % 4 {
            0 => {
                chars.remove(at);
            }
            1 => chars.insert(at, *c),
            2 => chars[at] = *c,
            _ => {
                // Swap two lines' worth of text: reorders keys and tables.
                let other = (at * 7919) % chars.len();
                chars.swap(at, other);
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Randomly mutated valid runbooks never make the loader panic, and every
    /// error it reports has a position inside the file.
    #[test]
    fn mutated_runbooks_never_panic(
        which in 0usize..2,
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), prop_oneof![
            Just('"'), Just('['), Just(']'), Just('='), Just('\n'), Just('{'), Just('}'),
            Just(','), Just('#'), Just('\''), Just('.'), Just('x'), Just('1'), Just(' '), Just('é'),
        ]), 1..12),
    ) {
        let name = ["runbooks/demo.toml", "runbooks/payments-db-cutover.toml"][which];
        let text = std::fs::read_to_string(repo().join(name)).unwrap();
        let mutated = mutate(&text, &ops);
        let loaded = cutover::runbook::load_text(Path::new(name), mutated.clone());
        for d in &loaded.diagnostics {
            if let Some(span) = &d.span {
                prop_assert!(span.start <= mutated.len(), "span {span:?} beyond the file");
            }
            let _ = cutover::diag::render(&loaded.file, d, false);
        }
    }
}

#[test]
fn command_line_usage_errors_exit_1_except_check_which_exits_2() {
    let c =
        Cutover::new().runbook("[runbook]\nname = \"u\"\n\n[[step]]\nid = \"a\"\nrun = \"true\"\n");
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["validate", "runbook.toml", "--deny-warning"],
            1,
            "--deny-warning",
        ),
        (&["run", "runbook.toml", "--dryrun"], 1, "--dryrun"),
        (
            &["run", "runbook.toml", "--override-readiness"],
            1,
            "--reason",
        ),
        (&["resume"], 1, "RUN"),
        (&["done", "r"], 1, "STEP"),
        (&["note", "r", "x", "--bogus"], 1, "--bogus"),
        (&["-v", "mark", "r", "x", "--when", "now"], 1, "--when"),
        (&["frobnicate"], 1, "frobnicate"),
        (&[], 1, "Usage"),
        (
            &["check", "c.toml", "--fail-on-warning"],
            2,
            "--fail-on-warning",
        ),
        (&["-v", "check", "c.toml", "--format", "xml"], 2, "xml"),
        (&["--help"], 0, ""),
        (&["run", "--help"], 0, ""),
        (&["--version"], 0, ""),
    ];
    for (args, code, needle) in cases {
        let out = c.exec(args);
        assert_eq!(out.code, *code, "cutover {args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(needle),
            "cutover {args:?}: {}",
            out.stderr
        );
        if *code != 0 && !args.is_empty() {
            // clap's own message is kept.
            assert!(
                out.stderr.starts_with("error:"),
                "cutover {args:?}: {}",
                out.stderr
            );
        }
    }
}

#[test]
fn read_only_http_steps_need_no_rollback() {
    let rb = r#"[runbook]
name = "x"
[[step]]
id = "probe"
http = { url = "http://127.0.0.1:1/health", method = "GET" }
[[step]]
id = "head"
http = { url = "http://127.0.0.1:1/health", method = "head" }
[[step]]
id = "poke"
http = { url = "http://127.0.0.1:1/switch", method = "POST" }
"#;
    let out = Cutover::new()
        .runbook(rb)
        .args(["validate", "runbook.toml"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("warning: step `poke` changes things but has no `rollback`"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("step `probe`"), "{}", out.stderr);
    assert!(!out.stderr.contains("step `head`"), "{}", out.stderr);
}

#[test]
fn color_follows_the_color_flag_and_no_color() {
    let bad = "[runbook]\nname = \"x\"\n[[step]]\nid = \"a\"\nrun = \"true\"\ntimeout = \"0s\"\n";
    let run = |args: &[&str], no_color: Option<&str>| {
        let mut c = Cutover::new().file("rb.toml", bad);
        if let Some(v) = no_color {
            c = c.env("NO_COLOR", v);
        }
        let mut all = vec!["validate", "rb.toml"];
        all.extend_from_slice(args);
        c.args(all).run().stderr
    };
    // Not a terminal: `auto` is plain; `always` colours even with NO_COLOR
    // (an explicit flag wins); `never` is plain.
    assert!(!run(&[], None).contains('\x1b'));
    assert!(run(&["--color", "always"], Some("1")).contains("\x1b[1;31merror"));
    assert!(!run(&["--color", "never"], None).contains('\x1b'));
    assert!(run(&["--color=sometimes"], None).contains("possible values: auto, always, never"));
}
