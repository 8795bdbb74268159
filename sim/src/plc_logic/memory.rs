//! The PLC's process image as seen by the program.
//!
//! In otrange the process image *is* the PLC's Modbus register map, owned by
//! the Modbus/PLC runtime. This file only declares the interface the program
//! needs (plus a tiny vector-backed implementation for tests); when the module
//! is moved into the main crate it can be replaced by a re-export of the real
//! types without touching the rest of `crate::plc_logic`.

/// One of the four Modbus data areas.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Area {
    /// Read/write single bits (Modbus function codes 1, 5, 15).
    Coil,
    /// Read-only single bits for Modbus clients (function code 2).
    DiscreteInput,
    /// Read-only 16-bit registers for Modbus clients (function code 4).
    InputRegister,
    /// Read/write 16-bit registers (function codes 3, 6, 16).
    HoldingRegister,
}

impl Area {
    /// Whether the area holds single bits (values 0/1) rather than words.
    pub fn is_bit(self) -> bool {
        matches!(self, Area::Coil | Area::DiscreteInput)
    }

    /// Whether a Modbus *client* may write the area. The PLC program itself
    /// may write every area (it owns its image), but writing an input area
    /// usually means the program is publishing a status value.
    pub fn is_client_writable(self) -> bool {
        matches!(self, Area::Coil | Area::HoldingRegister)
    }

    /// The operand prefix used in the TOML program (`co`, `di`, `ir`, `hr`).
    pub fn prefix(self) -> &'static str {
        match self {
            Area::Coil => "co",
            Area::DiscreteInput => "di",
            Area::InputRegister => "ir",
            Area::HoldingRegister => "hr",
        }
    }

    /// The Modbus function code that reads the area (1 coils, 2 discrete inputs, 3 holding
    /// registers, 4 input registers): the area's code in the vendor protocol's I/O objects.
    pub fn read_function(self) -> u8 {
        match self {
            Area::Coil => 1,
            Area::DiscreteInput => 2,
            Area::HoldingRegister => 3,
            Area::InputRegister => 4,
        }
    }

    /// Inverse of [`read_function`](Self::read_function); `None` for any other code.
    pub fn from_read_function(code: u8) -> Option<Area> {
        match code {
            1 => Some(Area::Coil),
            2 => Some(Area::DiscreteInput),
            3 => Some(Area::HoldingRegister),
            4 => Some(Area::InputRegister),
            _ => None,
        }
    }

    /// The area's name in the plural, for messages ("16 holding registers").
    pub fn plural(self) -> &'static str {
        match self {
            Area::Coil => "coils",
            Area::DiscreteInput => "discrete inputs",
            Area::InputRegister => "input registers",
            Area::HoldingRegister => "holding registers",
        }
    }
}

/// Register memory a PLC program reads and writes during a scan.
pub trait PlcMemory {
    /// Raw value at `addr` (bits as 0/1); `None` when outside the map.
    fn get(&self, area: Area, addr: u16) -> Option<u16>;
    /// Store `v`; returns `false` when `addr` is outside the map.
    fn set(&mut self, area: Area, addr: u16, v: u16) -> bool;
    /// Number of addresses in `area` (valid addresses are `0..len`).
    fn len(&self, area: Area) -> u16;
    /// A count that moves whenever a value changes, if the memory keeps one: equal counts
    /// then mean equal contents, and a program whose last scan changed nothing may skip the
    /// next ([`crate::plc_logic::PlcProgram::scan`]). `None` (the default): every scan runs.
    fn changes(&self) -> Option<u64> {
        None
    }
}

/// Plain vector-backed [`PlcMemory`], for tests and examples.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VecMemory {
    /// Coils, one `u16` (0/1) per bit.
    pub coils: Vec<u16>,
    /// Discrete inputs, one `u16` (0/1) per bit.
    pub discrete_inputs: Vec<u16>,
    /// Input registers.
    pub input_registers: Vec<u16>,
    /// Holding registers.
    pub holding_registers: Vec<u16>,
}

impl VecMemory {
    /// Zero-filled memory with the given number of addresses per area.
    pub fn new(coils: u16, discrete_inputs: u16, input_registers: u16, holding_registers: u16) -> Self {
        VecMemory {
            coils: vec![0; coils.into()],
            discrete_inputs: vec![0; discrete_inputs.into()],
            input_registers: vec![0; input_registers.into()],
            holding_registers: vec![0; holding_registers.into()],
        }
    }

    fn area(&self, area: Area) -> &Vec<u16> {
        match area {
            Area::Coil => &self.coils,
            Area::DiscreteInput => &self.discrete_inputs,
            Area::InputRegister => &self.input_registers,
            Area::HoldingRegister => &self.holding_registers,
        }
    }

    fn area_mut(&mut self, area: Area) -> &mut Vec<u16> {
        match area {
            Area::Coil => &mut self.coils,
            Area::DiscreteInput => &mut self.discrete_inputs,
            Area::InputRegister => &mut self.input_registers,
            Area::HoldingRegister => &mut self.holding_registers,
        }
    }
}

impl PlcMemory for VecMemory {
    fn get(&self, area: Area, addr: u16) -> Option<u16> {
        self.area(area).get(usize::from(addr)).copied()
    }

    fn set(&mut self, area: Area, addr: u16, v: u16) -> bool {
        let v = if area.is_bit() { u16::from(v != 0) } else { v };
        match self.area_mut(area).get_mut(usize::from(addr)) {
            Some(slot) => {
                *slot = v;
                true
            }
            None => false,
        }
    }

    fn len(&self, area: Area) -> u16 {
        // Constructed from u16 sizes, so this never truncates.
        u16::try_from(self.area(area).len()).unwrap_or(u16::MAX)
    }
}
