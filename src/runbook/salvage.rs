//! Salvage after the first errors: drop what each error points at (an
//! unknown key, a wrongly typed value, an array element without its `id`)
//! and parse the rest again, a bounded number of times, so that the checks
//! on the typed value still report their findings in the same pass.

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::load::{MAX_ERRORS, Parsed, Sections, check_sections};
use crate::diag::{Diagnostic, Span};

/// Salvage `table`, whose sections gave `diags`: the value of what is left
/// once every error's entry is dropped, with every diagnostic found on the
/// way. No value if an error points at nothing that can be dropped.
pub(super) fn salvage<T: DeserializeOwned + Sections>(
    mut table: DeTable<'_>,
    table_span: Span,
    mut diags: Vec<Diagnostic>,
) -> Parsed<T> {
    // Their diagnostics point at the keys, now handled: nothing left to prune.
    let (handled, typo_dropped) = drop_unknown_sections::<T>(&mut table);
    let mut pending: Vec<(Span, String)> = pointed_at(&diags)
        .into_iter()
        .filter(|(s, _)| !handled.contains(s))
        .collect();
    // Each dropped entry: the span that pointed at it, and its key's path.
    let mut pruned: Vec<(Span, Vec<String>)> = Vec::new();
    for _ in 0..MAX_ERRORS {
        for (span, message) in pending.drain(..) {
            if !drop_pointed_at(&mut table, span, &message, &mut pruned) {
                return Parsed::failed(diags);
            }
        }
        let again = check_sections::<T>(&table);
        if again.is_empty() {
            let whole = toml::Spanned::new(table_span, DeValue::Table(table));
            let value = T::deserialize(ValueDeserializer::from(whole)).ok();
            return Parsed {
                value,
                diagnostics: diags,
                dropped: pruned
                    .into_iter()
                    .map(|(_, path)| path)
                    .chain(typo_dropped)
                    .collect(),
            };
        }
        pending = pointed_at(&again);
        for d in again {
            if !diags.contains(&d) && !follows_from_pruning(&d, &pruned) {
                diags.push(d);
            }
        }
    }
    Parsed::failed(diags)
}

/// Each diagnostic's span and message.
fn pointed_at(diags: &[Diagnostic]) -> Vec<(Span, String)> {
    diags
        .iter()
        .filter_map(|d| d.span.clone().map(|s| (s, d.message.clone())))
        .collect()
}

/// Remove the unknown top-level keys (already reported). A typo of a
/// section the file lacks (`[checklst]`) is checked under the name it was
/// meant to have, so the errors inside it (and the rule checks) are not
/// hidden by a missing section. The spans of the keys removed, and the
/// paths of sections the rule checks must not report missing.
fn drop_unknown_sections<T: Sections>(table: &mut DeTable<'_>) -> (Vec<Span>, Vec<Vec<String>>) {
    let unknown: Vec<String> = table
        .iter()
        .map(|(k, _)| k.get_ref().to_string())
        .filter(|k| !T::KEYS.contains(&k.as_str()))
        .collect();
    let mut handled: Vec<Span> = Vec::new();
    let mut typo_dropped: Vec<Vec<String>> = Vec::new();
    for key in unknown {
        let Some((span_key, value)) = table.remove_entry(key.as_str()) else {
            continue;
        };
        handled.push(span_key.span());
        match typo_of_absent_section::<T>(table, &key, value.get_ref()) {
            Some((meant, true)) => {
                table.insert(
                    toml::Spanned::new(span_key.span(), std::borrow::Cow::Owned(meant.to_string())),
                    value,
                );
            }
            // `[stpe]` for `[[step]]`: "no steps" would be the same mistake again.
            Some((meant, false)) => typo_dropped.push(vec![meant.to_string()]),
            None => {}
        }
    }
    (handled, typo_dropped)
}

/// Drop the entry an error (`span`, `message`) points at, recording its
/// path in `pruned`; false if it points at nothing that can be dropped.
fn drop_pointed_at(
    table: &mut DeTable<'_>,
    span: Span,
    message: &str,
    pruned: &mut Vec<(Span, Vec<String>)>,
) -> bool {
    if let Some(path) = prune(table, &span, 0) {
        pruned.push((span, path));
    } else if let Some((key, index)) = drop_element_without_id(table, &span, message) {
        forget_element(pruned, &key, index);
        // Recorded as `[key, MISSING_ID]`: the rule checks must not
        // report the array empty when this was its only element.
        pruned.push((span, vec![key, MISSING_ID.to_string()]));
    } else {
        return false;
    }
    true
}

/// The path element that marks a whole array element salvage dropped because
/// it had no `id` (`["step", MISSING_ID]`).
pub const MISSING_ID: &str = "<missing id>";

/// The known top-level key an unknown one is a typo of, when the file lacks
/// that section, and whether the value has its shape (a table for
/// `[runbook]`, an array of tables for `[[step]]`).
fn typo_of_absent_section<T: Sections>(
    table: &DeTable<'_>,
    key: &str,
    value: &DeValue<'_>,
) -> Option<(&'static str, bool)> {
    let meant = crate::diag::suggest(key, T::KEYS.iter().copied())?;
    if table.contains_key(meant) {
        return None;
    }
    let shape_fits = if T::element(meant).is_some() {
        matches!(value, DeValue::Array(items)
            if items.iter().all(|i| matches!(i.get_ref(), DeValue::Table(_))))
    } else {
        matches!(value, DeValue::Table(_))
    };
    Some((meant, shape_fits))
}

/// An element of a top-level array (`[[step]]`, `[[item]]`) without its
/// required `id`: nothing can refer to it, so dropping it after reporting
/// the error hides no other mistake and invents none. Which array and index.
fn drop_element_without_id(
    table: &mut DeTable<'_>,
    span: &Span,
    message: &str,
) -> Option<(String, usize)> {
    if message != "missing field `id`" {
        return None;
    }
    for (key, value) in table.iter_mut() {
        if let DeValue::Array(items) = value.get_mut()
            && let Some(index) = items
                .iter()
                .position(|i| i.span() == *span && matches!(i.get_ref(), DeValue::Table(_)))
        {
            remove_element(items, index);
            return Some((key.get_ref().to_string(), index));
        }
    }
    None
}

fn remove_element(items: &mut toml::de::DeArray<'_>, index: usize) {
    let rest = std::mem::replace(items, toml::de::DeArray::new())
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .map(|(_, item)| item)
        .collect();
    *items = rest;
}

/// Element `index` of array `key` is gone: paths into it are void and the
/// elements after it moved down by one.
fn forget_element(pruned: &mut Vec<(Span, Vec<String>)>, key: &str, index: usize) {
    pruned.retain(|(_, path)| {
        !(path.first().is_some_and(|k| k == key)
            && path.get(1).and_then(|i| i.parse::<usize>().ok()) == Some(index))
    });
    for (_, path) in pruned.iter_mut() {
        if path.first().is_some_and(|k| k == key)
            && let Some(i) = path.get(1).and_then(|i| i.parse::<usize>().ok())
            && i > index
        {
            path[1] = (i - 1).to_string();
        }
    }
}

/// A "missing field" in a table from which salvage dropped a wrongly typed
/// value is that value's error again, not a second mistake of the author's
/// (`retries = { attempts = "2" }` is one error, not two).
fn follows_from_pruning(d: &Diagnostic, pruned: &[(Span, Vec<String>)]) -> bool {
    d.span.as_ref().is_some_and(|outer| {
        pruned.iter().any(|(p, path)| {
            path.last()
                .is_some_and(|key| d.message == format!("missing field `{key}`"))
                && outer.start <= p.start
                && p.end <= outer.end
        })
    })
}

/// Remove the entry an error points at: a key (unknown field) or a value
/// (wrong type, or a wrong element of an array of scalars) below the top
/// level. Whole top-level sections and whole array elements are never
/// dropped, because that would turn one error into many (a dropped step is
/// "needed" by others). The path of the key removed (`["step", "2", "http"]`,
/// array elements by index), if any.
fn prune(table: &mut DeTable<'_>, span: &Span, depth: usize) -> Option<Vec<String>> {
    if depth > 0 {
        let hit = table
            .iter()
            .find(|(k, v)| {
                k.span() == *span
                    || (v.span() == *span && !is_container(v.get_ref()))
                    || matches!(v.get_ref(), DeValue::Array(items)
                        if !is_container(v.get_ref()) && items.iter().any(|i| i.span() == *span))
            })
            .map(|(k, _)| k.get_ref().to_string());
        if let Some(key) = hit {
            return table.remove(key.as_str()).map(|_| vec![key]);
        }
        // A whole element of a nested array of tables (`[[step.gate]]` without
        // its `source`): nothing refers to it, so dropping it hides nothing.
        for (key, value) in table.iter_mut() {
            if let DeValue::Array(items) = value.get_mut()
                && let Some(index) = items
                    .iter()
                    .position(|i| i.span() == *span && matches!(i.get_ref(), DeValue::Table(_)))
            {
                remove_element(items, index);
                return Some(vec![key.get_ref().to_string(), index.to_string()]);
            }
        }
    }
    // Table headers (`[runbook]`) do not span their bodies: search every nested table.
    for (key, value) in table.iter_mut() {
        let within = |mut path: Vec<String>, index: Option<usize>| {
            if let Some(i) = index {
                path.insert(0, i.to_string());
            }
            path.insert(0, key.get_ref().to_string());
            path
        };
        match value.get_mut() {
            DeValue::Table(inner) => {
                if let Some(path) = prune(inner, span, depth + 1) {
                    return Some(within(path, None));
                }
            }
            DeValue::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let DeValue::Table(inner) = item.get_mut()
                        && let Some(path) = prune(inner, span, depth + 1)
                    {
                        return Some(within(path, Some(i)));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn is_container(value: &DeValue<'_>) -> bool {
    matches!(value, DeValue::Table(_))
        || matches!(value, DeValue::Array(a) if a.iter().any(|i| matches!(i.get_ref(), DeValue::Table(_))))
}
