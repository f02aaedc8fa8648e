//! The programs outside Rust some tests drive (Prometheus, pushgateway,
//! headless Chromium, Python, util-linux `script`): a missing one fails the
//! test with the command that installs it, never skips it.

use std::path::{Path, PathBuf};

/// Where `program` is (an absolute path, or a name looked up in `PATH`);
/// panics, naming `scripts/test` and the Debian `package` to install, when
/// it is not there.
pub fn require(program: &str, package: &str) -> PathBuf {
    find(program).unwrap_or_else(|| panic!("{}", missing(program, package)))
}

/// The message for a missing `program` of Debian `package`.
pub fn missing(program: &str, package: &str) -> String {
    format!(
        "{program} is not installed: run `scripts/test` (it installs what the tests need), \
         or `sudo apt-get install {package}`"
    )
}

fn find(program: &str) -> Option<PathBuf> {
    let path = Path::new(program);
    if path.is_absolute() {
        return path.is_file().then(|| path.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

#[test]
fn a_missing_tool_names_the_command_that_installs_it() {
    let message = std::panic::catch_unwind(|| require("/usr/bin/no-such-tool-here", "no-such"))
        .expect_err("a missing tool fails");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        message,
        "/usr/bin/no-such-tool-here is not installed: run `scripts/test` (it installs what the \
         tests need), or `sudo apt-get install no-such`"
    );
    let message = std::panic::catch_unwind(|| require("no-such-tool-here", "no-such"))
        .expect_err("a missing tool fails");
    assert!(
        message
            .downcast_ref::<String>()
            .is_some_and(|m| m.starts_with("no-such-tool-here is not installed")),
        "{message:?}"
    );
    assert_eq!(require("sh", "dash").file_name().unwrap(), "sh");
}
