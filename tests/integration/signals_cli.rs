//! `cutover query`, `cutover gate` and `cutover sources`, run as users run
//! them, against the shared real Prometheus and the loopback Datadog fake.

use base64::Engine as _;

use crate::support::cutover::Cutover;
use crate::support::http_server::{HttpServer, Reply};
use crate::support::prometheus::{free_port, shared};

fn job(name: &str) -> String {
    format!("cli_{name}_{}", std::process::id())
}

/// A runbook with a Prometheus source `prom`, a closed-port source `down`,
/// and a step `deploy` with the given gates.
fn runbook(prom_url: &str, gates: &str) -> String {
    format!(
        r#"
[runbook]
name = "signals-cli"

[sources.prom]
kind = "prometheus"
url = "{prom_url}"
timeout = "2s"

[sources.down]
kind = "prometheus"
url = "http://127.0.0.1:{closed}"
timeout = "2s"

[[step]]
id = "deploy"
run = "true"
rollback = "true"
{gates}
"#,
        closed = free_port()
    )
}

#[test]
fn query_prints_the_value_and_judges_the_condition() {
    let prom = shared();
    let job = job("query");
    let q = prom.push_visible(&job, "cutover_cli_latency", "0.25");
    let rb = runbook(&prom.url(), "");
    let run = |extra: &[&str]| {
        Cutover::new()
            .runbook(&rb)
            .args(["query", "prom", q.as_str(), "--runbook", "runbook.toml"])
            .args(extra.iter().copied())
            .run()
    };
    let out = run(&["--condition", "< 0.3"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("0.25"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!("job=\"{job}\"")),
        "labels shown: {}",
        out.stdout
    );
    assert!(out.stdout.contains("pass"), "{}", out.stdout);
    let out = run(&["--condition", "> 0.3"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("fail"));
    let out = run(&[]);
    assert_eq!(out.code, 0, "no condition: a value was read: {out:?}");
    let out = run(&["--format", "json", "--condition", "< 0.3"]);
    let m: serde_json::Value = serde_json::from_str(&out.stdout).expect("json measurement");
    assert_eq!(m["verdict"], "pass");
    assert_eq!(m["value"], 0.25);
    assert_eq!(m["query"], q.as_str());
    // Templates work as in a gate's query.
    let templated = Cutover::new()
        .runbook(&rb.replace(
            "name = \"signals-cli\"",
            &format!("name = \"signals-cli\"\n[vars]\njob = \"{job}\""),
        ))
        .args([
            "query",
            "prom",
            "cutover_cli_latency{job=\"{{ vars.job }}\"}",
            "--runbook",
            "runbook.toml",
        ])
        .run();
    assert_eq!(templated.code, 0, "{templated:?}");
    assert!(templated.stdout.contains("0.25"), "{}", templated.stdout);
    let out = run(&["--condition", "<< 3"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("invalid `--condition"),
        "{}",
        out.stderr
    );
    prom.delete(&job);
}

#[test]
fn query_errors_exit_one_and_show_prometheus_text() {
    let prom = shared();
    let rb = runbook(&prom.url(), "");
    let out = Cutover::new()
        .runbook(&rb)
        .args([
            "query",
            "prom",
            "sum(rate(x[1m])",
            "--runbook",
            "runbook.toml",
        ])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("unclosed left parenthesis"),
        "{}",
        out.stdout
    );
    let out = Cutover::new()
        .runbook(&rb)
        .args(["query", "down", "up", "--runbook", "runbook.toml"])
        .run();
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("error"), "{}", out.stdout);
    let out = Cutover::new()
        .runbook(&rb)
        .args(["query", "prm", "up", "--runbook", "runbook.toml"])
        .run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("did you mean `prom`"), "{}", out.stderr);
}

#[test]
fn gate_evaluates_with_count_and_interval_and_exits_by_outcome() {
    let prom = shared();
    let job = job("gate");
    let q = prom.push_visible(&job, "cutover_cli_errors", "0.01");
    let gates = format!(
        r#"
[[step.gate]]
name = "ok"
source = "prom"
query = '{q}'
pass_if = "< 0.02"
count = 3
interval = "200ms"

[[step.gate]]
name = "strict"
source = "prom"
query = '{q}'
pass_if = "< 0.001"
count = 3
interval = "200ms"

[[step.gate]]
name = "down"
source = "down"
query = "up"
pass_if = "< 1"
count = 2
interval = "100ms"
error_limit = 1
"#
    );
    let rb = runbook(&prom.url(), &gates);
    let gate = |target: &str| {
        Cutover::new()
            .runbook(&rb)
            .args(["gate", "runbook.toml", target])
            .run()
    };
    let out = gate("deploy.ok");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout.matches("  #").count(),
        3,
        "3 measurements printed: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("gate deploy.ok: pass"),
        "{}",
        out.stdout
    );
    // The whole step (`deploy`): every gate, exit 1 because some fail.
    for (target, shown, not_shown) in [
        (
            "deploy.strict",
            "gate deploy.strict: fail",
            "gate deploy.strict: pass",
        ),
        (
            "deploy.down",
            "gate deploy.down: error",
            "gate deploy.down: pass",
        ),
        ("deploy", "gate deploy.ok: pass", "gate deploy.down: pass"),
    ] {
        let out = gate(target);
        assert_eq!(out.code, 1, "{target}: {out:?}");
        assert!(out.stdout.contains(shown), "{target}: {}", out.stdout);
        assert!(!out.stdout.contains(not_shown), "{target}: {}", out.stdout);
    }
    let out = gate("deploy.nope");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("has no gate `nope`"), "{}", out.stderr);
    let out = Cutover::new()
        .runbook(&rb)
        .args(["gate", "runbook.toml", "deploy.ok", "--format", "json"])
        .run();
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert_eq!(lines[3]["type"], "result");
    assert_eq!(lines[3]["data"]["outcome"], "pass");
    prom.delete(&job);
}

#[test]
fn sources_reports_reachable_and_unreachable() {
    let prom = shared();
    let rb = runbook(&prom.url(), "");
    let out = Cutover::new()
        .runbook(&rb)
        .args(["sources", "runbook.toml"])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("prom (prometheus): reachable"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("down (prometheus): unreachable"),
        "{}",
        out.stdout
    );
    let only_prom = rb.replace("[sources.down]", "[sources.down_unused]");
    let only_prom = only_prom.replace(
        &only_prom
            [only_prom.find("[sources.down_unused]").unwrap()..only_prom.find("[[step]]").unwrap()],
        "",
    );
    let out = Cutover::new()
        .runbook(&only_prom)
        .args(["sources", "runbook.toml", "--format", "json"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["sources"][0]["reachable"], true);
}

#[test]
fn secrets_never_reach_cli_output() {
    let prom = shared();
    let token = "cli-T0ken/with+chars";
    let dd_key = "cli-dd-key-0123456789";
    let server = HttpServer::start();
    // A fake Datadog that echoes the key it was sent into its error.
    server.route(
        "GET",
        "/api/v1/query",
        [Reply::json(
            400,
            &format!(r#"{{"errors":["bad key {dd_key}"]}}"#),
        )],
    );
    let rb = format!(
        r#"
[runbook]
name = "secret-cli"

[secrets]
tok = {{ env = "CUTOVER_TEST_TOKEN" }}
ddkey = {{ env = "CUTOVER_TEST_DD_KEY" }}

[sources.prom]
kind = "prometheus"
url = "{url}"
bearer_token = "{{{{ secrets.tok }}}}"

[sources.down]
kind = "prometheus"
url = "http://127.0.0.1:{closed}"
bearer_token = "{{{{ secrets.tok }}}}"

[sources.dd]
kind = "datadog"
url = "{dd}"
api_key = "{{{{ secrets.ddkey }}}}"

[[step]]
id = "s"
run = "true"
rollback = "true"
"#,
        url = prom.url(),
        closed = free_port(),
        dd = server.url()
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let forms = |s: &str| {
        vec![
            s.to_string(),
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
            b64.encode(s),
        ]
    };
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "query",
            "prom",
            "vector(1)",
            "--runbook",
            "runbook.toml",
            "--format",
            "json",
        ],
        vec!["query", "down", "vector(1)", "--runbook", "runbook.toml"],
        vec![
            "query",
            "dd",
            "avg:x{*}",
            "--runbook",
            "runbook.toml",
            "--format",
            "json",
        ],
        vec![
            "query",
            "prom",
            &"up{job=\"cli-T0ken/with+chars\"}",
            "--runbook",
            "runbook.toml",
        ],
        vec!["sources", "runbook.toml", "--format", "json"],
        vec!["sources", "runbook.toml"],
    ];
    for args in cases {
        let out = Cutover::new()
            .runbook(&rb)
            .env("CUTOVER_TEST_TOKEN", token)
            .env("CUTOVER_TEST_DD_KEY", dd_key)
            .args(args.iter().copied())
            .run();
        for secret in [token, dd_key] {
            for form in forms(secret) {
                assert!(
                    !out.stdout.contains(&form),
                    "{args:?} leaked {form} in {}",
                    out.stdout
                );
                assert!(
                    !out.stderr.contains(&form),
                    "{args:?} leaked {form} in {}",
                    out.stderr
                );
            }
        }
    }
    // The key did go to the fake, in its header only.
    let sent = server.requests();
    assert!(sent.iter().any(|r| r.header("dd-api-key") == Some(dd_key)));
}

/// A runbook with a Datadog source `dd` on the fake and a step `deploy`
/// gated on monitor 123.
fn monitor_runbook(dd_url: &str) -> String {
    format!(
        r#"
[runbook]
name = "monitor-cli"

[sources.dd]
kind = "datadog"
url = "{dd_url}"
api_key = "dd-api-key"
app_key = "dd-app-key"
timeout = "2s"

[[step]]
id = "deploy"
run = "true"
rollback = "true"

[[step.gate]]
name = "p99"
source = "dd"
monitor = 123
"#
    )
}

fn monitor_reply(state: &str) -> Reply {
    Reply::json(
        200,
        &format!(
            r#"{{"id":123,"name":"payments p99","type":"metric alert","query":"avg(last_5m):avg:trace.http.request.duration{{service:payments}} > 0.3","overall_state":"{state}","options":{{}}}}"#
        ),
    )
}

#[test]
fn query_judges_a_monitor_by_its_state() {
    let server = HttpServer::start();
    let rb = monitor_runbook(&server.url());
    let query = |extra: &[&str]| {
        Cutover::new()
            .runbook(&rb)
            .args(["query", "dd", "monitor:123", "--runbook", "runbook.toml"])
            .args(extra.iter().copied())
            .run()
    };
    server.route("GET", "/api/v1/monitor/123", [monitor_reply("Alert")]);
    let out = query(&[]);
    assert_eq!(out.code, 1, "an alerting monitor fails: {out:?}");
    assert!(out.stdout.contains("fail  state Alert"), "{}", out.stdout);
    assert!(!out.stdout.contains("pass"), "{}", out.stdout);

    server.route("GET", "/api/v1/monitor/123", [monitor_reply("OK")]);
    let out = query(&[]);
    assert_eq!(out.code, 0, "an OK monitor passes: {out:?}");
    assert!(out.stdout.contains("pass  state OK"), "{}", out.stdout);

    server.route("GET", "/api/v1/monitor/123", [monitor_reply("No Data")]);
    let out = query(&[]);
    assert_eq!(out.code, 1, "no data is not a pass: {out:?}");
    assert!(
        out.stdout.contains("inconclusive  state No Data"),
        "{}",
        out.stdout
    );

    // A condition cannot apply to a monitor: refused, not silently ignored.
    let before = server.requests().len();
    let out = query(&["--condition", "< 1"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("does not apply to `monitor:123`"),
        "{}",
        out.stderr
    );
    assert_eq!(server.requests().len(), before, "nothing was queried");
}

#[test]
fn gate_shows_a_monitor_state_in_each_measurement() {
    let server = HttpServer::start();
    server.route("GET", "/api/v1/monitor/123", [monitor_reply("Alert")]);
    let out = Cutover::new()
        .runbook(&monitor_runbook(&server.url()))
        .args(["gate", "runbook.toml", "deploy.p99"])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("#1 "), "{}", out.stdout);
    assert!(out.stdout.contains("fail  state Alert"), "{}", out.stdout);
}

#[test]
fn query_help_describes_every_flag() {
    let out = Cutover::new().args(["query", "--help"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("Runbook whose `[sources]` (and vars/secrets) to use"),
        "{}",
        out.stdout
    );
}
