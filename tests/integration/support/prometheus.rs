//! A real Prometheus and pushgateway on loopback for signal tests
//! (recipe: ../shared/design/PROMETHEUS.md).
//!
//! `shared()` starts ONE pair per test binary (Prometheus needs ~5 s before
//! its first scrape, too slow to start per test); each test pushes under its
//! own `job` and queries with `{job="..."}`. `Prometheus::start_private()`
//! starts a Prometheus of a test's own, e.g. to stop it mid-gate.
//!
//! Servers run under a small `sh` watchdog that kills and reaps them when the
//! test process is gone, so nothing outlives `cargo test`. Nothing is skipped:
//! missing binaries fail the test with how to install them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::cutover::Cutover;
use super::http_server::{encode, request};
use super::run::run_until_file_then;
use super::tools::require;

pub const PROMETHEUS_BIN: &str = "/usr/bin/prometheus";
pub const PUSHGATEWAY_BIN: &str = "/usr/bin/prometheus-pushgateway";

pub struct Prometheus {
    pub port: u16,
    pub pushgateway_port: Option<u16>,
    dir: tempfile::TempDir,
    watchdogs: Mutex<Vec<Child>>,
}

static SHARED: OnceLock<Prometheus> = OnceLock::new();

/// Runbook text: source `prom` at `url` and a rollback trigger `id` firing
/// when `query` is above 0.5 for `hold` (checked every `interval`).
pub fn rollback_trigger(url: &str, id: &str, query: &str, hold: &str, interval: &str) -> String {
    format!(
        r#"
[sources.prom]
kind = "prometheus"
url = "{url}"

[[trigger]]
id = "{id}"
source = "prom"
query = '{query}'
fire_if = "> 0.5"
for = "{hold}"
interval = "{interval}"
action = "rollback"
"#
    )
}

/// The shared Prometheus + pushgateway of this test binary, scraping every 1 s.
pub fn shared() -> &'static Prometheus {
    SHARED.get_or_init(|| Prometheus::start(true))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free loopback port")
}

/// Run `bin args` under a watchdog shell that kills (TERM) and reaps it when
/// the test process exits or when the watchdog itself gets TERM.
fn spawn_watched(bin: &str, args: &[String], log: &Path) -> Child {
    let script = r#"
        parent=$1; shift
        "$@" &
        child=$!
        trap 'kill $child 2>/dev/null; wait $child; exit 0' TERM INT
        while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do
            sleep 0.2
        done
        kill $child 2>/dev/null
        wait $child
    "#;
    let log = std::fs::File::create(log).expect("create server log");
    Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .arg("watchdog")
        .arg(std::process::id().to_string())
        .arg(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e}"))
}

impl Prometheus {
    /// A Prometheus of the calling test's own (no pushgateway): answers
    /// queries such as `vector(1)` at once, and can be stopped with `stop`.
    pub fn start_private() -> Prometheus {
        Prometheus::start(false)
    }

    fn start(with_pushgateway: bool) -> Prometheus {
        require(PROMETHEUS_BIN, "prometheus");
        if with_pushgateway {
            require(PUSHGATEWAY_BIN, "prometheus-pushgateway");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut watchdogs = Vec::new();
        let pushgateway_port = with_pushgateway.then(|| {
            let pgw = free_port();
            watchdogs.push(spawn_watched(
                PUSHGATEWAY_BIN,
                &[
                    format!("--web.listen-address=127.0.0.1:{pgw}"),
                    "--persistence.file=".into(),
                    "--log.level=warn".into(),
                ],
                &dir.path().join("pushgateway.log"),
            ));
            pgw
        });
        let scrape = pushgateway_port.map_or(String::new(), |pgw| {
            format!(
                "scrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    \
                 scrape_timeout: 1s\n    static_configs: [ {{ targets: ['127.0.0.1:{pgw}'] }} ]\n"
            )
        });
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!("global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\n{scrape}"),
        )
        .expect("write prometheus.yml");
        watchdogs.push(spawn_watched(
            PROMETHEUS_BIN,
            &[
                format!("--config.file={}", config.display()),
                format!("--storage.tsdb.path={}", dir.path().join("data").display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--log.level=warn".into(),
            ],
            &dir.path().join("prometheus.log"),
        ));
        let p = Prometheus {
            port,
            pushgateway_port,
            dir,
            watchdogs: Mutex::new(watchdogs),
        };
        p.wait_ready();
        p
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pushgateway_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}",
            self.pushgateway_port
                .expect("this Prometheus has no pushgateway")
        )
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut urls = vec![format!("{}/-/ready", self.url())];
        if self.pushgateway_port.is_some() {
            urls.push(format!("{}/-/ready", self.pushgateway_url()));
        }
        for url in urls {
            loop {
                if let Some(200) = try_status(&url) {
                    break;
                }
                if Instant::now() > deadline {
                    let log = std::fs::read_to_string(self.log_path("prometheus.log"))
                        .unwrap_or_default();
                    panic!("{url} not ready after 30s; prometheus log:\n{log}");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Push `metric value` under `job` (replacing what the job had).
    pub fn push(&self, job: &str, metric: &str, value: &str) {
        let url = format!("{}/metrics/job/{job}", self.pushgateway_url());
        let (status, body) = request("PUT", &url, &format!("{metric} {value}\n"));
        assert!(
            (200..300).contains(&status),
            "push to {url}: {status} {body}"
        );
    }

    /// Push `metric value` under `job` and wait until Prometheus has scraped
    /// it; returns the query `metric{job="JOB"}` that reads it.
    pub fn push_visible(&self, job: &str, metric: &str, value: &str) -> String {
        self.push(job, metric, value);
        let query = format!("{metric}{{job=\"{job}\"}}");
        self.wait_for_value(&query, value);
        query
    }

    /// Run `r` of `c` until its step writes `soak.pid` (within `within`),
    /// then push `metric 1` under `job`; once the run ended, the job is
    /// deleted and the run's output returned.
    pub fn breach_mid_run(
        &self,
        c: &Cutover,
        job: &str,
        metric: &str,
        within: Duration,
    ) -> std::process::Output {
        let out = run_until_file_then(c, "soak.pid", within, || self.push(job, metric, "1"));
        self.delete(job);
        out
    }

    /// Delete every series of `job` from the pushgateway.
    pub fn delete(&self, job: &str) {
        let url = format!("{}/metrics/job/{job}", self.pushgateway_url());
        let (status, body) = request("DELETE", &url, "");
        assert!(
            (200..300).contains(&status),
            "delete {url}: {status} {body}"
        );
    }

    /// The instant-query result of `query` as (labels JSON, value text) pairs.
    pub fn query(&self, query: &str) -> Vec<(serde_json::Value, String)> {
        let url = format!("{}/api/v1/query?query={}", self.url(), encode(query));
        let (status, body) = request("GET", &url, "");
        assert_eq!(status, 200, "query {query}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("prometheus json");
        let result = &v["data"]["result"];
        match v["data"]["resultType"].as_str() {
            Some("scalar") => vec![(
                serde_json::Value::Null,
                result[1].as_str().unwrap_or("").into(),
            )],
            _ => result
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| {
                            (
                                s["metric"].clone(),
                                s["value"][1].as_str().unwrap_or("").into(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Poll until `query` returns exactly one series with value `value` (as
    /// Prometheus prints it, e.g. "0.5"). Panics after 30 s.
    pub fn wait_for_value(&self, query: &str, value: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.query(query);
            if got.len() == 1 && got[0].1 == value {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{query}` never returned {value} (last: {got:?})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Poll until `query` returns no series.
    pub fn wait_for_empty(&self, query: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.query(query);
            if got.is_empty() {
                return;
            }
            assert!(Instant::now() < deadline, "`{query}` still returns {got:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop the servers and reap them; the port then refuses connections.
    pub fn stop(&self) {
        let mut watchdogs = self.watchdogs.lock().unwrap();
        for w in watchdogs.iter_mut() {
            // TERM the watchdog: its trap kills and reaps the server.
            if let Ok(pid) = i32::try_from(w.id()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
            let _ = w.wait();
        }
        watchdogs.clear();
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

fn try_status(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("http://")?;
    let host = &rest[..rest.find('/')?];
    std::net::TcpStream::connect(host).ok()?;
    Some(request("GET", url, "").0)
}
