//! `cutover attest CHECKLIST ITEM --evidence URL [--expires 7d] [--as NAME]`.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use crate::cli::AttestArgs;
use crate::diag;
use crate::error::{Error, exit};
use crate::readiness::{self, edit, time};

/// Apply `change` to the checklist at `path` and write it back, but only if
/// the result still validates (the file is left untouched otherwise).
/// A checklist that is a symbolic link is refused: replacing it would turn
/// the link into a copy and leave the file it points to unedited.
pub(crate) fn edit_file(
    path: &Path,
    change: impl FnOnce(&str) -> Result<String, edit::EditError>,
) -> Result<(), Error> {
    if crate::files::is_link(path) {
        let target =
            std::fs::read_link(path).map_or_else(|_| "?".into(), |t| t.display().to_string());
        return Err(Error::Usage(format!(
            "`{}` is a symbolic link (to `{target}`); attest and waive edit the file itself: name that file",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path.display(), e))?;
    let edited = change(&text).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    let loaded = readiness::load_text(path, edited.clone());
    if loaded.checklist.is_none() {
        eprintln!(
            "{}",
            diag::render_all(&loaded.file, &loaded.diagnostics, diag::stderr_color())
        );
        return Err(Error::Usage(format!(
            "`{}` would not be a valid checklist after this edit; it was left unchanged",
            path.display()
        )));
    }
    replace(path, &edited)
}

/// Write `text` next to `path` and rename it over, so a crash never leaves
/// half a checklist. The temporary file is created new (a leftover, or a
/// link planted there, is removed, never written through) and gets the
/// checklist's mode.
fn replace(path: &Path, text: &str) -> Result<(), Error> {
    let tmp = path.with_extension("toml.cutover-tmp");
    let mode = std::fs::metadata(path)
        .map_err(|e| Error::io("read", path.display(), e))?
        .permissions();
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::io("remove", tmp.display(), e));
        }
        _ => {}
    }
    let mut file = crate::files::create_new(std::fs::OpenOptions::new().write(true), &tmp)
        .map_err(|e| Error::io("create", tmp.display(), e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.set_permissions(mode))
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("write", tmp.display(), e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("replace", path.display(), e))
}

/// The masker for what an operator writes into the checklist at `path`:
/// the secrets its `[secrets]` declares, as this process's environment
/// holds them (a checklist that does not load masks nothing; the edit then
/// fails validation anyway).
pub(crate) fn checklist_masker(path: &Path) -> crate::secrets::Masker {
    let loaded = readiness::load_file(path);
    let vars: Vec<String> = loaded
        .checklist
        .iter()
        .flat_map(|c| c.signals.secrets.values())
        .map(|s| s.env.clone())
        .collect();
    crate::secrets::Masker::from_env_vars(vars.iter().map(String::as_str), &|name| {
        std::env::var(name).ok()
    })
}

pub fn exec(args: &AttestArgs) -> Result<ExitCode, Error> {
    let now = super::check::now()?;
    let expires = args
        .expires
        .as_deref()
        .map(|e| time::parse_expiry(e, now))
        .transpose()
        .map_err(|e| Error::Usage(format!("--expires: {e}")))?;
    // `--as NAME` when given, else this process's `user@host`, named as the
    // journal names actors (never `unknown`, even without `$USER`).
    let by = args
        .actor
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map_or_else(crate::journal::local_actor, str::to_string);
    // Evidence links can carry a token (a pre-signed URL): masked like command output.
    let evidence = checklist_masker(&args.checklist).mask(&args.evidence);
    edit_file(&args.checklist, |text| {
        edit::attest(text, &args.item, &by, &evidence, expires, now)
    })?;
    println!(
        "{}: `{}` attested by {by}{}",
        args.checklist.display(),
        args.item,
        expires
            .map(|e| format!(", expires {}", time::format_human(e)))
            .unwrap_or_default()
    );
    Ok(ExitCode::from(exit::OK))
}
