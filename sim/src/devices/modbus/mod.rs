//! Simulated Modbus TCP devices.
//!
//! Every PLC of the plant owns a [`server::ModbusServer`]: its register map
//! ([`map::RegisterMap`]), identification ([`identity::DeviceIdentity`]),
//! diagnostics state and CPU capacity ([`capacity::TokenBucket`]). The network
//! layer hands it one request ADU at a time together with the simulated time
//! and sends back whatever bytes it returns; the server never panics and
//! never reads a clock, so a plant run is reproducible byte for byte.
//!
//! All PDUs are encoded and decoded with `modbus-core` 0.2.0. Where that crate
//! cannot produce the bytes the Modbus Application Protocol spec v1.1b3
//! requires (FC 5 response, FC 8, 17, 22, 43), the module sends
//! `Response::Custom` with the spec's layout; each place says why.
//!
//! * [`map`]: the four data tables and read-only ranges.
//! * [`identity`]: FC 43/14 and FC 17 answers.
//! * [`capacity`]: requests-per-second model.
//! * [`config`]: the `[plc.modbus]` TOML schema and its validation.
//! * [`server`]: the request handler.
//! * [`crate::wire::modbus::value`]: signed, 32-bit and float values in one or two registers.
//!
//! The bytes themselves are read and written by [`crate::wire::modbus`].

pub mod capacity;
pub mod config;
pub mod identity;
pub mod map;
pub mod server;

#[cfg(test)]
mod server_tests;

pub use capacity::{OverloadPolicy, TokenBucket};
pub use config::{IdentityConfig, ModbusDeviceConfig};
pub use identity::DeviceIdentity;
pub use map::{AddrRange, MapError, RegisterMap, Table};
pub use server::{DiagnosticCounters, DropReason, Handled, ModbusServer, ServerReply, WrittenRange};
