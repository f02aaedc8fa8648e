//! Secret values and the masking applied to every string that leaves the
//! process: terminal, journal, plan, report, error messages.
//!
//! A secret is masked in its plain, URL-encoded and base64 forms, because
//! that is how it shows up in URLs, basic-auth headers and tool output.

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;

pub const MASK: &str = "***";

/// Secrets shorter than this are not masked: masking `a` would mangle every output line.
const MIN_SECRET_LEN: usize = 4;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// RFC 3986 unreserved characters kept (`curl --data-urlencode`, Go's `QueryEscape`).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Python's `urllib.parse.quote` (keeps `/` by default).
const PYTHON_QUOTE: &AsciiSet = &UNRESERVED.remove(b'/');
/// JavaScript's `encodeURIComponent`.
const JS_COMPONENT: &AsciiSet = &UNRESERVED
    .remove(b'!')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');
/// HTML forms (`application/x-www-form-urlencoded`, WHATWG): keeps `*-._`, space as `+`.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// Every URL-encoded spelling of `secret` that common tools produce, with
/// upper- and lower-case hex digits and `+` for spaces.
fn url_encodings(secret: &str) -> Vec<String> {
    let mut out = Vec::new();
    for set in [
        NON_ALPHANUMERIC,
        UNRESERVED,
        PYTHON_QUOTE,
        JS_COMPONENT,
        FORM,
    ] {
        let upper = utf8_percent_encode(secret, set).to_string();
        if upper == secret {
            continue;
        }
        let lower = lowercase_escapes(&upper);
        for form in [upper, lower] {
            if form.contains("%20") {
                out.push(form.replace("%20", "+"));
            }
            out.push(form);
        }
    }
    out
}

/// `%2F` → `%2f`: the hex digits of escapes only.
fn lowercase_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut rest = 0;
    for (i, _) in encoded.match_indices('%') {
        if i < rest {
            continue;
        }
        out.push_str(&encoded[rest..i]);
        let end = (i + 3).min(encoded.len());
        out.push_str(&encoded[i..end].to_ascii_lowercase());
        rest = end;
    }
    out.push_str(&encoded[rest..]);
    out
}

#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Every form of every secret, searched in one pass (every output line goes
    /// through here); leftmost-longest, so a longer form wins over its prefix.
    matcher: Option<AhoCorasick>,
}

impl Masker {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut needles = Vec::new();
        for secret in secrets {
            if secret.len() < MIN_SECRET_LEN {
                continue;
            }
            needles.push(secret.to_string());
            needles.extend(url_encodings(secret));
            let std = base64::engine::general_purpose::STANDARD;
            needles.push(std.encode(secret));
            // Base64 of a longer string (e.g. `user:secret` in basic auth) only contains
            // the secret's encoding at one of three alignments; mask each aligned core.
            for shift in 1..3 {
                let padded = format!("{}{secret}", "\0".repeat(shift));
                let enc = std.encode(padded.as_bytes());
                // Skip the characters that mix the padding with the secret's first bytes.
                let skip = (shift * 8).div_ceil(6);
                let core: String = enc.trim_end_matches('=').chars().skip(skip).collect();
                if core.len() >= MIN_SECRET_LEN {
                    needles.push(core);
                }
            }
            let unpadded: String = std.encode(secret).trim_end_matches('=').to_string();
            // Drop a trailing character that depends on what follows the secret.
            let stable: String = unpadded.chars().take(secret.len() * 4 / 3).collect();
            if stable.len() >= MIN_SECRET_LEN {
                needles.push(stable);
            }
        }
        needles.sort();
        needles.dedup();
        let matcher = (!needles.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&needles)
                .expect("a few literal strings always build")
        });
        Masker { matcher }
    }

    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// `text` with every form of every secret replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        match &self.matcher {
            Some(m) => {
                let mut out = String::with_capacity(text.len());
                m.replace_all_with(text, &mut out, |_, _, dst| {
                    dst.push_str(MASK);
                    true
                });
                out
            }
            None => text.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_plain_url_encoded_and_base64_forms() {
        let m = Masker::new(["s3cr3t/p@ss"]);
        assert_eq!(m.mask("token=s3cr3t/p@ss end"), "token=*** end");
        assert_eq!(m.mask("u=s3cr3t%2Fp%40ss"), "u=***");
        let b64 = base64::engine::general_purpose::STANDARD.encode("s3cr3t/p@ss");
        assert!(!m.mask(&b64).contains(&b64));
        for user in ["a", "ab", "abc", "user"] {
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:s3cr3t/p@ss"));
            let masked = m.mask(&format!("Authorization: Basic {basic}"));
            assert!(masked.contains(MASK), "{user}: {masked}");
            assert!(!masked.contains(&basic), "{user}: {masked}");
        }
    }

    #[test]
    fn masks_the_url_encodings_of_common_tools() {
        let secret = "s3cr3t-v@lue+x/y=z.1~a b";
        let m = Masker::new([secret]);
        for encoded in [
            "s3cr3t-v%40lue%2Bx/y%3Dz.1~a%20b",   // python quote
            "s3cr3t-v%40lue%2Bx%2Fy%3Dz.1~a%20b", // curl --data-urlencode, encodeURIComponent
            "s3cr3t-v%40lue%2Bx%2Fy%3Dz.1~a+b",   // Go QueryEscape
            "s3cr3t-v%40lue%2bx%2fy%3dz.1~a%20b", // lower-case hex
            "s3cr3t%2Dv%40lue%2Bx%2Fy%3Dz%2E1%7Ea%20b",
            "s3cr3t-v%40lue%2Bx%2Fy%3Dz.1%7Ea+b", // HTML form
        ] {
            assert_eq!(
                m.mask(&format!("password={encoded}&x=1")),
                "password=***&x=1",
                "{encoded}"
            );
        }
    }

    #[test]
    fn short_values_are_not_masked() {
        let m = Masker::new(["ab"]);
        assert_eq!(m.mask("abc"), "abc");
    }
}
