//! `cutover validate FILE...`: parse and lint runbooks and checklists (a file
//! with a top-level `[checklist]` table); every finding names file:line:col.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::{HumanOrJson, ValidateArgs};
use crate::diag::{self, Diagnostic, Severity};
use crate::error::{Error, exit};
use crate::runbook;

pub fn exec(args: &ValidateArgs) -> Result<ExitCode, Error> {
    let color = diag::stderr_color();
    let mut failed = false;
    let mut reports = Vec::new();
    // Valid files whose sources `--check-sources` asks: `None` for a runbook.
    let mut checked = Vec::new();
    for path in &args.files {
        let mut loaded = load(path);
        if loaded.ok.is_some() {
            checked.push((path.clone(), loaded.checklist.take()));
        }
        let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = loaded.diagnostics.len() - errors;
        let file_failed = errors > 0 || (args.deny_warnings && warnings > 0);
        failed |= file_failed;
        match args.format {
            HumanOrJson::Human => {
                if !loaded.diagnostics.is_empty() {
                    eprintln!(
                        "{}",
                        diag::render_all(&loaded.file, &loaded.diagnostics, color)
                    );
                }
                let summary = match &loaded.ok {
                    Some(what) => format!(
                        "{}: ok ({what}{})",
                        path.display(),
                        plural_warnings(warnings)
                    ),
                    None => format!(
                        "{}: invalid ({errors} error{}{})",
                        path.display(),
                        s(errors),
                        plural_warnings(warnings)
                    ),
                };
                if file_failed && loaded.ok.is_some() {
                    eprintln!(
                        "{}: failed (--deny-warnings){}",
                        path.display(),
                        plural_warnings(warnings)
                    );
                } else if loaded.ok.is_some() {
                    println!("{summary}");
                } else {
                    eprintln!("{summary}");
                }
            }
            HumanOrJson::Json => {
                let mut sorted: Vec<&Diagnostic> = loaded.diagnostics.iter().collect();
                sorted.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
                reports.push(serde_json::json!({
                    "file": path.display().to_string(),
                    "valid": !file_failed,
                    "errors": errors,
                    "warnings": loaded.diagnostics.iter().filter(|d| d.severity == Severity::Warning).count(),
                    "diagnostics": sorted.iter().map(|d| diag::to_json(&loaded.file, d)).collect::<Vec<_>>(),
                }));
            }
        }
    }
    if args.format == HumanOrJson::Json {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&reports).expect("json")
        );
    }
    if !failed && args.check_sources {
        for (path, checklist) in &checked {
            let plan = match checklist {
                None => super::build_plan(path, &crate::plan::Overrides::default())?,
                Some(c) => crate::readiness::evaluate::signal_plan(c, path, None, &|name| {
                    std::env::var(name).ok()
                })?,
            };
            if !crate::cmd::sources::all_reachable(&plan)? {
                failed = true;
                eprintln!(
                    "{}: valid, but not every signal source answered (see above); exit 1",
                    path.display()
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

/// One file after loading, whichever its kind.
struct Loaded {
    file: diag::SourceFile,
    diagnostics: Vec<Diagnostic>,
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
