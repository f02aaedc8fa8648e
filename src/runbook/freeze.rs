//! Freeze files: the freeze periods a team publishes for many runbooks
//! (`[schedule] freeze = ["../checks/freeze.toml"]`), a file of
//! `[[freeze]]` tables with `start`, `end` and `reason`. Loaded and checked
//! like a runbook, every error pointing into the file; `cutover validate`
//! takes one too.

use std::collections::BTreeSet;
use std::path::Path;

use super::model::FreezePeriod;
use super::raw::RawFreezeFile;
use super::validate::Validator;
use crate::diag::{Diagnostic, SourceFile};

/// A freeze file after loading and validation.
#[derive(Debug)]
pub struct Loaded {
    pub file: SourceFile,
    /// Present when there were no errors.
    pub periods: Option<Vec<FreezePeriod>>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Whether `text` is a freeze file: `[[freeze]]` tables and nothing of a
/// runbook or checklist.
pub fn is_freeze_file(text: &str) -> bool {
    let Ok(table) = text.parse::<toml::Table>() else {
        return false;
    };
    table.contains_key("freeze") && table.keys().all(|k| k == "freeze")
}

/// Read and check the freeze file at `path`; `named` is how the runbook
/// names it (kept with each period).
pub fn load(path: &Path, named: Option<&str>) -> Loaded {
    let file = match super::load::read_source(path) {
        Ok(file) => file,
        Err((file, diag)) => {
            return Loaded {
                file,
                periods: None,
                diagnostics: vec![diag],
            };
        }
    };
    let parsed = super::load::parse_document::<RawFreezeFile>(&file);
    let mut diagnostics = parsed.diagnostics;
    let mut periods = None;
    if let Some(raw) = parsed.value {
        let mut v = Validator::new(&file, BTreeSet::new(), BTreeSet::new());
        let checked: Vec<FreezePeriod> = raw
            .freeze
            .iter()
            .filter_map(|p| v.freeze_period(p, named))
            .collect();
        if raw.freeze.is_empty() {
            v.error("the freeze file has no `[[freeze]]` period", 0..0)
                .help = Some("add `[[freeze]]` with `start`, `end` and `reason`".into());
        }
        diagnostics.extend(v.into_diagnostics());
        if !diagnostics.iter().any(Diagnostic::is_error) {
            periods = Some(checked);
        }
    }
    Loaded {
        file,
        periods,
        diagnostics,
    }
}
