//! `[expect]`'s impact expectations by limit: which of the plant's limits must fire, with
//! which technique and how often, and which must not. A count of impacts says something
//! happened; naming the limit says the right thing happened (the overdose, not an
//! overflow that a mis-tuned band produced).

use otrange_sim::base::config_error::ConfigError;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// `impacts` in `[expect]`: a number of impact events, or the exact list of limits that
/// fire.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ImpactsExpectation {
    /// `impacts = 2`: exactly this many impact events.
    Count(u64),
    /// `impacts = [{ limit = "naoh_overdose", technique = "T0880" }]`: exactly these
    /// limits fire (each at least once, or `count` times), and no other.
    Exactly(Vec<LimitExpectation>),
}

/// One limit an exercise expects to fire (or, with `count = 0`, not to).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitExpectation {
    /// A `[[process.limit]]` name or a built-in one (`"<component>.overflow"`).
    pub limit: Spanned<String>,
    /// The ATT&CK impact technique its impacts must carry (default: whatever the plant
    /// gives the limit).
    #[serde(default)]
    pub technique: Option<Spanned<String>>,
    /// How many impact events from it (default: at least one; 0: none).
    #[serde(default)]
    pub count: Option<u64>,
}

impl<'de> Deserialize<'de> for ImpactsExpectation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ImpactsExpectation;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of impacts, or a list of { limit, technique, count } tables")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map(ImpactsExpectation::Count)
                    .map_err(|_| E::custom(format!("expected a number of impacts (0 or more), got {v}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ImpactsExpectation::Count(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(e) = seq.next_element::<LimitExpectation>()? {
                    out.push(e);
                }
                Ok(ImpactsExpectation::Exactly(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Checks every limit named in `impacts`, `impacts_include` and `no_impacts_from` against
/// the plant's limits (`known`, with each limit's technique) and every technique against
/// the impact techniques: errors name the field, point at the name, and list what exists.
pub fn check_names(
    lists: &[(&str, &[LimitExpectation])],
    none_from: &[Spanned<String>],
    known: &[(String, &'static str)],
) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let unknown = |field: String, name: &Spanned<String>| {
        let names: Vec<&str> = known.iter().map(|(n, _)| n.as_str()).collect();
        ConfigError::new(
            field,
            Some(name.span()),
            format!(
                "unknown limit {:?}; the plant's limits are: {}",
                name.get_ref(),
                names.join(", ")
            ),
        )
    };
    for (key, list) in lists {
        for (i, e) in list.iter().enumerate() {
            if !known.iter().any(|(n, _)| n == e.limit.get_ref()) {
                errors.push(unknown(format!("expect.{key}[{i}].limit"), &e.limit));
            }
            if let Some(t) = &e.technique
                && otrange_sim::process::ImpactTechnique::from_id(t.get_ref()).is_none_or(|t| !t.is_limit())
            {
                let ids: Vec<&str> = otrange_sim::process::ImpactTechnique::LIMITS
                    .iter()
                    .map(|t| t.id())
                    .collect();
                errors.push(ConfigError::new(
                    format!("expect.{key}[{i}].technique"),
                    Some(t.span()),
                    format!(
                        "{:?} is not an ATT&CK impact technique a limit can carry: {}",
                        t.get_ref(),
                        ids.join(", ")
                    ),
                ));
            }
        }
    }
    for (i, name) in none_from.iter().enumerate() {
        if !known.iter().any(|(n, _)| n == name.get_ref()) {
            errors.push(unknown(format!("expect.no_impacts_from[{i}]"), name));
        }
    }
    errors
}

/// The impacts a run had, by limit: each limit's name, technique and number of events.
pub type Fired<'a> = Vec<(&'a str, &'a str, u64)>;

/// Whether `fired` satisfies one expected limit; the text says what was seen of it.
pub fn satisfied(e: &LimitExpectation, fired: &Fired<'_>) -> (bool, String) {
    let hit = fired.iter().find(|(l, _, _)| *l == e.limit.get_ref().as_str());
    let n = hit.map_or(0, |h| h.2);
    let count_ok = match e.count {
        Some(c) => c == n,
        None => n > 0,
    };
    let technique_ok = match (&e.technique, hit) {
        (Some(t), Some((_, seen, _))) => t.get_ref() == seen,
        _ => true,
    };
    let seen = match hit {
        Some((l, t, n)) => format!("{l} {t} x{n}"),
        None => format!("{} x0", e.limit.get_ref()),
    };
    (count_ok && technique_ok, seen)
}

/// What an expected limit reads as in the expectation's `expected` text.
pub fn describe(e: &LimitExpectation) -> String {
    let mut s = e.limit.get_ref().clone();
    if let Some(t) = &e.technique {
        s.push(' ');
        s.push_str(t.get_ref());
    }
    match e.count {
        Some(n) => s.push_str(&format!(" x{n}")),
        None => s.push_str(" x1+"),
    }
    s
}
