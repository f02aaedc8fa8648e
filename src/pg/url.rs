//! A shared journal's address: a `postgres://` URL (or libpq key=value
//! string) whose password is never shown: every message names the journal
//! by [`JournalUrl`]'s `Display`, which leaves the password out.

use std::fmt;
use std::str::FromStr;

use tokio_postgres::config::{Host, SslMode};

use super::PgError;

#[derive(Clone)]
pub struct JournalUrl {
    config: tokio_postgres::Config,
}

impl JournalUrl {
    pub fn parse(text: &str) -> Result<JournalUrl, PgError> {
        let shown = redact(text);
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Err(PgError::BadUrl(
                shown,
                "expected `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`".into(),
            ));
        }
        let config = tokio_postgres::Config::from_str(text)
            .map_err(|e| PgError::BadUrl(shown.clone(), e.to_string()))?;
        if config.get_ssl_mode() == SslMode::Require {
            return Err(PgError::BadUrl(
                shown,
                "`sslmode=require` needs TLS, which this build of cutover does not have yet; use an SSH tunnel or a TLS-terminating proxy on 127.0.0.1".into(),
            ));
        }
        Ok(JournalUrl { config })
    }

    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The password, for the maskers of what people type: pasted into a
    /// note, it is masked like any secret.
    pub fn password(&self) -> Option<String> {
        self.config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
    }
}

impl fmt::Display for JournalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = self.config.get_user().unwrap_or("");
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        };
        let port = self
            .config
            .get_ports()
            .first()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        let db = self.config.get_dbname().unwrap_or("");
        write!(f, "`postgres://{user}@{host}{port}/{db}`")
    }
}

impl fmt::Debug for JournalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `text` with any password between `://user:` and `@` replaced by `***`,
/// for a URL too broken to parse.
fn redact(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return "(not shown)".into();
    };
    let rest = &text[scheme_end + 3..];
    let Some(at) = rest.rfind('@') else {
        return text.to_string();
    };
    let userinfo = &rest[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &text[..scheme_end + 3],
            &userinfo[..colon],
            &rest[at..]
        ),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_shown() {
        let url = JournalUrl::parse("postgres://alice:s3cr3t@127.0.0.1:5433/war").unwrap();
        assert_eq!(url.to_string(), "`postgres://alice@127.0.0.1:5433/war`");
        assert_eq!(format!("{url:?}"), "`postgres://alice@127.0.0.1:5433/war`");
        assert_eq!(url.password().as_deref(), Some("s3cr3t"));
        let err = JournalUrl::parse("postgres://alice:s3cr3t@127.0.0.1:notaport/war").unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(err.to_string().contains("alice:***@"), "{err}");
    }

    #[test]
    fn only_postgres_urls_and_no_tls_yet() {
        let err = JournalUrl::parse("mysql://a:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected `postgres://"), "{err}");
        assert!(!err.contains("pw"), "{err}");
        let err = JournalUrl::parse("postgres://a@h/db?sslmode=require")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sslmode=require"), "{err}");
    }

    #[test]
    fn redact_handles_at_signs_and_no_password() {
        assert_eq!(redact("postgres://a:p@ss@h/db"), "postgres://a:***@h/db");
        assert_eq!(redact("postgres://a@h/db"), "postgres://a@h/db");
        assert_eq!(redact("nonsense"), "(not shown)");
    }
}
