//! Poller ticks: the Modbus pollers (HMIs and historians) stepped without the schedule. In
//! a plant of many PLCs polled by one SCADA HMI, most ticks that are not scan ticks exist
//! only to hand one answer to one poller, or to start a poll round; when nothing else is
//! due, the runner (`world::Sim`) does that as part of a scan tick.

use super::historian::Historian;
use super::hmi::Hmi;
use super::host::{HostRef, Mail};
use crate::base::clock::Wakeups;
use crate::base::events::EventLog;
use crate::base::time::SimTime;
use crate::net::Network;
use bevy_ecs::prelude::*;

/// The HMIs, as the poller tick and the site's procedures (which send commands through an
/// HMI) reach them: one query, held by [`super::procedure::ProcedureParams`].
pub(crate) type Hmis<'w, 's> = Query<'w, 's, (Entity, &'static HostRef, &'static mut Hmi)>;

/// The historians, as the poller tick reaches them.
pub(crate) type Historians<'w, 's> = Query<'w, 's, (Entity, &'static HostRef, &'static mut Historian)>;

/// Which pollers a poller tick steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Those with answers waiting: no poller's own wake-up is due.
    Answered,
    /// Every one, as the full tick's systems would: a wake-up some poller asked for
    /// ([`Wakeups::poller_at`]) is due, and the runner does not know whose.
    All,
}

/// Steps, at `now`, the HMIs and then the historians that `which` names, in the order the
/// full tick's systems visit them (the agents phase: HMIs' kind before historians'). A
/// poller left out would do nothing at `now`: every agent acts only at a wake-up it asked
/// for or on what it was sent.
pub(crate) fn step(
    now: SimTime,
    which: Step,
    (hmis, historians): (&mut Hmis, &mut Historians),
    mail: &mut Mail,
    net: &mut Network,
    wake: &mut Wakeups,
    log: &mut EventLog,
) {
    // A poller stepped with nothing waiting reads an empty inbox, as its system would.
    let mut empty = super::host::ClientInbox::default();
    for (e, host, mut hmi) in hmis {
        let Some(inbox) = mail
            .client_inbox(e)
            .or((which == Step::All).then_some(&mut empty))
        else {
            continue;
        };
        hmi.step(host.0, inbox, now, net, wake, log);
    }
    for (e, host, mut h) in historians {
        let Some(inbox) = mail
            .client_inbox(e)
            .or((which == Step::All).then_some(&mut empty))
        else {
            continue;
        };
        h.step(host.0, inbox, now, net, wake, log);
    }
}
