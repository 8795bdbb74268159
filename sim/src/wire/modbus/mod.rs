//! Modbus TCP on the wire, after smoltcp's wire layer: a checked view of an ADU
//! ([`Adu::new_checked`], [`Adu::first_in`]), stream framing ([`frame_len`]), and typed
//! requests and responses with `parse` and `emit` over modbus-core ([`RequestRepr`],
//! [`encode_request`], [`decode_response`]).
//!
//! * [`adu`]: MBAP header checks, the ADU view, framing a byte stream.
//! * [`codes`]: function and exception codes, the four data tables.
//! * [`request`]: request builders and [`RequestRepr`].
//! * [`response`]: response decoding, exception answers, device identification.
//! * [`value`]: how devices hold signed, 32-bit and float values in 16-bit registers.
//! * [`vendor`]: FC 90, the UMAS-like vendor function: sub-functions, request builders,
//!   the input image's and a firmware image's layouts.

pub mod adu;
pub mod codes;
pub mod describe;
pub mod request;
pub mod response;
pub mod value;
pub mod vendor;

pub use adu::{
    Adu, AduBytes, FrameStatus, HeaderFaults, MAX_ADU_LEN, MAX_PDU_LEN, MBAP_HEADER_LEN, MalformedReason,
    be_u16, emit_adu, frame_len, set_data_u16, set_transaction_id,
};
pub use codes::*;
pub use describe::describe_request;
/// The MBAP fields a response echoes, as modbus-core carries them.
pub use modbus_core::tcp::Header;
pub use request::*;
pub use response::*;
