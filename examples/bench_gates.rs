//! Benchmark driver for `scripts/bench-gates` (see docs/performance.md).
//!
//! Starts a private Prometheus on a free loopback port (scraping itself every
//! second), then measures:
//! 1. the wall time of 1 gate vs N gates evaluated concurrently against it
//!    (same query, `count` measurements `interval` apart); goal ≤ 2×;
//! 2. the time of one measurement through cutover's Prometheus source vs the
//!    same query sent by `curl` (keep-alive, its own `time_total`).
//!
//! Usage: `bench_gates [--gates N] [--count C] [--interval-ms MS] [--samples S]`

#![allow(
    clippy::too_many_lines,
    reason = "a benchmark driver reads top to bottom; the 100-line rule is for src/"
)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cutover::condition::Condition;
use cutover::gate::{GateOutcome, run_gate};
use cutover::runbook::model::{
    Check, CommandRead, Gate, GateWhen, NoData, Probe, Source, SourceKind,
};
use cutover::secrets::Masker;
use cutover::signals::{Measurement, SourceSet};

const QUERY: &str = r#"max(up{job="prometheus"})"#;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let gates = arg("--gates", 500);
    let count = u32::try_from(arg("--count", 5)).unwrap_or(5);
    let interval = Duration::from_millis(arg("--interval-ms", 1000));
    let samples = arg("--samples", 300);

    let dir = tempfile::tempdir().expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\nscrape_configs:\n  - job_name: prometheus\n    static_configs: [ {{ targets: ['127.0.0.1:{port}'] }} ]\n"
        ),
    )
    .expect("write config");
    let child = Command::new("/usr/bin/prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start /usr/bin/prometheus (run scripts/test to install it)");
    let _server = Server(child);
    let url = format!("http://127.0.0.1:{port}");

    let mut sources = indexmap::IndexMap::new();
    sources.insert(
        "prom".to_string(),
        Source {
            name: "prom".into(),
            timeout: Duration::from_secs(10),
            headers: indexmap::IndexMap::new(),
            kind: SourceKind::Prometheus {
                url: url.clone(),
                auth: None,
            },
        },
    );
    let set = SourceSet::new(&sources, Masker::default(), &[]);
    let gate = Gate {
        id: "bench".into(),
        when: GateWhen::After,
        check: Check {
            source: "prom".into(),
            probe: Probe::Query {
                query: QUERY.into(),
            },
            command_read: CommandRead::Stdout,
            condition_text: "== 1".into(),
            condition: Condition::parse("== 1").expect("condition"),
            interval,
            no_data: NoData::Inconclusive,
        },
        count,
        failure_limit: 0,
        error_limit: 3,
        inconclusive_limit: 0,
        timeout: None,
        shadow: false,
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    // Wait for the first self-scrape: the query must return 1.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = rt.block_on(set.measure(&gate.check, None));
        if m.value == Some(1.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus never scraped itself: {m:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let run = |n: u64| -> Duration {
        let started = Instant::now();
        let outcomes = rt.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..n {
                let set = set.clone();
                let gate = gate.clone();
                tasks.spawn(async move {
                    run_gate(&gate, &set, None, &mut |_: &Measurement| {})
                        .await
                        .outcome
                });
            }
            let mut outcomes = Vec::new();
            while let Some(r) = tasks.join_next().await {
                outcomes.push(r.expect("gate task"));
            }
            outcomes
        });
        let elapsed = started.elapsed();
        let passed = outcomes.iter().filter(|o| **o == GateOutcome::Pass).count();
        assert_eq!(passed as u64, n, "every gate passes: {outcomes:?}");
        elapsed
    };
    let one = run(1);
    let many = run(gates);
    println!(
        "gates: {count} measurement(s) every {} ms, query `{QUERY}`",
        interval.as_millis()
    );
    println!("1 gate:      {:>8.3} s", one.as_secs_f64());
    println!("{gates} gates: {:>8.3} s", many.as_secs_f64());
    println!(
        "ratio {gates}/1: {:.2}x (goal <= 2x)",
        many.as_secs_f64() / one.as_secs_f64()
    );

    // Per-measurement: cutover (whole measure(): request, decode, judge, mask)
    // vs curl's own time_total on a kept-alive connection, same query.
    let ours = rt.block_on(async {
        let mut times = Vec::new();
        for _ in 0..samples {
            let started = Instant::now();
            let m = set.measure(&gate.check, None).await;
            times.push(started.elapsed().as_secs_f64());
            assert_eq!(m.value, Some(1.0));
        }
        median(&mut times)
    });
    let encoded: String = QUERY
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let query_url = format!("{url}/api/v1/query?query={encoded}");
    let mut curl_args: Vec<&str> = vec!["-s", "-w", "%{time_total}\\n"];
    for _ in 0..samples {
        // `-o` applies to the URL after it: discard every body.
        curl_args.extend(["-o", "/dev/null", query_url.as_str()]);
    }
    let out = Command::new("curl")
        .args(&curl_args)
        .output()
        .expect("run curl");
    let mut times: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(
        times.len() as u64,
        samples,
        "curl printed a time per request"
    );
    let curl = median(&mut times);
    // And one curl process per query, as a shell script would do it.
    let spawn_samples = 50;
    let started = Instant::now();
    for _ in 0..spawn_samples {
        let status = Command::new("curl")
            .args(["-s", "-o", "/dev/null", &query_url])
            .status()
            .expect("run curl");
        assert!(status.success());
    }
    let curl_process = started.elapsed().as_secs_f64() / f64::from(spawn_samples);
    println!(
        "per measurement (median of {samples}): cutover {:.3} ms, curl {:.3} ms (keep-alive, time_total); ratio {:.2}x",
        ours * 1000.0,
        curl * 1000.0,
        ours / curl
    );
    println!(
        "                 curl as one process per query: {:.3} ms ({:.2}x cutover)",
        curl_process * 1000.0,
        curl_process / ours
    );
}

/// The median; `values` is non-empty.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
