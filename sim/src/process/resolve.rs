//! Turns `"<component>.<field>"` references into [`SignalId`]s while a
//! process is being built, with errors that say what *would* have been valid.

use std::collections::BTreeMap;

use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::signals::{SignalId, Signals};

/// A registered component: its fields and where it was declared.
#[derive(Debug)]
struct Entry {
    fields: &'static [&'static str],
    path: String,
}

/// Signal table under construction.
#[derive(Debug, Default)]
pub(crate) struct Resolver {
    signals: Signals,
    components: BTreeMap<String, Entry>,
}

impl Resolver {
    /// Declares a component and its signals (all start at 0). Names must be
    /// unique and usable as the first part of a dotted signal name.
    pub(crate) fn register(
        &mut self,
        at: &At,
        name: &str,
        fields: &'static [&'static str],
    ) -> Result<(), ConfigError> {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(ConfigError::new(
                at.field("name"),
                at.span.clone(),
                format!("expected a non-empty name of letters, digits, '_' or '-', got {name:?}"),
            ));
        }
        if let Some(first) = self.components.get(name) {
            return Err(ConfigError::new(
                at.field("name"),
                at.span.clone(),
                format!(
                    "duplicate component name {name:?} (already used by {})",
                    first.path
                ),
            ));
        }
        for field in fields {
            self.signals.register(format!("{name}.{field}"));
        }
        let path = at.path.clone();
        self.components.insert(name.to_string(), Entry { fields, path });
        Ok(())
    }

    /// Id of a component's own signal. Only called with a `field` from the
    /// list the component registered, so a miss is a bug in this module.
    pub(crate) fn own(&self, component: &str, field: &str) -> SignalId {
        self.signals
            .id(&format!("{component}.{field}"))
            .unwrap_or_else(|| panic!("{component}.{field} was not registered"))
    }

    /// Resolves a reference to any component's signal. `field` is the dotted
    /// config path of the reference, for the error.
    pub(crate) fn resolve(
        &self,
        reference: &Spanned<String>,
        field: String,
    ) -> Result<SignalId, ConfigError> {
        let name = reference.get_ref();
        if let Some(id) = self.signals.id(name) {
            return Ok(id);
        }
        let span = Some(reference.span()).filter(|s| s.end > s.start);
        let fail = |message: String| Err(ConfigError::new(field.clone(), span.clone(), message));
        let Some((component, _)) = name.split_once('.') else {
            return fail(format!("expected a signal \"<component>.<field>\", got {name:?}"));
        };
        match self.components.get(component) {
            Some(entry) => fail(format!(
                "unknown signal {name:?}; known signals of {component}: {}",
                entry.fields.join(", ")
            )),
            None => {
                let known: Vec<&str> = self.components.keys().map(String::as_str).collect();
                fail(format!(
                    "unknown signal {name:?}: no component named {component:?}; known components: {}",
                    known.join(", ")
                ))
            }
        }
    }

    /// Resolves a list of references, e.g. a tank's `inflows`.
    pub(crate) fn resolve_all(
        &self,
        references: &[Spanned<String>],
        field: String,
    ) -> Result<Vec<SignalId>, ConfigError> {
        references
            .iter()
            .enumerate()
            .map(|(i, r)| self.resolve(r, format!("{field}[{i}]")))
            .collect()
    }

    /// True if `name` is a registered component.
    pub(crate) fn has_component(&self, name: &str) -> bool {
        self.components.contains_key(name)
    }

    /// Sets a signal's value before the first step.
    pub(crate) fn init(&mut self, id: SignalId, v: f64) {
        self.signals.set(id, v);
    }

    /// A signal's value before the first step.
    pub(crate) fn initial(&self, id: SignalId) -> f64 {
        self.signals.get(id)
    }

    /// The finished signal table.
    pub(crate) fn into_signals(self) -> Signals {
        self.signals
    }
}
