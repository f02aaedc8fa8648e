//! Readiness checklists (`checks/*.toml`): raw TOML (`raw`) → checked and
//! typed (`validate`, `model`) → evaluated (`evaluate`, reusing `signals`) →
//! results (`result`) rendered by `format`, recorded in `history`, edited in
//! place by `edit` (`cutover attest` / `cutover waive`). `required` is what
//! `cutover run` calls for a runbook's `requires`.

pub mod edit;
pub mod evaluate;
pub mod format;
pub mod history;
pub mod journal;
pub mod model;
pub mod raw;
pub mod required;
pub mod result;
pub mod time;
pub mod validate;

use std::path::Path;

use crate::diag::{Diagnostic, SourceFile};
use crate::runbook::load;

pub use required::{Decision, RequiredResult, check_required_async, decide};

/// A checklist file after loading and validation.
#[derive(Debug)]
pub struct Loaded {
    pub file: SourceFile,
    /// Present when there were no errors (warnings allowed).
    pub checklist: Option<model::Checklist>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Read, parse and validate one checklist file, collecting every diagnostic.
pub fn load_file(path: &Path) -> Loaded {
    match load::read_source(path) {
        Ok(file) => check_file(file),
        Err((file, diag)) => Loaded {
            file,
            checklist: None,
            diagnostics: vec![diag],
        },
    }
}

/// Parse and validate checklist text already in memory.
pub fn load_text(path: &Path, text: String) -> Loaded {
    check_file(SourceFile::new(path, text))
}

fn check_file(file: SourceFile) -> Loaded {
    let parsed = load::parse_document::<raw::RawChecklist>(&file);
    let mut diagnostics = parsed.diagnostics;
    let mut checklist = None;
    if let Some(raw) = parsed.value {
        // Rule checks run even after parse errors (on what could be salvaged),
        // but a model is only handed on when the file is clean.
        let parse_failed = !diagnostics.is_empty();
        let (checked, more) = validate::validate(&file, &raw, &parsed.dropped);
        // An item dropped for a missing `id` (or an `[[itme]]` typo) was
        // reported already: "no items" would be the same mistake again.
        let item_dropped = parsed
            .dropped
            .iter()
            .any(|p| p.first().is_some_and(|k| k == "item"));
        diagnostics.extend(
            more.into_iter()
                .filter(|d| !(item_dropped && d.message == "checklist has no items")),
        );
        if !parse_failed {
            checklist = checked;
        }
    }
    Loaded {
        file,
        checklist,
        diagnostics,
    }
}

/// The report of a checklist that did not load: readiness `error`, with
/// the first error's place, so `cutover check` and `cutover run` say why.
pub fn invalid_report(path: &Path, loaded: &Loaded) -> result::ChecklistReport {
    let errors = loaded.diagnostics.iter().filter(|d| d.is_error()).count();
    let first = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .min_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start))
        .map(|d| {
            let at = d.span.as_ref().map_or_else(String::new, |s| {
                let (line, col) = loaded.file.line_col(s.start);
                format!(":{line}:{col}")
            });
            format!("; first: {}{at}: {}", path.display(), d.message)
        })
        .unwrap_or_default();
    result::ChecklistReport {
        name: path.file_stem().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        ),
        path: path.display().to_string(),
        owner: None,
        launch: None,
        readiness: result::Readiness::Error,
        summary: result::Summary::default(),
        items: Vec::new(),
        problem: Some(format!(
            "the checklist is invalid ({errors} error{}{first})",
            if errors == 1 { "" } else { "s" },
        )),
        diagnostics: crate::ci::Located::all(&loaded.file, &loaded.diagnostics),
    }
}

/// Whether a TOML text is a checklist (it has a top-level `[checklist]`
/// table) rather than a runbook. Decided on the parsed document when it
/// parses, else on the first table header, so a broken checklist still gets
/// checklist diagnostics.
pub fn is_checklist(text: &str) -> bool {
    // The header tables settle it without parsing the file (a full parse of a
    // 10,000-step runbook just to tell its kind costs tens of milliseconds).
    for line in text.lines().map(str::trim) {
        let header = line.trim_start_matches('[').trim_start();
        if line.starts_with('[') {
            if header.starts_with("runbook]")
                || header.starts_with("runbook.")
                || header.starts_with("step]")
            {
                return false;
            }
            if header.starts_with("checklist]")
                || header.starts_with("checklist.")
                || header.starts_with("item]")
            {
                return true;
            }
        }
    }
    if let Ok(doc) = text.parse::<toml_edit::DocumentMut>() {
        return doc.contains_key("checklist");
    }
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .is_some_and(|l| l.starts_with("[checklist]") || l.starts_with("[checklist."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklists_are_told_from_runbooks() {
        assert!(is_checklist("[checklist]\nname = \"x\"\n"));
        assert!(is_checklist("# c\n[checklist]\nname = \"x\n[[item]]"));
        assert!(!is_checklist("[runbook]\nname = \"x\"\n"));
        assert!(!is_checklist(""));
    }
}
