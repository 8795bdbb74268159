//! Wire formats: the one place where protocol bytes are interpreted.
//!
//! Every component that reads or writes Modbus bytes goes through [`modbus`], so a change to
//! what counts as a valid frame is one edit and every reader agrees on it.

pub mod modbus;
