//! The one way to list runs: every journal under a runs directory (`cutover
//! runs`, `report --summary`, readiness's dry-run check all use it).

use std::path::{Path, PathBuf};

use super::JOURNAL_FILE;

/// One entry of a runs directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    /// A run's journal: `<dir>/<run-id>/journal.jsonl`, or a `*.jsonl`
    /// file directly in the directory.
    Journal(PathBuf),
    /// A symbolic link where a run directory or journal would be: never
    /// followed; each command says so its own way.
    Link(PathBuf),
}

/// Every run under `dir`, sorted by path. A missing directory is an error
/// for the caller to word (`NotFound`).
pub fn list_runs(dir: &Path) -> std::io::Result<Vec<Listed>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        // `DirEntry::file_type` does not follow a link: a link is not a directory.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let jsonl = path.extension().is_some_and(|e| e == "jsonl");
        if kind.is_symlink() {
            // Only a link that stands where a run would (a directory, a journal).
            if path.is_dir() || jsonl {
                out.push(Listed::Link(path));
            }
        } else if kind.is_dir() && path.join(JOURNAL_FILE).is_file() {
            out.push(Listed::Journal(path.join(JOURNAL_FILE)));
        } else if kind.is_file() && jsonl {
            out.push(Listed::Journal(path));
        }
    }
    out.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(out)
}

impl Listed {
    pub fn path(&self) -> &Path {
        match self {
            Listed::Journal(p) | Listed::Link(p) => p,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_dirs_loose_journals_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("r1")).unwrap();
        std::fs::write(d.join("r1/journal.jsonl"), "").unwrap();
        std::fs::create_dir_all(d.join("empty")).unwrap();
        std::fs::write(d.join("loose.jsonl"), "").unwrap();
        std::fs::write(d.join("notes.txt"), "").unwrap();
        std::os::unix::fs::symlink(d.join("r1"), d.join("r2")).unwrap();
        let got = list_runs(d).unwrap();
        assert_eq!(
            got,
            [
                Listed::Journal(d.join("loose.jsonl")),
                Listed::Journal(d.join("r1/journal.jsonl")),
                Listed::Link(d.join("r2")),
            ]
        );
        assert!(list_runs(&d.join("missing")).is_err());
    }
}
