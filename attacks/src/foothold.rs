//! Assume breach: a playbook started from a host the actor already holds.
//!
//! Every shipped playbook starts outside (the internet, a phishing mail), so a segmentation
//! policy that stops the first step decides the whole run and says nothing of what happens
//! once someone is inside. A foothold changes the question: the actor holds a host (an
//! engineering workstation, an HMI, an office PC after phishing, the vendor's gateway) with
//! the accounts found there, and the playbook goes on from there, without the steps that
//! only got it in.
//!
//! Which steps are skipped, from the start of the playbook while one of these holds:
//! - an entry step: a technique of ATT&CK's Initial Access tactic and no other (T0822
//!   External Remote Services, T0865 Spearphishing Attachment, T0883 Internet Accessible
//!   Device), or User Execution (T0863, the phishing victim running the attachment: the
//!   second half of getting in);
//! - a step that takes the foothold itself (a technique whose success gives the actor its
//!   target, such as T0886 Remote Services or T0891 Hardcoded Credentials to the foothold).
//!
//! The first step that is neither runs first, from the foothold, and the rest follow as
//! written. So from `hmi-1`, the Oldsmar playbook skips the VPN login and the RDP session to
//! hmi-1 and begins with reading the set point; from `ews-01` it skips the VPN login only and
//! moves to hmi-1 over RDP from the engineering workstation, as an intruder there would.
//!
//! The actor keeps where it started as its home (beacons call home to it) and holds the
//! foothold from the first instant; a policy sees the foothold's identity on its frames (the
//! vendor gateway's signed-in vendor account, say), since that is who the host is.

use crate::playbook::{CredentialRef, Playbook, Timing};
use crate::techniques::initial_access::takes_target;
use otrange_sim::net::topology::{HostId, Topology};

/// Whether a step only gets the actor in: a technique of no tactic but Initial Access
/// (T0886 Remote Services, also Lateral Movement, is a move once inside), or the victim's
/// User Execution.
fn is_entry(technique: &str) -> bool {
    technique == "T0863"
        || crate::catalogue::technique(technique)
            .is_ok_and(|t| t.tactics.iter().all(|tactic| tactic.name == "Initial Access"))
}

/// The playbook started from `host`, and the ids of the steps left out because they only
/// got the actor in. Every actor holds `host` with its accounts; the steps keep their
/// timing, and the first kept step starts when the playbook's first step would have
/// started plus its own delay (`after`), or at its own `at`.
pub fn from_foothold(playbook: &Playbook, host: HostId, topo: &Topology) -> (Playbook, Vec<String>) {
    let mut pb = playbook.clone();
    let skip = pb
        .steps
        .iter()
        .take_while(|s| is_entry(s.technique) || (takes_target(s.technique) && s.target == Some(host)))
        .count();
    let skipped: Vec<String> = pb.steps.drain(..skip).map(|s| s.id).collect();
    if skip > 0
        && let Some(first) = pb.steps.first_mut()
        && let Timing::After(d) = first.timing
    {
        // The skipped chain began at the first step's start; the foothold is held from then.
        let began = match playbook.steps[0].timing {
            Timing::At(t) | Timing::After(t) => t,
        };
        first.timing = Timing::At(began + d);
    }
    let accounts: Vec<CredentialRef> = topo
        .host(host)
        .credentials
        .iter()
        .map(|c| CredentialRef {
            user: c.user.clone(),
            host: None,
        })
        .collect();
    for a in &mut pb.actors {
        if a.start != host && !a.held.contains(&host) {
            a.held.push(host);
        }
        for c in &accounts {
            if !a.credentials.contains(c) {
                a.credentials.push(c.clone());
            }
        }
    }
    pb.foothold = Some(host);
    (pb, skipped)
}
