//! Runbook files: raw TOML (`raw`) → loaded with every error collected
//! (`load`, then `salvage` after errors) → checked and typed (`validate`) →
//! `model`.

pub mod duration_serde;
pub mod freeze;
pub mod load;
pub mod model;
pub mod raw;
mod salvage;
pub mod scalar;
pub(crate) mod shell;
pub mod spanned;
pub mod template;
pub mod validate;

use std::path::Path;

use crate::diag::{Diagnostic, SourceFile};

/// A runbook file after loading and validation.
#[derive(Debug)]
pub struct Loaded {
    pub file: SourceFile,
    /// Present when there were no errors (warnings allowed).
    pub runbook: Option<model::Runbook>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Read, parse and validate one runbook file, collecting every diagnostic.
pub fn load_file(path: &Path) -> Loaded {
    let file = match load::read_source(path) {
        Ok(file) => file,
        Err((file, diag)) => {
            return Loaded {
                file,
                runbook: None,
                diagnostics: vec![diag],
            };
        }
    };
    check_file(file)
}

/// Parse and validate runbook text already in memory (tests, fuzzing).
pub fn load_text(path: &Path, text: String) -> Loaded {
    check_file(SourceFile::new(path, text))
}

fn check_file(file: SourceFile) -> Loaded {
    let parsed = load::parse_document::<raw::RawRunbook>(&file);
    let mut diagnostics = parsed.diagnostics;
    let mut runbook = None;
    if let Some(raw) = parsed.value {
        // Rule checks run even after parse errors (on what could be salvaged),
        // but a model is only handed on when the file is clean.
        let parse_failed = !diagnostics.is_empty();
        let (checked, more) = validate::validate(&file, &raw, &parsed.dropped);
        diagnostics.extend(more);
        if !parse_failed {
            runbook = checked;
        }
    }
    Loaded {
        file,
        runbook,
        diagnostics,
    }
}
