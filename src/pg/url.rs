//! A shared journal's address: a `postgres://` URL whose password is never
//! shown (every message names the journal by [`JournalUrl`]'s `Display`,
//! which leaves the password out), and its TLS settings as libpq reads them
//! (`sslmode`, `sslrootcert`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use tokio_postgres::config::Host;

use super::PgError;

#[derive(Clone)]
pub struct JournalUrl {
    config: tokio_postgres::Config,
    ssl_mode: SslMode,
    root_cert: Option<RootCert>,
}

/// libpq's `sslmode`: whether the connection is encrypted, and what of the
/// server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, the certificate unchecked (the default).
    Prefer,
    /// TLS or no connection; the certificate is checked only against a CA
    /// given (`sslrootcert` or `~/.postgresql/root.crt`), as `verify-ca`.
    Require,
    /// TLS, the certificate issued by a CA given.
    VerifyCa,
    /// TLS, the certificate issued by a CA given and for the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            "allow" => {
                return Err("`sslmode=allow` is not supported; use `disable`, `prefer`, `require`, `verify-ca` or `verify-full`".into());
            }
            other => {
                return Err(format!(
                    "`sslmode={}` is not one of `disable`, `prefer`, `require`, `verify-ca`, `verify-full`",
                    crate::text::one_line(other)
                ));
            }
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where the CAs that may issue the server's certificate are (`sslrootcert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RootCert {
    /// A PEM file of one or more CA certificates.
    File(PathBuf),
    /// The system's trusted CAs (`sslrootcert=system`).
    System,
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
        let tls = Tls::take(text).map_err(|why| PgError::BadUrl(shown.clone(), why))?;
        let mut config = tokio_postgres::Config::from_str(&tls.rest)
            .map_err(|e| PgError::BadUrl(shown.clone(), e.to_string()))?;
        config.ssl_mode(match tls.mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        Ok(JournalUrl {
            config,
            ssl_mode: tls.mode,
            root_cert: tls.root_cert,
        })
    }

    pub(crate) fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    pub(crate) fn root_cert(&self) -> Option<&RootCert> {
        self.root_cert.as_ref()
    }

    /// The host connected to, as a certificate must name it (`verify-full`).
    pub(crate) fn host(&self) -> String {
        match self.config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        }
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

/// The TLS settings of a URL, taken out of its query: tokio-postgres knows
/// `sslmode` only up to `require` and `sslrootcert` not at all.
struct Tls {
    mode: SslMode,
    root_cert: Option<RootCert>,
    /// The URL without them.
    rest: String,
}

impl Tls {
    fn take(text: &str) -> Result<Tls, String> {
        let (base, query) = text.split_once('?').unwrap_or((text, ""));
        let mut mode = None;
        let mut root_cert = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
            match key {
                "sslmode" => mode = Some(SslMode::parse(&value)?),
                "sslrootcert" if value == "system" => root_cert = Some(RootCert::System),
                "sslrootcert" => root_cert = Some(RootCert::File(PathBuf::from(&*value))),
                "sslcert" | "sslkey" | "sslpassword" => {
                    return Err(format!(
                        "`{key}`: client certificates are not supported; log in with a password"
                    ));
                }
                _ => kept.push(pair),
            }
        }
        // As libpq: the system's CAs vouch for any name, so only a check of
        // the host name makes them mean something.
        let mode = match (mode, &root_cert) {
            (None, Some(RootCert::System)) => SslMode::VerifyFull,
            (Some(m), Some(RootCert::System)) if m != SslMode::VerifyFull => {
                return Err(format!(
                    "`sslrootcert=system` needs `sslmode=verify-full`, not `{}`",
                    m.name()
                ));
            }
            (mode, _) => mode.unwrap_or(SslMode::Prefer),
        };
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(Tls {
            mode,
            root_cert,
            rest,
        })
    }
}

impl fmt::Display for JournalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = self.config.get_user().unwrap_or("");
        let host = self.host();
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
    fn only_postgres_urls() {
        let err = JournalUrl::parse("mysql://a:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected `postgres://"), "{err}");
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn sslmode_and_sslrootcert_are_read_as_libpq_reads_them() {
        let url = JournalUrl::parse("postgres://a@h/db").unwrap();
        assert_eq!(url.ssl_mode(), SslMode::Prefer);
        assert_eq!(url.root_cert(), None);
        let url = JournalUrl::parse(
            "postgres://a:pw@h:5433/db?connect_timeout=3&sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20s.pem",
        )
        .unwrap();
        assert_eq!(url.ssl_mode(), SslMode::VerifyFull);
        assert_eq!(
            url.root_cert(),
            Some(&RootCert::File(PathBuf::from("/etc/ca s.pem")))
        );
        assert_eq!(
            url.config().get_connect_timeout(),
            Some(&std::time::Duration::from_secs(3))
        );
        assert_eq!(url.to_string(), "`postgres://a@h:5433/db`");
        for (query, mode) in [
            ("sslmode=disable", SslMode::Disable),
            ("sslmode=require", SslMode::Require),
            ("sslmode=verify-ca&sslrootcert=ca.pem", SslMode::VerifyCa),
            ("sslrootcert=system", SslMode::VerifyFull),
        ] {
            let url = JournalUrl::parse(&format!("postgres://a@h/db?{query}")).unwrap();
            assert_eq!(url.ssl_mode(), mode, "{query}");
        }
    }

    #[test]
    fn tls_settings_cutover_cannot_honour_are_refused_clearly() {
        for (query, says) in [
            ("sslmode=allow", "`sslmode=allow` is not supported"),
            ("sslmode=verify", "`sslmode=verify` is not one of"),
            (
                "sslcert=me.pem",
                "`sslcert`: client certificates are not supported",
            ),
            (
                "sslmode=require&sslrootcert=system",
                "needs `sslmode=verify-full`, not `require`",
            ),
        ] {
            let err = JournalUrl::parse(&format!("postgres://a:sekrit@h/db?{query}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{query}: {err}");
            assert!(!err.contains("sekrit"), "{err}");
        }
    }

    #[test]
    fn redact_handles_at_signs_and_no_password() {
        assert_eq!(redact("postgres://a:p@ss@h/db"), "postgres://a:***@h/db");
        assert_eq!(redact("postgres://a@h/db"), "postgres://a@h/db");
        assert_eq!(redact("nonsense"), "(not shown)");
    }
}
