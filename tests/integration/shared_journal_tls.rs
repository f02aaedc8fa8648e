//! The shared journal over TLS (`sslmode` in the URL, as libpq reads it)
//! against private clusters with `ssl = on` and certificates made at test
//! time: `require` encrypts, `verify-ca` checks who signed the server's
//! certificate, `verify-full` its host name too; a wrong CA, or no TLS where
//! the server demands it, is refused in words an operator can act on.

use crate::shared_journal::{JOURNAL, PEOPLE, assert_no_password, paused_run, with_url};
use crate::support::postgres::{Postgres, Tls, make_ca};

/// `URL?QUERY` (the test URLs carry no query of their own).
fn with_query(url: &str, query: &str) -> String {
    format!("{url}?{query}")
}

#[test]
fn tls_require_and_verify_full_work_and_a_wrong_ca_or_no_tls_is_refused() {
    let pg = Postgres::start_private_tls(&Tls {
        names: &["IP:127.0.0.1", "DNS:localhost"],
        only: true,
    });
    // `db init` connects with the default `sslmode=prefer`: over TLS here,
    // as the server takes nothing else.
    let db = pg.database(PEOPLE);
    let c = paused_run();
    let ca = pg.ca().display().to_string();
    let elsewhere = tempfile::tempdir().unwrap();
    let other_ca = make_ca(elsewhere.path(), "other").display().to_string();

    let require = with_query(&db.url("op"), "sslmode=require");
    let (code, _, err) = with_url(&c, &require, &["journal", "import", JOURNAL]);
    assert_eq!(code, 0, "{err}");

    let full = with_query(
        &db.url("alice"),
        &format!("sslmode=verify-full&sslrootcert={ca}&channel_binding=require"),
    );
    let (code, _, err) = with_url(&c, &full, &["note", "r", "over tls"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = with_url(&c, &full, &["status", "r", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("over tls"), "{out}");

    // A CA that did not sign the server's certificate.
    let wrong = with_query(
        &db.url("vic"),
        &format!("sslmode=verify-full&sslrootcert={other_ca}"),
    );
    let (code, _, wrong_err) = with_url(&c, &wrong, &["status", "r"]);
    assert_eq!(code, 2, "{wrong_err}");
    assert!(
        wrong_err.contains("failed to connect to the shared journal")
            && wrong_err.contains("not issued by a CA in `sslrootcert`")
            && wrong_err.contains(&other_ca),
        "{wrong_err}"
    );

    // No TLS, where the server's pg_hba takes TLS connections only.
    let plain = with_query(&db.url("vic"), "sslmode=disable");
    let (code, _, plain_err) = with_url(&c, &plain, &["status", "r"]);
    assert_eq!(code, 2, "{plain_err}");
    assert!(
        plain_err.contains("no encryption")
            && plain_err.contains("if the server accepts TLS connections only")
            && plain_err.contains("`sslmode=require`"),
        "{plain_err}"
    );

    // verify-full with no CA given and none in ~/.postgresql/root.crt.
    let no_ca = with_query(&db.url("vic"), "sslmode=verify-full");
    let out = c
        .command()
        .args(["status", "r", "--journal-url", &no_ca])
        .env("HOME", elsewhere.path())
        .output()
        .unwrap();
    let no_ca_err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{no_ca_err}");
    assert!(
        no_ca_err.contains("`sslmode=verify-full` needs")
            && no_ca_err.contains("sslrootcert=FILE")
            && no_ca_err.contains(".postgresql/root.crt"),
        "{no_ca_err}"
    );
    assert_no_password(&db, &[&wrong_err, &plain_err, &no_ca_err]);
}

#[test]
fn verify_ca_checks_the_issuer_only_and_verify_full_the_host_name_too() {
    // A certificate for another name than the one connected to.
    let pg = Postgres::start_private_tls(&Tls {
        names: &["DNS:db.invalid"],
        only: false,
    });
    let db = pg.database(PEOPLE);
    let c = paused_run();
    let ca = pg.ca().display().to_string();
    let (code, _, err) = with_url(
        &c,
        &with_query(&db.url("op"), "sslmode=require"),
        &["journal", "import", JOURNAL],
    );
    assert_eq!(code, 0, "{err}");

    let (code, _, err) = with_url(
        &c,
        &with_query(
            &db.url("vic"),
            &format!("sslmode=verify-ca&sslrootcert={ca}"),
        ),
        &["status", "r"],
    );
    assert_eq!(code, 0, "{err}");

    let (code, _, err) = with_url(
        &c,
        &with_query(
            &db.url("vic"),
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
        &["status", "r"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not for host `127.0.0.1`") && err.contains("verify-ca"),
        "{err}"
    );

    // As libpq: `require` with a CA given checks the issuer like `verify-ca`.
    let elsewhere = tempfile::tempdir().unwrap();
    let other_ca = make_ca(elsewhere.path(), "other").display().to_string();
    let (code, _, err) = with_url(
        &c,
        &with_query(
            &db.url("vic"),
            &format!("sslmode=require&sslrootcert={other_ca}"),
        ),
        &["status", "r"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not issued by a CA in `sslrootcert`"), "{err}");
    assert_no_password(&db, &[&err]);
}

#[test]
fn tls_required_of_a_server_without_tls_is_refused_clearly() {
    let db = crate::support::postgres::shared().database(PEOPLE);
    let c = paused_run();
    let (code, _, err) = with_url(
        &c,
        &with_query(&db.url("vic"), "sslmode=require"),
        &["runs"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the server does not offer TLS")
            && err.contains("`sslmode=require` connects only over TLS"),
        "{err}"
    );
    assert_no_password(&db, &[&err]);
    // The default (`prefer`) takes the connection without TLS.
    let (code, _, err) = with_url(&c, &db.url("vic"), &["runs"]);
    assert_eq!(code, 0, "{err}");
}
