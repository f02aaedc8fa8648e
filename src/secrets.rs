//! Secret values and the masking applied to every string that leaves the
//! process: terminal, journal, plan, report, error messages.
//!
//! A secret is masked in its plain, URL-encoded, base64 and hex forms, upper-
//! and lower-cased, and as a shell would quote it, because that is how it
//! shows up in URLs, basic-auth headers, hex dumps and tool output. Out of
//! reach: a secret split across lines, spaced out (`xxd`'s groups), or in
//! any other encoding (reversed, gzipped, encrypted).

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;

pub const MASK: &str = "***";

/// Secrets shorter than this are not masked: masking `a` would mangle every
/// output line. Plans refuse such a secret instead of printing it.
pub const MIN_SECRET_LEN: usize = 4;

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

/// The other spellings of `secret` people paste or tools print: upper- and
/// lower-cased (a token shouted in a ticket), hex of its bytes in either case
/// (`xxd -p`, `od`), and quoted for a shell (inside `'...'` and `"..."`, as a
/// command line holding a value shows it).
fn spellings(secret: &str) -> Vec<String> {
    let hex = lower_hex(secret.as_bytes());
    let mut out = vec![
        secret.to_uppercase(),
        secret.to_lowercase(),
        hex.to_ascii_uppercase(),
        hex,
        secret.replace('\'', r"'\''"),
        crate::runbook::shell::escape_double(secret),
    ];
    out.retain(|s| s != secret);
    out
}

/// `bytes` as lower-case hex digits.
fn lower_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// The secrets themselves, so a masker can be made with one more.
    secrets: Vec<String>,
    /// Every form of every secret, searched in one pass (every output line goes
    /// through here); leftmost-longest, so a longer form wins over its prefix.
    matcher: Option<AhoCorasick>,
    /// Length in bytes of the longest form: how much text a match can span.
    longest: usize,
}

impl Masker {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut needles = Vec::new();
        let mut kept = Vec::new();
        for secret in secrets {
            if secret.len() < MIN_SECRET_LEN {
                continue;
            }
            kept.push(secret.to_string());
            needles.push(secret.to_string());
            needles.extend(url_encodings(secret));
            needles.extend(spellings(secret));
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
        let longest = needles.iter().map(String::len).max().unwrap_or(0);
        let matcher = (!needles.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&needles)
                .expect("a few literal strings always build")
        });
        Masker {
            secrets: kept,
            matcher,
            longest,
        }
    }

    /// This masker, and `secret` masked too (a password the plan does not
    /// know of: the shared journal's).
    #[must_use]
    pub fn with(&self, secret: &str) -> Masker {
        Masker::new(self.secrets.iter().map(String::as_str).chain([secret]))
    }

    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// A masker for the secrets held by environment variables `vars`, read
    /// with `lookup` (a variable that is unset or empty masks nothing).
    pub fn from_env_vars<'a>(
        vars: impl IntoIterator<Item = &'a str>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Self {
        let values: Vec<String> = vars.into_iter().filter_map(lookup).collect();
        Masker::new(values.iter().map(String::as_str))
    }

    /// Mask every string (and object key) of a JSON tree in place. Masking
    /// the serialized text instead would miss a secret holding `"`, `\` or a
    /// control character (JSON escapes them) and could break the JSON.
    pub fn mask_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        if self.is_empty() {
            return;
        }
        match value {
            Value::String(s) => {
                let masked = self.mask(s);
                if masked != *s {
                    *s = masked;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut v) in entries {
                    self.mask_json(&mut v);
                    map.insert(self.mask(&key), v);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// `value` serialized to a JSON tree with every string masked.
    pub fn masked_json<T: serde::Serialize + ?Sized>(&self, value: &T) -> serde_json::Value {
        let mut tree = serde_json::to_value(value).expect("the types serialized here always are");
        self.mask_json(&mut tree);
        tree
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

    /// A masker for one line that arrives in pieces (a long line read in
    /// bounded chunks): a secret split across pieces is still masked.
    pub fn stream(&self) -> MaskStream<'_> {
        MaskStream {
            masker: self,
            pending: String::new(),
            shown: false,
        }
    }
}

/// Masks one line fed piece by piece. Every [`push`](Self::push) returns the
/// masked text that can no longer be part of a match, holding back at most
/// `longest form - 1` bytes (plus a match that reaches into them);
/// [`finish`](Self::finish) returns the rest. The concatenated output always
/// equals [`Masker::mask`] of the whole line.
#[derive(Debug)]
pub struct MaskStream<'a> {
    masker: &'a Masker,
    /// Text received but not yet returned (unmasked).
    pending: String,
    /// Some text of the current line was returned by [`piece`](Self::piece).
    shown: bool,
}

impl MaskStream<'_> {
    /// Add the next piece of the line; the masked text that is now final.
    pub fn push(&mut self, piece: &str) -> String {
        self.pending.push_str(piece);
        let Some(m) = &self.masker.matcher else {
            return std::mem::take(&mut self.pending);
        };
        // A match starting before `settled` lies entirely in the text already
        // received, so no later piece can change it or add one before it.
        let mut settled = self
            .pending
            .len()
            .saturating_sub(self.masker.longest.saturating_sub(1));
        while !self.pending.is_char_boundary(settled) {
            settled -= 1;
        }
        let mut out = String::with_capacity(settled);
        let mut done = 0;
        for found in m.find_iter(&self.pending) {
            if found.start() >= settled {
                break;
            }
            out.push_str(&self.pending[done..found.start()]);
            out.push_str(MASK);
            done = found.end();
        }
        // No match starts in `done..settled`: that text is final as it is.
        let cut = done.max(settled);
        out.push_str(&self.pending[done..cut]);
        self.pending.drain(..cut);
        out
    }

    /// The end of the line: everything still held back, masked.
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        self.masker.mask(&rest)
    }

    /// One piece of a stream of lines (`end`: the piece ends its line; the
    /// stream is then ready for the next line): the masked text to show now,
    /// or `None` when nothing is due (all of it is held back, or the line
    /// ended with nothing left to show). An empty line is shown as `""`.
    pub fn piece(&mut self, text: &str, end: bool) -> Option<String> {
        let mut out = self.push(text);
        if end {
            out.push_str(&self.finish());
        }
        let show = !out.is_empty() || (end && !self.shown);
        self.shown = !end && (self.shown || show);
        show.then_some(out)
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
    fn masks_hex_case_and_shell_quoted_spellings() {
        let secret = "S3cret'Tok\"en$";
        let m = Masker::new([secret]);
        let hex = lower_hex(secret.as_bytes());
        for spelling in [
            hex.clone(),
            hex.to_uppercase(),
            secret.to_uppercase(),
            secret.to_lowercase(),
            r#"S3cret'\''Tok"en$"#.to_string(),
            r#"S3cret'Tok\"en\$"#.to_string(),
        ] {
            assert_eq!(m.mask(&format!("<{spelling}>")), "<***>", "{spelling}");
        }
        // Out of reach: spaced out or split across lines.
        assert!(m.mask("S3cret 'Tok\"en$").contains("S3cret"));
    }

    #[test]
    fn mask_json_masks_strings_and_keys_in_the_tree() {
        let secret = "a\"b\\c\nd\\";
        let m = Masker::new([secret]);
        let mut tree =
            serde_json::json!({ "x": [format!("k={secret}"), 1, null], secret: { "y": secret } });
        m.mask_json(&mut tree);
        assert_eq!(
            tree,
            serde_json::json!({ "x": ["k=***", 1, null], "***": { "y": "***" } })
        );
    }

    #[test]
    fn short_values_are_not_masked() {
        let m = Masker::new(["ab"]);
        assert_eq!(m.mask("abc"), "abc");
    }

    /// Every form the masker searches for (for the tests below).
    fn forms(secret: &str) -> Vec<String> {
        let std = base64::engine::general_purpose::STANDARD;
        let mut forms = url_encodings(secret);
        forms.push(secret.to_string());
        forms.push(std.encode(secret));
        forms.push(std.encode(format!("admin:{secret}")));
        forms
    }

    /// `line` masked by feeding it to a stream in the given pieces.
    fn streamed<'a>(m: &Masker, pieces: impl IntoIterator<Item = &'a str>) -> String {
        let mut stream = m.stream();
        let mut out: String = pieces.into_iter().map(|p| stream.push(p)).collect();
        out.push_str(&stream.finish());
        out
    }

    /// `line` cut into pieces of at most `cap` bytes, on char boundaries.
    fn pieces(line: &str, cap: usize) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = line;
        while !rest.is_empty() {
            let mut cut = cap.min(rest.len());
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            if cut == 0 {
                cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
            }
            let (piece, tail) = rest.split_at(cut);
            out.push(piece);
            rest = tail;
        }
        out
    }

    const LONG_SECRET: &str = "s3cr3t/p@ss wörd+x";

    #[test]
    fn a_secret_split_across_two_pieces_is_masked_at_every_split() {
        let m = Masker::new([LONG_SECRET]);
        for form in forms(LONG_SECRET) {
            let line = format!("before é {form} after {form}{form}.");
            let whole = m.mask(&line);
            assert!(!whole.contains(&form), "{whole}");
            for cut in (0..=line.len()).filter(|&i| line.is_char_boundary(i)) {
                let out = streamed(&m, [&line[..cut], &line[cut..]]);
                assert_eq!(out, whole, "{form} cut at {cut}");
            }
        }
    }

    #[test]
    fn a_secret_longer_than_a_piece_is_masked_across_many_pieces() {
        let m = Masker::new([LONG_SECRET]);
        for form in forms(LONG_SECRET) {
            let line = format!("x{form}y{form}");
            let whole = m.mask(&line);
            for cap in 1..=form.len() + 2 {
                let parts = pieces(&line, cap);
                if cap < form.len() {
                    assert!(parts.len() >= 3, "{form} in pieces of {cap}");
                }
                let mut stream = m.stream();
                let mut out = String::new();
                for part in parts {
                    let done = stream.push(part);
                    assert!(!done.contains(&form), "{done}");
                    out.push_str(&done);
                }
                out.push_str(&stream.finish());
                assert_eq!(out, whole, "{form} in pieces of {cap}");
                assert!(!out.contains(&form), "{out}");
            }
        }
    }

    #[test]
    fn a_stream_holds_back_no_more_than_a_secret_can_span() {
        let m = Masker::new(["abcdef"]);
        let longest = m.longest;
        let mut stream = m.stream();
        let out = stream.push(&"x".repeat(100));
        assert_eq!(out.len(), 100 - (longest - 1));
        assert_eq!(stream.finish().len(), longest - 1);
        let nothing = Masker::default();
        let mut none = nothing.stream();
        assert_eq!(none.push("abc"), "abc");
        assert_eq!(none.finish(), "");
    }

    #[test]
    fn pieces_of_lines_show_each_line_once_and_empty_lines_too() {
        let m = Masker::new(["abcdef"]);
        let held = m.longest - 1;
        let mut s = m.stream();
        assert_eq!(s.piece("", true).as_deref(), Some(""));
        assert_eq!(s.piece("xxab", false).as_deref(), None);
        let y = "y".repeat(held);
        assert_eq!(
            s.piece(&format!("cdef{y}"), false).as_deref(),
            Some("xx***")
        );
        assert_eq!(s.piece("", true), Some(y));
        assert_eq!(s.piece("next", true).as_deref(), Some("next"));
        let z = |n: usize| "z".repeat(n);
        assert_eq!(s.piece(&z(held + 5), false), Some(z(5)));
        assert_eq!(s.piece("", true), Some(z(held)));
        assert_eq!(s.piece(&z(held), false), None);
        assert_eq!(s.piece("", true), Some(z(held)));
    }

    proptest::proptest! {
        #[test]
        fn streaming_equals_masking_the_whole_line(
            parts in proptest::collection::vec(0usize..6, 0..40),
            cuts in proptest::collection::vec(0usize..200, 0..8),
        ) {
            let secrets = ["p@ss-word.1+x/y=z", "tok3n"];
            let b64 = base64::engine::general_purpose::STANDARD.encode(secrets[0]);
            let words = [secrets[0], secrets[1], "p%40ss-word.1%2Bx%2Fy%3Dz", &b64, "ä€ ", "tok"];
            let line: String = parts.iter().map(|&i| words[i]).collect();
            let m = Masker::new(secrets);
            let mut cuts: Vec<usize> = cuts
                .into_iter()
                .map(|c| c.min(line.len()))
                .filter(|&c| line.is_char_boundary(c))
                .collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut from = 0;
            for c in cuts {
                pieces.push(&line[from..c]);
                from = c;
            }
            pieces.push(&line[from..]);
            let out = streamed(&m, pieces);
            proptest::prop_assert_eq!(&out, &m.mask(&line));
            for word in &words[..4] {
                proptest::prop_assert!(!out.contains(word), "{}", out);
            }
        }
    }
}
