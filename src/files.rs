//! Files cutover keeps under `.cutover/` (run directories, journals, lock
//! files, the check history): opened without following a symbolic link, so a
//! link planted there cannot redirect a write to another file, and created
//! private (directories 0700, files 0600) whatever the umask.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;

/// Mode of a directory cutover creates for a run.
pub const PRIVATE_DIR: u32 = 0o700;
/// Mode of a journal, lock or history file cutover creates.
pub const PRIVATE_FILE: u32 = 0o600;

/// `path` itself (not what it points to) is a symbolic link.
pub fn is_link(path: &Path) -> bool {
    path.symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
}

/// `e`, from opening `path` without following links, says that `path` is one.
pub fn is_link_error(e: &io::Error, path: &Path) -> bool {
    e.raw_os_error() == Some(Errno::ELOOP as i32) && is_link(path)
}

/// The error a link in place of a file or directory gives, as the kernel
/// gives it for a `O_NOFOLLOW` open, so [`is_link_error`] knows it.
fn link_error() -> io::Error {
    io::Error::from_raw_os_error(Errno::ELOOP as i32)
}

/// Open an existing file as `options` say, refusing a symbolic link.
pub fn open(options: &OpenOptions, path: &Path) -> io::Result<File> {
    let mut options = options.clone();
    options.custom_flags(OFlag::O_NOFOLLOW.bits());
    options.open(path)
}

/// Open a file for reading, refusing a symbolic link.
pub fn open_read(path: &Path) -> io::Result<File> {
    open(OpenOptions::new().read(true), path)
}

/// Create `path` as a new private file (0600, whatever the umask) opened as
/// `options` say; fails if anything, a link included, is already there.
pub fn create_new(options: &OpenOptions, path: &Path) -> io::Result<File> {
    let mut options = options.clone();
    options
        .create_new(true)
        .mode(PRIVATE_FILE)
        .custom_flags(OFlag::O_NOFOLLOW.bits());
    let file = options.open(path)?;
    // The umask may have taken bits away (0400 under umask 0277): set them exactly.
    file.set_permissions(std::fs::Permissions::from_mode(PRIVATE_FILE))?;
    Ok(file)
}

/// Open `path` as `options` say, creating it private (0600) if it is not
/// there; an existing file keeps its mode. A symbolic link is refused.
pub fn open_or_create(options: &OpenOptions, path: &Path) -> io::Result<File> {
    match create_new(options, path) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => open(options, path),
        other => other,
    }
}

/// Create directory `dir` private (0700, whatever the umask); `Ok(false)`
/// if a directory is already there. A symbolic link there is refused with
/// the error of a `O_NOFOLLOW` open.
pub fn create_private_dir(dir: &Path) -> io::Result<bool> {
    match std::fs::DirBuilder::new().mode(PRIVATE_DIR).create(dir) {
        Ok(()) => {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(PRIVATE_DIR))?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if is_link(dir) {
                Err(link_error())
            } else {
                Ok(false)
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_refused_and_named_as_links() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        let link = dir.path().join("journal.lock");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let rw = OpenOptions::new().read(true).write(true).clone();
        let e = open_or_create(&rw, &link).unwrap_err();
        assert!(is_link_error(&e, &link), "{e}");
        let e = open_read(&link).unwrap_err();
        assert!(is_link_error(&e, &link), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        // A dangling link is not created through either.
        let dangling = dir.path().join("append.lock");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(open_or_create(&rw, &dangling).is_err());
        assert!(!dir.path().join("nowhere").exists());
    }

    #[test]
    fn a_linked_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = dir.path().join("run");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = create_private_dir(&link).unwrap_err();
        assert!(is_link_error(&e, &link), "{e}");
        assert!(!create_private_dir(&real).unwrap());
    }
}
