//! `[sources.NAME]`: each kind's fields, authentication and URLs.

use crate::diag::did_you_mean;
use crate::runbook::model::{Auth, DatadogApi, Source, SourceKind};
use crate::runbook::raw::RawSource;
use crate::runbook::spanned::Sp;
use crate::runbook::template::{self};

use super::{DEFAULT_SOURCE_TIMEOUT, SOURCE_KINDS, Validator};

/// Datadog's newest rollup bucket is often still empty; five minutes holds
/// a few points of a metric reported every minute.
const DEFAULT_DATADOG_LOOKBACK: std::time::Duration = std::time::Duration::from_mins(5);
const MAX_DATADOG_LOOKBACK: std::time::Duration = std::time::Duration::from_hours(24);

impl Validator<'_> {
    pub(crate) fn source(&mut self, name: &str, s: &RawSource) -> Option<Source> {
        for value in [
            &s.url,
            &s.site,
            &s.api_key,
            &s.app_key,
            &s.username,
            &s.password,
            &s.bearer_token,
            &s.shell,
        ]
        .into_iter()
        .flatten()
        {
            self.templates(value);
        }
        for value in s.headers.values() {
            self.templates(value);
        }
        let timeout = self
            .duration(s.timeout.as_ref(), false)
            .unwrap_or(DEFAULT_SOURCE_TIMEOUT);
        let kind = s.kind.get().as_str();
        if SOURCE_KINDS.contains(&kind) {
            self.fields_of_kind(name, kind, s);
        }
        let kind = match kind {
            "prometheus" => {
                let Some(url) = string(s.url.as_ref()) else {
                    self.error(
                        format!("prometheus source `{name}` needs a `url`"),
                        s.kind.span(),
                    );
                    return None;
                };
                self.url_shape(s.url.as_ref().expect("checked"));
                SourceKind::Prometheus {
                    url,
                    auth: self.auth(s),
                }
            }
            "datadog" => self.datadog(name, s)?,
            "http" => {
                if let Some(url) = &s.url {
                    self.url_shape(url);
                }
                SourceKind::Http {
                    url: string(s.url.as_ref()),
                    auth: self.auth(s),
                }
            }
            "command" => SourceKind::Command {
                shell: string(s.shell.as_ref()).unwrap_or_else(|| "/bin/sh".into()),
            },
            other => {
                self.error(format!("unknown source kind `{other}`"), s.kind.span())
                    .help = Some(
                    did_you_mean(other, SOURCE_KINDS.iter().copied()).unwrap_or_else(|| {
                        "expected one of `prometheus`, `datadog`, `http`, `command`".into()
                    }),
                );
                return None;
            }
        };
        Some(Source {
            name: name.to_string(),
            timeout,
            headers: s
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.get().clone()))
                .collect(),
            kind,
        })
    }

    /// Fields that make no sense for this kind are errors: a `site` on a
    /// prometheus source is a mistake, not something to ignore on launch night.
    fn fields_of_kind(&mut self, name: &str, kind: &str, s: &RawSource) {
        let allowed: &[&str] = match kind {
            "prometheus" | "http" => &["url", "username", "password", "bearer_token"],
            "datadog" => &["url", "site", "api_key", "app_key", "api", "lookback"],
            "command" => &["shell"],
            _ => &[],
        };
        let present = [
            ("url", &s.url),
            ("site", &s.site),
            ("api_key", &s.api_key),
            ("app_key", &s.app_key),
            ("api", &s.api),
            ("lookback", &s.lookback),
            ("username", &s.username),
            ("password", &s.password),
            ("bearer_token", &s.bearer_token),
            ("shell", &s.shell),
        ];
        for (field, value) in present {
            if let Some(value) = value
                && !allowed.contains(&field)
            {
                self.error(
                    format!("`{field}` is not used by a `{kind}` source"),
                    value.span(),
                )
                .with_label(format!("source `{name}` is `{kind}`"));
            }
        }
    }

    /// Basic (`username` + `password`) or bearer authentication, or none.
    fn auth(&mut self, s: &RawSource) -> Option<Auth> {
        match (&s.username, &s.password, &s.bearer_token) {
            (Some(u), Some(p), None) => Some(Auth::Basic {
                username: u.get().clone(),
                password: p.get().clone(),
            }),
            (None, None, Some(t)) => Some(Auth::Bearer {
                token: t.get().clone(),
            }),
            (None, None, None) => None,
            (Some(_), Some(_), Some(t)) => {
                self.error(
                    "use either `username`/`password` or `bearer_token`, not both",
                    t.span(),
                );
                None
            }
            (Some(u), None, _) => {
                self.error("`username` needs a `password`", u.span());
                None
            }
            (None, Some(p), _) => {
                self.error("`password` needs a `username`", p.span());
                None
            }
        }
    }

    /// A Datadog source: its API URL (from `url` or `site`), the keys (from
    /// secrets, not the file), the API version and the lookback.
    fn datadog(&mut self, name: &str, s: &RawSource) -> Option<SourceKind> {
        let url = match (string(s.url.as_ref()), string(s.site.as_ref())) {
            (Some(url), _) => url,
            (None, Some(site)) => {
                format!("https://api.{}", site.trim_start_matches("api."))
            }
            (None, None) => "https://api.datadoghq.com".to_string(),
        };
        let Some(api_key) = string(s.api_key.as_ref()) else {
            self.error(
                format!("datadog source `{name}` needs an `api_key`"),
                s.kind.span(),
            )
            .help =
                Some("api_key = \"{{ secrets.dd_api_key }}\" with the key in `[secrets]`".into());
            return None;
        };
        for key in [&s.api_key, &s.app_key].into_iter().flatten() {
            if template::references(key.get()).is_ok_and(|r| r.is_empty()) {
                self.warning("API key written into the runbook file", key.span())
                    .help =
                    Some("read it from the environment: `[secrets]` + `{{ secrets.NAME }}`".into());
            }
        }
        let api = match s.api.as_ref().map(|a| (a.get().as_str(), a.span())) {
            None | Some(("v1", _)) => DatadogApi::V1,
            Some(("v2", _)) => DatadogApi::V2,
            Some((other, span)) => {
                self.error(
                    format!("unknown datadog api `{other}`, expected `v1` or `v2`"),
                    span,
                );
                DatadogApi::V1
            }
        };
        let lookback = self
            .duration(s.lookback.as_ref(), false)
            .unwrap_or(DEFAULT_DATADOG_LOOKBACK);
        if lookback > MAX_DATADOG_LOOKBACK
            && let Some(l) = &s.lookback
        {
            self.error(
                "`lookback` longer than 24h: a gate wants a recent value",
                l.span(),
            );
        }
        Some(SourceKind::Datadog {
            url,
            api_key,
            app_key: string(s.app_key.as_ref()),
            api,
            lookback,
        })
    }

    pub(crate) fn url_shape(&mut self, url: &Sp<String>) {
        let u = url.get();
        if !(u.starts_with("http://") || u.starts_with("https://") || u.starts_with("{{")) {
            self.error(format!("`{u}` is not an http(s) URL"), url.span())
                .help = Some("write e.g. \"http://127.0.0.1:9090\"".into());
        }
    }
}

/// A string field's value.
fn string(v: Option<&Sp<String>>) -> Option<String> {
    v.map(|v| v.get().clone())
}
