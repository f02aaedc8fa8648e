//! HTTP steps whose response bodies are larger than anyone should read: the
//! engine reads a bounded prefix, decides on the status, and never shows a
//! line cut in the middle (it could hold part of a secret).

use crate::support::cutover::Cutover;
use crate::support::http_server::{HttpServer, Reply};
use crate::support::journal::{journal, of_type};
use crate::support::run::bin;

const TOKEN: &str = "tok-0123456789abcdef";

#[test]
fn a_huge_http_body_is_read_only_in_part_and_its_cut_line_is_not_shown() {
    const MIB: usize = 1024 * 1024;
    // The secret straddles the 1 MiB read limit, on an unfinished line.
    let mut body = String::from("accepted\n");
    body.push_str(&"a".repeat(MIB - body.len() - TOKEN.len() / 2));
    body.push_str(TOKEN);
    body.push_str(&"b".repeat(4 * MIB));
    let server = HttpServer::start();
    server.route("PUT", "/flags/checkout", [Reply::new(200).body(&body)]);
    let c = Cutover::new().runbook(&format!(
            r#"
[runbook]
name = "http"

[secrets]
token = {{ env = "FLAGS_TOKEN" }}

[[step]]
id = "flag"
http = {{ url = "{}/flags/checkout", method = "PUT", headers = {{ Authorization = "Bearer {{{{ secrets.token }}}}" }} }}
rollback = "true"
"#,
            server.url()
        ));
    let out = bin(&c)
        .args(["run", "runbook.toml", "--run-id", "r", "--no-progress"])
        .env("FLAGS_TOKEN", TOKEN)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "the status decides: {stderr}");
    let j = journal(&c, "r");
    let lines: Vec<&str> = of_type(&j, "output")
        .iter()
        .map(|r| r["data"]["line"].as_str().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "HTTP 200 OK",
            "accepted",
            "(the body goes on past 1024 KiB; the rest was not read)"
        ]
    );
    let half = &TOKEN[..TOKEN.len() / 2];
    let text = std::fs::read_to_string(c.path(".cutover/runs/r/journal.jsonl")).unwrap();
    assert!(
        !text.contains(half),
        "part of the secret reached the journal"
    );
    assert!(
        !stderr.contains(half),
        "part of the secret reached the terminal"
    );
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}
