//! "Did you mean" for technique lookups.
//!
//! People reach for a technique by the ID they half remember (`T855`), by its name
//! (`Unauthorized Command Message`) or by both pasted together. Rather than guess silently,
//! the lookup refuses and proposes the one technique the input most plausibly meant; when
//! several are equally plausible it proposes nothing, because a wrong suggestion costs more
//! than none.

use super::{DeprecatedTechnique, Technique, find_active, find_deprecated, techniques};

/// What the input most resembles.
pub(super) enum Suggestion {
    Active(&'static Technique),
    /// The input unambiguously names a retired technique (e.g. its old name), which deserves
    /// the deprecation message rather than "unknown".
    Deprecated(&'static DeprecatedTechnique),
    None,
}

pub(super) fn suggest(input: &str) -> Suggestion {
    let input = input.trim();
    if input.is_empty() {
        return Suggestion::None;
    }
    by_id(input).unwrap_or_else(|| by_name(input))
}

/// `None` when the input is not shaped like an ID at all, so the caller tries names instead.
fn by_id(input: &str) -> Option<Suggestion> {
    let upper = input.to_ascii_uppercase();
    let digits = upper.strip_prefix('T').unwrap_or(&upper);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // A dropped or doubled zero (`T855`, `0855`, `T00855`) is by far the commonest slip, and
    // the number itself is then unambiguous.
    if let Ok(number) = digits.parse::<u32>()
        && number < 10_000
    {
        let canonical = format!("T{number:04}");
        if let Some(t) = find_active(&canonical) {
            return Some(Suggestion::Active(t));
        }
        if let Some(d) = find_deprecated(&canonical) {
            return Some(Suggestion::Deprecated(d));
        }
    }
    // Otherwise one mistyped or transposed digit. Allowing more would map Enterprise IDs
    // (T1190) onto unrelated ICS ones (T0890).
    let wanted = format!("T{digits}");
    let target: u64 = digits.parse().unwrap_or(u64::MAX);
    let best = techniques()
        .iter()
        .filter(|t| edit_distance(&wanted, t.id) == 1)
        .min_by_key(|t| t.id[1..].parse::<u64>().map_or(u64::MAX, |n| n.abs_diff(target)));
    Some(best.map_or(Suggestion::None, Suggestion::Active))
}

fn by_name(input: &str) -> Suggestion {
    let wanted = normalise(input);
    if let Some(t) = techniques().iter().find(|t| normalise(t.name) == wanted) {
        return Suggestion::Active(t);
    }
    if let Some(d) = super::DEPRECATED.iter().find(|d| normalise(d.name) == wanted) {
        return Suggestion::Deprecated(d);
    }
    // "T0855 Unauthorized Command Message", or a name with extra words: the longest technique
    // name inside the input, since shorter names ("Rootkit") can hide inside longer ones.
    if let Some(t) = techniques()
        .iter()
        .filter(|t| wanted.contains(&normalise(t.name)))
        .max_by_key(|t| t.name.len())
    {
        return Suggestion::Active(t);
    }
    // A fragment of one name ("unauthorized command"), only if it fits a single technique.
    if wanted.len() >= 4 {
        let mut containing = techniques()
            .iter()
            .filter(|t| normalise(t.name).contains(&wanted));
        if let (Some(t), None) = (containing.next(), containing.next()) {
            return Suggestion::Active(t);
        }
    }
    // A misspelt name: a few edits, scaled with the length so short names need near matches.
    let scored = techniques().iter().map(|t| {
        let name = normalise(t.name);
        let limit = (name.chars().count() / 5).max(1);
        (edit_distance(&wanted, &name), limit, t)
    });
    let mut best: Option<(usize, &'static Technique)> = None;
    let mut tied = false;
    for (distance, limit, t) in scored {
        if distance > limit {
            continue;
        }
        match best {
            Some((d, _)) if d < distance => {}
            Some((d, _)) if d == distance => tied = true,
            _ => {
                best = Some((distance, t));
                tied = false;
            }
        }
    }
    match best {
        Some((_, t)) if !tied => Suggestion::Active(t),
        _ => Suggestion::None,
    }
}

/// Case and spacing are noise when comparing names typed by hand.
pub(super) fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Optimal string alignment distance: Levenshtein plus adjacent transpositions, since
/// swapped digits (`T0585` for `T0855`) are a typing slip, not two.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut table = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in table.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in table[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (table[i - 1][j] + 1)
                .min(table[i][j - 1] + 1)
                .min(table[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(table[i - 2][j - 2] + 1);
            }
            table[i][j] = best;
        }
    }
    table[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn transposition_is_one_edit() {
        assert_eq!(edit_distance("T0585", "T0855"), 1);
        assert_eq!(edit_distance("T0855", "T0855"), 0);
        assert_eq!(edit_distance("T1190", "T0890"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
