//! `cutover plan`: variables resolved per environment, secrets masked, a hash
//! that changes exactly when the resolved plan does, and `cutover schema`.

use serde_json::Value;

use crate::support::cutover::Cutover;

const RUNBOOK: &str = r#"
[runbook]
name = "plan-test"
change = "CHG-9"

[vars]
region = "eu-west-1"
replicas = 3

[env.staging.vars]
region = "eu-staging-1"

[env.production]
production = true

[secrets]
token = { env = "PLAN_TEST_TOKEN" }

[sources.api]
kind = "http"
url = "http://127.0.0.1:1"
bearer_token = "{{ secrets.token }}"

[[step]]
id = "a"
run = "deploy --region {{ vars.region }} --replicas {{ vars.replicas }} --token {{ secrets.token }}"
rollback = "undeploy --region {{ vars.region }}"

[[step]]
id = "b"
needs = ["a"]
owner = "alice"
run = "true"
rollback = "true"

[[step]]
id = "c"
needs = ["a"]
run = "curl -u admin:{{ secrets.token }} http://127.0.0.1:1/"
rollback = "true"

[[step.gate]]
source = "api"
url = "/health?token={{ secrets.token }}"
pass_if = "== 200"

[[step]]
id = "d"
needs = ["b", "c"]
run = "true"
rollback = "true"
milestone = "all-clear"
"#;

const SECRET: &str = "s3cr3t-t0ken/with+chars";

fn plan(args: &[&str]) -> crate::support::cutover::Output {
    Cutover::new()
        .runbook(RUNBOOK)
        .env("PLAN_TEST_TOKEN", SECRET)
        .args(["plan", "runbook.toml"])
        .args(args)
        .run()
}

#[test]
fn plan_groups_steps_into_waves_and_fills_variables_per_env() {
    let out = plan(&["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["waves"], serde_json::json!([["a"], ["b", "c"], ["d"]]));
    assert_eq!(v["vars"]["region"], "eu-west-1");
    assert_eq!(v["vars"]["replicas"], "3");
    let staging: Value =
        serde_json::from_str(&plan(&["--format", "json", "--env", "staging"]).stdout).unwrap();
    assert_eq!(staging["vars"]["region"], "eu-staging-1");
    assert_eq!(staging["env"], "staging");
    let set: Value = serde_json::from_str(
        &plan(&[
            "--format",
            "json",
            "--env",
            "staging",
            "--set",
            "region=us-east-2",
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(set["vars"]["region"], "us-east-2");
    let cmd = set["runbook"]["steps"][0]["action"]["command"]
        .as_str()
        .unwrap();
    assert!(
        cmd.starts_with("deploy --region us-east-2 --replicas 3"),
        "{cmd}"
    );
    let prod: Value =
        serde_json::from_str(&plan(&["--format", "json", "--env", "production"]).stdout).unwrap();
    assert_eq!(prod["production"], true);
}

#[test]
fn secrets_never_appear_in_plan_output_in_any_encoding() {
    use base64::Engine as _;
    let encoded = percent_encoding::utf8_percent_encode(SECRET, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let b64 = base64::engine::general_purpose::STANDARD.encode(SECRET);
    for format in ["text", "json"] {
        let out = plan(&["--format", format]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        for form in [SECRET, encoded.as_str(), b64.as_str()] {
            assert!(
                !out.stdout.contains(form),
                "{format} output leaks {form}:\n{}",
                out.stdout
            );
            assert!(!out.stderr.contains(form), "{format} stderr leaks {form}");
        }
        assert!(out.stdout.contains("***"), "{}", out.stdout);
    }
    // In shell commands the secret is a reference to an environment variable,
    // so it is not even in the command line that runs.
    let v: Value = serde_json::from_str(&plan(&["--format", "json"]).stdout).unwrap();
    let cmd = v["runbook"]["steps"][0]["action"]["command"]
        .as_str()
        .unwrap();
    assert!(
        cmd.ends_with("--token \"${CUTOVER_SECRET_TOKEN}\""),
        "{cmd}"
    );
}

#[test]
fn missing_secret_variable_is_an_error_naming_it() {
    let out = Cutover::new()
        .runbook(RUNBOOK)
        .args(["plan", "runbook.toml"])
        .run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "secret `token` needs environment variable `PLAN_TEST_TOKEN`, which is not set"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_secret_too_short_to_mask_is_refused_not_printed() {
    for (value, refused) in [("abc", true), ("abcd", false)] {
        let out = Cutover::new()
            .runbook(RUNBOOK)
            .env("PLAN_TEST_TOKEN", value)
            .args(["plan", "runbook.toml", "--format", "json"])
            .run();
        if refused {
            assert_eq!(out.code, 1, "{out:?}");
            assert!(
                out.stderr.contains(
                    "secret `token` (environment variable `PLAN_TEST_TOKEN`) is only 3 character(s)"
                ),
                "{}",
                out.stderr
            );
            assert!(!out.stdout.contains(value) && !out.stderr.contains(&format!("{value} ")));
        } else {
            assert_eq!(out.code, 0, "{out:?}");
            assert!(!out.stdout.contains(value), "masked once long enough");
        }
    }
}

#[test]
fn unknown_env_and_unknown_set_are_errors_with_suggestions() {
    for (args, error) in [
        (
            ["--env", "stagin"],
            "unknown environment `stagin` (did you mean `staging`?)",
        ),
        (
            ["--set", "regoin=x"],
            "`--set regoin=...` names no variable of the runbook (did you mean `region`?)",
        ),
        (["--set", "novalue"], "is not of the form KEY=VALUE"),
    ] {
        let out = plan(&args);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert!(out.stderr.contains(error), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn plan_hash_changes_with_the_resolved_plan_only() {
    let hash = |args: &[&str], secret: &str| -> String {
        let out = Cutover::new()
            .runbook(RUNBOOK)
            .env("PLAN_TEST_TOKEN", secret)
            .args(["plan", "runbook.toml", "--format", "json"])
            .args(args)
            .run();
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        v["hash"].as_str().unwrap().to_string()
    };
    let base = hash(&[], SECRET);
    assert!(base.starts_with("sha256:") && base.len() == 71, "{base}");
    assert_eq!(base, hash(&[], SECRET), "hash must be deterministic");
    assert_eq!(
        base,
        hash(&[], "another-secret-value"),
        "rotating a secret must not invalidate a reviewed plan"
    );
    assert_ne!(base, hash(&["--set", "replicas=4"], SECRET));
    assert_ne!(base, hash(&["--env", "staging"], SECRET));
}

#[test]
fn text_plan_shows_waves_gates_and_rollbacks() {
    let out = plan(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for needle in [
        "runbook  plan-test (CHG-9)",
        "steps (4 in 3 waves, up to 1 at once)",
        "wave 2\n  - b\n      owner: alice\n",
        "rollback run: undeploy --region eu-west-1",
        "after gate `after-1`: [api] GET /health?token=*** (status)  pass if == 200",
        "token = *** (from $PLAN_TEST_TOKEN)",
        "marks milestone `all-clear` when done",
        "no timeout, on failure: rollback",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            out.stdout
        );
    }
}

#[test]
fn plan_of_an_invalid_runbook_shows_the_diagnostics() {
    let out = Cutover::new()
        .runbook("[runbook]\nname = \"x\"\n[[step]]\nid = \"a\"\nrun = \"echo {{ vars.nope }}\"\n")
        .args(["plan", "runbook.toml"])
        .run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("runbook.toml:5:13"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("`runbook.toml` is invalid (1 error(s))"),
        "{}",
        out.stderr
    );
}

#[test]
fn env_templates_are_resolved_at_plan_time() {
    let rb = "[runbook]\nname = \"x\"\n[[step]]\nid = \"a\"\nrun = \"echo {{ env.PLAN_TEST_WHO }}\"\nrollback = \"true\"\n";
    let out = Cutover::new()
        .runbook(rb)
        .env("PLAN_TEST_WHO", "alice")
        .args(["plan", "runbook.toml"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("run: echo alice"), "{}", out.stdout);
    let out = Cutover::new()
        .runbook(rb)
        .args(["plan", "runbook.toml"])
        .run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("environment variable `PLAN_TEST_WHO` is not set"),
        "{}",
        out.stderr
    );
}

#[test]
fn committed_schema_matches_the_code() {
    let out = Cutover::new().args(["schema"]).run();
    assert_eq!(out.code, 0);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/runbook.schema.json"
    ))
    .unwrap();
    assert_eq!(
        out.stdout, committed,
        "docs/runbook.schema.json is stale: run `cargo run -q -- schema > docs/runbook.schema.json`"
    );
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["title"], "cutover runbook");
    assert!(v["$defs"]["RawStep"]["properties"]["rollback"].is_object());
}

const REVIEWED: &str = r#"[runbook]
name = "planned"

[vars]
version = "1.0"

[[step]]
id = "deploy"
run = "deploy {{ vars.version }}"
rollback = "undeploy"

[[step]]
id = "switch"
needs = ["deploy"]
approval = { required = true, min = 1 }
run = "switch"
rollback = "switch back"

[[step]]
id = "cleanup"
needs = ["switch"]
run = "cleanup"
dry_run = "run"
"#;

#[test]
fn a_refused_run_plan_says_what_changed_since_the_review() {
    let c = Cutover::new().runbook(REVIEWED);
    let out = c.exec(&["plan", "runbook.toml", "-o", "plan.json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let changed = REVIEWED
        .replace("version = \"1.0\"", "version = \"1.1\"")
        .replace("run = \"switch\"\n", "run = \"switch --all\"\n")
        .replace("min = 1 }", "min = 2 }")
        .replace(
            "[[step]]\nid = \"cleanup\"\nneeds = [\"switch\"]\nrun = \"cleanup\"\ndry_run = \"run\"\n",
            "[[step]]\nid = \"verify\"\nneeds = [\"switch\"]\nrun = \"verify\"\ndry_run = \"run\"\n",
        );
    std::fs::write(c.path("runbook.toml"), changed).expect("edit the runbook");
    let out = c.exec(&[
        "run",
        "runbook.toml",
        "--plan",
        "plan.json",
        "--run-id",
        "r",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    let e = &out.stderr;
    assert!(
        e.contains("the runbook changed since the plan `plan.json` was made"),
        "{e}"
    );
    for line in [
        "  - variable `version`: \"1.0\" → \"1.1\"",
        "  - step `cleanup` removed",
        "  - step `verify` added",
        "  - step `deploy`: command: `deploy 1.0` → `deploy 1.1`",
        "  - step `switch`: command: `switch` → `switch --all`",
        "  - step `switch`: approval.min: 1 → 2",
    ] {
        assert!(
            e.contains(&format!("{line}\n")),
            "missing {line:?} in:\n{e}"
        );
    }
    assert!(!c.path(".cutover/runs/r").exists(), "nothing ran");
}
