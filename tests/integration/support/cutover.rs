//! `Cutover`: run the binary as a user does, in a private temporary directory.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_cutover");

/// What a finished `cutover` invocation left behind.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub struct Cutover {
    dir: tempfile::TempDir,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
}

impl Cutover {
    pub fn new() -> Self {
        Cutover {
            dir: tempfile::tempdir().expect("create temp dir"),
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
        }
    }

    /// Write `contents` to `name` inside the test directory.
    pub fn file(self, name: &str, contents: impl AsRef<[u8]>) -> Self {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        std::fs::write(&path, contents).expect("write test file");
        self
    }

    /// Write `runbook.toml`.
    pub fn runbook(self, toml: &str) -> Self {
        self.file("runbook.toml", toml)
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The command, configured but not started (for tests that need to signal or kill it).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path())
            .args(&self.args)
            .env("NO_COLOR", "1")
            .env_remove("CUTOVER_ACTOR")
            .env_remove("CUTOVER_LOG")
            .env_remove("RUST_LOG");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self) -> Output {
        self.exec(&[])
    }

    /// Like `run`, with `extra` arguments after those given so far.
    pub fn exec(&self, extra: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.args(extra)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn cutover");
        if let Some(input) = &self.stdin {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(input).expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait for cutover");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// With `CUTOVER_TEST_KEEP_JOURNALS=DIR`, every journal a test leaves behind
/// is copied to `DIR/<test name>/<path in the test dir>` when the test ends:
/// a corpus of real journals to compare every view of before and after a
/// change to the fold or the views (see docs/architecture.md).
impl Drop for Cutover {
    fn drop(&mut self) {
        let Some(keep) = std::env::var_os("CUTOVER_TEST_KEEP_JOURNALS") else {
            return;
        };
        let test = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .replace("::", "__");
        keep_journals(
            self.dir.path(),
            self.dir.path(),
            &Path::new(&keep).join(test),
        );
    }
}

fn keep_journals(root: &Path, dir: &Path, into: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            keep_journals(root, &path, into);
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "jsonl") {
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let to = into.join(rel);
            if let Some(parent) = to.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = std::fs::copy(&path, &to);
        }
    }
}
