//! otrange-defenses: what a defender brings to the range.
//!
//! - [`policy`]: segmentation policies as data. A TOML file of ordered allow/deny rules
//!   (zones, roles, Purdue levels, services, Modbus deep inspection, identities with MFA,
//!   maintenance windows) compiled against the plant into the network's
//!   [`otrange_sim::net::PolicyHook`]. Four policies for the reference plant ship in
//!   `scenarios/policies/`.
//!
//! - [`detect`]: detectors behind one trait, placed at taps, with alerts in Suricata's EVE
//!   shape: Suricata-style rules, a communication allow-list, a statistical anomaly
//!   detector, physics invariants and passive asset discovery.
//!
//! - [`capture`]: real pcap/pcapng captures as detector input: Modbus TCP streams
//!   reassembled and framed, hosts taken from the capture's addresses (`otrange detect`).
//!
//! The simulation knows nothing of this crate: it calls the hook at every enforcement
//! point a frame crosses and logs the rule that denied it.

pub mod capture;
pub mod detect;
pub mod policy;

pub use policy::{Action, Identity, IdentityHandle, Policy};
