//! Impacts: safety limits crossed, labelled with MITRE ATT&CK for ICS techniques, and the
//! catalogue of impact techniques the range produces (limits carry the physical ones; the
//! devices record view, control and protection lost: [`crate::devices::impacts`]).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ATT&CK for ICS *Impact* technique the range produces: the five a crossed limit can
/// stand for ([`ImpactTechnique::LIMITS`]), and the four devices record when operators lose
/// their view or their control of the process, or protection stops working.
///
/// Serialized as, and parsed from, the technique ID (`technique = "T0879"`),
/// because IDs are stable while names are occasionally reworded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImpactTechnique {
    /// T0879 Damage to Property.
    DamageToProperty,
    /// T0880 Loss of Safety.
    LossOfSafety,
    /// T0826 Loss of Availability.
    LossOfAvailability,
    /// T0827 Loss of Control.
    LossOfControl,
    /// T0828 Loss of Productivity and Revenue.
    LossOfProductivityAndRevenue,
    /// T0815 Denial of View: an HMI has had no valid answer from a PLC for a while.
    DenialOfView,
    /// T0829 Loss of View: that silence lasted long enough to need hands-on recovery.
    LossOfView,
    /// T0813 Denial of Control: an operator's command got no answer, or an exception.
    DenialOfControl,
    /// T0837 Loss of Protection: a protection relay or safety system stopped its logic.
    LossOfProtection,
}

impl ImpactTechnique {
    /// All techniques, in declaration order.
    pub const ALL: [ImpactTechnique; 9] = [
        Self::DamageToProperty,
        Self::LossOfSafety,
        Self::LossOfAvailability,
        Self::LossOfControl,
        Self::LossOfProductivityAndRevenue,
        Self::DenialOfView,
        Self::LossOfView,
        Self::DenialOfControl,
        Self::LossOfProtection,
    ];

    /// The techniques a process limit can carry: physical consequences. View, control and
    /// protection lost are facts about devices, recorded by them, never by a signal's value.
    pub const LIMITS: [ImpactTechnique; 5] = [
        Self::DamageToProperty,
        Self::LossOfSafety,
        Self::LossOfAvailability,
        Self::LossOfControl,
        Self::LossOfProductivityAndRevenue,
    ];

    /// Whether a process limit can carry this technique.
    pub fn is_limit(&self) -> bool {
        Self::LIMITS.contains(self)
    }

    /// ATT&CK for ICS technique ID, e.g. `"T0879"`.
    pub fn id(&self) -> &'static str {
        match self {
            Self::DamageToProperty => "T0879",
            Self::LossOfSafety => "T0880",
            Self::LossOfAvailability => "T0826",
            Self::LossOfControl => "T0827",
            Self::LossOfProductivityAndRevenue => "T0828",
            Self::DenialOfView => "T0815",
            Self::LossOfView => "T0829",
            Self::DenialOfControl => "T0813",
            Self::LossOfProtection => "T0837",
        }
    }

    /// Official ATT&CK for ICS technique name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::DamageToProperty => "Damage to Property",
            Self::LossOfSafety => "Loss of Safety",
            Self::LossOfAvailability => "Loss of Availability",
            Self::LossOfControl => "Loss of Control",
            Self::LossOfProductivityAndRevenue => "Loss of Productivity and Revenue",
            Self::DenialOfView => "Denial of View",
            Self::LossOfView => "Loss of View",
            Self::DenialOfControl => "Denial of Control",
            Self::LossOfProtection => "Loss of Protection",
        }
    }

    /// Parses a technique ID such as `"T0879"`.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.id() == id)
    }
}

impl std::fmt::Display for ImpactTechnique {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.id(), self.name())
    }
}

impl Serialize for ImpactTechnique {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for ImpactTechnique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        Self::from_id(&id).ok_or_else(|| {
            let known: Vec<_> = Self::ALL.iter().map(|t| t.to_string()).collect();
            serde::de::Error::custom(format!(
                "unknown ATT&CK for ICS impact technique {id:?}; expected one of: {}",
                known.join(", ")
            ))
        })
    }
}

/// Deserializes a limit's technique: one of [`ImpactTechnique::LIMITS`], with an error
/// listing them for any other (a signal crossing a threshold is not a lost view).
pub(crate) fn limit_technique<'de, D: Deserializer<'de>>(d: D) -> Result<ImpactTechnique, D::Error> {
    let id = String::deserialize(d)?;
    let known: Vec<_> = ImpactTechnique::LIMITS.iter().map(|t| t.to_string()).collect();
    match ImpactTechnique::from_id(&id) {
        Some(t) if t.is_limit() => Ok(t),
        Some(t) => Err(serde::de::Error::custom(format!(
            "{t} is recorded by devices, not by a limit; a limit's technique is one of: {}",
            known.join(", ")
        ))),
        None => Err(serde::de::Error::custom(format!(
            "unknown ATT&CK for ICS impact technique {id:?}; a limit's technique is one of: {}",
            known.join(", ")
        ))),
    }
}

/// [`limit_technique`] for an optional field.
pub(crate) fn opt_limit_technique<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<ImpactTechnique>, D::Error> {
    limit_technique(d).map(Some)
}

/// A safety limit crossed during [`crate::process::Process::step`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Impact {
    /// Name of the limit (`[[process.limit]]` name, or `<component>.<kind>`
    /// for built-in limits such as `raw_tank.overflow`).
    pub limit: String,
    /// Component owning the watched signal.
    pub component: String,
    /// ATT&CK for ICS technique this impact represents.
    pub technique: ImpactTechnique,
    /// Full name of the watched signal.
    pub signal: String,
    /// Signal value when the limit fired.
    pub value: f64,
    /// Threshold that was crossed.
    pub threshold: f64,
    /// Human-readable description from the config.
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_round_trip() {
        #[derive(Deserialize, Serialize)]
        struct W {
            technique: ImpactTechnique,
        }
        for t in ImpactTechnique::ALL {
            let src = format!("technique = \"{}\"\n", t.id());
            let w: W = toml::from_str(&src).unwrap();
            assert_eq!(w.technique, t);
            assert_eq!(toml::to_string(&w).unwrap(), src);
        }
        assert_eq!(ImpactTechnique::LossOfSafety.name(), "Loss of Safety");
        assert_eq!(ImpactTechnique::LossOfAvailability.id(), "T0826");
        let err = toml::from_str::<W>("technique = \"T9999\"").err().unwrap();
        assert!(err.message().contains("T0879 Damage to Property"), "{err}");
        assert_eq!(
            ImpactTechnique::from_id("T0837"),
            Some(ImpactTechnique::LossOfProtection)
        );
        assert!(!ImpactTechnique::DenialOfView.is_limit());
    }

    #[test]
    fn a_limit_cannot_carry_a_device_impact() {
        #[derive(Deserialize)]
        struct L {
            #[serde(deserialize_with = "limit_technique")]
            #[allow(dead_code)]
            technique: ImpactTechnique,
        }
        let err = toml::from_str::<L>("technique = \"T0815\"").err().unwrap();
        assert!(
            err.message()
                .contains("T0815 Denial of View is recorded by devices"),
            "{err}"
        );
        assert!(toml::from_str::<L>("technique = \"T0880\"").is_ok());
        let err = toml::from_str::<L>("technique = \"T0001\"").err().unwrap();
        assert!(
            err.message()
                .contains("\"T0001\"; a limit's technique is one of: T0879"),
            "{err}"
        );
        assert!(!err.message().contains("T0815"), "{err}");
    }
}
