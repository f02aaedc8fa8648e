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
