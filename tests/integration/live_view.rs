//! The driver's live view in a real pseudo-terminal (`script` gives the
//! binary one): the panel's rows for steps running side by side, a gate in
//! progress, a breaching trigger and a pending go/no-go with its command;
//! colour on and off; a clean redraw after the terminal is resized; the
//! summary block the run ends with; `status --follow` in a short pane
//! (header on top, redrawn in place). What
//! the binary writes is fed to a small terminal emulator (`support::vt`),
//! so the tests assert what a person would see.

use std::fmt::Write as _;
use std::io::Read as _;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::cutover::{BIN, Cutover};
use crate::support::journal::{journal, of_type};
use crate::support::run::wait_for_type;
use crate::support::vt::Screen;

/// Two steps running side by side, a third measuring its after-gate (60
/// times, so it is still measuring when looked at), a fourth waiting for
/// its go/no-go, and a trigger breaching with a 10-minute hold. The two
/// steps that wait for `go` give up after 30 s, so a test killed before it
/// writes `go` leaves nothing running.
const NIGHT: &str = r#"
[runbook]
name = "night"
max_parallel = 4

[sources.local]
kind = "command"

[[trigger]]
id = "errors"
source = "local"
query = "echo 0.05"
fire_if = "> 0.02"
for = "10m"
interval = "200ms"
action = "rollback"

[[step]]
id = "migrate"
owner = "alice"
run = "i=0; until [ -e go ] || [ $i -ge 600 ]; do sleep 0.05; i=$((i+1)); done"
rollback = "true"

[[step]]
id = "reindex"
needs = []
run = "i=0; until [ -e go ] || [ $i -ge 600 ]; do sleep 0.05; i=$((i+1)); done"
rollback = "true"

[[step]]
id = "verify"
needs = []
run = "true"
rollback = "true"

[[step.gate]]
name = "err"
when = "after"
source = "local"
query = "echo 0.012"
pass_if = "< 0.02"
count = 60
interval = "500ms"

[[step]]
id = "switch"
needs = []
approval = { required = true }
run = "true"
rollback = "true"
"#;

/// `cutover ARGS` on a pseudo-terminal of `cols` x `rows`, what it writes
/// kept as it comes, its stdin held open (a prompt waits, as for a person).
struct Pty {
    child: Child,
    stdin: ChildStdin,
    out: Arc<Mutex<Vec<u8>>>,
    /// How many bytes of `out` the screen has seen.
    fed: usize,
    screen: Screen,
}

impl Pty {
    fn spawn(c: &Cutover, cols: usize, rows: usize, args: &str, no_color: bool) -> Pty {
        let mut cmd = Command::new("script");
        cmd.arg("-qfec")
            .arg(format!("stty cols {cols} rows {rows}; exec {BIN} {args}"))
            .arg("/dev/null")
            .current_dir(c.dir())
            .env_remove("NO_COLOR")
            .env_remove("CI")
            .env_remove("CUTOVER_ACTOR")
            .env_remove("CUTOVER_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let mut child = cmd.spawn().expect("spawn script");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    return;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            child,
            stdin,
            out,
            fed: 0,
            screen: Screen::new(cols, rows),
        }
    }

    /// Type `text` and Enter, as the operator at a prompt.
    fn type_line(&mut self, text: &str) {
        use std::io::Write as _;
        self.stdin
            .write_all(format!("{text}\n").as_bytes())
            .unwrap();
        self.stdin.flush().unwrap();
    }

    /// Everything written so far, escape sequences included.
    fn raw(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// The screen after everything written so far (up to a sequence or a
    /// character still being written).
    fn update(&mut self) -> Vec<String> {
        let out = self.out.lock().unwrap();
        let end = self.fed + complete_prefix(&out[self.fed..]);
        let text = std::str::from_utf8(&out[self.fed..end])
            .unwrap()
            .to_string();
        drop(out);
        self.screen.feed(&text);
        self.fed = end;
        self.screen.visible()
    }

    /// Wait (20 s at most) until the screen shows what `pred` accepts.
    fn wait_for_screen(&mut self, what: &str, pred: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.update();
            if pred(&screen) {
                return screen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{}",
                screen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How much of `bytes` is whole: no UTF-8 character nor escape sequence
/// cut at its end.
fn complete_prefix(bytes: &[u8]) -> usize {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) => e.valid_up_to(),
    };
    let text = &bytes[..valid];
    if let Some(esc) = text.iter().rposition(|b| *b == 0x1b) {
        let rest = &text[esc + 1..];
        let whole = match rest.first() {
            None => false,
            Some(b'[') => rest[1..]
                .iter()
                .any(|b| b.is_ascii_alphabetic() || *b == b'@' || *b == b'~'),
            Some(_) => true,
        };
        if !whole {
            return esc;
        }
    }
    valid
}

/// The pid of the run's process, from its journal.
fn run_pid(c: &Cutover) -> i32 {
    let records = journal(c, "r");
    let started = of_type(&records, "run_started");
    i32::try_from(started[0]["data"]["pid"].as_i64().unwrap()).unwrap()
}

fn count(screen: &[String], pred: impl Fn(&str) -> bool) -> usize {
    screen.iter().filter(|l| pred(l)).count()
}

/// The whole panel of `NIGHT` is on screen.
fn night_panel_shown(screen: &[String]) -> bool {
    let has = |start: &str, also: &str| {
        screen
            .iter()
            .any(|l| l.starts_with(start) && l.contains(also))
    };
    has("── run `r` RUNNING", "0 of 4 steps done")
        && has("  migrate  running", "alice")
        && has("  reindex  running", "")
        && has("  verify   after-gates", "")
        && screen.iter().any(|l| {
            l.trim_start().starts_with("gate err ")
                && l.contains("/60: 0.012 (target < 0.02)")
                && !l.contains(" 0/60")
        })
        && has("  switch   awaiting approval", "0 of 1 approved")
        && has("             cutover approve r switch --reason \"...\"", "")
        && has("  trigger errors  BREACHING for ", "of 10m00s · 0.05")
}

fn start_night(no_color: bool) -> (Cutover, Pty) {
    let c = Cutover::new().runbook(NIGHT);
    let mut pty = Pty::spawn(&c, 120, 40, "run runbook.toml --run-id r", no_color);
    wait_for_type(&c, "trigger_measurement");
    pty.wait_for_screen("the whole panel", night_panel_shown);
    (c, pty)
}

fn stop(c: &Cutover) {
    let _ = kill(Pid::from_raw(run_pid(c)), Signal::SIGKILL);
}

#[test]
fn the_panel_shows_parallel_steps_a_gate_a_breaching_trigger_and_a_go_no_go_in_colour() {
    let (c, mut pty) = start_night(false);
    let screen = pty.update();
    assert_eq!(
        count(&screen, |l| l.starts_with("── run `r`")),
        1,
        "one panel:\n{}",
        screen.join("\n")
    );
    // The log scrolls above the panel, each line once.
    assert_eq!(count(&screen, |l| l.ends_with("step `migrate` running")), 1);
    let trigger = screen
        .iter()
        .find(|l| l.contains("trigger errors"))
        .unwrap();
    assert!(
        trigger.ends_with("of 10m00s · 0.05 (fires if > 0.02)"),
        "{trigger}"
    );
    let raw = pty.raw();
    assert!(raw.contains("\x1b[1;31mBREACHING for "), "breaching is red");
    assert!(
        raw.contains("\x1b[33mawaiting approval"),
        "waiting is yellow"
    );
    assert!(
        raw.contains("\x1b[33mcutover approve r switch"),
        "the command too"
    );
    stop(&c);
}

#[test]
fn no_color_gives_the_same_panel_without_colour() {
    let (c, pty) = start_night(true);
    let raw = pty.raw();
    let sgr = regex::Regex::new(r"\x1b\[[0-9;]*m").unwrap();
    assert!(
        !sgr.is_match(&raw),
        "no colour with NO_COLOR: {:?}",
        sgr.find(&raw)
            .map(|m| &raw[m.start().saturating_sub(40)..m.end()])
    );
    stop(&c);
}

#[test]
fn a_resized_terminal_gets_the_panel_redrawn_with_no_line_left_behind() {
    let (c, mut pty) = start_night(false);
    // The terminal narrows first (reflowing what is on it), the program
    // hears of it after, as on a real desktop.
    pty.update();
    pty.screen.resize(70, 40);
    let tty = std::fs::read_link(format!("/proc/{}/fd/2", run_pid(&c))).unwrap();
    let status = Command::new("stty")
        .args(["-F", tty.to_str().unwrap(), "cols", "70", "rows", "40"])
        .status()
        .unwrap();
    assert!(status.success());
    let screen = pty.wait_for_screen("the panel at 70 columns", |s| {
        night_panel_shown(s)
            && s.iter()
                .any(|l| l.starts_with("── run `r`") && l.chars().count() == 69)
    });
    let all = screen.join("\n");
    assert_eq!(count(&screen, |l| l.starts_with("── run `r`")), 1, "{all}");
    // Nothing of the 120-column panel is left: no rule reflowed onto a line
    // of its own, each row once, and every panel row fits the new width.
    assert_eq!(count(&screen, |l| l.starts_with('─')), 1, "{all}");
    assert_eq!(count(&screen, |l| l.contains("trigger errors")), 1, "{all}");
    assert_eq!(
        count(&screen, |l| l.starts_with("  migrate  running")),
        1,
        "{all}"
    );
    assert_eq!(
        count(&screen, |l| l.ends_with("step `migrate` running")),
        1,
        "{all}"
    );
    let panel_start = screen
        .iter()
        .position(|l| l.starts_with("── run `r`"))
        .unwrap();
    for line in &screen[panel_start..] {
        assert!(line.chars().count() < 70, "{line:?} wraps\n{all}");
    }
    stop(&c);
}

#[test]
fn the_run_ends_with_a_summary_block_and_no_panel_left() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "short"

[[step]]
id = "only"
owner = "alice"
run = "true"
rollback = "true"
"#,
    );
    let mut pty = Pty::spawn(&c, 100, 30, "run runbook.toml --run-id r", true);
    let screen = pty.wait_for_screen("the summary block", |s| {
        s.iter().any(|l| l.starts_with("  report   "))
    });
    let all = screen.join("\n");
    let start = screen
        .iter()
        .position(|l| l.starts_with("── run `r` COMPLETED after "))
        .unwrap_or_else(|| panic!("no summary headline:\n{all}"));
    assert!(screen[start].ends_with("(exit 0)"), "{all}");
    assert_eq!(
        screen[start + 1],
        "  journal  .cutover/runs/r/journal.jsonl",
        "{all}"
    );
    assert_eq!(
        screen[start + 2],
        "  report   cutover report r --output r-report.md",
        "{all}"
    );
    assert!(
        !screen
            .iter()
            .any(|l| l.contains("RUNNING") || l.contains("steps done")),
        "the panel is gone:\n{all}"
    );
    assert_eq!(
        count(&screen, |l| l.ends_with("step `only` done")),
        1,
        "{all}"
    );
}

#[test]
fn an_answer_typed_under_the_panel_leaves_no_stale_panel_line() {
    let c = Cutover::new().runbook(
        r#"
[runbook]
name = "typed"

[[step]]
id = "switch"
approval = { required = true }
run = "true"
rollback = "true"
"#,
    );
    let mut pty = Pty::spawn(&c, 100, 30, "run runbook.toml --run-id r", true);
    pty.wait_for_screen("the go/no-go in the panel", |s| {
        s.iter()
            .any(|l| l.trim() == "cutover approve r switch --reason \"...\"")
    });
    pty.type_line("yes dashboards green");
    let screen = pty.wait_for_screen("the summary block", |s| {
        s.iter().any(|l| l.starts_with("  report   "))
    });
    let all = screen.join("\n");
    assert!(
        !screen
            .iter()
            .any(|l| l.contains("RUNNING") || l.contains("steps done")),
        "a panel line was left behind:\n{all}"
    );
    assert_eq!(count(&screen, |l| l.starts_with("──")), 1, "{all}");
    assert_eq!(
        count(&screen, |l| l
            .ends_with(" step `switch` approved by root@vm")),
        1,
        "{all}"
    );
}

#[test]
fn status_follow_in_a_short_pane_keeps_the_header_and_redraws_in_place() {
    let mut runbook = String::from("[runbook]\nname = \"long\"\n");
    for i in 1..=12 {
        let _ = write!(
            runbook,
            "\n[[step]]\nid = \"step-{i:02}\"\nrun = \"true\"\nrollback = \"true\"\n"
        );
    }
    runbook.push_str(
        "\n[[step]]\nid = \"switch\"\napproval = { required = true }\nrun = \"true\"\nrollback = \"true\"\n",
    );
    let c = Cutover::new().runbook(&runbook);
    crate::support::run::cutover_exits(&c, &["run", "runbook.toml", "--run-id", "r"], 4);
    let mut pty = Pty::spawn(&c, 80, 10, "status latest --follow", true);
    let header = |l: &str| l.starts_with("run `r` (long): ");
    let screen = pty.wait_for_screen("the paused run", |s| {
        s.iter().any(|l| header(l) && l.contains("PAUSED"))
            && s.iter().any(|l| l.starts_with("  go/no-go of `switch`"))
    });
    let all = screen.join("\n");
    assert!(header(&screen[0]), "the header on top:\n{all}");
    assert_eq!(
        screen[screen.len() - 1],
        "",
        "the view fits the pane:\n{all}"
    );
    crate::support::run::cutover_exits(&c, &["approve", "r", "switch", "--reason", "ok"], 0);
    let screen = pty.wait_for_screen("the go/no-go to leave `waiting for`", |s| {
        !s.iter().any(|l| l.starts_with("  go/no-go of `switch`"))
            && s.iter().any(|l| l == "  a resume: the run is paused")
    });
    let all = screen.join("\n");
    assert!(header(&screen[0]), "the header still on top:\n{all}");
    assert_eq!(count(&screen, |l| header(l)), 1, "redrawn in place:\n{all}");
}
