//! Prometheus signals against a real Prometheus + pushgateway: values seen,
//! gates deciding on them, a stopped Prometheus never passing, no data,
//! Prometheus's own error text, secrets never recorded, health checks.

use std::sync::mpsc;
use std::time::Duration;

use base64::Engine as _;
use cutover::gate::{GateOutcome, run_gate};
use cutover::runbook::model::{Auth, NoData};
use cutover::signals::{Measurement, Verdict};

use crate::support::model::{block_on, check, gate, prometheus, query, set, source};
use crate::support::prometheus::{Prometheus, free_port, shared};

/// A job name of the calling test's own, so tests can share one pushgateway.
fn job(name: &str) -> String {
    format!("sig_{name}_{}", std::process::id())
}

#[test]
fn a_pushed_value_is_seen_and_a_gate_passes_or_fails_on_it() {
    let prom = shared();
    let job = job("pushed");
    let q = prom.push_visible(&job, "cutover_test_latency", "0.25");

    let sources = set(vec![source("prom", prometheus(&prom.url(), None))], &[]);
    let m = block_on(sources.measure(&check("prom", query(&q), "< 0.3"), None));
    assert_eq!(m.verdict, Verdict::Pass, "{m:?}");
    assert_eq!(m.value, Some(0.25));
    assert_eq!(m.samples[0].labels["job"], job, "labels are kept");
    assert_eq!(m.source_kind, "prometheus");
    assert_eq!(m.query, q, "the resolved query is recorded");

    let mut seen = Vec::new();
    let passing = gate(check("prom", query(&q), "< 0.3"), 3);
    let r = block_on(run_gate(
        &passing,
        &sources,
        None,
        &mut |m: &Measurement| {
            seen.push(m.verdict);
        },
    ));
    assert_eq!(r.outcome, GateOutcome::Pass, "{r:?}");
    assert_eq!(seen, vec![Verdict::Pass; 3]);

    let failing = gate(check("prom", query(&q), "< 0.2"), 3);
    let r = block_on(run_gate(
        &failing,
        &sources,
        None,
        &mut |_: &Measurement| {},
    ));
    assert_eq!(r.outcome, GateOutcome::Fail, "{r:?}");
    prom.delete(&job);
}

#[test]
fn changing_the_value_mid_gate_changes_the_verdict() {
    let prom = shared();
    let job = job("midgate");
    let q = prom.push_visible(&job, "cutover_test_errors", "0.01");
    let sources = set(vec![source("prom", prometheus(&prom.url(), None))], &[]);
    let mut g = gate(check("prom", query(&q), "< 0.02"), 200);
    g.check.interval = Duration::from_millis(100);

    let (tx, rx) = mpsc::channel::<Verdict>();
    let pusher_job = job.clone();
    let pusher = std::thread::spawn(move || {
        // After three passing measurements, the error rate jumps.
        for _ in 0..3 {
            assert_eq!(rx.recv().unwrap(), Verdict::Pass);
        }
        shared().push(&pusher_job, "cutover_test_errors", "0.5");
        rx
    });
    let mut seen = Vec::new();
    let r = block_on(run_gate(&g, &sources, None, &mut |m: &Measurement| {
        seen.push(m.verdict);
        let _ = tx.send(m.verdict);
    }));
    let _ = pusher.join();
    assert_eq!(r.outcome, GateOutcome::Fail, "{r:?}");
    assert_eq!(seen.last(), Some(&Verdict::Fail));
    assert!(seen.iter().filter(|v| **v == Verdict::Pass).count() >= 3);
    assert!(seen.len() < 200, "the gate stops at the first failure");
    prom.delete(&job);
}

#[test]
fn a_prometheus_stopped_mid_gate_errors_and_never_passes() {
    let prom = Prometheus::start_private();
    let sources = set(vec![source("prom", prometheus(&prom.url(), None))], &[]);
    let mut g = gate(check("prom", query("vector(0.5)"), "< 1"), 1_000);
    g.error_limit = 2;
    g.check.interval = Duration::from_millis(50);
    let mut seen: Vec<Measurement> = Vec::new();
    let r = block_on(run_gate(&g, &sources, None, &mut |m: &Measurement| {
        seen.push(m.clone());
        if seen.len() == 3 {
            prom.stop();
        }
    }));
    assert_eq!(r.outcome, GateOutcome::Error, "{r:?}");
    assert!(r.blocks());
    assert_eq!(
        r.errors, 3,
        "fails once consecutive errors exceed error_limit = 2"
    );
    let verdicts: Vec<Verdict> = seen.iter().map(|m| m.verdict).collect();
    assert_eq!(&verdicts[..3], &[Verdict::Pass; 3]);
    assert_eq!(&verdicts[3..], &[Verdict::Error; 3]);
    let detail = seen[3].detail.as_deref().unwrap();
    assert!(detail.contains("unreachable"), "{detail}");
}

#[test]
fn a_closed_port_is_an_error_never_a_pass() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let sources = set(vec![source("prom", prometheus(&url, None))], &[]);
    let m = block_on(sources.measure(&check("prom", query("vector(0)"), "< 1"), None));
    assert_eq!(m.verdict, Verdict::Error);
    let mut g = gate(check("prom", query("vector(0)"), "< 1"), 1);
    g.error_limit = 1;
    g.check.interval = Duration::from_millis(10);
    let r = block_on(run_gate(&g, &sources, None, &mut |_: &Measurement| {}));
    assert_eq!(r.outcome, GateOutcome::Error);
}

#[test]
fn no_data_follows_the_no_data_policy_and_defaults_to_not_passing() {
    let prom = shared();
    let sources = set(vec![source("prom", prometheus(&prom.url(), None))], &[]);
    let q = format!("cutover_never_pushed{{job=\"{}\"}}", job("nodata"));
    let mut probe = check("prom", query(&q), "< 1");
    let m = block_on(sources.measure(&probe, None));
    assert_eq!(m.verdict, Verdict::Inconclusive, "{m:?}");
    assert!(m.detail.as_deref().unwrap().contains("no data"));
    probe.no_data = NoData::Fail;
    assert_eq!(
        block_on(sources.measure(&probe, None)).verdict,
        Verdict::Fail
    );
    probe.no_data = NoData::Pass;
    assert_eq!(
        block_on(sources.measure(&probe, None)).verdict,
        Verdict::Pass
    );
    // `sum` of nothing is also no data.
    let summed = check("prom", query(&format!("sum({q})")), "< 1");
    assert_eq!(
        block_on(sources.measure(&summed, None)).verdict,
        Verdict::Inconclusive
    );
    // An inconclusive measurement fails a gate with inconclusive_limit 0.
    let g = gate(check("prom", query(&q), "< 1"), 3);
    let result = block_on(run_gate(&g, &sources, None, &mut |_: &Measurement| {}));
    assert_eq!(result.outcome, GateOutcome::Inconclusive);
    assert!(result.blocks());
}

#[test]
fn nan_and_scalars() {
    let prom = shared();
    let sources = set(vec![source("prom", prometheus(&prom.url(), None))], &[]);
    let m = block_on(sources.measure(&check("prom", query("0/0"), "< 1"), None));
    assert_eq!(m.verdict, Verdict::Inconclusive, "{m:?}");
    let m = block_on(sources.measure(&check("prom", query("1+1"), "== 2"), None));
    assert_eq!(m.verdict, Verdict::Pass, "{m:?}");
    let job = job("nan");
    let q = prom.push_visible(&job, "cutover_test_nan", "NaN");
    let m = block_on(sources.measure(&check("prom", query(&q), "!= 0"), None));
    assert_eq!(m.verdict, Verdict::Inconclusive, "{m:?}");
    let json = serde_json::to_string(&m).unwrap();
    assert!(json.contains("\"NaN\""), "{json}");
    prom.delete(&job);
}

#[test]
fn many_series_keep_labels_and_reduce_explicitly() {
    let prom = shared();
    let job = job("many");
    let url = format!("{}/metrics/job/{job}", prom.pushgateway_url());
    let body = "cutover_test_lat{instance=\"a\"} 1\ncutover_test_lat{instance=\"b\"} 3\n";
    let (status, text) = crate::support::http_server::request("PUT", &url, body);
    assert!((200..300).contains(&status), "{text}");
    let q = format!("cutover_test_lat{{job=\"{job}\"}}");
    prom.wait_for_value(&format!("sum({q})"), "4");
    let sources = set(vec![source("prom", prometheus(&prom.url(), None))], &[]);
    let judge = |cond: &str| block_on(sources.measure(&check("prom", query(&q), cond), None));
    let m = judge("< 2");
    assert_eq!(
        m.verdict,
        Verdict::Fail,
        "all (the default) needs every series"
    );
    assert_eq!(m.samples.len(), 2);
    let mut instances: Vec<&str> = m
        .samples
        .iter()
        .map(|s| s.labels["instance"].as_str())
        .collect();
    instances.sort_unstable();
    assert_eq!(instances, ["a", "b"]);
    assert_eq!(judge("any < 2").verdict, Verdict::Pass);
    assert_eq!(judge("max <= 3").verdict, Verdict::Pass);
    assert_eq!(judge("avg == 2").verdict, Verdict::Pass);
    assert_eq!(judge("sum > 4").verdict, Verdict::Fail);
    prom.delete(&job);
}

#[test]
fn a_syntax_error_surfaces_prometheus_own_text() {
    let prom = shared();
    let sources = set(vec![source("prom", prometheus(&prom.url(), None))], &[]);
    let m = block_on(sources.measure(&check("prom", query("sum(rate(x[1m])"), "< 1"), None));
    assert_eq!(m.verdict, Verdict::Error);
    let detail = m.detail.unwrap();
    assert!(detail.contains("bad_data"), "{detail}");
    assert!(detail.contains("unclosed left parenthesis"), "{detail}");
    // A range vector is not something a gate can judge.
    let m = block_on(sources.measure(&check("prom", query("up[1m]"), "< 1"), None));
    assert_eq!(m.verdict, Verdict::Error);
    assert!(m.detail.unwrap().contains("range vector"));
}

/// Every form a secret takes on the wire.
fn forms(secret: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        secret.to_string(),
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
        b64.encode(secret),
        b64.encode(format!("user:{secret}")),
    ]
}

fn assert_clean(text: &str, secret: &str) {
    for form in forms(secret) {
        assert!(
            !text.contains(&form),
            "secret form {form:?} leaked into: {text}"
        );
    }
}

#[test]
fn secrets_in_auth_and_urls_never_reach_a_measurement() {
    let prom = shared();
    let token = "tok/en+S3cret=";
    let password = "pa ss/w0rd@x";
    let url_password = "url:P4ss%word";
    let encoded_url_password =
        percent_encoding::utf8_percent_encode(url_password, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let closed = free_port();
    let sources = set(
        vec![
            source(
                "bearer",
                prometheus(
                    &prom.url(),
                    Some(Auth::Bearer {
                        token: token.into(),
                    }),
                ),
            ),
            source(
                "basic",
                prometheus(
                    &prom.url(),
                    Some(Auth::Basic {
                        username: "user".into(),
                        password: password.into(),
                    }),
                ),
            ),
            source(
                "inurl",
                prometheus(
                    &format!("http://user:{encoded_url_password}@127.0.0.1:{}", prom.port),
                    None,
                ),
            ),
            source(
                "down",
                prometheus(
                    &format!("http://user:{encoded_url_password}@127.0.0.1:{closed}"),
                    None,
                ),
            ),
            source(
                "down-bearer",
                prometheus(
                    &format!("http://127.0.0.1:{closed}"),
                    Some(Auth::Bearer {
                        token: token.into(),
                    }),
                ),
            ),
        ],
        // Only the token is declared a secret: the others must be masked
        // because they are credentials of a source.
        &[token],
    );
    let queries = [
        // A secret inside the query text itself (a templated label value).
        format!("vector(1) * on() group_left() count(up{{job=\"{token}\"}})"),
        "sum(rate(x[1m])".to_string(),
        "vector(0.5)".to_string(),
    ];
    for name in ["bearer", "basic", "inurl", "down", "down-bearer"] {
        for q in &queries {
            let m = block_on(sources.measure(&check(name, query(q), "< 1"), None));
            let json = serde_json::to_string(&m).unwrap();
            for secret in [token, password, url_password] {
                assert_clean(&json, secret);
                assert_clean(&format!("{m:?}"), secret);
            }
        }
        match block_on(sources.health(name)) {
            Ok(detail) => {
                for secret in [token, password, url_password] {
                    assert_clean(&detail, secret);
                }
            }
            Err(e) => {
                for secret in [token, password, url_password] {
                    assert_clean(&e.to_string(), secret);
                }
            }
        }
    }
    // The credentials do work: the measurement against Prometheus passes.
    let m = block_on(sources.measure(&check("inurl", query("vector(0.5)"), "< 1"), None));
    assert_eq!(m.verdict, Verdict::Pass, "{m:?}");
}

#[test]
fn health_check_against_real_prometheus_and_a_closed_port() {
    let prom = shared();
    let closed = format!("http://127.0.0.1:{}", free_port());
    let sources = set(
        vec![
            source("up", prometheus(&prom.url(), None)),
            source("down", prometheus(&closed, None)),
        ],
        &[],
    );
    let ok = block_on(sources.health("up")).expect("reachable");
    assert!(ok.contains("answered"), "{ok}");
    let err = block_on(sources.health("down")).expect_err("unreachable");
    assert!(err.to_string().contains("unreachable"), "{err}");
    assert!(block_on(sources.health("nope")).is_err());
}

#[test]
fn a_trigger_fires_only_after_holding_and_reports_a_down_source() {
    use cutover::trigger::{TriggerEvent, watch_trigger};
    let prom = shared();
    let job = job("trigger");
    let q = prom.push_visible(&job, "cutover_test_error_rate", "0.01");
    let closed = format!("http://127.0.0.1:{}", free_port());
    let sources = set(
        vec![
            source("prom", prometheus(&prom.url(), None)),
            source("down", prometheus(&closed, None)),
        ],
        &[],
    );
    let hold = Duration::from_millis(800);
    let mut t = crate::support::model::trigger(check("prom", query(&q), "> 0.05"), hold);
    t.check.interval = Duration::from_millis(100);
    let events = block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let watcher = tokio::spawn({
            let sources = sources.clone();
            let t = t.clone();
            async move { watch_trigger(&t, &sources, None, tx).await }
        });
        let mut events = Vec::new();
        let mut pushed = false;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while let Ok(Some(e)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            let healthy = matches!(&e, TriggerEvent::Measurement { holding: false, .. });
            let fired = matches!(&e, TriggerEvent::Fired { .. });
            events.push(e);
            if healthy && !pushed && events.len() >= 3 {
                pushed = true;
                // The error rate jumps above the threshold (blocking push: a
                // separate thread so the runtime keeps measuring).
                let job = job.clone();
                tokio::task::spawn_blocking(move || {
                    shared().push(&job, "cutover_test_error_rate", "0.2");
                });
            }
            if fired {
                break;
            }
        }
        let _ = watcher.await;
        events
    });
    let Some(TriggerEvent::Fired { held_for_ms, .. }) = events.last() else {
        panic!("the trigger never fired: {events:?}");
    };
    assert!(*held_for_ms >= 800, "{held_for_ms}");
    let holding = events
        .iter()
        .filter(|e| matches!(e, TriggerEvent::Measurement { holding: true, .. }))
        .count();
    assert!(
        holding >= 8,
        "held on every measurement for `for`: {holding}"
    );
    assert!(
        events
            .iter()
            .all(|e| !matches!(e, TriggerEvent::SourceError { .. }))
    );

    // A trigger on a source that is down reports it: never silently healthy.
    let mut down = crate::support::model::trigger(check("down", query("up"), "> 0"), hold);
    down.check.interval = Duration::from_millis(50);
    let events = block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let watcher = tokio::spawn({
            let sources = sources.clone();
            async move { watch_trigger(&down, &sources, None, tx).await }
        });
        let first = rx.recv().await;
        let second = rx.recv().await;
        drop(rx);
        let _ = watcher.await;
        [first, second]
    });
    assert!(
        matches!(&events[0], Some(TriggerEvent::Measurement { measurement, holding: false, .. }) if measurement.verdict == Verdict::Error),
        "{events:?}"
    );
    assert!(
        matches!(&events[1], Some(TriggerEvent::SourceError { detail, .. }) if detail.contains("unreachable")),
        "{events:?}"
    );
    prom.delete(&job);
}

#[test]
fn baseline_relative_gates() {
    use cutover::trigger::measure_baseline;
    let prom = shared();
    let job = job("baseline");
    let q = prom.push_visible(&job, "cutover_test_p99", "100");
    let sources = set(vec![source("prom", prometheus(&prom.url(), None))], &[]);
    let c = check("prom", query(&q), "<= baseline + 10%");
    let baseline = block_on(measure_baseline(&c, &sources));
    assert_eq!(baseline.value, Some(100.0), "{baseline:?}");
    prom.push_visible(&job, "cutover_test_p99", "105");
    let m = block_on(sources.measure(&c, baseline.value));
    assert_eq!(m.verdict, Verdict::Pass, "{m:?}");
    assert_eq!(m.baseline, Some(100.0), "the baseline is recorded");
    prom.push_visible(&job, "cutover_test_p99", "120");
    assert_eq!(
        block_on(sources.measure(&c, baseline.value)).verdict,
        Verdict::Fail
    );
    // Without a baseline the condition cannot be judged: inconclusive, never pass.
    let m = block_on(sources.measure(&c, None));
    assert_eq!(m.verdict, Verdict::Inconclusive);
    assert!(m.detail.unwrap().contains("baseline"));
    prom.delete(&job);
}

#[test]
fn odd_prometheus_answers_are_errors_never_passes() {
    use crate::support::http_server::{HttpServer, Reply};
    let cases = [
        (
            "string result",
            Reply::json(
                200,
                r#"{"status":"success","data":{"resultType":"string","result":[1795638943.382,"x"]}}"#,
            ),
        ),
        (
            "proxy 502",
            Reply::new(502)
                .header("Content-Type", "text/html")
                .body("<html>bad gateway</html>"),
        ),
        (
            "execution error",
            Reply::json(
                422,
                r#"{"status":"error","errorType":"execution","error":"expanding series: too many samples"}"#,
            ),
        ),
        ("not json", Reply::json(200, "{\"status\":\"succ")),
        (
            "slow",
            Reply::json(
                200,
                r#"{"status":"success","data":{"resultType":"scalar","result":[1,"0.1"]}}"#,
            )
            .delay(Duration::from_secs(3)),
        ),
    ];
    for (name, reply) in cases {
        let server = HttpServer::start();
        server.route("GET", "/api/v1/query", [reply]);
        let mut s = source("prom", prometheus(&server.url(), None));
        s.timeout = Duration::from_millis(500);
        let sources = set(vec![s], &[]);
        let m = block_on(sources.measure(&check("prom", query("x"), "< 1"), None));
        assert_eq!(m.verdict, Verdict::Error, "{name}: {m:?}");
        if name == "execution error" {
            assert!(
                m.detail.as_deref().unwrap().contains("too many samples"),
                "{m:?}"
            );
        }
    }
}
