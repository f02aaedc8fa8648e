//! One-way layers: every `crate::` path in `src/` (use lines, grouped uses,
//! paths in code, `super::` chains that climb to the crate root) must be an
//! arrow the allowed-dependency table of docs/architecture.md permits, and
//! that table must have no cycle. This test reads the sources; it runs no
//! binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The table's rows in the order written: a module and the modules it may use.
type Table = BTreeMap<String, Vec<String>>;

#[test]
fn every_crate_path_in_src_follows_the_layering_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).expect("read the doc");
    let table = parse_table(&doc).unwrap_or_else(|e| panic!("docs/architecture.md: {e}"));
    let mut problems = check_table(&table);
    let mut files = Vec::new();
    collect_sources(&root.join("src"), "src", &mut files);
    assert!(files.len() > 50, "found only {} source files", files.len());
    problems.extend(check(&files, &table));
    let modules: BTreeSet<String> = files.iter().map(|(path, _)| top_module(path)).collect();
    for row in table.keys().filter(|m| !modules.contains(*m)) {
        problems.push(format!(
            "table row `{row}` names no module of src/: remove it"
        ));
    }
    assert!(
        problems.is_empty(),
        "the layering of docs/architecture.md is broken:\n{}",
        problems.join("\n")
    );
}

/// No source file over this many lines (issue 12; functions: clippy's
/// `too_many_lines` at 100, in clippy.toml).
const MAX_FILE_LINES: usize = 700;

#[test]
fn no_source_file_is_over_700_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect_sources(&root.join("src"), "src", &mut files);
    let long = too_long(&files);
    assert!(
        long.is_empty(),
        "split these by concept (docs/architecture.md, \"Size\"):\n{}",
        long.join("\n")
    );
    // The check itself: a file one line over is named.
    let over = vec![("src/x.rs".to_string(), "\n".repeat(MAX_FILE_LINES + 1))];
    assert_eq!(too_long(&over), ["src/x.rs: 701 lines (at most 700)"]);
}

fn too_long(files: &[(String, String)]) -> Vec<String> {
    files
        .iter()
        .map(|(path, text)| (path, text.lines().count()))
        .filter(|(_, n)| *n > MAX_FILE_LINES)
        .map(|(path, n)| format!("{path}: {n} lines (at most {MAX_FILE_LINES})"))
        .collect()
}

#[test]
fn a_forbidden_use_is_named_with_its_file_line_and_rule() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
            .expect("read the doc");
    let table = parse_table(&doc).expect("the table parses");
    let one = |path: &str, text: &str| check(&[(path.to_string(), text.to_string())], &table);
    let allowed = table["journal"].join(", ");

    // The journal reaching up into a command: refused, with the rule.
    assert_eq!(
        one(
            "src/journal/x.rs",
            "use crate::event::Record;\nuse crate::cmd::runtime;\n"
        ),
        [format!(
            "src/journal/x.rs:2: journal may not use cmd (journal may use: {allowed})"
        )]
    );
    // Grouped uses, over several lines, name the line of the offending item.
    assert_eq!(
        one(
            "src/journal/x.rs",
            "use crate::{\n    event::Record,\n    engine::approval::person,\n};\n"
        ),
        [format!(
            "src/journal/x.rs:3: journal may not use engine (journal may use: {allowed})"
        )]
    );
    // A path in code, and `$crate` in a macro, count like a `use`.
    assert_eq!(
        one(
            "src/journal/replay.rs",
            "fn f() {\n    let p = crate::engine::approval::person(a, b);\n}\nmacro_rules! m { () => { $crate::ui::x() } }\n"
        ),
        [
            format!(
                "src/journal/replay.rs:2: journal may not use engine (journal may use: {allowed})"
            ),
            format!("src/journal/replay.rs:4: journal may not use ui (journal may use: {allowed})"),
        ]
    );
    // `super::` climbing out of the module to the crate root is caught; inside
    // the module (and inside an inline `mod tests`) it is not an arrow.
    assert_eq!(
        one(
            "src/journal/x.rs",
            "use super::reader;\nuse super::super::engine::Options;\nmod tests {\n    use super::super::writer;\n}\n"
        ),
        [format!(
            "src/journal/x.rs:2: journal may not use engine (journal may use: {allowed})"
        )]
    );
    // Comments, doc comments and strings are not code; a path in a serde
    // attribute (`with = "crate::..."`) is.
    assert_eq!(
        one(
            "src/journal/x.rs",
            "// crate::engine\n/// [`crate::cmd`]\n/* crate::ui /* nested */ crate::ui */\nconst A: &str = \"crate::cmd is above\";\nconst B: &str = r#\"crate::cmd\"#;\nconst D: &str = \"crate::cmd\";\nconst C: char = '{';\n#[serde(with = \"crate::signals::float_serde\")]\nstruct S<'a>(&'a str);\n"
        ),
        [format!(
            "src/journal/x.rs:8: journal may not use signals (journal may use: {allowed})"
        )]
    );
    // Arrows the table allows, and a module using itself, pass.
    assert!(
        one(
            "src/journal/x.rs",
            "use crate::{event, files::open, journal::x};\n"
        )
        .is_empty()
    );
    // A module the table does not place fails: a new module must be placed.
    assert_eq!(
        one("src/newthing/mod.rs", "use crate::text;\n"),
        [
            "src/newthing/mod.rs: module `newthing` is not in the layering table of docs/architecture.md: add a row saying what it may use"
        ]
    );
    // In the crate root, modules are named without `crate::`.
    let mut small = table.clone();
    small.insert("lib".into(), vec!["cli".into()]);
    assert_eq!(
        check(
            &[(
                "src/lib.rs".into(),
                "pub mod cmd;\nuse cli::Cli;\nfn f() { cmd::run(); }\n".into()
            )],
            &small
        ),
        ["src/lib.rs:3: lib may not use cmd (lib may use: cli)"]
    );
}

#[test]
fn the_table_must_be_acyclic_and_name_only_its_modules() {
    let doc = "| module | may use |\n|---|---|\n| `a` | `b` |\n| `b` | `c` |\n| `c` | `a`, `d` |\n";
    let table = parse_table(doc).expect("parses");
    assert_eq!(
        check_table(&table),
        [
            "table row `c`: `d` is not a module of the table",
            "the table has a cycle: a -> b -> c -> a",
        ]
    );
    let fine =
        parse_table("| module | may use |\n|--|--|\n| `a` | — |\n| `b` | `a` |\n").expect("parses");
    assert!(check_table(&fine).is_empty());
    assert!(parse_table("| module | may use |\n|--|--|\n| `a` | some words |\n").is_err());
    assert!(parse_table("no table here").is_err());
}

/// The rows of the first `| module | may use |` table in `markdown`.
fn parse_table(markdown: &str) -> Result<Table, String> {
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let mut lines = markdown.lines().skip_while(|l| {
        let c = cells(l);
        !(l.trim_start().starts_with('|')
            && c.len() == 2
            && c[0].eq_ignore_ascii_case("module")
            && c[1].eq_ignore_ascii_case("may use"))
    });
    lines.next().ok_or("no `| module | may use |` table")?;
    lines.next(); // the |---|---| line
    let mut table = Table::new();
    for line in lines.take_while(|l| l.trim_start().starts_with('|')) {
        let row = cells(line);
        let [module, uses] = row.as_slice() else {
            return Err(format!("`{line}` does not have two cells"));
        };
        let module = name(module).ok_or_else(|| format!("`{module}` is not a module name"))?;
        let mut may_use = Vec::new();
        if !matches!(uses.as_str(), "—" | "-" | "") {
            for entry in uses.split(',') {
                may_use.push(name(entry).ok_or_else(|| {
                    format!("row `{module}`: `{}` is not a module name", entry.trim())
                })?);
            }
        }
        if table.insert(module.clone(), may_use).is_some() {
            return Err(format!("module `{module}` has two rows"));
        }
    }
    Ok(table)
}

/// `` `name` `` (or a bare name) as a module name.
fn name(cell: &str) -> Option<String> {
    let n = cell.trim().trim_matches('`');
    let ok = n.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    ok.then(|| n.to_string())
}

/// A cycle through `m`, depth first: a module met again while on the path
/// closes it.
fn visit<'a>(
    m: &'a str,
    table: &'a Table,
    path: &mut Vec<&'a str>,
    done: &mut BTreeSet<&'a str>,
) -> Option<String> {
    if let Some(at) = path.iter().position(|p| *p == m) {
        let mut cycle = path[at..].to_vec();
        cycle.push(m);
        return Some(format!("the table has a cycle: {}", cycle.join(" -> ")));
    }
    if !done.insert(m) {
        return None;
    }
    path.push(m);
    for u in table.get(m).into_iter().flatten() {
        if let Some(found) = visit(u, table, path, done) {
            return Some(found);
        }
    }
    path.pop();
    None
}

/// What is wrong with the table itself: an entry naming no row, a cycle.
fn check_table(table: &Table) -> Vec<String> {
    let mut problems = Vec::new();
    for (module, uses) in table {
        for u in uses {
            if !table.contains_key(u) {
                problems.push(format!(
                    "table row `{module}`: `{u}` is not a module of the table"
                ));
            }
        }
    }
    let mut done = BTreeSet::new();
    for m in table.keys() {
        if let Some(cycle) = visit(m, table, &mut Vec::new(), &mut done) {
            problems.push(cycle);
            break;
        }
    }
    problems
}

/// Every `.rs` file under `dir`, as (`src/...` path, text), in name order.
fn collect_sources(dir: &Path, shown: &str, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src/")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let file = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let shown = format!("{shown}/{file}");
        if path.is_dir() {
            collect_sources(&path, &shown, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((
                shown,
                std::fs::read_to_string(&path).expect("read a source file"),
            ));
        }
    }
}

/// Every arrow of `files` that the table does not allow, as
/// `src/x/y.rs:LINE: x may not use z (x may use: ...)`.
fn check(files: &[(String, String)], table: &Table) -> Vec<String> {
    let modules: BTreeSet<String> = files
        .iter()
        .map(|(path, _)| top_module(path))
        .chain(table.keys().cloned())
        .collect();
    let mut problems = Vec::new();
    let mut unplaced = BTreeSet::new();
    for (path, text) in files {
        let module = top_module(path);
        let Some(may_use) = table.get(&module) else {
            if unplaced.insert(module.clone()) {
                problems.push(format!(
                    "{path}: module `{module}` is not in the layering table of docs/architecture.md: add a row saying what it may use"
                ));
            }
            continue;
        };
        for (line, used) in crate_paths(path, text, &modules) {
            if used != module && !may_use.contains(&used) {
                let allowed = if may_use.is_empty() {
                    "nothing".to_string()
                } else {
                    may_use.join(", ")
                };
                problems.push(format!(
                    "{path}:{line}: {module} may not use {used} ({module} may use: {allowed})"
                ));
            }
        }
    }
    problems
}

/// `src/engine/step.rs` → `engine`, `src/text.rs` → `text`, `src/lib.rs` → `lib`.
fn top_module(path: &str) -> String {
    let inside = path.strip_prefix("src/").unwrap_or(path);
    let first = inside.split('/').next().unwrap_or(inside);
    first.strip_suffix(".rs").unwrap_or(first).to_string()
}

/// How many modules deep a file's top level is: `src/lib.rs` 0, `src/a.rs`
/// and `src/a/mod.rs` 1, `src/a/b.rs` 2.
fn file_depth(path: &str) -> usize {
    let inside = path.strip_prefix("src/").unwrap_or(path);
    if matches!(inside, "lib.rs" | "main.rs") {
        return 0;
    }
    let parts: Vec<&str> = inside.split('/').collect();
    parts.len() - usize::from(parts.last() == Some(&"mod.rs"))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// The top-level modules `text` names, with their line: after `crate::`
/// (`$crate::`), in `crate::{a, b::c}` groups, after a `super::` chain that
/// reaches the crate root, and bare in the crate root itself.
fn crate_paths(path: &str, text: &str, modules: &BTreeSet<String>) -> Vec<(usize, String)> {
    let tokens = tokenize(&code_only(text));
    let depth = file_depth(path);
    let mut out = Vec::new();
    // One entry per open brace: whether it opened an inline `mod NAME {`.
    let mut braces: Vec<bool> = Vec::new();
    for (i, (token, line)) in tokens.iter().enumerate() {
        let after_sep = i > 0 && tokens[i - 1].0 == Token::PathSep;
        let next_is_sep = tokens.get(i + 1).is_some_and(|(t, _)| *t == Token::PathSep);
        match token {
            Token::Punct('{') => {
                let is_mod = i >= 2
                    && tokens[i - 2].0 == Token::Ident("mod".into())
                    && matches!(tokens[i - 1].0, Token::Ident(_));
                braces.push(is_mod);
            }
            Token::Punct('}') => {
                braces.pop();
            }
            Token::Ident(word) if word == "crate" && next_is_sep && !after_sep => {
                out.extend(path_heads(&tokens, i + 2));
            }
            Token::Ident(word) if word == "super" && next_is_sep && !after_sep => {
                let mut supers = 0;
                let mut at = i;
                while tokens
                    .get(at)
                    .is_some_and(|(t, _)| *t == Token::Ident("super".into()))
                    && tokens
                        .get(at + 1)
                        .is_some_and(|(t, _)| *t == Token::PathSep)
                {
                    supers += 1;
                    at += 2;
                }
                let here = depth + braces.iter().filter(|m| **m).count();
                if supers == here {
                    out.extend(path_heads(&tokens, at));
                }
            }
            Token::Ident(word)
                if depth == 0 && next_is_sep && !after_sep && modules.contains(word) =>
            {
                out.push((*line, word.clone()));
            }
            _ => {}
        }
    }
    out.retain(|(_, m)| m != "self");
    out
}

/// The first segment of the path(s) starting at `tokens[at]`: `a` of
/// `a::b`, or the first segment of every item of a `{a::b, c}` group.
fn path_heads(tokens: &[(Token, usize)], at: usize) -> Vec<(usize, String)> {
    match tokens.get(at) {
        Some((Token::Ident(m), line)) => vec![(*line, m.clone())],
        Some((Token::Punct('{'), _)) => {
            let mut heads = Vec::new();
            let mut depth = 0;
            let mut item_start = true;
            for (token, line) in &tokens[at..] {
                match token {
                    Token::Punct('{') => depth += 1,
                    Token::Punct('}') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Token::Punct(',') if depth == 1 => {
                        item_start = true;
                        continue;
                    }
                    Token::Ident(m) if depth == 1 && item_start => heads.push((*line, m.clone())),
                    _ => {}
                }
                item_start = false;
            }
            heads
        }
        _ => Vec::new(),
    }
}

/// Identifiers, `::` and other punctuation, each with its 1-based line.
fn tokenize(code: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            if !c.is_ascii_digit() {
                tokens.push((Token::Ident(chars[start..i].iter().collect()), line));
            }
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push((Token::PathSep, line));
            i += 2;
        } else {
            tokens.push((Token::Punct(c), line));
            i += 1;
        }
    }
    tokens
}

/// `text` with comments, string and character literals blanked (newlines
/// kept, so lines still count). A string that is exactly a `crate::` path
/// is kept: serde's `with = "crate::..."` names a module like a `use` does.
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, part: &[char]| {
        out.extend(part.iter().map(|&ch| if ch == '\n' { '\n' } else { ' ' }));
    };
    let mut i = 0;
    while i < c.len() {
        let ident_before = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            let end = c[i..]
                .iter()
                .position(|&ch| ch == '\n')
                .map_or(c.len(), |p| i + p);
            blank(&mut out, &c[i..end]);
            i = end;
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            // Block comments nest in Rust.
            let (mut depth, mut j) = (0, i);
            while j < c.len() {
                if c[j] == '/' && c.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if c[j] == '*' && c.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &c[i..j]);
            i = j;
        } else if let Some(end) = (!ident_before).then(|| string_end(&c, i)).flatten() {
            let body: String = c[i..end].iter().collect();
            let inner = body
                .trim_start_matches(['b', 'r', '#'])
                .trim_end_matches('#');
            let inner = inner.trim_matches('"');
            let is_path = serde_path_key(&out)
                && c[i] == '"'
                && inner.starts_with("crate::")
                && inner
                    .chars()
                    .all(|ch| ch.is_alphanumeric() || ch == '_' || ch == ':');
            if is_path {
                out.push(' ');
                out.push_str(inner);
                blank(&mut out, &c[i + 1 + inner.chars().count()..end]);
            } else {
                blank(&mut out, &c[i..end]);
            }
            i = end;
        } else if c[i] == '\'' {
            // A character literal ('x', '\n', '\u{1F600}'); a lifetime stays.
            let end = if c.get(i + 1) == Some(&'\\') {
                // Past the escaped character: `'\''` ends at its third quote.
                c.get(i + 3..)
                    .and_then(|rest| rest.iter().position(|&ch| ch == '\''))
                    .map(|p| i + 3 + p + 1)
            } else if c.get(i + 2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            };
            let end = end.unwrap_or(i + 1);
            blank(&mut out, &c[i..end]);
            i = end;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Whether the code so far ends with a serde attribute key that takes a
/// path (`with = `, `default = `, ...): the string that follows names code.
fn serde_path_key(code_so_far: &str) -> bool {
    let Some(before) = code_so_far.trim_end().strip_suffix('=') else {
        return false;
    };
    let before = before.trim_end();
    let key_start = before
        .rfind(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
        .map_or(0, |p| p + 1);
    matches!(
        &before[key_start..],
        "with"
            | "serialize_with"
            | "deserialize_with"
            | "default"
            | "skip_serializing_if"
            | "getter"
    )
}

/// Where the string literal starting at `c[i]` ends (one past its closing
/// quote): `"..."`, `b"..."`, `r"..."`, `r#"..."#`, `br#"..."#`.
fn string_end(c: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if c.get(j) == Some(&'b') {
        j += 1;
    }
    let raw = c.get(j) == Some(&'r');
    if raw {
        j += 1;
    }
    let hashes = c[j..].iter().take_while(|&&ch| ch == '#').count();
    if (!raw && hashes > 0) || c.get(j + hashes) != Some(&'"') {
        return None;
    }
    j += hashes + 1;
    while j < c.len() {
        match c[j] {
            '\\' if !raw => j += 2,
            '"' if c[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&ch| ch == '#')
                .count()
                == hashes
                && c.len() >= j + 1 + hashes =>
            {
                return Some(j + 1 + hashes);
            }
            _ => j += 1,
        }
    }
    Some(c.len())
}
