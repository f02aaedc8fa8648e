//! `cutover db init`: the shared journal's schema, applied as numbered
//! migrations, each once, in its own transaction, under an advisory lock so
//! two `db init` at once do not race.

use super::{Db, PgError};

/// The migrations, in order; an applied one is never edited, only followed.
pub const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("schema.sql")),
    (2, include_str!("schema_v2.sql")),
];

/// Any constant shared by every `db init`: the lock they queue on.
const INIT_LOCK: i64 = 0x0063_7574_6f76_6572; // "cutover"

/// What `db init` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    pub applied: Vec<i32>,
    pub version: i32,
}

impl Db {
    /// Create or upgrade the schema. Idempotent: a second run applies nothing.
    pub fn init_schema(&self) -> Result<InitReport, PgError> {
        self.query_one(
            "take the init lock",
            "SELECT pg_advisory_lock($1)",
            &[&INIT_LOCK],
        )?;
        let result = self.apply_migrations();
        let _ = self.query_one(
            "release the init lock",
            "SELECT pg_advisory_unlock($1)",
            &[&INIT_LOCK],
        );
        result
    }

    fn apply_migrations(&self) -> Result<InitReport, PgError> {
        self.execute(
            "create the schema",
            "CREATE SCHEMA IF NOT EXISTS cutover;
             CREATE TABLE IF NOT EXISTS cutover.migrations (
                 version    integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now(),
                 applied_by name NOT NULL DEFAULT session_user
             );",
        )?;
        let mut report = InitReport {
            applied: Vec::new(),
            version: self.schema_version()?,
        };
        let known = known_version();
        if report.version > known {
            return Err(PgError::TooNew {
                url: self.url.to_string(),
                found: report.version,
                known,
            });
        }
        let from = report.version;
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > from) {
            let script = format!(
                "BEGIN;\n{sql}\nINSERT INTO cutover.migrations (version) VALUES ({version});\nCOMMIT;"
            );
            if let Err(e) = self.execute(&format!("apply migration {version}"), &script) {
                let _ = self.execute("roll back", "ROLLBACK");
                return Err(e);
            }
            report.applied.push(*version);
            report.version = *version;
        }
        Ok(report)
    }

    /// The highest migration applied (0: none).
    pub fn schema_version(&self) -> Result<i32, PgError> {
        let row = self.query_one(
            "read the schema version",
            "SELECT coalesce(max(version), 0) FROM cutover.migrations",
            &[],
        )?;
        Ok(row.get(0))
    }

    /// Refuse a schema older than the one this cutover knows, for what
    /// needs its rules (`what`: the command, as people type it).
    pub(crate) fn check_schema_current(&self, what: &str) -> Result<(), PgError> {
        self.check_schema()?;
        let found = self.schema_version()?;
        let needed = known_version();
        if found < needed {
            return Err(PgError::TooOld {
                url: self.url.to_string(),
                found,
                needed,
                what: what.into(),
            });
        }
        Ok(())
    }

    /// Refuse to work against a schema this cutover does not know.
    pub(crate) fn check_schema(&self) -> Result<(), PgError> {
        let found = self.schema_version()?;
        let known = known_version();
        if found == 0 {
            return Err(PgError::NoSchema {
                url: self.url.to_string(),
            });
        }
        if found > known {
            return Err(PgError::TooNew {
                url: self.url.to_string(),
                found,
                known,
            });
        }
        Ok(())
    }
}

/// The newest schema version this cutover knows.
fn known_version() -> i32 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}
