//! Test helpers shared by every integration test.

pub mod cutover;
pub mod http_server;
pub mod journal;
pub mod model;
pub mod postgres;
pub mod prometheus;
pub mod run;
pub mod tools;
pub mod vt;
