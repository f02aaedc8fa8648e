//! Datadog signals against a local server serving the response shapes of
//! Datadog's public API reference (Datadog itself cannot be reached from
//! here): metric queries (v1 and v2), monitors, errors, rate limits, and the
//! keys never leaving through a measurement.

use std::time::{Duration, Instant};

use base64::Engine as _;
use cutover::gate::{GateOutcome, run_gate};
use cutover::runbook::model::{DatadogApi, NoData, Probe};
use cutover::signals::{Measurement, Verdict};

use crate::support::http_server::{HttpServer, Reply};
use crate::support::model::{block_on, check, datadog, gate, query, set, source};

const API_KEY: &str = "dd-api-0123456789abcdef";
const APP_KEY: &str = "dd-app-fedcba9876543210";

/// `GET /api/v1/monitor/{id}` response (API reference, "Get a monitor's details").
pub(crate) fn monitor_reply(id: u64, state: &str) -> Reply {
    Reply::json(
        200,
        &format!(
            r#"{{"id":{id},"name":"payments p99","type":"metric alert","query":"avg(last_5m):avg:trace.http.request.duration{{service:payments}} > 0.3","overall_state":"{state}","options":{{}}}}"#
        ),
    )
}

/// `GET /api/v1/query` response (API reference, "Query timeseries points").
pub(crate) fn v1_body(points: &str) -> String {
    format!(
        r#"{{"status":"ok","res_type":"time_series","resp_version":1,"query":"avg:trace.http.request.errors{{service:payments}}","from_date":1700000000000,"to_date":1700000300000,"group_by":[],"message":"","error":"","series":[{{"metric":"trace.http.request.errors","display_name":"trace.http.request.errors","unit":null,"pointlist":{points},"start":1700000000000,"end":1700000300000,"interval":60,"length":3,"aggr":"avg","scope":"service:payments","expression":"avg:trace.http.request.errors{{service:payments}}","tag_set":["service:payments"],"query_index":0}}]}}"#
    )
}

fn dd(server: &HttpServer, api: DatadogApi) -> cutover::signals::SourceSet {
    let mut s = source("dd", datadog(&server.url(), API_KEY, Some(APP_KEY), api));
    s.timeout = Duration::from_millis(1500);
    set(vec![s], &[API_KEY, APP_KEY])
}

fn q() -> Probe {
    query("avg:trace.http.request.errors{service:payments}")
}

#[test]
fn v1_metric_query_reads_the_last_point_and_sends_the_keys_in_headers() {
    let server = HttpServer::start();
    server.route(
        "GET",
        "/api/v1/query",
        [Reply::json(
            200,
            &v1_body("[[1700000000000,0.1],[1700000060000,0.2],[1700000120000,null]]"),
        )],
    );
    let sources = dd(&server, DatadogApi::V1);
    let m = block_on(sources.measure(&check("dd", q(), "< 0.5"), None));
    assert_eq!(m.verdict, Verdict::Pass, "{m:?}");
    assert_eq!(m.value, Some(0.2));
    assert_eq!(m.samples[0].labels["service"], "payments");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("dd-api-key"), Some(API_KEY));
    assert_eq!(reqs[0].header("dd-application-key"), Some(APP_KEY));
    assert!(reqs[0].path.contains("from=") && reqs[0].path.contains("to="));
    assert!(
        reqs[0]
            .path
            .contains("query=avg%3Atrace.http.request.errors"),
        "{}",
        reqs[0].path
    );
    assert!(!reqs[0].path.contains(API_KEY), "keys never go in the url");
}

#[test]
fn v2_timeseries_query() {
    let server = HttpServer::start();
    let body = r#"{"data":{"id":"0","type":"timeseries_response","attributes":{"series":[{"group_tags":["env:prod"],"query_index":0,"unit":[{"family":"time","name":"second","plural":"seconds","scale_factor":1.0,"short_name":"s"},null]},{"group_tags":["env:staging"],"query_index":0,"unit":null}],"times":[1700000000000,1700000060000],"values":[[0.25,0.28],[0.9,null]]}}}"#;
    server.route("POST", "/api/v2/query/timeseries", [Reply::json(200, body)]);
    let sources = dd(&server, DatadogApi::V2);
    let m = block_on(sources.measure(&check("dd", q(), "max < 1"), None));
    assert_eq!(m.verdict, Verdict::Pass, "{m:?}");
    assert_eq!(m.value, Some(0.9));
    let m = block_on(sources.measure(&check("dd", q(), "< 0.3"), None));
    assert_eq!(
        m.verdict,
        Verdict::Fail,
        "every series by default: env:staging is 0.9"
    );
    let req = &server.requests()[0];
    let sent: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(sent["data"]["type"], "timeseries_request");
    assert_eq!(
        sent["data"]["attributes"]["queries"][0]["query"],
        "avg:trace.http.request.errors{service:payments}"
    );
}

#[test]
fn monitor_states() {
    let server = HttpServer::start();
    let monitor = |state: &str| monitor_reply(123, state);
    server.route(
        "GET",
        "/api/v1/monitor/123",
        [
            monitor("OK"),
            monitor("Warn"),
            monitor("Alert"),
            monitor("No Data"),
            monitor("Skipped"),
        ],
    );
    let sources = dd(&server, DatadogApi::V1);
    let mut c = check("dd", Probe::Monitor { id: 123 }, "!= 0");
    let mut verdicts = Vec::new();
    for _ in 0..4 {
        let m = block_on(sources.measure(&c, None));
        verdicts.push((m.verdict, m.state.clone().unwrap()));
    }
    assert_eq!(
        verdicts,
        vec![
            (Verdict::Pass, "OK".to_string()),
            (Verdict::Fail, "Warn".to_string()),
            (Verdict::Fail, "Alert".to_string()),
            (Verdict::Inconclusive, "No Data".to_string()),
        ]
    );
    let m = block_on(sources.measure(&c, None));
    assert_eq!(m.verdict, Verdict::Inconclusive, "Skipped is not OK");
    c.no_data = NoData::Fail;
    server.route("GET", "/api/v1/monitor/123", [monitor("No Data")]);
    assert_eq!(block_on(sources.measure(&c, None)).verdict, Verdict::Fail);
}

#[test]
fn failures_of_every_kind_never_pass() {
    let cases: Vec<(&str, Reply)> = vec![
        (
            "500",
            Reply::json(500, r#"{"errors":["Internal Server Error"]}"#),
        ),
        (
            "timeout",
            Reply::json(200, &v1_body("[[1,0.1]]")).delay(Duration::from_secs(3)),
        ),
        (
            "malformed json",
            Reply::json(200, r#"{"status":"ok","series":[{"pointlist":[[1,0.1"#),
        ),
        ("NaN in json", Reply::json(200, &v1_body("[[1,NaN]]"))),
        ("not json", Reply::new(200).body("<html>maintenance</html>")),
        (
            "error status",
            Reply::json(
                200,
                r#"{"status":"error","error":"Error parsing query: unable to parse"}"#,
            ),
        ),
        ("404", Reply::json(404, r#"{"errors":["Not found"]}"#)),
    ];
    for (name, reply) in cases {
        let server = HttpServer::start();
        server.route("GET", "/api/v1/query", [reply]);
        let sources = dd(&server, DatadogApi::V1);
        let m = block_on(sources.measure(&check("dd", q(), "< 0.5"), None));
        assert_eq!(m.verdict, Verdict::Error, "{name}: {m:?}");
        assert!(m.detail.is_some(), "{name}");
        let mut g = gate(check("dd", q(), "< 0.5"), 2);
        g.error_limit = 1;
        g.check.interval = Duration::from_millis(10);
        let r = block_on(run_gate(&g, &sources, None, &mut |_: &Measurement| {}));
        assert_eq!(r.outcome, GateOutcome::Error, "{name}: {r:?}");
    }
}

#[test]
fn empty_series_and_null_points_are_no_data() {
    for body in [
        r#"{"status":"ok","res_type":"time_series","series":[],"query":"x","message":"","error":""}"#.to_string(),
        v1_body("[[1700000000000,null]]"),
    ] {
        let server = HttpServer::start();
        server.route("GET", "/api/v1/query", [Reply::json(200, &body)]);
        let sources = dd(&server, DatadogApi::V1);
        let m = block_on(sources.measure(&check("dd", q(), "< 0.5"), None));
        assert_eq!(m.verdict, Verdict::Inconclusive, "{m:?}");
        assert!(m.detail.unwrap().contains("no data"));
    }
    let server = HttpServer::start();
    server.route(
        "POST",
        "/api/v2/query/timeseries",
        [Reply::json(200, r#"{"data":{"type":"timeseries_response","attributes":{"series":[],"times":[],"values":[]}}}"#)],
    );
    let m = block_on(dd(&server, DatadogApi::V2).measure(&check("dd", q(), "< 0.5"), None));
    assert_eq!(m.verdict, Verdict::Inconclusive, "{m:?}");
}

#[test]
fn rate_limits_are_waited_out_within_the_timeout() {
    let server = HttpServer::start();
    let limited = |reset: &str| {
        Reply::json(429, r#"{"errors":["Too many requests"]}"#)
            .header("X-RateLimit-Limit", "100")
            .header("X-RateLimit-Period", "60")
            .header("X-RateLimit-Remaining", "0")
            .header("X-RateLimit-Reset", reset)
            .header("X-RateLimit-Name", "query")
    };
    server.route(
        "GET",
        "/api/v1/query",
        [limited("1"), Reply::json(200, &v1_body("[[1,0.1]]"))],
    );
    let started = Instant::now();
    let m = block_on(dd(&server, DatadogApi::V1).measure(&check("dd", q(), "< 0.5"), None));
    assert_eq!(m.verdict, Verdict::Pass, "{m:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for the reset"
    );
    assert_eq!(server.requests().len(), 2);

    // A reset beyond the query timeout is an error at once, not a long wait.
    let server = HttpServer::start();
    server.route("GET", "/api/v1/query", [limited("60")]);
    let started = Instant::now();
    let m = block_on(dd(&server, DatadogApi::V1).measure(&check("dd", q(), "< 0.5"), None));
    assert_eq!(m.verdict, Verdict::Error);
    assert!(
        m.detail.as_deref().unwrap().contains("rate limited"),
        "{m:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn forbidden_names_the_missing_permission_not_the_key() {
    let server = HttpServer::start();
    server.route(
        "GET",
        "/api/v1/query",
        [Reply::json(403, r#"{"errors":["Forbidden"]}"#)],
    );
    server.route(
        "GET",
        "/api/v1/monitor/7",
        [Reply::json(403, r#"{"errors":["Forbidden"]}"#)],
    );
    let sources = dd(&server, DatadogApi::V1);
    let m = block_on(sources.measure(&check("dd", q(), "< 0.5"), None));
    assert_eq!(m.verdict, Verdict::Error);
    let detail = m.detail.unwrap();
    assert!(detail.contains("`timeseries_query`"), "{detail}");
    assert!(
        !detail.contains(API_KEY) && !detail.contains(APP_KEY),
        "{detail}"
    );
    let m = block_on(sources.measure(&check("dd", Probe::Monitor { id: 7 }, "!= 0"), None));
    assert!(m.detail.unwrap().contains("`monitors_read`"));
}

#[test]
fn health_validates_the_api_key() {
    let server = HttpServer::start();
    server.route(
        "GET",
        "/api/v1/validate",
        [Reply::json(200, r#"{"valid":true}"#)],
    );
    let detail = block_on(dd(&server, DatadogApi::V1).health("dd")).expect("valid key");
    assert!(detail.contains("accepted"), "{detail}");
    let server = HttpServer::start();
    server.route(
        "GET",
        "/api/v1/validate",
        [Reply::json(403, r#"{"errors":["Forbidden"]}"#)],
    );
    let err = block_on(dd(&server, DatadogApi::V1).health("dd")).expect_err("bad key");
    assert!(err.to_string().contains("403"), "{err}");
    assert!(!err.to_string().contains(API_KEY));
}

#[test]
fn the_keys_never_reach_a_measurement_in_any_form() {
    // A server that echoes the request headers back in its error body: the
    // measurement must still not show the keys, in any encoding.
    let b64 = base64::engine::general_purpose::STANDARD;
    let server = HttpServer::start();
    let echo = format!(
        r#"{{"errors":["bad request from key {API_KEY} / {} / {}"]}}"#,
        b64.encode(API_KEY),
        percent_encoding::utf8_percent_encode(APP_KEY, percent_encoding::NON_ALPHANUMERIC)
    );
    server.route("GET", "/api/v1/query", [Reply::json(400, &echo)]);
    let sources = dd(&server, DatadogApi::V1);
    // The key also appears in the query text (a mistaken template).
    let m = block_on(sources.measure(
        &check("dd", query(&format!("avg:x{{key:{API_KEY}}}")), "< 0.5"),
        None,
    ));
    assert_eq!(m.verdict, Verdict::Error);
    let json = serde_json::to_string(&m).unwrap();
    for key in [API_KEY, APP_KEY] {
        for form in [
            key.to_string(),
            b64.encode(key),
            percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        ] {
            assert!(!json.contains(&form), "{form} leaked: {json}");
        }
    }
    assert!(json.contains("***"), "{json}");
}

#[test]
fn lookback_sets_the_window_of_metric_queries() {
    use crate::support::cutover::Cutover;
    let server = HttpServer::start();
    server.route(
        "GET",
        "/api/v1/query",
        [Reply::json(200, &v1_body("[[1700000000000,0.1]]"))],
    );
    let runbook = |lookback: &str| {
        format!(
            r#"[runbook]
name = "dd"

[secrets]
dd_api_key = {{ env = "DD_API_KEY" }}

[sources.dd]
kind = "datadog"
url = "{}"
api_key = "{{{{ secrets.dd_api_key }}}}"
{lookback}

[[step]]
id = "a"
run = "true"
rollback = "true"
"#,
            server.url()
        )
    };
    for (line, seconds) in [("", 300), ("lookback = \"20m\"", 1200)] {
        let c = Cutover::new()
            .runbook(&runbook(line))
            .env("DD_API_KEY", API_KEY)
            .args([
                "query",
                "dd",
                "avg:trace.http.request.errors{service:payments}",
                "--runbook",
                "runbook.toml",
            ]);
        let out = c.run();
        assert_eq!(out.code, 0, "{out:?}");
        let sent = server.requests().pop().unwrap();
        let param = |name: &str| -> u64 {
            let (_, rest) = sent.path.split_once(&format!("{name}=")).unwrap();
            rest.split('&').next().unwrap().parse().unwrap()
        };
        assert_eq!(
            param("to") - param("from"),
            seconds,
            "{line}: {}",
            sent.path
        );
    }
    let c = Cutover::new()
        .runbook(&runbook("lookback = \"2d\""))
        .args(["validate", "runbook.toml"]);
    let out = c.run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("`lookback` longer than 24h"),
        "{}",
        out.stderr
    );
}
