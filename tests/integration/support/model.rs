//! Runbook model values for tests that drive the signals library directly
//! (the runbook loader is tested on its own).

use std::time::Duration;

use cutover::condition::Condition;
use cutover::runbook::model::{
    Auth, Check, CommandRead, DatadogApi, Gate, GateWhen, HttpRead, NoData, Probe, Source,
    SourceKind,
};
use cutover::secrets::Masker;
use cutover::signals::SourceSet;
use indexmap::IndexMap;

pub fn source(name: &str, kind: SourceKind) -> Source {
    Source {
        name: name.into(),
        timeout: Duration::from_secs(2),
        headers: IndexMap::new(),
        kind,
    }
}

pub fn prometheus(url: &str, auth: Option<Auth>) -> SourceKind {
    SourceKind::Prometheus {
        url: url.into(),
        auth,
    }
}

pub fn datadog(url: &str, api_key: &str, app_key: Option<&str>, api: DatadogApi) -> SourceKind {
    SourceKind::Datadog {
        url: url.into(),
        api_key: api_key.into(),
        app_key: app_key.map(Into::into),
        api,
        lookback: std::time::Duration::from_mins(5),
    }
}

pub fn http(url: Option<&str>) -> SourceKind {
    SourceKind::Http {
        url: url.map(Into::into),
        auth: None,
    }
}

/// A `SourceSet` over `sources`, masking `secrets`.
pub fn set(sources: Vec<Source>, secrets: &[&str]) -> SourceSet {
    let map: IndexMap<String, Source> = sources.into_iter().map(|s| (s.name.clone(), s)).collect();
    SourceSet::new(&map, Masker::new(secrets.iter().copied()), &[])
}

pub fn check(source: &str, probe: Probe, condition: &str) -> Check {
    Check {
        source: source.into(),
        probe,
        command_read: CommandRead::Stdout,
        condition_text: condition.into(),
        condition: Condition::parse(condition).expect("test condition parses"),
        interval: Duration::from_millis(100),
        no_data: NoData::Inconclusive,
    }
}

pub fn query(q: &str) -> Probe {
    Probe::Query { query: q.into() }
}

pub fn http_probe(url: &str, read: HttpRead) -> Probe {
    Probe::Http {
        url: url.into(),
        method: "GET".into(),
        read,
    }
}

pub fn gate(check: Check, count: u32) -> Gate {
    Gate {
        id: "g".into(),
        when: GateWhen::After,
        check,
        count,
        failure_limit: 0,
        error_limit: 3,
        inconclusive_limit: 0,
        timeout: None,
        shadow: false,
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

pub fn trigger(check: Check, hold_for: Duration) -> cutover::runbook::model::Trigger {
    cutover::runbook::model::Trigger {
        id: "t".into(),
        check,
        hold_for,
        action: cutover::runbook::model::TriggerAction::Rollback,
        on_error: cutover::runbook::model::OnError::Pause,
        from: None,
        until: None,
    }
}
