//! `cutover validate FILE...`: parse and lint runbooks; every finding names file:line:col.

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
    for path in &args.files {
        let loaded = runbook::load_file(path);
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
                let summary = match &loaded.runbook {
                    Some(rb) => {
                        let gates: usize = rb.steps.iter().map(|s| s.gates.len()).sum();
                        format!(
                            "{}: ok ({} step{}, {} gate{}, {} trigger{}{})",
                            path.display(),
                            rb.steps.len(),
                            s(rb.steps.len()),
                            gates,
                            s(gates),
                            rb.triggers.len(),
                            s(rb.triggers.len()),
                            plural_warnings(warnings)
                        )
                    }
                    None => format!(
                        "{}: invalid ({errors} error{}{})",
                        path.display(),
                        s(errors),
                        plural_warnings(warnings)
                    ),
                };
                if file_failed && loaded.runbook.is_some() {
                    eprintln!(
                        "{}: failed (--deny-warnings){}",
                        path.display(),
                        plural_warnings(warnings)
                    );
                } else if loaded.runbook.is_some() {
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
        for path in &args.files {
            let plan = crate::plan::build(
                path,
                &crate::cli::VarArgs {
                    env: None,
                    set: Vec::new(),
                },
            )?;
            if !crate::cmd::sources::all_reachable(&plan)? {
                failed = true;
            }
        }
    }
    Ok(ExitCode::from(if failed {
        exit::INVALID
    } else {
        exit::OK
    }))
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
