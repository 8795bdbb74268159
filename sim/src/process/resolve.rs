//! Turns `"<component>.<field>"` references into [`SignalId`]s while a
//! process is being built, with errors that say what *would* have been valid.

use std::collections::BTreeMap;

use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::signals::{SignalId, SignalList, Signals};

/// A registered component: its kind, its fields and where it was declared.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// The component kind's table, e.g. `"heater"`.
    pub table: &'static str,
    pub fields: &'static [&'static str],
    /// The fields a device may drive.
    pub commands: &'static [&'static str],
    path: String,
}

/// Every component by name: what each is and which of its signals are commands. Kept by
/// the process after building, so devices wired to it get the same helpful errors.
#[derive(Clone, Debug, Default)]
pub(crate) struct Catalog(BTreeMap<String, Entry>);

impl Catalog {
    /// Why `name` is not a signal, listing what would have been: the component's signals,
    /// or the known components.
    pub(crate) fn unknown(&self, name: &str) -> String {
        let Some((component, _)) = name.split_once('.') else {
            return format!("expected a signal \"<component>.<field>\", got {name:?}");
        };
        match self.0.get(component) {
            Some(entry) => format!(
                "unknown signal {name:?}; known signals of {component}: {}",
                entry.fields.join(", ")
            ),
            None => {
                let known: Vec<&str> = self.0.keys().map(String::as_str).collect();
                format!(
                    "unknown signal {name:?}: no component named {component:?}; known components: {}",
                    known.join(", ")
                )
            }
        }
    }

    /// The component owning a signal `"<component>.<field>"`, and whether the field is one
    /// of its commands.
    pub(crate) fn owner(&self, name: &str) -> Option<(&str, &Entry, bool)> {
        let (component, field) = name.split_once('.')?;
        let (key, entry) = self.0.get_key_value(component)?;
        Some((key.as_str(), entry, entry.commands.contains(&field)))
    }
}

/// Signal table under construction.
#[derive(Debug, Default)]
pub(crate) struct Resolver {
    signals: Signals,
    components: Catalog,
}

impl Resolver {
    /// Declares a component and its signals (all start at 0). Names must be
    /// unique and usable as the first part of a dotted signal name.
    pub(crate) fn register(
        &mut self,
        at: &At,
        name: &str,
        table: &'static str,
        fields: &'static [&'static str],
        commands: &'static [&'static str],
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
        if let Some(first) = self.components.0.get(name) {
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
        let entry = Entry {
            table,
            fields,
            commands,
            path,
        };
        self.components.0.insert(name.to_string(), entry);
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
        Err(ConfigError::new(field, span, self.components.unknown(name)))
    }

    /// Resolves a list of references, e.g. a tank's `inflows`.
    pub(crate) fn resolve_all(
        &self,
        references: &[Spanned<String>],
        field: String,
    ) -> Result<SignalList, ConfigError> {
        references
            .iter()
            .enumerate()
            .map(|(i, r)| self.resolve(r, format!("{field}[{i}]")))
            .collect()
    }

    /// True if `name` is a registered component.
    pub(crate) fn has_component(&self, name: &str) -> bool {
        self.components.0.contains_key(name)
    }

    /// The kind (table) of a registered component, e.g. `"loop"`.
    pub(crate) fn table_of(&self, name: &str) -> Option<&'static str> {
        self.components.0.get(name).map(|e| e.table)
    }

    /// Sets a signal's value before the first step.
    pub(crate) fn init(&mut self, id: SignalId, v: f64) {
        self.signals.set(id, v);
    }

    /// A signal's value before the first step.
    pub(crate) fn initial(&self, id: SignalId) -> f64 {
        self.signals.get(id)
    }

    /// The finished signal table and the components' catalogue.
    pub(crate) fn into_parts(self) -> (Signals, Catalog) {
        (self.signals, self.components)
    }
}
