//! Datadog over its HTTP API: metric queries (`GET /api/v1/query` or
//! `POST /api/v2/query/timeseries`, chosen by the source's `api`), monitor
//! state (`GET /api/v1/monitor/{id}`), and key validation for health checks.
//!
//! Keys travel only in the `DD-API-KEY` / `DD-APPLICATION-KEY` headers (marked
//! sensitive), never in a URL. A 429 is retried after `X-RateLimit-Reset`
//! when that still fits in the query's timeout; a 403 names the permission
//! the endpoint needs. The value of a series is its last non-null point.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::{Masks, Reading, Sample, SignalError};
use crate::runbook::model::DatadogApi;

/// How far back a metric query looks for the latest point. Datadog's
/// rollups make the newest minute sparse; five minutes always has a point
/// for a live metric.
/// The look-back when a source does not say (`lookback`).
const DEFAULT_LOOKBACK: Duration = Duration::from_mins(5);
/// A metric query over five minutes is kilobytes; far more means a query
/// that matched thousands of series, or a URL that is not Datadog.
const MAX_RESPONSE: usize = 32 * 1024 * 1024;

pub(crate) struct DatadogSource {
    base: reqwest::Url,
    client: reqwest::Client,
    api: DatadogApi,
    timeout: Duration,
    /// Metric queries cover `[now - lookback, now]`.
    lookback: Duration,
    masks: Arc<Masks>,
}

/// `GET /api/v1/monitor/{id}`, the one field a gate reads.
#[derive(Deserialize)]
struct Monitor {
    overall_state: Option<String>,
}

/// `GET /api/v1/validate`.
#[derive(Deserialize)]
struct Valid {
    valid: bool,
}

/// What an endpoint is for, to name its permission on a 403.
#[derive(Clone, Copy)]
enum Endpoint {
    Query,
    Monitor,
    Validate,
}

impl Endpoint {
    /// The permission Datadog's API reference lists for the endpoint.
    fn permission(self) -> &'static str {
        match self {
            Endpoint::Query => "timeseries_query",
            Endpoint::Monitor => "monitors_read",
            Endpoint::Validate => "api key",
        }
    }
}

impl DatadogSource {
    pub(crate) fn new(
        url: &str,
        api_key: &str,
        app_key: Option<&str>,
        api: DatadogApi,
        headers: &IndexMap<String, String>,
        timeout: Duration,
        masks: Arc<Masks>,
    ) -> Result<Self, SignalError> {
        let (base, _) = super::split_url_credentials(url)?;
        let mut map = super::header_map(headers, None)?;
        let mut insert = |name: &'static str, value: &str| -> Result<(), SignalError> {
            let mut v = HeaderValue::from_str(value).map_err(|_| {
                SignalError::Config(format!(
                    "the value for `{name}` is not a valid header value"
                ))
            })?;
            v.set_sensitive(true);
            map.insert(HeaderName::from_static(name), v);
            Ok(())
        };
        insert("dd-api-key", api_key)?;
        if let Some(app) = app_key {
            insert("dd-application-key", app)?;
        }
        let client = super::http_client(map, timeout)?;
        Ok(DatadogSource {
            base,
            client,
            api,
            timeout,
            lookback: DEFAULT_LOOKBACK,
            masks,
        })
    }

    /// Metric queries cover `[now - lookback, now]`.
    pub(crate) fn looking_back(mut self, lookback: Duration) -> Self {
        self.lookback = lookback;
        self
    }

    fn url(&self, path: &str) -> Result<reqwest::Url, SignalError> {
        let mut base = self.base.clone();
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        base.join(path)
            .map_err(|e| SignalError::Config(format!("invalid datadog url: {e}")))
    }

    pub(crate) async fn query(
        &self,
        query: &str,
        deadline: Instant,
    ) -> Result<Reading, SignalError> {
        let to = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let from = to.saturating_sub(self.lookback);
        match self.api {
            DatadogApi::V1 => {
                let url = self.url("api/v1/query")?;
                let req = self.client.get(url).query(&[
                    ("from", from.as_secs().to_string()),
                    ("to", to.as_secs().to_string()),
                    ("query", query.to_string()),
                ]);
                let body = self.send(req, Endpoint::Query, deadline).await?;
                parse_v1(&body)
            }
            DatadogApi::V2 => {
                let url = self.url("api/v2/query/timeseries")?;
                let body = serde_json::json!({
                    "data": {
                        "type": "timeseries_request",
                        "attributes": {
                            "from": from.as_millis() as u64,
                            "to": to.as_millis() as u64,
                            "queries": [{"data_source": "metrics", "query": query, "name": "a"}],
                            "formulas": [{"formula": "a"}],
                        }
                    }
                });
                let req = self.client.post(url).json(&body);
                let body = self.send(req, Endpoint::Query, deadline).await?;
                parse_v2(&body)
            }
        }
    }

    pub(crate) async fn monitor(&self, id: u64, deadline: Instant) -> Result<Reading, SignalError> {
        let url = self.url(&format!("api/v1/monitor/{id}"))?;
        let body = self
            .send(self.client.get(url), Endpoint::Monitor, deadline)
            .await?;
        let m: Monitor = serde_json::from_str(&body)
            .map_err(|e| SignalError::Malformed(format!("monitor {id}: {e}")))?;
        let state = m.overall_state.ok_or_else(|| {
            SignalError::Malformed(format!("monitor {id} has no `overall_state`"))
        })?;
        Ok(Reading {
            samples: Vec::new(),
            state: Some(state),
        })
    }

    /// `GET /api/v1/validate` checks the API key without needing any permission.
    pub(crate) async fn health(&self) -> Result<String, SignalError> {
        let url = self.url("api/v1/validate")?;
        let deadline = Instant::now() + self.timeout;
        let body = self
            .send(self.client.get(url), Endpoint::Validate, deadline)
            .await?;
        match serde_json::from_str::<Valid>(&body) {
            Ok(Valid { valid: true }) => {
                Ok(format!("datadog at {} accepted the api key", self.base))
            }
            Ok(Valid { valid: false }) => Err(SignalError::Forbidden {
                permission: Endpoint::Validate.permission(),
                detail: Some("datadog says the api key is not valid".into()),
            }),
            Err(e) => Err(SignalError::Malformed(format!("validate: {e}"))),
        }
    }

    /// Send, honouring 429 within `deadline`, and give the body of a 2xx.
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        endpoint: Endpoint,
        deadline: Instant,
    ) -> Result<String, SignalError> {
        loop {
            let attempt = req
                .try_clone()
                .ok_or_else(|| SignalError::Config("request cannot be retried".into()))?;
            let mut resp = attempt
                .send()
                .await
                .map_err(|e| super::describe_reqwest(e, self.timeout))?;
            let status = resp.status();
            if status.as_u16() == 429 {
                let reset = resp
                    .headers()
                    .get("x-ratelimit-reset")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                let Some(reset) = reset else {
                    return Err(SignalError::RateLimited(
                        "no `X-RateLimit-Reset` header to wait for".into(),
                    ));
                };
                // The reset is in seconds; wait a little past it so the window has turned.
                let wait = Duration::from_secs(reset) + Duration::from_millis(50);
                let now = Instant::now();
                if now + wait >= deadline {
                    return Err(SignalError::RateLimited(format!(
                        "the limit resets in {reset}s, after this query's timeout"
                    )));
                }
                tokio::time::sleep(wait).await;
                continue;
            }
            let (body, more) = super::read_capped(&mut resp, MAX_RESPONSE)
                .await
                .map_err(|e| super::describe_reqwest(e, self.timeout))?;
            if more {
                return Err(SignalError::Malformed(format!(
                    "the response is larger than {} MiB: narrow the query",
                    MAX_RESPONSE / 1024 / 1024
                )));
            }
            let body = String::from_utf8_lossy(&body).into_owned();
            if status.is_success() {
                return Ok(body);
            }
            let detail = error_text(&body, &self.masks);
            return Err(match status.as_u16() {
                403 => SignalError::Forbidden {
                    permission: endpoint.permission(),
                    detail,
                },
                code => SignalError::Status {
                    status: code,
                    detail: detail.unwrap_or_else(|| {
                        status.canonical_reason().unwrap_or("error").to_lowercase()
                    }),
                },
            });
        }
    }
}

/// Datadog error bodies are `{"errors": ["..."]}`; keep them short (masked
/// before they are cut).
fn error_text(body: &str, masks: &Masks) -> Option<String> {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<serde_json::Value>,
    }
    let errors: Errors = serde_json::from_str(body).ok()?;
    let texts: Vec<String> = errors
        .errors
        .iter()
        .map(|e| match e {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    if texts.is_empty() {
        None
    } else {
        Some(masks.masked_prefix(&texts.join("; "), 500))
    }
}

/// `{"status":"ok","series":[{"metric":..,"scope":"host:a,env:b","pointlist":[[ms, v|null]..]}]}`.
fn parse_v1(body: &str) -> Result<Reading, SignalError> {
    #[derive(Deserialize)]
    struct Resp {
        status: Option<String>,
        error: Option<String>,
        series: Option<Vec<Series>>,
    }
    #[derive(Deserialize)]
    struct Series {
        metric: Option<String>,
        scope: Option<String>,
        #[serde(default)]
        pointlist: Vec<Vec<Option<f64>>>,
    }
    let resp: Resp =
        serde_json::from_str(body).map_err(|e| SignalError::Malformed(format!("query: {e}")))?;
    if resp.status.as_deref() == Some("error")
        || resp.error.as_deref().is_some_and(|e| !e.is_empty())
    {
        return Err(SignalError::Query(
            resp.error.unwrap_or_else(|| "status error".into()),
        ));
    }
    let series = resp
        .series
        .ok_or_else(|| SignalError::Malformed("query: no `series` in the response".into()))?;
    let mut samples = Vec::new();
    for s in series {
        let last = s
            .pointlist
            .iter()
            .rev()
            .find_map(|p| p.get(1).copied().flatten());
        // A series with only null points has no data, like an absent series.
        let Some(value) = last else { continue };
        let mut labels = scope_labels(s.scope.as_deref().unwrap_or(""));
        if let Some(metric) = s.metric {
            labels.insert("metric".into(), metric);
        }
        samples.push(Sample { labels, value });
    }
    Ok(Reading {
        samples,
        state: None,
    })
}

/// `{"data":{"attributes":{"series":[{"group_tags":[..]}],"times":[..],"values":[[..]]}}}`.
fn parse_v2(body: &str) -> Result<Reading, SignalError> {
    #[derive(Deserialize)]
    struct Resp {
        data: Option<Data>,
        errors: Option<String>,
    }
    #[derive(Deserialize)]
    struct Data {
        attributes: Attributes,
    }
    #[derive(Deserialize)]
    struct Attributes {
        #[serde(default)]
        series: Vec<Series>,
        #[serde(default)]
        values: Vec<Vec<Option<f64>>>,
    }
    #[derive(Deserialize)]
    struct Series {
        #[serde(default)]
        group_tags: Vec<String>,
    }
    let resp: Resp = serde_json::from_str(body)
        .map_err(|e| SignalError::Malformed(format!("timeseries query: {e}")))?;
    if let Some(e) = resp.errors.filter(|e| !e.is_empty()) {
        return Err(SignalError::Query(e));
    }
    let data = resp.data.ok_or_else(|| {
        SignalError::Malformed("timeseries query: no `data` in the response".into())
    })?;
    let attrs = data.attributes;
    if attrs.values.len() != attrs.series.len() {
        return Err(SignalError::Malformed(format!(
            "timeseries query: {} series but {} value lists",
            attrs.series.len(),
            attrs.values.len()
        )));
    }
    let mut samples = Vec::new();
    for (series, values) in attrs.series.iter().zip(&attrs.values) {
        let Some(value) = values.iter().rev().find_map(|v| *v) else {
            continue;
        };
        samples.push(Sample {
            labels: scope_labels(&series.group_tags.join(",")),
            value,
        });
    }
    Ok(Reading {
        samples,
        state: None,
    })
}

/// `host:a,env:prod` → `{host: a, env: prod}`; a tag without `:` keeps an empty value.
fn scope_labels(scope: &str) -> BTreeMap<String, String> {
    scope
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "*")
        .map(|t| match t.split_once(':') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (t.to_string(), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_takes_the_last_non_null_point_of_each_series() {
        let body = r#"{"status":"ok","res_type":"time_series","series":[
            {"metric":"system.cpu.idle","scope":"host:a,env:prod","pointlist":[[1,0.5],[2,0.7],[3,null]]},
            {"metric":"system.cpu.idle","scope":"host:b","pointlist":[[1,null]]}
        ],"query":"system.cpu.idle{*} by {host}","message":"","error":""}"#;
        let r = parse_v1(body).unwrap();
        assert_eq!(r.samples.len(), 1);
        assert!((r.samples[0].value - 0.7).abs() < f64::EPSILON);
        assert_eq!(r.samples[0].labels["host"], "a");
        assert_eq!(r.samples[0].labels["metric"], "system.cpu.idle");
    }

    #[test]
    fn v1_error_status_is_a_query_error() {
        let body = r#"{"status":"error","error":"Error parsing query: unable to parse avg(: Rule 'scope_expr' didn't match"}"#;
        assert!(
            matches!(parse_v1(body), Err(SignalError::Query(e)) if e.contains("unable to parse"))
        );
        assert!(matches!(
            parse_v1("not json"),
            Err(SignalError::Malformed(_))
        ));
        assert!(matches!(parse_v1("{}"), Err(SignalError::Malformed(_))));
    }

    #[test]
    fn v2_zips_series_and_values() {
        let body = r#"{"data":{"type":"timeseries_response","attributes":{
            "series":[{"group_tags":["env:prod"],"query_index":0,"unit":null},{"group_tags":["env:dev"],"query_index":0}],
            "times":[1000,2000],
            "values":[[1.0,2.0],[3.0,null]]}}}"#;
        let r = parse_v2(body).unwrap();
        assert_eq!(r.samples.len(), 2);
        assert!((r.samples[0].value - 2.0).abs() < f64::EPSILON);
        assert!((r.samples[1].value - 3.0).abs() < f64::EPSILON);
        assert_eq!(r.samples[1].labels["env"], "dev");
        let mismatched = r#"{"data":{"attributes":{"series":[{}],"times":[],"values":[]}}}"#;
        assert!(matches!(
            parse_v2(mismatched),
            Err(SignalError::Malformed(_))
        ));
    }

    #[test]
    fn error_bodies_are_read() {
        let masks = Masks::default();
        assert_eq!(
            error_text(r#"{"errors":["Forbidden"]}"#, &masks).as_deref(),
            Some("Forbidden")
        );
        assert_eq!(error_text("<html>", &masks), None);
    }

    #[test]
    fn error_bodies_are_masked_before_they_are_cut() {
        let secret = "s3cr3t-t0ken";
        let masks = Masks {
            secrets: crate::secrets::Masker::new([secret]),
            ..Masks::default()
        };
        for at in 490..500 {
            let body = format!(r#"{{"errors":["{}{secret} tail"]}}"#, "x".repeat(at));
            let text = error_text(&body, &masks).unwrap();
            assert!(!text.contains(&secret[..4]), "{text}");
        }
    }
}
