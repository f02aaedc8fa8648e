//! Signal sources (Prometheus, Datadog, HTTP, command) and the measurement
//! record every gate, trigger and readiness item produces.
//!
//! Async I/O lives in the per-source modules, which only *read* a result
//! (`Reading`); turning a reading into a verdict is synchronous (`judge`,
//! using `condition` evaluation) so it can be unit-tested. `SourceSet` owns a
//! client per source and masks every string before it leaves as a
//! `Measurement`.

pub mod command;
pub mod datadog;
pub mod http;
pub mod prometheus;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use indexmap::IndexMap;

use crate::condition::{Condition, Outcome};
use crate::runbook::model::{Auth, Check, NoData, Probe, Source, SourceKind};
use crate::secrets::Masker;

// The measurement record is part of the journal format, so it lives in
// `event`; here are its old paths.
pub use crate::event::{Measurement, Sample, Verdict, float_serde};

/// Why a source gave no result. Messages are shown to operators and journaled
/// (after masking): they never contain a credential.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignalError {
    #[error("unknown source `{0}`")]
    UnknownSource(String),
    #[error("source `{source_name}` ({kind}) cannot run a {probe} probe")]
    ProbeMismatch {
        source_name: String,
        kind: &'static str,
        probe: &'static str,
    },
    #[error("invalid source configuration: {0}")]
    Config(String),
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("timed out after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// The source rejected the query; the text is the source's own.
    #[error("query rejected: {0}")]
    Query(String),
    #[error("http status {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("forbidden (403): the credentials lack the `{permission}` permission{}", .detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Forbidden {
        permission: &'static str,
        detail: Option<String>,
    },
    #[error("rate limited (429): {0}")]
    RateLimited(String),
    #[error("malformed response: {0}")]
    Malformed(String),
    #[error("{0}")]
    Command(String),
}

/// What a source read, before any judgement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reading {
    pub samples: Vec<Sample>,
    /// A state instead of numbers (a Datadog monitor).
    pub state: Option<String>,
}

/// One client per source of a runbook, plus the masking applied to every
/// measurement. Cheap to clone: the clients are shared.
#[derive(Clone)]
pub struct SourceSet {
    sources: Arc<BTreeMap<String, Arc<SourceClient>>>,
    masks: Arc<Masks>,
}

/// The masking of a source set, shared with its clients: they mask a text
/// before cutting it short, so a cut never leaves half a secret in clear.
#[derive(Debug, Default)]
pub(crate) struct Masks {
    secrets: Masker,
    /// The sources' own credentials, masked even when they were written
    /// literally in the runbook instead of coming from `[secrets]`.
    credentials: Masker,
}

impl Masks {
    /// `text` with every secret and credential masked.
    pub(crate) fn mask(&self, text: &str) -> String {
        self.credentials.mask(&self.secrets.mask(text))
    }

    /// At most the first `max` characters of `text`, masked (before the cut).
    pub(crate) fn masked_prefix(&self, text: &str, max: usize) -> String {
        self.mask(text).chars().take(max).collect()
    }
}

/// A built client and the source it was built from.
pub(crate) struct SourceClient {
    timeout: Duration,
    kind: Client,
}

enum Client {
    Prometheus(prometheus::PrometheusSource),
    Datadog(datadog::DatadogSource),
    Http(http::HttpSource),
    Command(command::CommandSource),
    /// A source whose configuration is unusable (bad URL, bad header): every
    /// measurement against it is an error with this text.
    Broken(SignalError),
}

impl SourceSet {
    /// Clients for `sources`; `secret_env` is the environment commands get
    /// (`CUTOVER_SECRET_<NAME>` values). Never fails: a source that cannot be
    /// built errors on every measurement, so a gate on it never passes.
    pub fn new(
        sources: &IndexMap<String, Source>,
        masker: Masker,
        secret_env: &[(String, String)],
    ) -> Self {
        let mut credentials: Vec<String> = Vec::new();
        for source in sources.values() {
            collect_credentials(source, &mut credentials);
        }
        let masks = Arc::new(Masks {
            secrets: masker,
            credentials: Masker::new(credentials.iter().map(String::as_str)),
        });
        let mut built = BTreeMap::new();
        for (name, source) in sources {
            let kind = match build_client(source, secret_env, &masks) {
                Ok(client) => client,
                Err(e) => Client::Broken(e),
            };
            built.insert(
                name.clone(),
                Arc::new(SourceClient {
                    timeout: source.timeout,
                    kind,
                }),
            );
        }
        SourceSet {
            sources: Arc::new(built),
            masks,
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.sources.keys().map(String::as_str)
    }

    /// `text` with every secret and credential masked.
    pub fn mask(&self, text: &str) -> String {
        self.masks.mask(text)
    }

    /// Take one measurement of `check` and judge it. Never panics; an error,
    /// no data (unless `no_data = "pass"`) or NaN never gives `Pass`.
    pub async fn measure(&self, check: &Check, baseline: Option<f64>) -> Measurement {
        let at = now_rfc3339();
        let started = Instant::now();
        let (kind_name, result) = match self.sources.get(&check.source) {
            None => (
                "unknown",
                Err(SignalError::UnknownSource(check.source.clone())),
            ),
            Some(client) => {
                let deadline = started + client.timeout;
                let result = match tokio::time::timeout_at(
                    tokio::time::Instant::from_std(deadline),
                    client.read(&check.source, check, deadline),
                )
                .await
                {
                    Ok(r) => r,
                    Err(_) => Err(SignalError::Timeout(client.timeout)),
                };
                (client.kind_name(), result)
            }
        };
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut m = judge(check, result, baseline);
        m.source.clone_from(&check.source);
        m.source_kind = kind_name.to_string();
        m.query = check.probe.describe();
        m.at = at;
        m.latency_ms = latency_ms;
        let m = self.mask_measurement(m);
        tracing::debug!(
            source = %m.source,
            kind = %m.source_kind,
            query = %m.query,
            verdict = ?m.verdict,
            value = ?m.value,
            latency_ms = m.latency_ms.round(),
            "measured"
        );
        m
    }

    /// Check that source `name` answers, with a short human detail.
    pub async fn health(&self, name: &str) -> Result<String, SignalError> {
        let client = self
            .sources
            .get(name)
            .ok_or_else(|| SignalError::UnknownSource(name.to_string()))?;
        let deadline = Instant::now() + client.timeout;
        let result = match tokio::time::timeout_at(
            tokio::time::Instant::from_std(deadline),
            client.health(),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(SignalError::Timeout(client.timeout)),
        };
        result
            .map(|detail| self.mask(&detail))
            .map_err(|e| self.mask_error(&e))
    }

    /// The error with its text masked (variants are kept where no text is involved).
    fn mask_error(&self, e: &SignalError) -> SignalError {
        let masked = self.mask(&e.to_string());
        if masked == e.to_string() {
            e.clone()
        } else {
            SignalError::Command(masked)
        }
    }

    fn mask_measurement(&self, mut m: Measurement) -> Measurement {
        m.source = self.mask(&m.source);
        m.query = self.mask(&m.query);
        m.detail = m.detail.map(|d| self.mask(&d));
        m.state = m.state.map(|s| self.mask(&s));
        m.condition = m.condition.map(|c| self.mask(&c));
        for sample in &mut m.samples {
            sample.labels = std::mem::take(&mut sample.labels)
                .into_iter()
                .map(|(k, v)| (self.mask(&k), self.mask(&v)))
                .collect();
        }
        m
    }
}

impl SourceClient {
    fn kind_name(&self) -> &'static str {
        match &self.kind {
            Client::Prometheus(_) => "prometheus",
            Client::Datadog(_) => "datadog",
            Client::Http(_) => "http",
            Client::Command(_) => "command",
            Client::Broken(_) => "invalid",
        }
    }

    async fn read(
        &self,
        name: &str,
        check: &Check,
        deadline: Instant,
    ) -> Result<Reading, SignalError> {
        let mismatch = |probe: &'static str| SignalError::ProbeMismatch {
            source_name: name.to_string(),
            kind: self.kind_name(),
            probe,
        };
        match (&self.kind, &check.probe) {
            (Client::Broken(e), _) => Err(e.clone()),
            (Client::Prometheus(p), Probe::Query { query }) => p.query(query, self.timeout).await,
            (Client::Datadog(d), Probe::Query { query }) => d.query(query, deadline).await,
            (Client::Datadog(d), Probe::Monitor { id }) => d.monitor(*id, deadline).await,
            (Client::Http(h), Probe::Http { url, method, read }) => {
                h.probe(url, method, read).await
            }
            (Client::Command(c), Probe::Query { query }) => c.run(query, check.command_read).await,
            (_, Probe::Query { .. }) => Err(mismatch("query")),
            (_, Probe::Monitor { .. }) => Err(mismatch("monitor")),
            (_, Probe::Http { .. }) => Err(mismatch("http")),
        }
    }

    async fn health(&self) -> Result<String, SignalError> {
        match &self.kind {
            Client::Broken(e) => Err(e.clone()),
            Client::Prometheus(p) => p.health().await,
            Client::Datadog(d) => d.health().await,
            Client::Http(h) => h.health().await,
            Client::Command(c) => c.health().await,
        }
    }
}

fn build_client(
    source: &Source,
    secret_env: &[(String, String)],
    masks: &Arc<Masks>,
) -> Result<Client, SignalError> {
    Ok(match &source.kind {
        SourceKind::Prometheus { url, auth } => Client::Prometheus(
            prometheus::PrometheusSource::new(url, auth.as_ref(), &source.headers, source.timeout)?,
        ),
        SourceKind::Datadog {
            url,
            api_key,
            app_key,
            api,
            lookback,
        } => Client::Datadog(
            datadog::DatadogSource::new(
                url,
                api_key,
                app_key.as_deref(),
                *api,
                &source.headers,
                source.timeout,
                masks.clone(),
            )?
            .looking_back(*lookback),
        ),
        SourceKind::Http { url, auth } => Client::Http(http::HttpSource::new(
            url.as_deref(),
            auth.as_ref(),
            &source.headers,
            source.timeout,
            masks.clone(),
        )?),
        SourceKind::Command { shell } => Client::Command(command::CommandSource::new(
            shell,
            secret_env.to_vec(),
            masks.clone(),
        )),
    })
}

/// Every credential a source holds, including a password inside its URL.
fn collect_credentials(source: &Source, out: &mut Vec<String>) {
    let mut url_password = |url: &str| {
        if let Ok(u) = reqwest::Url::parse(url)
            && let Some(p) = u.password()
        {
            out.push(p.to_string());
            if let Ok(decoded) = percent_encoding::percent_decode_str(p).decode_utf8() {
                out.push(decoded.into_owned());
            }
        }
    };
    let auth_secret = |auth: Option<&Auth>| match auth {
        Some(Auth::Basic { password, .. }) => Some(password.clone()),
        Some(Auth::Bearer { token }) => Some(token.clone()),
        None => None,
    };
    match &source.kind {
        SourceKind::Prometheus { url, auth } => {
            url_password(url);
            out.extend(auth_secret(auth.as_ref()));
        }
        SourceKind::Http { url, auth } => {
            if let Some(url) = url {
                url_password(url);
            }
            out.extend(auth_secret(auth.as_ref()));
        }
        SourceKind::Datadog {
            url,
            api_key,
            app_key,
            ..
        } => {
            url_password(url);
            out.push(api_key.clone());
            out.extend(app_key.clone());
        }
        SourceKind::Command { .. } => {}
    }
}

/// Turn what a source read into a measurement with a verdict (source, query,
/// time and latency are filled in by the caller). This is the one place that
/// decides verdicts, so "never pass on an error, NaN or no data" is checked here.
pub fn judge(
    check: &Check,
    result: Result<Reading, SignalError>,
    baseline: Option<f64>,
) -> Measurement {
    let mut m = Measurement {
        source: String::new(),
        source_kind: String::new(),
        query: String::new(),
        at: String::new(),
        latency_ms: 0.0,
        samples: Vec::new(),
        state: None,
        value: None,
        condition: None,
        baseline: None,
        verdict: Verdict::Error,
        detail: None,
    };
    let reading = match result {
        Ok(r) => r,
        Err(e) => {
            m.detail = Some(e.to_string());
            return m;
        }
    };
    m.samples = reading.samples;
    if let Some(state) = reading.state {
        // A monitor: its state is the verdict, the condition is not used.
        m.verdict = match state.as_str() {
            "OK" => Verdict::Pass,
            "Warn" | "Alert" => Verdict::Fail,
            "No Data" => {
                m.detail = Some(format!(
                    "no data (monitor state `No Data`, {})",
                    no_data_text(check.no_data)
                ));
                no_data_verdict(check.no_data)
            }
            other => {
                m.detail = Some(format!("monitor state `{other}` is neither OK nor failing"));
                Verdict::Inconclusive
            }
        };
        m.state = Some(state);
        return m;
    }
    m.condition = Some(check.condition_text.clone());
    if check.condition.uses_baseline() {
        m.baseline = baseline;
    }
    let values: Vec<f64> = m.samples.iter().map(|s| s.value).collect();
    let judgement = check.condition.evaluate(&values, baseline);
    m.value = judgement.value;
    m.verdict = match judgement.outcome {
        Outcome::Pass => Verdict::Pass,
        Outcome::Fail => Verdict::Fail,
        Outcome::Inconclusive(reason) => {
            m.detail = Some(reason);
            Verdict::Inconclusive
        }
        Outcome::NoData => {
            m.detail = Some(format!("no data ({})", no_data_text(check.no_data)));
            no_data_verdict(check.no_data)
        }
    };
    m
}

fn no_data_verdict(policy: NoData) -> Verdict {
    match policy {
        NoData::Pass => Verdict::Pass,
        NoData::Fail => Verdict::Fail,
        NoData::Inconclusive => Verdict::Inconclusive,
    }
}

fn no_data_text(policy: NoData) -> &'static str {
    match policy {
        NoData::Pass => "no_data = pass",
        NoData::Fail => "no_data = fail",
        NoData::Inconclusive => "no_data = inconclusive",
    }
}

/// The condition a probe is judged by when none is given: any value is fine.
pub fn any_value_condition() -> Condition {
    Condition::parse("any > -inf").unwrap_or_default()
}

pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Parse a number as sources print it: `NaN`, `+Inf`, `-Inf`, `1e3`, ` 0.5 `.
pub(crate) fn parse_value(text: &str) -> Option<f64> {
    let t = text.trim();
    match t {
        "NaN" | "nan" => Some(f64::NAN),
        "+Inf" | "Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => t.parse::<f64>().ok(),
    }
}

/// Default headers for a source: its custom headers plus its authentication.
pub(crate) fn header_map(
    headers: &IndexMap<String, String>,
    auth: Option<&Auth>,
) -> Result<reqwest::header::HeaderMap, SignalError> {
    use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| SignalError::Config(format!("invalid header name `{name}`")))?;
        // The value may hold a secret: never echo it.
        let mut v = HeaderValue::from_str(value)
            .map_err(|_| SignalError::Config(format!("invalid value for header `{name}`")))?;
        v.set_sensitive(true);
        map.insert(n, v);
    }
    if let Some(auth) = auth {
        let value = match auth {
            Auth::Basic { username, password } => {
                use base64::Engine as _;
                let raw = format!("{username}:{password}");
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )
            }
            Auth::Bearer { token } => format!("Bearer {token}"),
        };
        let mut v = HeaderValue::from_str(&value)
            .map_err(|_| SignalError::Config("credentials are not a valid header value".into()))?;
        v.set_sensitive(true);
        map.insert(AUTHORIZATION, v);
    }
    Ok(map)
}

/// Split `user:password@` out of a URL: credentials go into a header, never
/// into a URL that error messages would print.
pub(crate) fn split_url_credentials(
    url: &str,
) -> Result<(reqwest::Url, Option<Auth>), SignalError> {
    let mut parsed =
        reqwest::Url::parse(url).map_err(|e| SignalError::Config(format!("invalid url: {e}")))?;
    let auth = if parsed.username().is_empty() && parsed.password().is_none() {
        None
    } else {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let auth = Auth::Basic {
            username: decode(parsed.username()),
            password: decode(parsed.password().unwrap_or("")),
        };
        // Cannot fail for http(s) URLs, which are the only ones with credentials.
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        Some(auth)
    };
    Ok((parsed, auth))
}

/// At most `limit` bytes of a response body, and whether there was more
/// (left unread): a misconfigured URL that streams gigabytes must not take the
/// engine's memory with it.
pub(crate) async fn read_capped(
    resp: &mut reqwest::Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = limit - buf.len();
        if chunk.len() > room {
            buf.extend_from_slice(&chunk[..room]);
            return Ok((buf, true));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok((buf, false))
}

/// A reqwest client with a source's default headers and per-request timeout.
pub(crate) fn http_client(
    headers: reqwest::header::HeaderMap,
    timeout: Duration,
) -> Result<reqwest::Client, SignalError> {
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(timeout)
        // `HTTPS_PROXY` / `NO_PROXY` are honoured as curl does: Datadog SaaS is
        // often only reachable through a corporate proxy (a CONNECT tunnel,
        // which does not see the headers).
        .build()
        .map_err(|e| SignalError::Config(format!("failed to build an http client: {e}")))
}

/// Describe a reqwest failure without its URL (which may carry query secrets).
pub(crate) fn describe_reqwest(e: reqwest::Error, timeout: Duration) -> SignalError {
    if e.is_timeout() {
        return SignalError::Timeout(timeout);
    }
    let connect = e.is_connect();
    let text = crate::text::error_chain(&e.without_url());
    if connect {
        SignalError::Unreachable(text)
    } else {
        SignalError::Unreachable(format!("request failed: {text}"))
    }
}
