//! HTTP probes: a request whose status code, latency, a number at a JSON
//! pointer, or a regex capture on the body is the value.
//!
//! A status read takes any response as a value (a 503 is a value that fails
//! `== 200`); the other reads need a 2xx, because the latency or body of an
//! error response says nothing about the service being healthy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use indexmap::IndexMap;

use super::{Masks, Reading, Sample, SignalError};
use crate::runbook::model::{Auth, HttpRead};

/// Bodies larger than this are not read in full for a probe.
const MAX_BODY: usize = 4 * 1024 * 1024;

pub(crate) struct HttpSource {
    base: Option<reqwest::Url>,
    client: reqwest::Client,
    timeout: Duration,
    masks: Arc<Masks>,
}

impl HttpSource {
    pub(crate) fn new(
        base: Option<&str>,
        auth: Option<&Auth>,
        headers: &IndexMap<String, String>,
        timeout: Duration,
        masks: Arc<Masks>,
    ) -> Result<Self, SignalError> {
        let (base, url_auth) = match base {
            Some(b) => {
                let (u, a) = super::split_url_credentials(b)?;
                (Some(u), a)
            }
            None => (None, None),
        };
        let map = super::header_map(headers, auth.or(url_auth.as_ref()))?;
        Ok(HttpSource {
            base,
            client: super::http_client(map, timeout)?,
            timeout,
            masks,
        })
    }

    fn resolve(&self, url: &str) -> Result<reqwest::Url, SignalError> {
        let joined = match &self.base {
            Some(base) => base.join(url),
            None => reqwest::Url::parse(url),
        };
        let joined = joined.map_err(|e| SignalError::Config(format!("invalid probe url: {e}")))?;
        Ok(joined)
    }

    pub(crate) async fn probe(
        &self,
        url: &str,
        method: &str,
        read: &HttpRead,
    ) -> Result<Reading, SignalError> {
        let (url, url_auth) = super::split_url_credentials(self.resolve(url)?.as_str())?;
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| SignalError::Config(format!("invalid http method `{method}`")))?;
        let mut req = self.client.request(method, url);
        if let Some(Auth::Basic { username, password }) = &url_auth {
            req = req.basic_auth(username, Some(password));
        }
        let started = Instant::now();
        let resp = req
            .send()
            .await
            .map_err(|e| super::describe_reqwest(e, self.timeout))?;
        let status = resp.status();
        if let HttpRead::Status = read {
            return Ok(one(f64::from(status.as_u16())));
        }
        let body = read_body(resp, self.timeout).await?;
        let latency = started.elapsed().as_secs_f64();
        if !status.is_success() {
            return Err(SignalError::Status {
                status: status.as_u16(),
                detail: snippet(&body, &self.masks),
            });
        }
        match read {
            HttpRead::Status => Ok(one(f64::from(status.as_u16()))),
            HttpRead::Latency => Ok(one(latency)),
            HttpRead::JsonPointer(pointer) => {
                let json: serde_json::Value = serde_json::from_str(&body)
                    .map_err(|e| SignalError::Malformed(format!("the body is not json: {e}")))?;
                match json.pointer(pointer) {
                    None | Some(serde_json::Value::Null) => Ok(Reading::default()),
                    Some(serde_json::Value::Number(n)) => n.as_f64().map(one).ok_or_else(|| {
                        SignalError::Malformed(format!("`{pointer}` is not a finite number"))
                    }),
                    Some(serde_json::Value::String(s)) => {
                        super::parse_value(s).map(one).ok_or_else(|| {
                            SignalError::Malformed(format!(
                                "`{pointer}` is the string {s:?}, not a number"
                            ))
                        })
                    }
                    Some(serde_json::Value::Bool(b)) => Ok(one(if *b { 1.0 } else { 0.0 })),
                    Some(other) => Err(SignalError::Malformed(format!(
                        "`{pointer}` is {}, not a number",
                        kind_of(other)
                    ))),
                }
            }
            HttpRead::Regex(pattern) => {
                let re = regex::Regex::new(pattern)
                    .map_err(|e| SignalError::Config(format!("invalid regex: {e}")))?;
                let Some(caps) = re.captures(&body) else {
                    return Ok(Reading::default());
                };
                let text = caps
                    .get(1)
                    .or_else(|| caps.get(0))
                    .map_or("", |m| m.as_str());
                super::parse_value(text).map(one).ok_or_else(|| {
                    SignalError::Malformed(format!("the regex matched {text:?}, not a number"))
                })
            }
        }
    }

    /// Any HTTP answer from the base URL means the source is reachable.
    pub(crate) async fn health(&self) -> Result<String, SignalError> {
        let Some(base) = &self.base else {
            return Ok("no base url: probes name absolute urls".into());
        };
        let resp = self
            .client
            .get(base.clone())
            .send()
            .await
            .map_err(|e| super::describe_reqwest(e, self.timeout))?;
        Ok(format!("{base} answered http {}", resp.status().as_u16()))
    }
}

fn one(value: f64) -> Reading {
    Reading {
        samples: vec![Sample {
            labels: std::collections::BTreeMap::new(),
            value,
        }],
        state: None,
    }
}

async fn read_body(mut resp: reqwest::Response, timeout: Duration) -> Result<String, SignalError> {
    let (buf, more) = super::read_capped(&mut resp, MAX_BODY)
        .await
        .map_err(|e| super::describe_reqwest(e, timeout))?;
    if more {
        return Err(SignalError::Malformed(format!(
            "the body is larger than {} MiB",
            MAX_BODY / 1024 / 1024
        )));
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The start of a body for an error message, masked before it is cut.
fn snippet(body: &str, masks: &Masks) -> String {
    let s = masks.masked_prefix(body, 200);
    if s.is_empty() { "empty body".into() } else { s }
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
        _ => "not a number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_snippet_is_masked_before_it_is_cut() {
        let secret = "s3cr3t-t0ken";
        let masks = Masks {
            secrets: crate::secrets::Masker::new([secret]),
            ..Masks::default()
        };
        assert_eq!(snippet("", &masks), "empty body");
        for at in 190..200 {
            let s = snippet(&format!("{}{secret} tail", "x".repeat(at)), &masks);
            assert!(!s.contains(&secret[..4]), "{s}");
            assert!(s.contains('*'), "{s}");
        }
    }
}
