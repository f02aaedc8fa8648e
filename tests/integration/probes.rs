//! HTTP probes (status, latency, JSON pointer, regex) against the loopback
//! test server, and command probes.

use std::time::Duration;

use cutover::runbook::model::{CommandRead, HttpRead, SourceKind};
use cutover::signals::Verdict;

use crate::support::http_server::{HttpServer, Reply};
use crate::support::model::{block_on, check, http, http_probe, query, set, source};

#[test]
fn status_latency_json_pointer_and_regex() {
    let server = HttpServer::start();
    server.route("GET", "/health", [Reply::new(200).body("ok")]);
    server.route("GET", "/down", [Reply::new(503).body("maintenance")]);
    server.route(
        "GET",
        "/slow",
        [Reply::new(200).body("ok").delay(Duration::from_millis(300))],
    );
    server.route(
        "GET",
        "/stats",
        [Reply::json(
            200,
            r#"{"queue":{"depth":12,"lag":"0.5","ok":true,"list":[1]}}"#,
        )],
    );
    server.route(
        "GET",
        "/metrics",
        [Reply::new(200).body("# HELP\nqueue_depth 42\nother 1\n")],
    );
    let sources = set(vec![source("web", http(Some(&server.url())))], &[]);
    let measure = |url: &str, read: HttpRead, cond: &str| {
        block_on(sources.measure(&check("web", http_probe(url, read), cond), None))
    };

    let m = measure("/down", HttpRead::Status, "== 200");
    assert_eq!(
        (m.verdict, m.value),
        (Verdict::Fail, Some(503.0)),
        "a status is a value"
    );
    let m = measure("/slow", HttpRead::Latency, "< 0.1");
    assert_eq!(m.verdict, Verdict::Fail, "{m:?}");
    assert!(m.value.unwrap() >= 0.3);

    let json = |p: &str| HttpRead::JsonPointer(p.into());
    let re = |r: &str| HttpRead::Regex(r.into());
    for (url, read, cond, verdict, why) in [
        ("/health", HttpRead::Status, "== 200", Verdict::Pass, ""),
        ("/health", HttpRead::Latency, "< 0.25", Verdict::Pass, ""),
        (
            "/down",
            HttpRead::Latency,
            "< 10",
            Verdict::Error,
            "the latency of an error response is not a pass",
        ),
        ("/stats", json("/queue/depth"), "< 20", Verdict::Pass, ""),
        ("/stats", json("/queue/lag"), "== 0.5", Verdict::Pass, ""),
        ("/stats", json("/queue/ok"), "== 1", Verdict::Pass, ""),
        (
            "/stats",
            json("/queue/missing"),
            "< 20",
            Verdict::Inconclusive,
            "",
        ),
        ("/stats", json("/queue/list"), "< 20", Verdict::Error, ""),
        ("/health", json("/x"), "< 20", Verdict::Error, "not json"),
        ("/down", json("/x"), "< 20", Verdict::Error, ""),
        (
            "/metrics",
            re(r"queue_depth (\d+)"),
            "== 42",
            Verdict::Pass,
            "",
        ),
        (
            "/metrics",
            re(r"nothing (\d+)"),
            "== 42",
            Verdict::Inconclusive,
            "",
        ),
        ("/metrics", re(r"# (HELP)"), "== 42", Verdict::Error, ""),
    ] {
        let what = format!("{url} {read:?} {cond}");
        let m = measure(url, read, cond);
        assert_eq!(m.verdict, verdict, "{what} {why}: {m:?}");
    }

    // Absolute URLs work too, and an unreachable one is an error.
    let abs = format!("{}/health", server.url());
    assert_eq!(
        measure(&abs, HttpRead::Status, "== 200").verdict,
        Verdict::Pass
    );
    let closed = format!(
        "http://127.0.0.1:{}/",
        crate::support::prometheus::free_port()
    );
    assert_eq!(
        measure(&closed, HttpRead::Status, "== 200").verdict,
        Verdict::Error
    );
}

#[test]
fn http_timeouts_are_errors() {
    let server = HttpServer::start();
    server.route(
        "GET",
        "/hang",
        [Reply::new(200).delay(Duration::from_secs(3))],
    );
    let mut s = source("web", http(Some(&server.url())));
    s.timeout = Duration::from_millis(300);
    let sources = set(vec![s], &[]);
    let m = block_on(sources.measure(
        &check("web", http_probe("/hang", HttpRead::Status), "== 200"),
        None,
    ));
    assert_eq!(m.verdict, Verdict::Error);
    assert!(m.detail.unwrap().contains("timed out"));
}

#[test]
fn command_probes() {
    let sources = set(
        vec![source(
            "sh",
            SourceKind::Command {
                shell: "/bin/sh".into(),
            },
        )],
        &[],
    );
    let m = block_on(sources.measure(&check("sh", query("echo replica lag: 3"), "< 5"), None));
    assert_eq!((m.verdict, m.value), (Verdict::Pass, Some(3.0)));
    let m = block_on(sources.measure(&check("sh", query("echo NaN"), "< 5"), None));
    assert_eq!(m.verdict, Verdict::Inconclusive);
    let m = block_on(sources.measure(&check("sh", query("echo 1; exit 2"), "< 5"), None));
    assert_eq!(m.verdict, Verdict::Error);
    let mut by_code = check("sh", query("exit 2"), "== 0");
    by_code.command_read = CommandRead::ExitCode;
    let m = block_on(sources.measure(&by_code, None));
    assert_eq!((m.verdict, m.value), (Verdict::Fail, Some(2.0)));
    // A probe of the wrong kind for the source is an error, not a crash.
    let m = block_on(sources.measure(
        &check("sh", http_probe("/", HttpRead::Status), "== 200"),
        None,
    ));
    assert_eq!(m.verdict, Verdict::Error);
    assert!(m.detail.unwrap().contains("cannot run"));
}
