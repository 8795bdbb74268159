//! The policy file as written: serde types that keep the span of every value, so that
//! compiling them ([`super::load`]) can point at the exact text of a mistake.
//!
//! Fields that take "one or many" (`from = "any"` or `from = ["hmi-1", "hmi-2"]`) are
//! custom types rather than untagged enums: untagged enums lose the spans of list items.

use otrange_sim::base::time::DurationField;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::fmt;
use std::ops::Range;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyFile {
    pub policy: Header,
    #[serde(default, rename = "identity")]
    pub identities: Vec<IdentityDecl>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleDecl>,
}

/// `[policy]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Header {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    /// Required: a security policy states what happens to traffic no rule mentions.
    pub default: Spanned<String>,
}

/// `[[identity]]`: who is behind a source host at the start of the run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IdentityDecl {
    pub host: Spanned<String>,
    pub user: Spanned<String>,
    #[serde(default)]
    pub mfa: bool,
}

/// `[[rule]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDecl {
    pub name: Spanned<String>,
    pub action: Spanned<String>,
    #[serde(default)]
    pub description: String,
    pub at: Option<Spanned<Strings>>,
    pub from: Option<Spanned<Strings>>,
    pub to: Option<Spanned<Strings>>,
    pub service: Option<Spanned<Strings>>,
    pub port: Option<Spanned<Ints>>,
    pub identity: Option<Spanned<Strings>>,
    pub mfa: Option<Spanned<bool>>,
    pub window: Option<Spanned<WindowDecl>>,
    pub modbus: Option<Spanned<ModbusDecl>>,
}

/// `window = { every, start, length }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WindowDecl {
    pub every: Spanned<DurationField>,
    pub start: Spanned<String>,
    pub length: Spanned<DurationField>,
}

/// `modbus = { functions, unit, access, registers, values }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModbusDecl {
    pub functions: Option<Spanned<Ints>>,
    pub unit: Option<Spanned<Ints>>,
    pub access: Option<Spanned<String>>,
    pub registers: Option<Spanned<Strings>>,
    pub values: Option<Spanned<Ints>>,
}

/// One string or a list of strings, each with its span (a lone string has no span of its
/// own; [`Strings::items`] gives it the span of the whole value).
#[derive(Debug)]
pub(crate) struct Strings(pub Vec<(Option<Range<usize>>, String)>);

/// One integer or a list of integers, spans as for [`Strings`].
#[derive(Debug)]
pub(crate) struct Ints(pub Vec<(Option<Range<usize>>, i64)>);

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Strings;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Strings, E> {
                Ok(Strings(vec![(None, v.to_string())]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strings, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<Spanned<String>>()? {
                    let span = s.span();
                    out.push((Some(span), s.into_inner()));
                }
                Ok(Strings(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Ints {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ints;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer or a list of integers")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ints, E> {
                Ok(Ints(vec![(None, v)]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ints, E> {
                Ok(Ints(vec![(None, i64::try_from(v).unwrap_or(i64::MAX))]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ints, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<Spanned<i64>>()? {
                    let span = s.span();
                    out.push((Some(span), s.into_inner()));
                }
                Ok(Ints(out))
            }
        }
        d.deserialize_any(V)
    }
}
