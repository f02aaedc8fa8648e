//! Runbook files: raw TOML (`raw`) → loaded and validated (`load`, `validate`) → typed `model`.

pub mod duration_serde;
pub mod model;
