//! Text that crosses a trust boundary (issue 11): template values reach
//! shell commands as data, never as shell syntax; secrets pasted into
//! operator text or held in odd characters are masked everywhere; `validate`
//! catches what `plan` and `run` would refuse later.

use std::fmt::Write as _;

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

/// Secrets holding what JSON escapes (`"`, `\`, a newline, a trailing `\`)
/// or multi-byte characters.
const ODD_SECRETS: [&str; 5] = [
    "quo\"te-s3cret",
    "back\\slash-s3cret",
    "new\nline-s3cret",
    "trailing-s3cret\\",
    "nön-äscii-sécret",
];

const ODD_RUNBOOK: &str = r#"[runbook]
name = "odd"
[secrets]
tok = { env = "ODD_TOKEN" }
[[step]]
id = "call"
http = { method = "POST", url = "http://127.0.0.1:9/hook?t={{ secrets.tok }}", headers = { Authorization = "Bearer {{ secrets.tok }}" }, body = "token={{ secrets.tok }}" }
rollback = "true"
"#;

/// Every string (and key) of a JSON tree.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

/// `text` holds JSON (one document or one per line) in which no string
/// holds `secret`, and neither the text nor its JSON spelling shows it.
fn assert_masked_json(text: &str, secret: &str, what: &str) {
    let escaped = serde_json::to_string(secret).unwrap();
    let escaped = &escaped[1..escaped.len() - 1];
    assert!(
        !text.contains(secret) && !text.contains(escaped),
        "{what} shows {secret:?}:\n{text}"
    );
    let documents: Vec<Value> = match serde_json::from_str(text) {
        Ok(v) => vec![v],
        Err(_) => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{what}: {e}: {l}")))
            .collect(),
    };
    let mut all = Vec::new();
    for d in &documents {
        strings(d, &mut all);
    }
    assert!(
        all.iter().any(|s| s.contains("***")),
        "{what}: nothing was masked"
    );
    for s in all {
        assert!(!s.contains(secret), "{what} holds {secret:?} in {s:?}");
    }
}

#[test]
fn plan_json_and_the_journaled_plan_mask_secrets_json_would_escape() {
    for secret in ODD_SECRETS {
        let c = Cutover::new().runbook(ODD_RUNBOOK).env("ODD_TOKEN", secret);
        let out = c.exec(&["plan", "runbook.toml", "--format", "json"]);
        assert_eq!(out.code, 0, "{secret:?}: {}", out.stderr);
        assert_masked_json(&out.stdout, secret, "plan --format json");
        let out = c.exec(&[
            "run",
            "runbook.toml",
            "--dry-run",
            "--no-progress",
            "--run-id",
            "odd",
        ]);
        assert_eq!(out.code, 0, "{secret:?}: {}", out.stderr);
        let journal = std::fs::read_to_string(c.path(".cutover/runs/odd/journal.jsonl")).unwrap();
        assert_masked_json(&journal, secret, "the journal");
        let report = c.exec(&["report", "odd", "--format", "json"]);
        assert_eq!(report.code, 0, "{}", report.stderr);
        assert_masked_json(&report.stdout, secret, "the json report");
    }
}

/// A secret an operator may paste, with every spelling the masker knows
/// beyond the URL and base64 forms (hex in both cases, upper and lower case).
const PASTED: &str = "S3cretTokenValue";

fn pasted_spellings() -> Vec<String> {
    let hex = PASTED.bytes().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    vec![
        PASTED.to_string(),
        hex.to_uppercase(),
        hex,
        PASTED.to_uppercase(),
        PASTED.to_lowercase(),
    ]
}

/// Operator text holding every spelling of the pasted secret.
fn pasted_text(what: &str) -> String {
    format!("{what}: {}", pasted_spellings().join(" and "))
}

const OPERATED: &str = r#"[runbook]
name = "ops"
[secrets]
tok = { env = "OPS_TOKEN" }
[[step]]
id = "prep"
manual = "check the dashboard"
[[step]]
id = "switch"
approval = { required = true, approvers = ["alice"], reason = true }
run = "true"
rollback = "true"
"#;

fn assert_no_spelling_shows(shown: &[(String, String)]) {
    for spelling in pasted_spellings() {
        assert_nothing_shows(shown, &spelling);
    }
}

#[test]
fn a_secret_pasted_into_a_note_a_done_note_or_an_approval_reason_is_masked() {
    let c = Cutover::new().runbook(OPERATED).env("OPS_TOKEN", PASTED);
    let mut outs = Vec::new();
    let run = c.exec(&["run", "runbook.toml", "--run-id", "r", "--no-progress"]);
    assert_eq!(run.code, 4, "paused at the manual step: {}", run.stderr);
    let done = c.exec(&["done", "r", "prep", "--note", &pasted_text("done")]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let resume = c.exec(&["resume", "r", "--no-progress"]);
    assert_eq!(resume.code, 4, "paused at the approval: {}", resume.stderr);
    let approve = c.exec(&[
        "approve",
        "r",
        "switch",
        "--as",
        "alice",
        "--reason",
        &pasted_text("approved"),
    ]);
    assert_eq!(approve.code, 0, "{}", approve.stderr);
    let note = c.exec(&["note", "r", &pasted_text("note")]);
    assert_eq!(note.code, 0, "{}", note.stderr);
    outs.extend([&run, &done, &resume, &approve, &note]);
    let shown = everything_shown(&c, &outs, "r");
    assert_no_spelling_shows(&shown);
    let j = journal(&c, "r");
    for (kind, field) in [
        ("manual_done", "note"),
        ("approval_granted", "reason"),
        ("note", "text"),
    ] {
        let text = of_type(&j, kind)[0]["data"][field]
            .as_str()
            .unwrap()
            .to_string();
        assert!(text.contains("*** and ***"), "{kind}: {text}");
    }
}

#[test]
fn a_milestone_named_like_a_secret_is_refused_without_echoing_it() {
    let c = Cutover::new().runbook(OPERATED).env("OPS_TOKEN", PASTED);
    let run = c.exec(&["run", "runbook.toml", "--run-id", "r", "--no-progress"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let mark = c.exec(&["mark", "r", PASTED, "--free"]);
    assert_eq!(mark.code, 1, "{}", mark.stderr);
    assert!(mark.stderr.contains("secret"), "{}", mark.stderr);
    let shown = everything_shown(&c, &[&mark], "r");
    assert_no_spelling_shows(&shown);
}

#[test]
fn an_override_reason_holding_a_secret_is_masked() {
    let runbook = format!(
        "{}requires = [\"checks/c.toml\"]\n[secrets]\ntok = {{ env = \"OPS_TOKEN\" }}\n[[step]]\nid = \"a\"\nrun = \"true\"\nrollback = \"true\"\n",
        "[runbook]\nname = \"r\"\n"
    );
    let c = Cutover::new()
        .runbook(&runbook)
        .file(
            "checks/c.toml",
            "[checklist]\nname = \"c\"\n[[item]]\nid = \"smoke\"\ntitle = \"Smoke\"\nrun = \"exit 1\"\n",
        )
        .env("OPS_TOKEN", PASTED);
    let run = c.exec(&[
        "run",
        "runbook.toml",
        "--run-id",
        "r",
        "--no-progress",
        "--override-readiness",
        "--reason",
        &pasted_text("override"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let shown = everything_shown(&c, &[&run], "r");
    assert_no_spelling_shows(&shown);
    let j = journal(&c, "r");
    let reason = of_type(&j, "readiness")[0]["data"]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("*** and ***"), "{reason}");
}

#[test]
fn waive_and_attest_mask_a_secret_the_checklist_declares() {
    let checklist = "[checklist]\nname = \"c\"\n[secrets]\ntok = { env = \"OPS_TOKEN\" }\n\
                     [[item]]\nid = \"load-test\"\ntitle = \"Load test\"\n\
                     [[item]]\nid = \"comms\"\ntitle = \"Comms\"\nrun = \"exit 1\"\n";
    let c = Cutover::new()
        .file("launch.toml", checklist)
        .env("OPS_TOKEN", PASTED)
        .env("CUTOVER_NOW", "2026-11-25T12:00:00Z");
    let waive = c.exec(&[
        "waive",
        "launch.toml",
        "comms",
        "--reason",
        &pasted_text("waived"),
        "--approver",
        "vp-eng",
        "--expires",
        "7d",
    ]);
    assert_eq!(waive.code, 0, "{}", waive.stderr);
    let evidence = format!("https://perf/run?token={PASTED}");
    let attest = c.exec(&[
        "attest",
        "launch.toml",
        "load-test",
        "--evidence",
        &evidence,
    ]);
    assert_eq!(attest.code, 0, "{}", attest.stderr);
    let file = std::fs::read_to_string(c.path("launch.toml")).unwrap();
    let check = c.exec(&["check", "launch.toml", "--format", "json"]);
    let shown = vec![
        ("launch.toml".to_string(), file.clone()),
        ("waive".to_string(), waive.stdout + &waive.stderr),
        ("attest".to_string(), attest.stdout + &attest.stderr),
        ("check".to_string(), check.stdout + &check.stderr),
    ];
    assert_no_spelling_shows(&shown);
    assert!(file.contains("reason = \"waived: *** and ***"), "{file}");
    assert!(
        file.contains("evidence = \"https://perf/run?token=***\""),
        "{file}"
    );
}

#[test]
fn a_checklist_run_item_a_trigger_and_an_ad_hoc_query_get_values_as_data() {
    for value in HOSTILE {
        let checklist = format!(
            "[checklist]\nname = \"c\"\n[vars]\nname = {}\n[[item]]\nid = \"smoke\"\ntitle = \"Smoke\"\n\
             run = \"printf %s {{{{ vars.name }}}} > item.txt\"\n",
            toml_string(value)
        );
        let c = Cutover::new().file("c.toml", checklist);
        let out = c.exec(&["check", "c.toml"]);
        assert_eq!(out.code, 0, "{value:?}: {}{}", out.stdout, out.stderr);
        assert_eq!(std::fs::read_to_string(c.path("item.txt")).unwrap(), value);
        assert!(!c.path("PWNED").exists(), "{value:?}");

        let runbook = "[runbook]\nname = \"q\"\n[vars]\nname = \"x\"\n[sources.sh]\nkind = \"command\"\n\
                       [[trigger]]\nid = \"t\"\nsource = \"sh\"\nquery = \"printf %s {{ vars.name }} > trigger.txt; echo 0\"\n\
                       fire_if = \"> 1\"\nfor = \"1s\"\ninterval = \"1s\"\n\
                       [[step]]\nid = \"s\"\nrun = \"while [ ! -s trigger.txt ]; do sleep 0.05; done\"\ntimeout = \"10s\"\ndry_run = \"run\"\n";
        let c = Cutover::new().runbook(runbook);
        let set = format!("name={value}");
        let out = c.exec(&["run", "runbook.toml", "--no-progress", "--set", &set]);
        assert_eq!(out.code, 0, "{value:?}: {}", out.stderr);
        assert_eq!(
            std::fs::read_to_string(c.path("trigger.txt")).unwrap(),
            value
        );
        let out = c.exec(&[
            "query",
            "sh",
            "printf %s {{ vars.name }} > query.txt; echo 1",
            "--runbook",
            "runbook.toml",
            "--set",
            &set,
        ]);
        assert_eq!(out.code, 0, "{value:?}: {}{}", out.stdout, out.stderr);
        assert_eq!(std::fs::read_to_string(c.path("query.txt")).unwrap(), value);
        assert!(!c.path("PWNED").exists(), "{value:?}");
    }
}
