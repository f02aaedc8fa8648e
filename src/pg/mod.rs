//! The shared journal: runs kept in PostgreSQL instead of a local file, so a
//! war room on many hosts reads and writes one run, each person as the
//! database user they logged in as.
//!
//! The records are the file journal's lines, byte for byte (`line`), so
//! every view folds them with the one fold (`journal::fold_from_text`) and an
//! export is the file a local run would have written. The database enforces
//! who may append what (schema.sql); the client judges a vote under the same
//! rules as with a file and appends it in one transaction.
//!
//! The API is synchronous: each [`Db`] owns a small current-thread runtime
//! for its connection, so commands that are not async use it directly.

pub mod drive;
mod schema;
mod store;
mod tls;
mod url;

use std::fmt;

pub use schema::{InitReport, MIGRATIONS};
pub use store::{Appended, News, RunSummary};
pub use url::JournalUrl;

/// The environment variable that names the shared journal, like `--journal-url`.
pub const URL_VAR: &str = "CUTOVER_JOURNAL_URL";

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("`{0}` is not a PostgreSQL URL: {1}")]
    BadUrl(String, String),
    #[error("failed to connect to the shared journal {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the shared journal {url} refused {action}: {reason}")]
    Refused {
        url: String,
        action: String,
        reason: String,
    },
    #[error("the shared journal {url} failed to {action}: {reason}")]
    Query {
        url: String,
        action: String,
        reason: String,
    },
    #[error(
        "the shared journal {url} has no cutover schema (or this user may not read it); create it with `cutover db init URL` as a user who may create roles"
    )]
    NoSchema { url: String },
    #[error(
        "the shared journal {url} has schema version {found}; this cutover knows up to {known}"
    )]
    TooNew { url: String, found: i32, known: i32 },
    #[error(
        "the shared journal {url} has schema version {found}; {what} needs version {needed}: upgrade it with `cutover db init URL` as a user who may create roles"
    )]
    TooOld {
        url: String,
        found: i32,
        needed: i32,
        what: String,
    },
    #[error("no run `{run}` in the shared journal {url}")]
    NoSuchRun { url: String, run: String },
    #[error("run `{run}` already exists in the shared journal {url}")]
    Exists { url: String, run: String },
    #[error("{0}")]
    Journal(#[from] crate::journal::JournalError),
    #[error("failed to start the database client: {0}")]
    Runtime(std::io::Error),
    /// The connection is gone (the server shut down, the network broke):
    /// worth connecting again.
    #[error("the shared journal {url} went away while trying to {action}: {reason}")]
    Lost {
        url: String,
        action: String,
        reason: String,
    },
}

/// A connection to the shared journal, as one database user.
pub struct Db {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    /// The payloads (`RUN SEQ`) of `cutover_records` notifications, once
    /// [`Db::listen`] asked for them; closed when the connection is lost.
    news: tokio::sync::mpsc::UnboundedReceiver<String>,
    url: JournalUrl,
    user: String,
    /// `records_since`, prepared once: a follower runs it on every wake.
    since: std::cell::OnceCell<tokio_postgres::Statement>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Db({} as {})", self.url, self.user)
    }
}

impl Db {
    /// Connect, and learn who the database says we are (`session_user`): that
    /// name, not anything typed, is the actor of every record written.
    pub fn connect(url: &JournalUrl) -> Result<Db, PgError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(PgError::Runtime)?;
        let config = url.config().clone();
        let tls = tls::connector(url)?;
        let (news_tx, news) = tokio::sync::mpsc::unbounded_channel();
        let connect = async move {
            let (client, connection) = config.connect(tls).await?;
            tokio::spawn(drive(connection, news_tx));
            Ok::<_, tokio_postgres::Error>(client)
        };
        let client = runtime.block_on(connect).map_err(|e| PgError::Connect {
            url: url.to_string(),
            reason: tls::explain(url, &e).unwrap_or_else(|| reason(&e)),
        })?;
        let mut db = Db {
            runtime,
            client,
            news,
            url: url.clone(),
            user: String::new(),
            since: std::cell::OnceCell::new(),
        };
        // Durable before the next decision, as the file journal's fsync.
        db.execute("set up the session", "SET synchronous_commit = on")?;
        let row = db.query_one("ask who we are", "SELECT session_user::text", &[])?;
        db.user = row.get(0);
        tracing::info!(url = %db.url, user = %db.user, "connected to the shared journal");
        Ok(db)
    }

    /// The authenticated database user: the actor of what this connection writes.
    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn url(&self) -> &JournalUrl {
        &self.url
    }

    fn execute(&self, action: &str, sql: &str) -> Result<(), PgError> {
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .map_err(|e| self.error(action, &e))
    }

    fn query_one(
        &self,
        action: &str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<tokio_postgres::Row, PgError> {
        self.runtime
            .block_on(self.client.query_one(sql, params))
            .map_err(|e| self.error(action, &e))
    }

    fn query(
        &self,
        action: &str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, PgError> {
        self.runtime
            .block_on(self.client.query(sql, params))
            .map_err(|e| self.error(action, &e))
    }

    /// The database's refusal (a rule of schema.sql, a privilege, a unique
    /// vote) as the operator reads it, or any other failure.
    fn error(&self, action: &str, e: &tokio_postgres::Error) -> PgError {
        use tokio_postgres::error::SqlState;
        let url = self.url.to_string();
        if connection_lost(e) || self.client.is_closed() {
            return PgError::Lost {
                url,
                action: action.into(),
                reason: reason(e),
            };
        }
        match e.code() {
            Some(code)
                if *code == SqlState::UNDEFINED_TABLE || *code == SqlState::INVALID_SCHEMA_NAME =>
            {
                PgError::NoSchema { url }
            }
            Some(code)
                if *code == SqlState::INSUFFICIENT_PRIVILEGE
                    || *code == SqlState::UNIQUE_VIOLATION
                    || *code == SqlState::CHECK_VIOLATION
                    || *code == SqlState::T_R_SERIALIZATION_FAILURE =>
            {
                PgError::Refused {
                    url,
                    action: action.into(),
                    reason: refusal(e),
                }
            }
            _ => PgError::Query {
                url,
                action: action.into(),
                reason: reason(e),
            },
        }
    }
}

/// Drive the connection, passing notifications on; ends (closing `news`)
/// when the connection does.
async fn drive<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    news: tokio::sync::mpsc::UnboundedSender<String>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                let _ = news.send(n.payload().to_string());
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tracing::warn!("the shared journal's connection ended: {e}");
                return;
            }
            None => return,
        }
    }
}

/// The connection broke or the server is going away (an I/O error, or
/// SQLSTATE class 08 "connection exception" or 57 "operator intervention":
/// an administrator's shutdown, a crash, a server still starting).
fn connection_lost(e: &tokio_postgres::Error) -> bool {
    match e.as_db_error() {
        None => {
            e.is_closed()
                || std::error::Error::source(e)
                    .is_some_and(<dyn std::error::Error>::is::<std::io::Error>)
        }
        Some(db) => {
            let code = db.code().code();
            (code.starts_with("08") || code.starts_with("57")) && code != "57014"
        }
    }
}

/// What the server said, without the client's "db error: " prefix.
fn reason(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// A refusal in people's words: the one-vote index and row-level security
/// speak of indexes and policies, which an approver cannot act on.
fn refusal(e: &tokio_postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        return reason(e);
    };
    match db.constraint() {
        Some("records_one_vote_per_person") => {
            return "this person has already voted on this go/no-go (one vote per person)".into();
        }
        Some("records_one_action_per_id") => {
            return "an action item with this id was added at the same time; try again".into();
        }
        Some("records_one_close_per_action") => {
            return "this action item was closed already".into();
        }
        _ => {}
    }
    if db.message().contains("row-level security") {
        return "this database user's role may not write that (see `cutover_viewer`, `cutover_approver`, `cutover_operator` in docs/shared-journal.md)".into();
    }
    db.message().trim_start_matches("cutover: ").to_string()
}
