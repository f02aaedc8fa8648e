//! Prometheus instant queries through `prometheus-http-query`: vector and
//! scalar results (labels kept), basic/bearer auth, custom headers and a
//! per-query timeout (sent to Prometheus too, so it stops evaluating).
//!
//! Every failure is a `SignalError`; a syntax error carries Prometheus's own
//! text so authors see what Prometheus objected to.

use std::time::Duration;

use indexmap::IndexMap;
use prometheus_http_query::response::Data;
use prometheus_http_query::{Client, Error as PromError};

use super::{Reading, Sample, SignalError};
use crate::runbook::model::Auth;

pub(crate) struct PrometheusSource {
    client: Client,
    timeout: Duration,
}

impl PrometheusSource {
    pub(crate) fn new(
        url: &str,
        auth: Option<&Auth>,
        headers: &IndexMap<String, String>,
        timeout: Duration,
    ) -> Result<Self, SignalError> {
        let (base, url_auth) = super::split_url_credentials(url)?;
        let map = super::header_map(headers, auth.or(url_auth.as_ref()))?;
        let http = super::http_client(map, timeout)?;
        let client = Client::from(http, base.as_str())
            .map_err(|e| SignalError::Config(format!("invalid prometheus url: {e}")))?;
        Ok(PrometheusSource { client, timeout })
    }

    pub(crate) async fn query(
        &self,
        query: &str,
        timeout: Duration,
    ) -> Result<Reading, SignalError> {
        let ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        let result = self.client.query(query).timeout(ms).get().await;
        match result {
            Ok(r) => match r.into_inner().0 {
                Data::Vector(v) => Ok(Reading {
                    samples: v
                        .into_iter()
                        .map(|iv| {
                            let (labels, sample) = iv.into_inner();
                            Sample {
                                labels: labels.into_iter().collect(),
                                value: sample.value(),
                            }
                        })
                        .collect(),
                    state: None,
                }),
                Data::Scalar(s) => Ok(Reading {
                    samples: vec![Sample {
                        labels: std::collections::BTreeMap::new(),
                        value: s.value(),
                    }],
                    state: None,
                }),
                Data::Matrix(_) => Err(SignalError::Query(
                    "the query returns a range vector; a gate needs an instant vector or a \
                     scalar (wrap it in e.g. `rate(...)` or `max_over_time(...)`)"
                        .into(),
                )),
            },
            Err(e) => Err(self.map_error(e)),
        }
    }

    fn map_error(&self, e: PromError) -> SignalError {
        match e {
            PromError::Prometheus(p) => {
                if p.is_timeout() {
                    SignalError::Timeout(self.timeout)
                } else {
                    SignalError::Query(format!(
                        "prometheus says {}: {}",
                        p.error_type(),
                        p.message()
                    ))
                }
            }
            PromError::Client(c) => match c.inner() {
                Some(inner) if inner.is_timeout() => SignalError::Timeout(self.timeout),
                Some(inner) if inner.is_decode() => SignalError::Malformed(format!(
                    "{c}: the result is not a vector or a scalar (a string result, or not Prometheus?)"
                )),
                Some(inner) if inner.is_connect() => SignalError::Unreachable(format!(
                    "cannot connect to prometheus at {}",
                    self.client.base_url()
                )),
                Some(inner) => match inner.status() {
                    Some(status) => SignalError::Status {
                        status: status.as_u16(),
                        detail: c.to_string(),
                    },
                    None => SignalError::Unreachable(format!("{c}: {}", describe_chain(inner))),
                },
                None => SignalError::Unreachable(c.to_string()),
            },
            other => SignalError::Unreachable(other.to_string()),
        }
    }

    /// Reachable when an instant query of `vector(1)` answers: this checks
    /// the URL, the credentials and the query API in one go.
    pub(crate) async fn health(&self) -> Result<String, SignalError> {
        let started = std::time::Instant::now();
        let reading = self.query("vector(1)", self.timeout).await?;
        if reading.samples.is_empty() {
            return Err(SignalError::Malformed(
                "`vector(1)` returned no data".into(),
            ));
        }
        Ok(format!(
            "prometheus at {} answered a query in {} ms",
            self.client.base_url(),
            started.elapsed().as_millis()
        ))
    }
}

/// A reqwest error's causes, without its own text (which names the URL).
fn describe_chain(e: &reqwest::Error) -> String {
    let text = crate::text::error_causes(e);
    if text.is_empty() {
        "request failed".into()
    } else {
        text
    }
}
