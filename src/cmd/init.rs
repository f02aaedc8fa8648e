//! `cutover init [--template T] [DIR]`: start a project the way `cargo new`
//! and `terraform init` do: a runbook from a template, a readiness checklist
//! the runbook `requires`, the JSON Schemas their `#:schema` lines point at
//! (editor completion), and a GitHub Actions workflow; every file valid as
//! written, and the runbook's dry run passes on any machine. Nothing is
//! overwritten: if any of the files is there, nothing is written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{InitArgs, InitTemplate, SchemaKind};
use crate::error::Error;

const BLUE_GREEN: &str = include_str!("../../templates/init/blue-green.toml");
const DB_MIGRATION: &str = include_str!("../../templates/init/db-migration.toml");
const FEATURE_FLAG: &str = include_str!("../../templates/init/feature-flag.toml");
const CHECKLIST: &str = include_str!("../../templates/init/checklist.toml");
const WORKFLOW: &str = include_str!("../../templates/init/workflow.yml");

/// The template's name (its runbook's and checklist's) and owner.
fn template(t: InitTemplate) -> (&'static str, &'static str, &'static str) {
    match t {
        InitTemplate::BlueGreen => ("blue-green", "team-checkout", BLUE_GREEN),
        InitTemplate::DbMigration => ("db-migration", "team-data", DB_MIGRATION),
        InitTemplate::FeatureFlag => ("feature-flag", "team-growth", FEATURE_FLAG),
    }
}

/// Every file `init` writes, relative to DIR, with its content.
pub(crate) fn files(t: InitTemplate) -> Vec<(PathBuf, String)> {
    let (name, owner, runbook) = template(t);
    let fill = |text: &str| text.replace("@NAME@", name).replace("@OWNER@", owner);
    // What `cutover schema` prints, so `cutover schema runbook > schemas/...` refreshes it.
    let schema = |kind| super::schema::schema_json(kind).unwrap_or_default() + "\n";
    vec![
        (format!("runbooks/{name}.toml").into(), runbook.to_string()),
        (format!("checks/{name}.toml").into(), fill(CHECKLIST)),
        (
            "schemas/runbook.schema.json".into(),
            schema(SchemaKind::Runbook),
        ),
        (
            "schemas/checklist.schema.json".into(),
            schema(SchemaKind::Checklist),
        ),
        (".github/workflows/cutover.yml".into(), fill(WORKFLOW)),
    ]
}

pub fn exec(args: &InitArgs) -> Result<ExitCode, Error> {
    let files = files(args.template);
    // A file that is there with exactly this content (the schemas, when a
    // second template joins a project) is left as it is; any other refuses.
    let there = |p: &Path| p.symlink_metadata().is_ok();
    let same = |p: &Path, text: &str| std::fs::read(p).is_ok_and(|b| b == text.as_bytes());
    let taken: Vec<String> = files
        .iter()
        .map(|(p, text)| (args.dir.join(p), text))
        .filter(|(p, text)| there(p) && !same(p, text))
        .map(|(p, _)| format!("`{}`", p.display()))
        .collect();
    if !taken.is_empty() {
        return Err(Error::Usage(format!(
            "{} already there; `cutover init` never overwrites a file (nothing was written)",
            taken.join(", ")
        )));
    }
    let (name, ..) = template(args.template);
    let dir = args.dir.display();
    println!("wrote the {name} template into {dir}:");
    for (path, text) in &files {
        let full = args.dir.join(path);
        if there(&full) {
            println!("  {} (already there, unchanged)", path.display());
        } else {
            write_new(&full, text)?;
            println!("  {}", path.display());
        }
    }
    let cd = if args.dir == Path::new(".") {
        String::new()
    } else {
        format!("cd {dir} && ")
    };
    println!(
        "\nnext:\n  {cd}cutover validate runbooks/{name}.toml checks/{name}.toml\n  cutover run runbooks/{name}.toml --dry-run\n  cutover check checks/{name}.toml"
    );
    Ok(ExitCode::SUCCESS)
}

/// Create `path` (and its directories) and write `text`, refusing a file
/// that appeared since the check.
fn write_new(path: &Path, text: &str) -> Result<(), Error> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir.display(), e))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| Error::io("write", path.display(), e))
}
