//! `{{ vars.NAME }}`, `{{ secrets.NAME }}` and `{{ env.NAME }}` templates in
//! runbook strings (optionally `{{ vars.NAME | raw }}`): found and checked at
//! validate time, filled at plan time.

use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    Vars,
    Secrets,
    Env,
}

impl Namespace {
    pub fn name(self) -> &'static str {
        match self {
            Namespace::Vars => "vars",
            Namespace::Secrets => "secrets",
            Namespace::Env => "env",
        }
    }
}

/// One `{{ ns.name }}` in a string; `range` covers the braces, in bytes of the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub namespace: Namespace,
    pub name: String,
    pub range: Range<usize>,
    /// `{{ ns.name | raw }}`: in a shell command the value is shell text, not
    /// one quoted word (elsewhere nothing is quoted, so it changes nothing).
    pub raw: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub range: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

/// Every reference in `text`, or the first malformed one.
pub fn references(text: &str) -> Result<Vec<Reference>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = 0;
    while let Some(found) = text[rest..].find("{{") {
        let open = rest + found;
        let Some(len) = text[open + 2..].find("}}") else {
            return Err(TemplateError {
                range: open..text.len(),
                message: "unclosed template: `{{` without `}}`".into(),
                help: None,
            });
        };
        let close = open + 2 + len + 2;
        let inner = text[open + 2..close - 2].trim();
        let range = open..close;
        let (inner, raw) = filters(inner, &range)?;
        let (ns, name) = inner.split_once('.').unwrap_or((inner, ""));
        let namespace = match ns {
            "vars" => Namespace::Vars,
            "secrets" => Namespace::Secrets,
            "env" => Namespace::Env,
            other => {
                return Err(TemplateError {
                    range,
                    message: format!("unknown template namespace `{other}`"),
                    help: Some(
                        crate::diag::did_you_mean(other, ["vars", "secrets", "env"])
                            .unwrap_or_else(|| {
                                "write `{{ vars.NAME }}`, `{{ secrets.NAME }}` or `{{ env.NAME }}`"
                                    .into()
                            }),
                    ),
                });
            }
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(TemplateError {
                range,
                message: format!(
                    "bad template `{inner}`: expected `{}.NAME`",
                    namespace.name()
                ),
                help: None,
            });
        }
        out.push(Reference {
            namespace,
            name: name.to_string(),
            range,
            raw,
        });
        rest = close;
    }
    Ok(out)
}

/// `ns.name | raw` → (`ns.name`, true). `raw` is the only filter.
fn filters<'t>(inner: &'t str, range: &Range<usize>) -> Result<(&'t str, bool), TemplateError> {
    let mut parts = inner.split('|').map(str::trim);
    let head = parts.next().unwrap_or("");
    let mut raw = false;
    for filter in parts {
        if filter == "raw" {
            raw = true;
        } else {
            return Err(TemplateError {
                range: range.clone(),
                message: format!("unknown template filter `{filter}`"),
                help: Some(
                    "the only filter is `raw` (`{{ vars.NAME | raw }}`: the value as shell text)"
                        .into(),
                ),
            });
        }
    }
    Ok((head, raw))
}

/// Replace every reference with `value(reference)`.
pub fn render<E>(
    text: &str,
    mut value: impl FnMut(&Reference) -> Result<String, E>,
) -> Result<String, E>
where
    E: From<TemplateError>,
{
    let refs = references(text)?;
    if refs.is_empty() {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for r in &refs {
        out.push_str(&text[last..r.range.start]);
        out.push_str(&value(r)?);
        last = r.range.end;
    }
    out.push_str(&text[last..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_renders_references() {
        let refs = references("scale {{ vars.app }} to {{vars.n}} with {{ secrets.tok }}").unwrap();
        assert_eq!(refs.len(), 3);
        assert_eq!(refs[0].name, "app");
        assert_eq!(refs[2].namespace, Namespace::Secrets);
        let out: Result<String, TemplateError> =
            render("a={{ vars.x }}!", |r| Ok(format!("<{}>", r.name)));
        assert_eq!(out.unwrap(), "a=<x>!");
    }

    #[test]
    fn the_raw_filter_is_the_only_one() {
        let refs = references("a {{ vars.x | raw }} {{vars.y|raw}} {{ vars.z }}").unwrap();
        assert_eq!(
            refs.iter()
                .map(|r| (r.name.as_str(), r.raw))
                .collect::<Vec<_>>(),
            [("x", true), ("y", true), ("z", false)]
        );
        let e = references("{{ vars.x | upper }}").unwrap_err();
        assert_eq!(e.message, "unknown template filter `upper`");
        assert!(references("{{ vars.x | }}").is_err());
    }

    #[test]
    fn rejects_malformed_templates() {
        let e = references("x {{ vars.a").unwrap_err();
        assert!(e.message.contains("unclosed"));
        let e = references("{{ var.a }}").unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `vars`?"));
        assert!(references("{{ vars. }}").is_err());
    }
}
