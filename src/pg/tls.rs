//! TLS to the shared journal, as libpq's `sslmode` and `sslrootcert` ask:
//! the rustls client config each mode needs, and a failed handshake told in
//! words an operator can act on (which CA, which host, which setting).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::PgError;
use super::url::{JournalUrl, RootCert, SslMode};

/// What of the server's certificate a mode checks.
enum Check {
    /// Nothing (`prefer`, and `require` without a CA): encrypted, but a
    /// server in the middle is not noticed.
    Nothing,
    /// Who issued it (`verify-ca`, and `require` with a CA).
    Issuer(RootCertStore),
    /// Who issued it and that it names the host (`verify-full`).
    Full(RootCertStore),
}

/// The TLS connector for `url` (tokio-postgres uses it only when the mode
/// asks for TLS and the server offers it).
pub(super) fn connector(url: &JournalUrl) -> Result<MakeRustlsConnect, PgError> {
    let failed = |reason: String| PgError::Connect {
        url: url.to_string(),
        reason,
    };
    let provider = Arc::new(aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| failed(format!("TLS: {e}")))?;
    let issuer = match check(url).map_err(&failed)? {
        Check::Nothing => None,
        Check::Issuer(roots) => Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| failed(format!("TLS: {e}")))?,
        ),
        Check::Full(roots) => {
            let config = builder.with_root_certificates(roots);
            return Ok(MakeRustlsConnect::new(config.with_no_client_auth()));
        }
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NameBlind { provider, issuer }));
    Ok(MakeRustlsConnect::new(config.with_no_client_auth()))
}

fn check(url: &JournalUrl) -> Result<Check, String> {
    let mode = url.ssl_mode();
    if matches!(mode, SslMode::Disable | SslMode::Prefer) {
        return Ok(Check::Nothing);
    }
    let roots = match url.root_cert() {
        Some(RootCert::File(path)) => Some(roots_from_file(path)?),
        Some(RootCert::System) => Some(system_roots()?),
        None => match default_root_cert().filter(|p| p.exists()) {
            Some(path) => Some(roots_from_file(&path)?),
            None => None,
        },
    };
    Ok(match (mode, roots) {
        (SslMode::Disable | SslMode::Prefer, _) | (SslMode::Require, None) => Check::Nothing,
        (SslMode::Require | SslMode::VerifyCa, Some(roots)) => Check::Issuer(roots),
        (SslMode::VerifyFull, Some(roots)) => Check::Full(roots),
        (mode, None) => {
            return Err(format!(
                "`sslmode={}` needs the CA that issued the server's certificate: give `sslrootcert=FILE` in the URL, put it in `~/.postgresql/root.crt`, or trust the system's CAs with `sslrootcert=system`",
                mode.name()
            ));
        }
    })
}

/// libpq's default CA file, `~/.postgresql/root.crt`.
fn default_root_cert() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    Some(Path::new(&home).join(".postgresql").join("root.crt"))
}

fn roots_from_file(path: &Path) -> Result<RootCertStore, String> {
    let shown = path.display();
    let bytes = std::fs::read(path)
        .map_err(|e| format!("failed to read the `sslrootcert` file `{shown}`: {e}"))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert = cert.map_err(|e| format!("the `sslrootcert` file `{shown}`: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("the `sslrootcert` file `{shown}`: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "the `sslrootcert` file `{shown}` holds no PEM certificate"
        ));
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(format!(
            "`sslrootcert=system`: no trusted CA found on this system{}",
            found
                .errors
                .first()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        ));
    }
    Ok(roots)
}

/// Why the TLS handshake with the shared journal failed, when it did, or
/// why a server wanting TLS refused a connection without it.
pub(super) fn explain(url: &JournalUrl, e: &tokio_postgres::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        let tls = s.downcast_ref::<rustls::Error>().or_else(|| {
            s.downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(tls) = tls {
            return Some(handshake_failure(url, tls));
        }
        source = s.source();
    }
    if std::error::Error::source(e).is_some_and(|s| s.to_string() == "server does not support TLS")
    {
        return Some(format!(
            "the server does not offer TLS (its `ssl` is off), and `sslmode={}` connects only over TLS",
            url.ssl_mode().name()
        ));
    }
    let db = e.as_db_error()?;
    (url.ssl_mode() == SslMode::Disable && db.message().contains("no encryption")).then(|| {
        format!(
            "{}: if the server accepts TLS connections only, use `sslmode=require` (or `sslmode=verify-full` with `sslrootcert=FILE`)",
            db.message()
        )
    })
}

fn handshake_failure(url: &JournalUrl, e: &rustls::Error) -> String {
    let rustls::Error::InvalidCertificate(cert) = e else {
        return format!("the TLS handshake failed: {e}");
    };
    match cert {
        CertificateError::UnknownIssuer => {
            let roots = match url.root_cert() {
                Some(RootCert::File(path)) => format!("`sslrootcert` (`{}`)", path.display()),
                Some(RootCert::System) => "the system's CAs (`sslrootcert=system`)".into(),
                None => "`sslrootcert` (`~/.postgresql/root.crt`)".into(),
            };
            format!("the server's certificate was not issued by a CA in {roots}")
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!(
                "the server's certificate is not for host `{}` (`sslmode=verify-full` checks the name; `sslmode=verify-ca` checks only who issued it)",
                url.host()
            )
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "the server's certificate has expired".into()
        }
        other => format!("the server's certificate was refused: {other:?}"),
    }
}

/// The server's certificate as `prefer`, `require` and `verify-ca` check
/// it: with no CA (`issuer: None`), any certificate, as libpq; with one, the
/// chain up to it, whatever host the certificate names (webpki checks the
/// chain before the name, so a name error means the chain was good). The
/// handshake's signatures are checked either way, so the session is the one
/// the certificate's key holder set up.
#[derive(Debug)]
struct NameBlind {
    provider: Arc<CryptoProvider>,
    issuer: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for NameBlind {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(issuer) = &self.issuer else {
            return Ok(ServerCertVerified::assertion());
        };
        match issuer.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            verdict => verdict,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
