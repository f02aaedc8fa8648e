//! One integration-test binary: every test spawns the real `cutover` binary
//! (`support::cutover`) and, where signals matter, a real Prometheus and
//! pushgateway on loopback (`support::prometheus`).

mod support;

mod plan;
mod validate;
