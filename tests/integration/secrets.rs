//! Secrets never reach the terminal or the journal, in any spelling a tool
//! may print them: plain, URL-encoded (the encodings of curl, Python, Go,
//! JavaScript and HTML forms, either hex case) or base64.

use std::fmt::Write as _;

use base64::Engine as _;

use crate::support::cutover::Cutover;

const SECRET: &str = "p@ss-word.1+x/y=z";

#[test]
fn a_step_printing_a_secret_in_any_encoding_leaks_nothing() {
    let encodings = [
        SECRET.to_string(),
        "p%40ss-word.1%2Bx%2Fy%3Dz".into(), // curl --data-urlencode, encodeURIComponent
        "p%40ss-word.1%2Bx/y%3Dz".into(),   // python urllib.parse.quote
        "p%40ss-word.1%2bx%2fy%3dz".into(), // lower-case hex
        "p%40ss%2Dword%2E1%2Bx%2Fy%3Dz".into(), // everything but letters and digits
        base64::engine::general_purpose::STANDARD.encode(SECRET),
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{SECRET}")),
    ];
    let mut run = String::from("echo start");
    for e in &encodings {
        let _ = write!(run, " && echo 'password={e}&next=1'");
    }
    let runbook = format!(
        "[runbook]\nname = \"leak\"\n[secrets]\npw = {{ env = \"LEAK_TEST_PW\" }}\n\
         [[step]]\nid = \"print\"\nrun = \"\"\"{run} && echo env=\"{{{{ secrets.pw }}}}\"\"\"\"\ndry_run = \"run\"\n"
    );
    let c = Cutover::new()
        .runbook(&runbook)
        .env("LEAK_TEST_PW", SECRET)
        .args(["run", "runbook.toml", "--no-progress", "--run-id", "leak"]);
    let out = c.run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let journal = std::fs::read_to_string(c.path(".cutover/runs/leak/journal.jsonl")).unwrap();
    assert!(
        journal.contains("password=***&next=1"),
        "the lines were journaled, masked:\n{journal}"
    );
    for e in &encodings {
        for (what, text) in [
            ("stdout", &out.stdout),
            ("stderr", &out.stderr),
            ("journal", &journal),
        ] {
            assert!(!text.contains(e.as_str()), "{what} leaks {e}:\n{text}");
        }
    }
}

/// A line longer than 64 KiB reaches the journal in pieces; a secret that
/// straddles a piece boundary is masked all the same.
#[test]
fn a_secret_across_the_pieces_of_a_long_line_leaks_nothing() {
    const PIECE: usize = 64 * 1024;
    let b64 = base64::engine::general_purpose::STANDARD.encode(SECRET);
    let url = "p%40ss-word.1%2Bx%2Fy%3Dz";
    // One line of ~200 KiB: each form starts a few bytes before a piece boundary.
    let mut line = String::new();
    let placed = [
        (PIECE, SECRET, 'a'),
        (2 * PIECE, &b64, 'b'),
        (3 * PIECE, url, 'c'),
    ];
    for (boundary, form, fill) in placed {
        let start = boundary - form.len() / 2;
        line.extend(std::iter::repeat_n(fill, start - line.len()));
        line.push_str(form);
    }
    line.extend(std::iter::repeat_n('d', 200 * 1024 - line.len()));
    line.push('\n');
    let runbook = "[runbook]\nname = \"leak\"\n[secrets]\npw = { env = \"LEAK_TEST_PW\" }\n\
         [[step]]\nid = \"print\"\nrun = \"cat blob.txt\"\ndry_run = \"run\"\n";
    let c = Cutover::new()
        .runbook(runbook)
        .file("blob.txt", &line)
        .env("LEAK_TEST_PW", SECRET)
        .args(["run", "runbook.toml", "--no-progress", "--run-id", "long"]);
    let out = c.run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let journal = std::fs::read_to_string(c.path(".cutover/runs/long/journal.jsonl")).unwrap();
    let mut outputs = vec![
        ("stdout", out.stdout),
        ("stderr", out.stderr),
        ("journal", journal),
    ];
    for format in ["md", "html", "json"] {
        let report = std::process::Command::new(crate::support::cutover::BIN)
            .current_dir(c.dir())
            .args(["report", "long", "--format", format])
            .output()
            .unwrap();
        assert_eq!(report.status.code(), Some(0), "{report:?}");
        let text = String::from_utf8_lossy(&report.stdout).into_owned();
        outputs.push((format, text));
    }
    for (what, text) in &outputs {
        for (i, (_, form, before)) in placed.iter().enumerate() {
            assert!(!text.contains(form), "{what} leaks {form}");
            // Nor the half of a form on either side of its boundary.
            let after = ['b', 'c', 'd'][i];
            let (head, tail) = form.split_at(form.len() / 2);
            assert!(
                !text.contains(&format!("{before}{head}")),
                "{what} leaks {head}"
            );
            assert!(
                !text.contains(&format!("{tail}{after}")),
                "{what} leaks {tail}"
            );
        }
    }
    // The mask is where each form was.
    for marker in [
        "aaaaaaaa***bbbbbbbb",
        "bbbbbbbb***cccccccc",
        "cccccccc***dddddddd",
    ] {
        assert!(
            outputs[2].1.contains(marker),
            "{marker} is not in the journal"
        );
    }
    let (_, report) = &outputs[5];
    assert!(
        report.contains("aaaaaaaa***bbbbbbbb"),
        "the json report shows the masked line"
    );
}
