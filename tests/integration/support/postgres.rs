//! A real PostgreSQL on loopback for the shared journal's tests: ONE
//! throwaway cluster per test binary (`initdb` + `postgres` on a free port,
//! password authentication), like the shared Prometheus. Each test takes a
//! database of its own and database users named after it, which stand in
//! for separate people on separate hosts.
//!
//! As root (CI containers), the cluster runs as Debian's `postgres` user
//! (`setpriv`), since PostgreSQL refuses to run as root. The server runs
//! under a watchdog that stops it (fast shutdown) when the test process is
//! gone. A missing PostgreSQL fails the test with how to install it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::cutover::BIN;
use super::prometheus::free_port;
use super::tools::missing;

const ADMIN: &str = "admin";
const ADMIN_PASSWORD: &str = "admin-pw-x1";

pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    dir: PathBuf,
    /// `-c name=value` settings beyond the defaults (TLS).
    settings: Vec<String>,
    watchdog: Mutex<Option<Child>>,
}

/// A private cluster's TLS (see [`Postgres::start_private_tls`]).
pub struct Tls<'a> {
    /// The server certificate's names: `IP:127.0.0.1`, `DNS:localhost`.
    pub names: &'a [&'a str],
    /// pg_hba accepts TLS connections only (`hostssl`), as a server that
    /// must never see a password in the clear.
    pub only: bool,
}

/// A database of one test, with its users.
pub struct Database {
    pub name: String,
    port: u16,
    bin: PathBuf,
    prefix: String,
}

static SHARED: OnceLock<Postgres> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The shared cluster of this test binary.
pub fn shared() -> &'static Postgres {
    SHARED.get_or_init(Postgres::start)
}

/// `/usr/lib/postgresql/N/bin` of the newest PostgreSQL installed.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|p| p.join("initdb").is_file());
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions
        .pop()
        .unwrap_or_else(|| panic!("{}", missing("initdb", "postgresql")))
}

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// `program args` as the cluster's owner: `postgres` when we are root.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--clear-groups",
            "--",
        ])
        .arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

impl Postgres {
    /// A cluster of the calling test's own, e.g. to stop it for an outage.
    pub fn start_private() -> Postgres {
        Postgres::start_with(None)
    }

    /// A private cluster with `ssl = on`, serving a certificate made now and
    /// signed by a CA made now ([`Postgres::ca`]).
    pub fn start_private_tls(tls: &Tls<'_>) -> Postgres {
        Postgres::start_with(Some(tls))
    }

    /// The CA that signed a TLS cluster's certificate (PEM).
    pub fn ca(&self) -> PathBuf {
        self.dir.join("tls").join("ca.pem")
    }

    fn start() -> Postgres {
        Postgres::start_with(None)
    }

    fn start_with(tls: Option<&Tls<'_>>) -> Postgres {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("cutover-pg-")
            .tempdir()
            .expect("temp dir")
            .keep();
        chown_to_postgres(&dir);
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, ADMIN_PASSWORD).expect("write the password file");
        chown_to_postgres(&pwfile);
        let out = as_owner(&bin.join("initdb"))
            .args(["-D"])
            .arg(dir.join("data"))
            .args(["-U", ADMIN, "-A", "scram-sha-256", "--no-sync", "--pwfile"])
            .arg(&pwfile)
            .current_dir(&dir)
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let settings = match tls {
            Some(tls) => serve_tls(&dir, tls),
            None => Vec::new(),
        };
        let port = free_port();
        let pg = Postgres {
            port,
            bin,
            dir,
            settings,
            watchdog: Mutex::new(None),
        };
        pg.spawn_server();
        pg.wait_ready();
        pg
    }

    /// `postgres` in the foreground under a watchdog shell that stops it
    /// (SIGINT: fast shutdown) when this test process exits.
    fn spawn_server(&self) {
        let script = r#"
            parent=$1; shift
            "$@" &
            child=$!
            trap 'kill -INT $child 2>/dev/null; wait $child; exit 0' TERM INT
            while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do
                sleep 0.2
            done
            kill -INT $child 2>/dev/null
            wait $child
        "#;
        let server = self.bin.join("postgres");
        let data = self.dir.join("data");
        let log = std::fs::File::create(self.dir.join("server.log")).expect("create server log");
        let mut args: Vec<String> = Vec::new();
        if is_root() {
            args.extend(
                [
                    "setpriv",
                    "--reuid=postgres",
                    "--regid=postgres",
                    "--clear-groups",
                    "--",
                ]
                .map(String::from),
            );
        }
        args.push(server.display().to_string());
        args.extend([
            "-D".into(),
            data.display().to_string(),
            "-p".into(),
            self.port.to_string(),
            "-k".into(),
            self.dir.display().to_string(),
            "-c".into(),
            "listen_addresses=127.0.0.1".into(),
            "-c".into(),
            "fsync=off".into(),
            "-c".into(),
            "max_connections=200".into(),
        ]);
        for setting in &self.settings {
            args.extend(["-c".into(), setting.clone()]);
        }
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .arg("watchdog")
            .arg(std::process::id().to_string())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .spawn()
            .expect("start postgres");
        *self.watchdog.lock().unwrap() = Some(child);
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self
                .psql_as(ADMIN, ADMIN_PASSWORD, "postgres", "SELECT 1")
                .is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not start: {}",
                std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stop the server for `pause`, then start it again (the same data and port).
    pub fn outage(&self, pause: Duration) {
        self.stop();
        std::thread::sleep(pause);
        self.spawn_server();
        self.wait_ready();
    }

    /// `psql -c sql` as `user`: its stdout, or its stderr as the error.
    pub fn psql_as(
        &self,
        user: &str,
        password: &str,
        db: &str,
        sql: &str,
    ) -> Result<String, String> {
        psql(&self.bin, self.port, user, password, db, sql)
    }
}

/// Give `path` to the cluster's owner, `postgres`, when we are root.
fn chown_to_postgres(path: &Path) {
    if is_root() {
        let user = nix::unistd::User::from_name("postgres")
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("{}", missing("the postgres user", "postgresql")));
        std::os::unix::fs::chown(path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
            .expect("chown to postgres");
    }
}

/// `openssl ARGS` in `dir`, which must succeed.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new(super::tools::require("openssl", "openssl"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new self-signed CA in `dir`: `NAME.pem` and `NAME.key` (P-256), valid
/// for two days. Returns the certificate's path.
pub fn make_ca(dir: &Path, name: &str) -> PathBuf {
    let (pem, key) = (format!("{name}.pem"), format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-subj",
            &format!("/CN=cutover test {name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    dir.join(pem)
}

/// A CA and a server certificate for `tls.names` in `DIR/tls`, and the
/// server settings that serve them; with `tls.only`, pg_hba's `host` lines
/// become `hostssl`.
fn serve_tls(dir: &Path, tls: &Tls<'_>) -> Vec<String> {
    let certs = dir.join("tls");
    std::fs::create_dir(&certs).expect("create the TLS directory");
    make_ca(&certs, "ca");
    std::fs::write(
        certs.join("server.ext"),
        format!(
            "subjectAltName={}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
            tls.names.join(",")
        ),
    )
    .expect("write the certificate's extensions");
    openssl(
        &certs,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=cutover test server",
        ],
    );
    openssl(
        &certs,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
    // PostgreSQL refuses a key others may read.
    let key = certs.join("server.key");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod the key");
    for path in [&certs, &key, &certs.join("server.pem")] {
        chown_to_postgres(path);
    }
    if tls.only {
        let hba = dir.join("data").join("pg_hba.conf");
        let text = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
        let text: String = text
            .lines()
            .map(|l| match l.strip_prefix("host ") {
                Some(rest) => format!("hostssl {rest}\n"),
                None => format!("{l}\n"),
            })
            .collect();
        std::fs::write(&hba, text).expect("write pg_hba.conf");
    }
    vec![
        "ssl=on".into(),
        format!("ssl_cert_file={}", certs.join("server.pem").display()),
        format!("ssl_key_file={}", key.display()),
    ]
}

/// `psql -c sql` against the cluster at `port`.
fn psql(
    bin: &Path,
    port: u16,
    user: &str,
    password: &str,
    db: &str,
    sql: &str,
) -> Result<String, String> {
    let out = Command::new(bin.join("psql"))
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
        ])
        .arg(port.to_string())
        .args(["-U", user, "-d", db, "-c", sql])
        .env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "5")
        .output()
        .map_err(|e| format!("run psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

impl Postgres {
    /// A fresh database for one test, its schema made with `cutover db init`
    /// (as a user does), and users `PREFIX_name` for `people` with their roles.
    pub fn database(&self, people: &[(&str, &str)]) -> Database {
        self.database_made_by(people, |db| {
            let out = Command::new(BIN)
                .args(["db", "init", &db.admin_url()])
                .output()
                .expect("run cutover db init");
            assert!(
                out.status.success(),
                "db init: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        })
    }

    /// [`Postgres::database`] with its schema made by `make_schema` (e.g. an
    /// older cutover's), before the users are made.
    pub fn database_made_by(
        &self,
        people: &[(&str, &str)],
        make_schema: impl FnOnce(&Database),
    ) -> Database {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("t{}_{n}", std::process::id());
        let db = Database {
            name: format!("{prefix}_db"),
            port: self.port,
            bin: self.bin.clone(),
            prefix,
        };
        self.psql_as(
            ADMIN,
            ADMIN_PASSWORD,
            "postgres",
            &format!("CREATE DATABASE {}", db.name),
        )
        .expect("create the database");
        make_schema(&db);
        for (person, role) in people {
            let user = db.user(person);
            self.psql_as(
                ADMIN,
                ADMIN_PASSWORD,
                &db.name,
                &format!(
                    "CREATE USER {user} PASSWORD '{}'; GRANT {role} TO {user};",
                    Database::password_of(&user)
                ),
            )
            .expect("create a user");
        }
        db
    }
}

impl Database {
    /// The database user standing in for `person`.
    pub fn user(&self, person: &str) -> String {
        format!("{}_{person}", self.prefix)
    }

    fn password_of(user: &str) -> String {
        format!("pw-{user}-7f3a")
    }

    pub fn password(&self, person: &str) -> String {
        Database::password_of(&self.user(person))
    }

    /// The URL `person` logs in with (password included).
    pub fn url(&self, person: &str) -> String {
        let user = self.user(person);
        format!(
            "postgres://{user}:{}@127.0.0.1:{}/{}",
            Database::password_of(&user),
            self.port,
            self.name
        )
    }

    pub fn admin_url(&self) -> String {
        format!(
            "postgres://{ADMIN}:{ADMIN_PASSWORD}@127.0.0.1:{}/{}",
            self.port, self.name
        )
    }

    /// `psql -c sql` as `person`, bypassing cutover.
    pub fn psql(&self, person: &str, sql: &str) -> Result<String, String> {
        psql(
            &self.bin,
            self.port,
            &self.user(person),
            &self.password(person),
            &self.name,
            sql,
        )
    }

    /// `psql -c sql` as the cluster's administrator.
    pub fn psql_admin(&self, sql: &str) -> Result<String, String> {
        psql(&self.bin, self.port, ADMIN, ADMIN_PASSWORD, &self.name, sql)
    }
}

/// A private cluster stops, and its files go, with its test.
impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

impl Postgres {
    /// Stop the server (its watchdog turns TERM into a fast shutdown) and wait.
    fn stop(&self) {
        if let Some(mut child) = self.watchdog.lock().unwrap().take() {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id().cast_signed()),
                nix::sys::signal::Signal::SIGTERM,
            )
            .ok();
            child.wait().ok();
        }
    }
}
