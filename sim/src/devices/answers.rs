//! Answer ticks: the HMIs and historians that have Modbus answers waiting are stepped
//! without the schedule. In a plant of many PLCs polled by one SCADA HMI, most full ticks
//! would exist only to hand one answer to one poller; the runner (`world::Sim`) does that
//! as part of a scan tick instead, when nothing else is due.

use super::historian::Historian;
use super::hmi::Hmi;
use super::host::{HostRef, Mail};
use crate::base::clock::Wakeups;
use crate::base::events::EventLog;
use crate::base::time::SimTime;
use crate::net::Network;
use bevy_ecs::prelude::*;

/// The HMIs, as the answer tick and the site's procedures (which send commands through an
/// HMI) reach them: one query, held by [`super::procedure::ProcedureParams`].
pub(crate) type Hmis<'w, 's> = Query<'w, 's, (Entity, &'static HostRef, &'static mut Hmi)>;

/// The historians, as the answer tick reaches them.
pub(crate) type Historians<'w, 's> = Query<'w, 's, (Entity, &'static HostRef, &'static mut Historian)>;

/// Steps, at `now`, every HMI and then every historian with answers waiting, in the order
/// the full tick's systems visit them (the agents phase: HMIs' kind before historians'). A
/// poller with nothing waiting is left alone: with no wake-up of the agents due, its step
/// would do nothing (every agent acts only at a wake-up it asked for or on what it was
/// sent).
pub(crate) fn answer(
    now: SimTime,
    (hmis, historians): (&mut Hmis, &mut Historians),
    mail: &mut Mail,
    net: &mut Network,
    wake: &mut Wakeups,
    log: &mut EventLog,
) {
    for (e, host, mut hmi) in hmis {
        if let Some(inbox) = mail.client_inbox(e) {
            hmi.step(host.0, inbox, now, net, wake, log);
        }
    }
    for (e, host, mut h) in historians {
        if let Some(inbox) = mail.client_inbox(e) {
            h.step(host.0, inbox, now, net, wake, log);
        }
    }
}
