//! What CI systems read, written the way they accept it: JUnit XML valid
//! against the Jenkins JUnit schema (`junit`) and GitHub Actions workflow
//! commands (`github`), from diagnostics resolved to lines (`Located`). `readiness` (`cutover check`) and `cmd::validate`
//! build these models from their results; nothing here knows either.

pub mod github;
pub mod junit;
mod located;

pub use located::Located;
