//! The plant's devices as ECS components and the systems that run them: PLCs, HMIs with
//! their operators, historians, the engineering workstation and IT hosts; [`host`] holds what
//! every host has (its inboxes), [`modbus`] the Modbus server a PLC answers with.

pub mod ews;
pub mod historian;
pub mod hmi;
pub mod host;
pub mod host_activity;
pub mod host_log;
pub mod impacts;
pub mod kind;
pub mod modbus;
pub mod plc;
pub mod poller;
pub(crate) mod poller_tick;
pub mod procedure;
pub mod remote_io;
pub(crate) mod scan_ahead;
pub mod summary;
pub mod traffic;
pub mod vendor;

use bevy_ecs::component::Component;

/// Marks a host whose client inbox some agent reads; other hosts' answers are discarded.
#[derive(Component, Debug, Default, Clone, Copy)]
pub struct ClientAgent;

/// Marks a host whose client agent polls Modbus servers (an HMI or a historian): a Modbus
/// answer for it needs only that agent's step, which an answer tick gives it without the
/// schedule (`world::Sim`; most of a large plant's ticks carry such an answer).
#[derive(Component, Debug, Default, Clone, Copy)]
pub struct ModbusPoller;

/// Every device kind, in the order they are built and run within a phase of the tick:
/// `"plant-file section" => PlantConfig field: kind`. Adding a kind is its module and one
/// line here; the plant file's schema, the builder and the schedule follow from this list.
#[macro_export]
macro_rules! for_each_device_kind {
    ($then:ident) => {
        $then! {
            "plc" => plcs: $crate::devices::plc::PlcKind,
            "hmi" => hmis: $crate::devices::hmi::HmiKind,
            "historian" => historians: $crate::devices::historian::HistorianKind,
            "engineering_workstation" => engineering_workstations: $crate::devices::ews::EwsKind,
            "traffic" => traffic: $crate::devices::traffic::TrafficKind,
            "procedure" => procedures: $crate::devices::procedure::ProcedureKind,
            "remote_io" => remote_ios: $crate::devices::remote_io::RemoteIoKind,
            "host_activity" => host_activities: $crate::devices::host_activity::HostActivityKind,
        }
    };
}
