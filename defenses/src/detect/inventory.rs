//! Placeholder: this detector is being written.
use super::{Alert, BuildContext, ConfigFault, Detector, DetectorConfig};
use otrange_sim::net::Frame;
use otrange_sim::time::SimTime;
use otrange_sim::topology::{HostId, Topology};

pub struct Inventory;
impl Inventory {
    pub fn from_config(_: &DetectorConfig, _: &BuildContext) -> Result<Self, ConfigFault> {
        Err(("kind".into(), "not built yet".into()))
    }
}
impl Detector for Inventory {
    fn name(&self) -> &str {
        ""
    }
    fn observe(&mut self, _: HostId, _: &Frame, _: SimTime, _: &Topology) {}
    fn alerts(&self) -> &[Alert] {
        &[]
    }
}
