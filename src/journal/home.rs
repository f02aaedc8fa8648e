//! Where a project's `.cutover/` is, and how a typed run name finds its
//! journal there: `CUTOVER_DIR` when set, else the nearest `.cutover`
//! directory walking up from the current directory (like git finds
//! `.git`), else `.cutover` here (created by the first `cutover run`). A
//! run is named by its id, `latest`, or any unique start of an id.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{JOURNAL_FILE, JournalError, Listed, list_runs};

/// The environment variable naming the `.cutover` directory itself.
pub const DIR_VAR: &str = "CUTOVER_DIR";

/// The name that means "the run started last".
pub const LATEST: &str = "latest";

/// The project's `.cutover` directory. Relative (`.cutover`) when it is in
/// the current directory, so messages stay short; absolute when found
/// further up.
pub fn cutover_dir() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    find(&cwd, std::env::var_os(DIR_VAR))
}

/// `.cutover/runs` of the project.
pub fn runs_dir() -> PathBuf {
    cutover_dir().join("runs")
}

/// [`cutover_dir`] from `cwd`, with `CUTOVER_DIR` as `env` (empty: unset).
fn find(cwd: &Path, env: Option<OsString>) -> PathBuf {
    if let Some(dir) = env.filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let here = Path::new(".cutover");
    if cwd.join(here).is_dir() {
        return here.to_path_buf();
    }
    cwd.ancestors()
        .skip(1)
        .map(|d| d.join(".cutover"))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| here.to_path_buf())
}

/// The journal of `name` under `runs`: the run with that id, else (for
/// `latest`) the run started last, else the one run whose id starts with
/// `name`. `None` when nothing there matches at all.
pub(super) fn by_name(runs: &Path, name: &str) -> Result<Option<PathBuf>, JournalError> {
    let exact = runs.join(name).join(JOURNAL_FILE);
    if exact.is_file() {
        return Ok(Some(exact));
    }
    let Ok(listed) = list_runs(runs) else {
        return Ok(None);
    };
    // Run directories only: a loose `*.jsonl` has no run id to type.
    let journals: Vec<(String, PathBuf)> = listed
        .into_iter()
        .filter_map(|l| match l {
            Listed::Journal(p) if p.ends_with(JOURNAL_FILE) => {
                let id = p.parent()?.file_name()?.to_str()?.to_string();
                Some((id, p))
            }
            _ => None,
        })
        .collect();
    if name == LATEST {
        return Ok(latest(journals));
    }
    let matching: Vec<&(String, PathBuf)> = journals
        .iter()
        .filter(|(id, _)| id.starts_with(name))
        .collect();
    match matching.as_slice() {
        [] => Ok(None),
        [(_, path)] => Ok(Some(path.clone())),
        many => Err(JournalError::Ambiguous {
            name: name.to_string(),
            matches: many
                .iter()
                .map(|(id, _)| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The run created last: the journal header's `created` time (written when
/// the run started), the id breaking a tie.
fn latest(journals: Vec<(String, PathBuf)>) -> Option<PathBuf> {
    journals
        .into_iter()
        .map(|(id, path)| (created(&path), id, path))
        .max_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)))
        .map(|(_, _, path)| path)
}

/// A journal's `created` time as written (RFC 3339 UTC sorts as text); empty
/// when its first line does not read.
fn created(path: &Path) -> String {
    use std::io::BufRead as _;
    let Ok(file) = crate::files::open_read(path) else {
        return String::new();
    };
    let mut line = String::new();
    if std::io::BufReader::new(file).read_line(&mut line).is_err() {
        return String::new();
    }
    super::parse_header(line.trim_end(), path).map_or_else(|_| String::new(), |h| h.created)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(runs: &Path, id: &str, created: &str) {
        let dir = runs.join(id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(JOURNAL_FILE),
            format!(
                "{{\"format_version\":1,\"journal\":\"cutover-journal\",\"run_id\":\"{id}\",\"created\":\"{created}\"}}\n"
            ),
        )
        .unwrap();
    }

    #[test]
    fn the_nearest_cutover_dir_up_the_tree_or_the_variable() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let deep = root.join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(find(&deep, None), Path::new(".cutover"), "none: here");
        std::fs::create_dir_all(root.join("a/.cutover")).unwrap();
        assert_eq!(find(&deep, None), root.join("a/.cutover"));
        assert_eq!(find(&root.join("a"), None), Path::new(".cutover"));
        std::fs::create_dir_all(root.join("a/b/.cutover")).unwrap();
        assert_eq!(find(&deep, None), root.join("a/b/.cutover"), "the nearest");
        assert_eq!(
            find(&deep, Some("/srv/launch/.cutover".into())),
            Path::new("/srv/launch/.cutover")
        );
        assert_eq!(
            find(&deep, Some(OsString::new())),
            root.join("a/b/.cutover")
        );
    }

    #[test]
    fn latest_and_unique_prefixes_name_a_run() {
        let tmp = tempfile::tempdir().unwrap();
        let runs = tmp.path();
        journal(runs, "pay-20261125T210000000Z", "2026-11-25T21:00:00.000Z");
        journal(runs, "pay-20261126T090000000Z", "2026-11-26T09:00:00.000Z");
        journal(runs, "db-1", "2026-11-24T09:00:00.000Z");
        let id_of = |p: Option<PathBuf>| {
            p.unwrap()
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        assert_eq!(
            id_of(by_name(runs, "latest").unwrap()),
            "pay-20261126T090000000Z"
        );
        assert_eq!(id_of(by_name(runs, "db").unwrap()), "db-1");
        assert_eq!(id_of(by_name(runs, "db-1").unwrap()), "db-1");
        assert_eq!(
            id_of(by_name(runs, "pay-20261125").unwrap()),
            "pay-20261125T210000000Z"
        );
        let e = by_name(runs, "pay").unwrap_err().to_string();
        assert!(
            e.contains("`pay-20261125T210000000Z`, `pay-20261126T090000000Z`"),
            "{e}"
        );
        assert!(by_name(runs, "nope").unwrap().is_none());
        assert!(by_name(&runs.join("missing"), "latest").unwrap().is_none());
        // A run really named `latest` is that run.
        journal(runs, "latest", "2020-01-01T00:00:00.000Z");
        assert_eq!(id_of(by_name(runs, "latest").unwrap()), "latest");
    }
}
