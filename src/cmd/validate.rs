//! `cutover validate FILE...`: parse and lint runbooks and checklists (a file
//! with a top-level `[checklist]` table); every finding names file:line:col.
//! `--format text` draws carets on stderr; `json`, `github` (annotations)
//! and `junit` are for CI.

use std::io::Write as _;
use std::process::ExitCode;

use crate::ci::{self, Located};
use crate::cli::{ValidateArgs, ValidateFormat};
use crate::diag::{self, Diagnostic, Severity};
use crate::error::{Error, exit};
use crate::runbook;

/// Version of `validate --format json`'s shape. Version 1 was a bare array
/// of the file objects (before `format_version` existed).
pub const JSON_FORMAT_VERSION: u32 = 2;

/// One file after validation.
struct Checked {
    path: std::path::PathBuf,
    loaded: Loaded,
    errors: usize,
    warnings: usize,
    /// Errors, or warnings with `--deny-warnings`.
    failed: bool,
}

impl Checked {
    fn kind(&self) -> &'static str {
        if self.loaded.is_checklist {
            "checklist"
        } else {
            "runbook"
        }
    }

    /// `runbooks/a.toml: ok (3 steps, ...)`, or why not; and whether it goes to stdout.
    fn summary(&self) -> (String, bool) {
        let path = self.path.display();
        let warnings = plural_warnings(self.warnings);
        match &self.loaded.ok {
            Some(_) if self.failed => {
                (format!("{path}: failed (--deny-warnings){warnings}"), false)
            }
            Some(what) => (format!("{path}: ok ({what}{warnings})"), true),
            None => (
                format!(
                    "{path}: invalid ({} error{}{warnings})",
                    self.errors,
                    s(self.errors)
                ),
                false,
            ),
        }
    }

    fn located(&self) -> Vec<Located> {
        Located::all(&self.loaded.file, &self.loaded.diagnostics)
    }
}

pub fn exec(args: &ValidateArgs) -> Result<ExitCode, Error> {
    let mut checked = Vec::new();
    for path in &args.files {
        let loaded = load(path);
        tracing::info!(file = %path.display(), kind = if loaded.is_checklist { "checklist" } else { "runbook" }, diagnostics = loaded.diagnostics.len(), "validated");
        let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = loaded.diagnostics.len() - errors;
        checked.push(Checked {
            path: path.clone(),
            failed: errors > 0 || (args.deny_warnings && warnings > 0),
            loaded,
            errors,
            warnings,
        });
    }
    let mut failed = checked.iter().any(|c| c.failed);
    let text = match args.format {
        ValidateFormat::Text => {
            show_text(&checked);
            String::new()
        }
        ValidateFormat::Json => json(&checked, failed),
        ValidateFormat::Github => github(&checked),
        ValidateFormat::Junit => junit(&checked, args.deny_warnings),
    };
    if args.format != ValidateFormat::Text {
        for c in &checked {
            eprintln!("{}", crate::text::visible(&c.summary().0));
        }
    }
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if !failed && args.check_sources {
        for c in &mut checked {
            let plan = match c.loaded.checklist.take() {
                None => super::build_plan(&c.path, &crate::plan::Overrides::default())?,
                Some(list) => {
                    crate::readiness::evaluate::signal_plan(&list, &c.path, None, &|name| {
                        std::env::var(name).ok()
                    })?
                }
            };
            if !crate::cmd::sources::all_reachable(&plan)? {
                failed = true;
                eprintln!(
                    "{}: valid, but not every signal source answered (see above); exit 1",
                    c.path.display()
                );
            }
        }
    }
    Ok(ExitCode::from(if failed {
        exit::INVALID
    } else {
        exit::OK
    }))
}

/// Diagnostics with carets on stderr; a valid file's line on stdout.
fn show_text(checked: &[Checked]) {
    let color = diag::stderr_color();
    for c in checked {
        if !c.loaded.diagnostics.is_empty() {
            eprintln!(
                "{}",
                diag::render_all(&c.loaded.file, &c.loaded.diagnostics, color)
            );
        }
        match c.summary() {
            (line, true) => println!("{line}"),
            (line, false) => eprintln!("{line}"),
        }
    }
}

fn json(checked: &[Checked], failed: bool) -> String {
    let files: Vec<serde_json::Value> = checked
        .iter()
        .map(|c| {
            let mut sorted: Vec<&Diagnostic> = c.loaded.diagnostics.iter().collect();
            sorted.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
            serde_json::json!({
                "file": c.path.display().to_string(),
                "kind": c.kind(),
                "valid": !c.failed,
                "errors": c.errors,
                "warnings": c.loaded.diagnostics.iter().filter(|d| d.severity == Severity::Warning).count(),
                "diagnostics": sorted.iter().map(|d| diag::to_json(&c.loaded.file, d)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "format_version": JSON_FORMAT_VERSION,
        "valid": !failed,
        "files": files,
    });
    serde_json::to_string_pretty(&doc).expect("json") + "\n"
}

/// One annotation per error and warning, at its place.
fn github(checked: &[Checked]) -> String {
    let mut out = String::new();
    for c in checked {
        let title = format!("cutover validate: {}", c.kind());
        for d in c.located() {
            out.push_str(&d.annotation(&title).render());
            out.push('\n');
        }
    }
    out
}

/// One test case per file, failed by its errors (and by its warnings with
/// `--deny-warnings`); a passing file's warnings are its output.
fn junit(checked: &[Checked], deny_warnings: bool) -> String {
    let cases = checked
        .iter()
        .map(|c| {
            let lines: Vec<String> = c.located().iter().map(Located::line_text).collect();
            let outcome = if c.failed {
                ci::junit::Outcome::Failed(ci::junit::Problem {
                    message: c.summary().0,
                    kind: if c.errors > 0 || !deny_warnings {
                        "invalid".into()
                    } else {
                        "warnings denied".into()
                    },
                    body: lines.join("\n"),
                })
            } else {
                ci::junit::Outcome::Passed
            };
            ci::junit::Case {
                name: c.path.display().to_string(),
                classname: c.kind().into(),
                output: if c.failed {
                    String::new()
                } else {
                    lines.join("\n")
                },
                outcome,
            }
        })
        .collect();
    let suite = ci::junit::Suite {
        name: "cutover validate".into(),
        cases,
        ..ci::junit::Suite::default()
    };
    ci::junit::render("cutover validate", &[suite])
}

/// One file after loading, whichever its kind.
struct Loaded {
    file: diag::SourceFile,
    diagnostics: Vec<Diagnostic>,
    is_checklist: bool,
    /// What the valid file holds, e.g. "3 steps, 2 gates, 1 trigger"; `None` if invalid.
    ok: Option<String>,
    /// The model when the file is a valid checklist.
    checklist: Option<crate::readiness::model::Checklist>,
}

fn load(path: &std::path::Path) -> Loaded {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    if runbook::freeze::is_freeze_file(&text) {
        let loaded = runbook::freeze::load(path, None);
        let ok = loaded
            .periods
            .as_ref()
            .map(|p| format!("freeze file, {} period{}", p.len(), s(p.len())));
        return Loaded {
            file: loaded.file,
            diagnostics: loaded.diagnostics,
            is_checklist: false,
            ok,
            checklist: None,
        };
    }
    let is_checklist = crate::readiness::is_checklist(&text);
    if is_checklist {
        let loaded = crate::readiness::load_file(path);
        let ok = loaded.checklist.as_ref().map(|c| {
            let waivers = c.waivers.len();
            format!(
                "checklist, {} item{}, {} waiver{}",
                c.items.len(),
                s(c.items.len()),
                waivers,
                s(waivers)
            )
        });
        return Loaded {
            file: loaded.file,
            diagnostics: loaded.diagnostics,
            is_checklist: true,
            ok,
            checklist: loaded.checklist,
        };
    }
    let loaded = runbook::load_file(path);
    let ok = loaded.runbook.as_ref().map(|rb| {
        let gates: usize = rb.steps.iter().map(|s| s.gates.len()).sum();
        format!(
            "{} step{}, {} gate{}, {} trigger{}",
            rb.steps.len(),
            s(rb.steps.len()),
            gates,
            s(gates),
            rb.triggers.len(),
            s(rb.triggers.len()),
        )
    });
    Loaded {
        file: loaded.file,
        diagnostics: loaded.diagnostics,
        is_checklist: false,
        ok,
        checklist: None,
    }
}

fn s(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn plural_warnings(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(", {n} warning{}", s(n))
    }
}
