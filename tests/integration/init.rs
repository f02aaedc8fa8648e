//! `cutover init`: each template's files validate as written, the runbook's
//! dry run passes, the workflow's own cutover commands work on them, and
//! nothing is ever overwritten.

use serde_json::Value;

use crate::support::cutover::Cutover;

const TEMPLATES: [&str; 3] = ["blue-green", "db-migration", "feature-flag"];

#[test]
fn each_template_validates_as_written_and_its_dry_run_passes() {
    for template in TEMPLATES {
        let c = Cutover::new();
        let out = c.exec(&["init", "--template", template, "project"]);
        assert_eq!(out.code, 0, "{template}: {out:?}");
        let project = c.path("project");
        let runbook = format!("runbooks/{template}.toml");
        let checklist = format!("checks/{template}.toml");
        for file in [
            runbook.as_str(),
            checklist.as_str(),
            "schemas/runbook.schema.json",
            "schemas/checklist.schema.json",
            ".github/workflows/cutover.yml",
        ] {
            assert!(project.join(file).is_file(), "{template}: no {file}");
            assert!(out.stdout.contains(file), "{template}: {}", out.stdout);
        }
        // The schema lines point at the schemas written beside them.
        let text = std::fs::read_to_string(project.join(&runbook)).expect("runbook");
        assert!(
            text.starts_with("#:schema ../schemas/runbook.schema.json\n"),
            "{template}"
        );
        let text = std::fs::read_to_string(project.join(&checklist)).expect("checklist");
        assert!(
            text.starts_with("#:schema ../schemas/checklist.schema.json\n"),
            "{template}"
        );
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(project.join("schemas/runbook.schema.json")).expect("read"),
        )
        .expect("the schema is JSON");
        assert_eq!(
            schema,
            serde_json::from_str::<Value>(&c.exec(&["schema", "runbook"]).stdout).expect("json"),
            "{template}: the schema is `cutover schema runbook`"
        );

        let run = |args: &[&str]| {
            let mut cmd = c.command();
            cmd.current_dir(&project).args(args);
            let out = cmd.output().expect("run cutover");
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (code, stdout, stderr) = run(&["validate", "--deny-warnings", &runbook, &checklist]);
        assert_eq!(code, 0, "{template}: {stdout}{stderr}");

        let (code, stdout, stderr) = run(&[
            "run",
            &runbook,
            "--dry-run",
            "--no-progress",
            "--run-id",
            "rehearsal",
        ]);
        assert_eq!(code, 0, "{template}: {stdout}{stderr}");
        let journal =
            std::fs::read_to_string(project.join(".cutover/runs/rehearsal/journal.jsonl"))
                .expect("the journal");
        let records: Vec<Value> = journal
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str(l).expect("a record"))
            .collect();
        let finished = records
            .iter()
            .find(|r| r["type"] == "run_finished")
            .unwrap_or_else(|| panic!("{template}: no run_finished"));
        assert_eq!(finished["data"]["outcome"], "completed", "{template}");
        assert_eq!(finished["data"]["queries_ok"], true, "{template}: {stderr}");

        // After the rehearsal only the attestations are missing: not ready (1),
        // never "could not evaluate" (2).
        let (code, stdout, stderr) = run(&["check", &checklist, "--format", "json"]);
        assert_eq!(code, 1, "{template}: {stdout}{stderr}");
        let report: Value = serde_json::from_str(&stdout).expect("check json");
        let failing: Vec<&str> = report["checklists"][0]["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|i| i["status"] != "pass")
            .map(|i| i["id"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            failing,
            ["oncall-staffed", "status-page-drafted"],
            "{template}"
        );
    }
}

/// The `run:` lines of the workflow that call cutover, as a shell would
/// run them (the GitHub expressions filled with a run id).
fn workflow_commands(workflow: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut block = false;
    for line in workflow.lines() {
        let trimmed = line.trim();
        if let Some(cmd) = trimmed.strip_prefix("run: ") {
            block = cmd == "|";
            if cmd.starts_with("cutover ") {
                commands.push(cmd.to_string());
            }
        } else if block && trimmed.starts_with("cutover ") {
            commands.push(trimmed.to_string());
        } else if !line.starts_with("          ") {
            block = false;
        }
    }
    commands
        .into_iter()
        .map(|c| {
            c.replace("${{ github.run_id }}", "7")
                .replace(" || true", "")
        })
        .collect()
}

#[test]
fn the_workflows_cutover_commands_work_on_what_init_wrote() {
    let c = Cutover::new();
    let out = c.exec(&["init", "project"]);
    assert_eq!(out.code, 0, "{out:?}");
    let project = c.path("project");
    let workflow =
        std::fs::read_to_string(project.join(".github/workflows/cutover.yml")).expect("workflow");
    let commands = workflow_commands(&workflow);
    assert!(commands.len() >= 6, "{commands:#?}");
    let bin_dir = std::path::Path::new(crate::support::cutover::BIN)
        .parent()
        .expect("bin dir");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for command in &commands {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(&project)
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .env("GITHUB_STEP_SUMMARY", project.join("summary.md"))
            .output()
            .expect("sh");
        let code = out.status.code().unwrap_or(-1);
        // `check` is not ready until someone attests; everything else succeeds.
        let expected = i32::from(command.starts_with("cutover check"));
        assert_eq!(
            code,
            expected,
            "{command}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(project.join("cutover-report.html").is_file());
    assert!(project.join("readiness.xml").is_file());
    let summary = std::fs::read_to_string(project.join("summary.md")).expect("summary");
    assert!(summary.contains("Readiness"), "{summary}");
}

#[test]
fn init_never_overwrites_and_writes_nothing_when_a_file_is_there() {
    let c = Cutover::new().file("project/checks/blue-green.toml", "# mine\n");
    let out = c.exec(&["init", "project"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("`project/checks/blue-green.toml` already there")
            && out.stderr.contains("nothing was written"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(c.path("project/checks/blue-green.toml")).expect("kept"),
        "# mine\n"
    );
    assert!(!c.path("project/runbooks").exists(), "nothing was written");
    // A second template joins a project: the identical schemas are kept, the
    // workflow (another template's) refuses.
    let c = Cutover::new();
    assert_eq!(c.exec(&["init", "--template", "db-migration", "p"]).code, 0);
    let out = c.exec(&["init", "--template", "feature-flag", "p"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("`p/.github/workflows/cutover.yml`"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("schema.json"), "{}", out.stderr);
    // The same template again changes nothing and says so.
    let out = c.exec(&["init", "--template", "db-migration", "p"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("(already there, unchanged)"),
        "{}",
        out.stdout
    );
}
