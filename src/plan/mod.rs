//! The resolved plan: templates filled in for one environment, steps ordered
//! into waves, and a hash that a later `run --plan` compares against.

mod build;
pub mod diff;
mod fill;
pub mod graph;
mod model;
#[cfg(test)]
mod tests;

/// Its old path: validation names the variable too, so it lives in `runbook::shell`.
pub use crate::runbook::shell::secret_env_name;
pub use build::{build, resolve};
pub use model::{Build, Overrides, PLAN_FORMAT_VERSION, Plan, PlanError};
