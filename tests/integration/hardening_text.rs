//! Text that crosses a trust boundary (issue 11): template values reach
//! shell commands as data, never as shell syntax; secrets pasted into
//! operator text or held in odd characters are masked everywhere; `validate`
//! catches what `plan` and `run` would refuse later.

use serde_json::Value;

use crate::support::cutover::{Cutover, Output};
use crate::support::journal::{journal, of_type};

/// Values that are shell syntax when pasted into a command line.
const HOSTILE: [&str; 6] = [
    "x; touch PWNED",
    "$(touch PWNED)",
    "`touch PWNED`",
    "it's \"quoted\" \\ here",
    "two\nlines; touch PWNED",
    "*",
];

/// A TOML string holding `value` exactly (a JSON string is a TOML basic string).
fn toml_string(value: &str) -> String {
    serde_json::to_string(value).unwrap()
}

/// A runbook using `TEMPLATE` unquoted, in `"..."` and in `'...'` in a step,
/// in its rollback (run because the next step fails) and in a command
/// source's gate query. Each writes what it received to a file.
const WRITES: &str = r#"[runbook]
name = "inj"

[vars]
name = VARS_VALUE

[env.odd.vars]
name = ODD_VALUE

[sources.sh]
kind = "command"

[[step]]
id = "write"
run = """printf %s TEMPLATE > unquoted.txt; printf %s "TEMPLATE" > double.txt; printf %s 'TEMPLATE' > single.txt; printf '<%s>\\n' TEMPLATE"""
rollback = "printf %s TEMPLATE > rollback.txt"

[[step.gate]]
source = "sh"
query = "printf %s TEMPLATE > query.txt; echo 1"
pass_if = "== 1"

[[step]]
id = "fail"
run = "exit 1"
"#;

/// `WRITES` with `template` in every command, `vars_value` in `[vars]` and
/// `odd_value` in the `[env.odd.vars]` overlay.
fn writes(template: &str, vars_value: &str, odd_value: &str) -> String {
    WRITES
        .replace("TEMPLATE", template)
        .replace("VARS_VALUE", &toml_string(vars_value))
        .replace("ODD_VALUE", &toml_string(odd_value))
}

/// Run `c` (whose runbook is `writes(...)`) and check that every place
/// received exactly `value` and that nothing ran.
fn assert_received_literally(c: &Cutover, value: &str, how: &str) {
    let out = c.run();
    let what = format!("{how} {value:?}");
    assert!(
        !c.path("PWNED").exists(),
        "{what}: the value ran as shell code\n{}",
        out.stderr
    );
    for file in [
        "unquoted.txt",
        "double.txt",
        "single.txt",
        "query.txt",
        "rollback.txt",
    ] {
        let got = std::fs::read_to_string(c.path(file))
            .unwrap_or_else(|e| panic!("{what}: {file}: {e}\n{}", out.stderr));
        assert_eq!(got, value, "{what}: {file}");
    }
    let j = journal(c, "inj");
    let lines: Vec<&str> = of_type(&j, "output")
        .iter()
        .filter(|r| r["data"]["step"] == "write" && r["data"]["phase"] == "step")
        .filter_map(|r| r["data"]["line"].as_str())
        .collect();
    assert_eq!(lines.join("\n"), format!("<{value}>"), "{what}: output");
}

fn run_args() -> [&'static str; 5] {
    ["run", "runbook.toml", "--no-progress", "--run-id", "inj"]
}

#[test]
fn a_value_from_set_reaches_every_shell_command_as_the_literal_string() {
    for value in HOSTILE {
        let c = Cutover::new()
            .runbook(&writes("{{ vars.name }}", "default", "odd"))
            .args(run_args())
            .args(["--set", &format!("name={value}")]);
        assert_received_literally(&c, value, "--set");
    }
}

#[test]
fn a_value_from_vars_an_env_overlay_or_the_environment_arrives_literally() {
    for value in HOSTILE {
        let c = Cutover::new()
            .runbook(&writes("{{ vars.name }}", value, "odd"))
            .args(run_args());
        assert_received_literally(&c, value, "[vars]");
        let c = Cutover::new()
            .runbook(&writes("{{ vars.name }}", "base", value))
            .args(run_args())
            .args(["--env", "odd"]);
        assert_received_literally(&c, value, "[env.odd.vars]");
        let c = Cutover::new()
            .runbook(&writes("{{ env.INJ_VALUE }}", "unused", "unused"))
            .env("INJ_VALUE", value)
            .args(run_args());
        assert_received_literally(&c, value, "{{ env.X }}");
    }
}

#[test]
fn plan_shows_the_quoted_command_and_plain_values_unchanged() {
    let c = Cutover::new().runbook(&writes("{{ vars.name }}", "default", "odd"));
    let out = c.exec(&["plan", "runbook.toml", "--set", "name=x; touch PWNED"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for shown in [
        "printf %s 'x; touch PWNED' > unquoted.txt",
        "printf %s \"x; touch PWNED\" > double.txt",
        "printf %s 'x; touch PWNED' > single.txt",
        "printf %s 'x; touch PWNED' > query.txt; echo 1",
    ] {
        assert!(out.stdout.contains(shown), "{shown}:\n{}", out.stdout);
    }
    let out = c.exec(&["plan", "runbook.toml", "--set", "name=web-1.eu"]);
    assert!(
        out.stdout.contains(
            "printf %s web-1.eu > unquoted.txt; printf %s \"web-1.eu\" > double.txt; printf %s 'web-1.eu' > single.txt"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn the_raw_filter_inserts_shell_text() {
    let runbook = r#"[runbook]
name = "inj"
[vars]
args = "a b"
[[step]]
id = "raw"
run = "printf '[%s]' {{ vars.args | raw }} > raw.txt; printf '[%s]' {{ vars.args }} > quoted.txt"
dry_run = "run"
"#;
    let c = Cutover::new()
        .runbook(runbook)
        .args(run_args())
        .args(["--set", "args=one two"]);
    let out = c.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let read = |f: &str| std::fs::read_to_string(c.path(f)).unwrap();
    assert_eq!(read("raw.txt"), "[one][two]");
    assert_eq!(read("quoted.txt"), "[one two]");
}

#[test]
fn a_secret_is_one_word_in_every_quoting_context_and_never_in_the_command_line() {
    let secret = "s3cret  *  it's";
    let runbook = r#"[runbook]
name = "inj"
[secrets]
tok = { env = "INJ_TOKEN" }
[vars]
auth = "Bearer {{ secrets.tok }}"
[[step]]
id = "s"
run = """printf %s {{ secrets.tok }} > unquoted.txt; printf %s "x {{ secrets.tok }} y" > double.txt; printf %s 'x {{ secrets.tok }} y' > single.txt; printf %s {{ vars.auth }} > var.txt"""
dry_run = "run"
"#;
    let c = Cutover::new()
        .runbook(runbook)
        .env("INJ_TOKEN", secret)
        .args(run_args());
    let out = c.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let read = |f: &str| std::fs::read_to_string(c.path(f)).unwrap();
    assert_eq!(read("unquoted.txt"), secret);
    assert_eq!(read("double.txt"), format!("x {secret} y"));
    assert_eq!(read("single.txt"), format!("x {secret} y"));
    assert_eq!(read("var.txt"), format!("Bearer {secret}"));
    let j = journal(&c, "inj");
    let action = of_type(&j, "attempt_started")[0]["data"]["action"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        action.contains("printf %s 'Bearer '\"${CUTOVER_SECRET_TOK}\" > var.txt"),
        "a secret inside a variable travels in the environment too: {action}"
    );
}

/// The text of `out` and of the journal, status and reports of run `run`.
fn everything_shown(c: &Cutover, out: &[&Output], run: &str) -> Vec<(String, String)> {
    let mut shown: Vec<(String, String)> = out
        .iter()
        .map(|o| {
            (
                "command output".to_string(),
                format!("{}{}", o.stdout, o.stderr),
            )
        })
        .collect();
    let journal = std::fs::read_to_string(c.path(&format!(".cutover/runs/{run}/journal.jsonl")))
        .unwrap_or_default();
    shown.push(("journal".into(), journal));
    let status = c.exec(&["status", run]);
    shown.push(("status".into(), status.stdout + &status.stderr));
    for format in ["md", "html", "json"] {
        let report = c.exec(&["report", run, "--format", format]);
        shown.push((format!("{format} report"), report.stdout + &report.stderr));
    }
    shown
}

fn assert_nothing_shows(shown: &[(String, String)], secret: &str) {
    for (what, text) in shown {
        assert!(!text.contains(secret), "{what} shows {secret:?}:\n{text}");
    }
}

#[allow(dead_code, reason = "used by the masking tests")]
fn json_of(out: &Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("json ({e}): {out:?}"))
}

#[test]
fn validate_points_at_a_variable_naming_another_and_plan_names_a_set_doing_it() {
    let runbook = "[runbook]\nname = \"x\"\n[vars]\na = \"{{ vars.b }}\"\nb = \"1\"\n\
                   [[step]]\nid = \"s\"\nrun = \"echo {{ vars.a }}\"\nrollback = \"true\"\n";
    let c = Cutover::new().runbook(runbook);
    let out = c.exec(&["validate", "runbook.toml"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("a variable cannot refer to other variables")
            && out.stderr.contains("runbook.toml:4:6"),
        "{}",
        out.stderr
    );
    let c = Cutover::new().runbook(&runbook.replace("a = \"{{ vars.b }}\"", "a = \"x\""));
    let out = c.exec(&["plan", "runbook.toml", "--set", "a={{ vars.b }}"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("`--set a=...`")
            && out
                .stderr
                .contains("a variable cannot refer to other variables"),
        "{}",
        out.stderr
    );
}

/// Two values of 100 KiB: each passes as an argument, the command holding
/// both does not (Linux refuses a single argument over 128 KiB: E2BIG).
#[test]
fn a_command_over_the_length_limit_once_filled_is_refused_at_plan_not_at_exec() {
    let runbook = "[runbook]\nname = \"x\"\n[vars]\na = \"a\"\nb = \"b\"\n\
                   [[step]]\nid = \"s\"\nrun = \"printf %s {{ vars.a }} {{ vars.b }} > got.txt\"\ndry_run = \"run\"\n";
    let c = Cutover::new().runbook(runbook);
    let blob = "y".repeat(100 * 1024);
    let out = c.exec(&[
        "run",
        "runbook.toml",
        "--no-progress",
        "--set",
        &format!("a={blob}"),
        "--set",
        &format!("b={blob}"),
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("over the limit of 64 KiB"),
        "{}",
        out.stderr
    );
    assert!(!c.path(".cutover/runs").exists(), "nothing was started");
}
