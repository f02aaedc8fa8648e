//! One integration-test binary: every test spawns the real `cutover` binary
//! (`support::cutover`) and, where signals matter, a real Prometheus and
//! pushgateway on loopback (`support::prometheus`).

#[allow(
    dead_code,
    unreachable_pub,
    reason = "test helpers: each is used by some tests, and `pub` is how they are shared"
)]
mod support;

mod datadog;
mod probes;
mod signals;
mod signals_cli;
mod validate;
