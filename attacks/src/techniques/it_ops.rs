//! IT-side collection: pulling data from the historian or a file share (T0811 Data from
//! Information Repositories, T0882 Theft of Operational Information) is one large
//! exchange from the actor's foothold; T0842 Network Sniffing is passive and sends
//! nothing, so it is a step a detector can only see on the host.

use super::{Executor, Outcome, ParamError, Progress, StepCx, param};
use otrange_sim::net::Delivered;
use otrange_sim::time::{SimDuration, SimTime};
use otrange_sim::topology::{HostId, Service, Topology};

const TIMEOUT: SimDuration = SimDuration::from_secs(60);

struct Pull {
    target: HostId,
    service: Service,
    bytes: u32,
    deadline: SimTime,
}

/// `params.service` (default "historian"), `bytes` pulled (default 5 MB).
pub fn build(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    topo: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    param::only(p, &["service", "bytes"])?;
    let target = t.ok_or_else(|| ParamError::new("target", "this technique needs a target host"))?;
    let name = param::string(p, "service", Some("historian"))?;
    let service: Service = toml::Value::String(name.clone())
        .try_into()
        .map_err(|_| ParamError::new("params.service", format!("unknown service {name:?}")))?;
    if !topo.host(target).services.contains(&service) {
        return Err(ParamError::new(
            "params.service",
            format!("{} offers no {name} service", topo.host(target).name),
        ));
    }
    let bytes = param::int(p, "bytes", Some(5_000_000))?;
    Ok(Box::new(Pull {
        target,
        service,
        bytes: u32::try_from(bytes).map_err(|_| ParamError::new("params.bytes", "too large"))?,
        deadline: SimTime::ZERO,
    }))
}

impl Executor for Pull {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        cx.send_flow(self.target, self.service, 600, self.bytes);
        self.deadline = cx.now + TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
    fn reply(&mut self, cx: &mut StepCx, _d: &Delivered) -> Progress {
        Progress::Done(Outcome::Succeeded {
            detail: format!(
                "{} bytes of {} data from {}",
                self.bytes,
                self.service.as_str(),
                cx.name(self.target)
            ),
        })
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        Progress::Done(Outcome::Failed {
            reason: format!("no answer from {}", cx.name(self.target)),
        })
    }
}

struct Sniff;

pub fn build_sniff(
    _: &'static str,
    _: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    param::only(p, &[])?;
    Ok(Box::new(Sniff))
}

impl Executor for Sniff {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        Progress::Done(Outcome::Succeeded {
            detail: format!(
                "listening on {}'s interface (passive: no frames)",
                cx.name(cx.source())
            ),
        })
    }
    fn reply(&mut self, _: &mut StepCx, _: &Delivered) -> Progress {
        Progress::Wait(None)
    }
    fn timer(&mut self, _: &mut StepCx) -> Progress {
        Progress::Wait(None)
    }
}
