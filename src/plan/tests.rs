//! Plans from runbook text: secrets masked, shell values quoted, `--set` checked.

use std::path::Path;

use super::*;
use crate::runbook::model::Action;

fn plan_of(text: &str, secret: &str, set: &[&str]) -> Result<Plan, PlanError> {
    let loaded = crate::runbook::load_text(Path::new("rb.toml"), text.to_string());
    let runbook = loaded
        .runbook
        .unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
    let args = Overrides {
        env: None,
        set: set.iter().map(|s| (*s).to_string()).collect(),
    };
    let secret = secret.to_string();
    resolve(runbook, "rb.toml", "", &args, &move |name| {
        (name == "TOKEN").then(|| secret.clone())
    })
}

const RUNBOOK: &str = "[runbook]\nname = \"x\"\n[secrets]\ntok = { env = \"TOKEN\" }\n\
    [vars]\nauth = \"Bearer {{ secrets.tok }}\"\nname = \"web\"\n\
    [[step]]\nid = \"s\"\nrun = \"curl -H {{ vars.auth }} -d '{{ vars.name }}' \\\"{{ secrets.tok }}\\\"\"\n\
    http_unused = 1\n";

fn runbook() -> String {
    RUNBOOK.replace("http_unused = 1\n", "dry_run = \"run\"\n[[step]]\nid = \"h\"\nhttp = { url = \"http://127.0.0.1:9/?t={{ secrets.tok }}\", headers = { A = \"{{ vars.auth }}\" } }\nrollback = \"true\"\n")
}

#[test]
fn masked_json_masks_secrets_that_json_escapes_and_never_panics() {
    for secret in [
        "quo\"te-secret",
        "back\\slash",
        "new\nline-x",
        "trailing\\",
        "nön-äscii",
    ] {
        let plan = plan_of(&runbook(), secret, &[]).unwrap();
        let text = serde_json::to_string(&plan.to_masked_json()).unwrap();
        let escaped = serde_json::to_string(secret).unwrap();
        assert!(
            !text.contains(&escaped[1..escaped.len() - 1]),
            "{secret:?}: {text}"
        );
        assert!(text.contains("?t=***"), "{text}");
        assert!(text.contains("\"A\":\"Bearer ***\""), "{text}");
    }
}

#[test]
fn shell_commands_quote_values_and_read_secrets_from_the_environment() {
    let plan = plan_of(&runbook(), "s3cret", &["name=it's"]).unwrap();
    let Action::Run { command } = &plan.runbook.steps[0].action else {
        panic!("a run step");
    };
    assert_eq!(
        command,
        r#"curl -H 'Bearer '"${CUTOVER_SECRET_TOK}" -d 'it'\''s' "${CUTOVER_SECRET_TOK}""#
    );
    // Outside shell commands a variable holds the secret's value (masked when shown).
    assert_eq!(plan.vars["auth"], "Bearer s3cret");
}

#[test]
fn a_set_value_naming_a_variable_is_refused_with_its_place() {
    let e = plan_of(&runbook(), "s3cret", &["name={{ vars.auth }}"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "in `--set name=...`: a variable cannot refer to other variables (`{{ vars.auth }}`)"
    );
}
