//! otrange-attacks: the attacker's side of the range.
//!
//! - [`catalogue`]: the MITRE ATT&CK® for ICS v18.1 catalogue every technique ID is checked against.
//! - [`playbook`]: attacks as data, ordered steps of techniques by actors against targets.
//! - [`foothold`]: assume breach, a playbook started from a host the actor already holds.
//! - [`agent`]: actors with footholds and the campaign that replays a playbook in the
//!   simulation, recording each step's outcome.
//! - [`techniques`]: what each technique does on the wire.
//!
//! The simulation knows nothing of this crate: the campaign is an agent system in its
//! `Agents` set, its frames carry labels (ground truth), and the network reports back
//! what became of them.

pub mod agent;
pub mod catalogue;
pub mod coverage;
pub mod foothold;
pub mod playbook;
pub mod techniques;
