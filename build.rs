//! Names the commit and the build date in `cutover --version` when built
//! from a git checkout (`CUTOVER_BUILD_INFO` = ` (1a2b3c4d5e6f 2026-12-06)`:
//! the commit checked out and the day this script ran for it, like cargo's
//! and rustc's versions; uncommitted changes are not flagged, as this runs
//! again only when HEAD moves); empty when git or `.git` is missing (a source
//! tarball, a vendored copy), so a build never fails for it.
//! `SOURCE_DATE_EPOCH` pins the date (reproducible builds).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// `YYYY-MM-DD` of a Unix time (UTC), without a date library.
fn date(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn main() {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let day = date(secs);
    let info = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(hash) => {
            // Rebuild when HEAD moves: HEAD itself, the branch it names, packed refs.
            for path in ["HEAD", "packed-refs"] {
                if let Some(p) = git(&["rev-parse", "--git-path", path]) {
                    println!("cargo:rerun-if-changed={}", absolute(&p));
                }
            }
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
                && let Some(p) = git(&["rev-parse", "--git-path", &branch])
            {
                println!("cargo:rerun-if-changed={}", absolute(&p));
            }
            format!(" ({hash} {day})")
        }
        None => String::new(),
    };
    println!("cargo:rustc-env=CUTOVER_BUILD_INFO={info}");
    // The manual pages' date.
    println!("cargo:rustc-env=CUTOVER_BUILD_DATE={day}");
}

fn absolute(path: &str) -> String {
    let p = Path::new(path);
    if p.is_absolute() {
        path.to_string()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(p)
            .display()
            .to_string()
    }
}
