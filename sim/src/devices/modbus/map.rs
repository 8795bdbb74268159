//! The register map of one Modbus device: the four Modbus data tables plus
//! the address ranges that clients may read but not write.
//!
//! Two kinds of callers touch the map and they have different rights:
//!
//! * the **plant simulation** (the PLC program, physical sensors) writes any
//!   table through the `set_*` methods, including discrete inputs, input
//!   registers and read-only holding registers / coils, because those model
//!   physical inputs wired to the CPU;
//! * **Modbus clients** go through [`RegisterMap::write_coils`] and
//!   [`RegisterMap::write_holding`], which refuse read-only addresses, exactly
//!   like a PLC whose holding registers 0..9 are mapped to an input card.
//!
//! Addresses are the 0-based *protocol* addresses (the ones on the wire), not
//! the 1-based "40001" notation.

/// Number of addressable entries in one Modbus table (addresses 0..=65535).
pub const MAX_TABLE_LEN: usize = 65_536;

pub use crate::wire::modbus::Table;

/// Why a map access failed; the server turns both into exception 2
/// (illegal data address), as the spec requires for unwritable addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The range does not lie inside the table.
    #[error("{table} range starting at {start} with {count} entries is beyond the table size {size}")]
    OutOfRange {
        /// Table accessed.
        table: Table,
        /// First address.
        start: u16,
        /// Number of entries.
        count: usize,
        /// Size of the table.
        size: usize,
    },
    /// A client tried to write an address that is read-only.
    #[error("{table} address {addr} is read-only for Modbus clients")]
    ReadOnly {
        /// Table accessed.
        table: Table,
        /// First read-only address in the written range.
        addr: u16,
    },
}

/// An inclusive address range `first..=last`, as written in the plant TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AddrRange {
    /// First address in the range.
    pub first: u16,
    /// Last address in the range (inclusive).
    pub last: u16,
}

impl AddrRange {
    /// Builds `first..=last`; callers guarantee `first <= last`.
    pub const fn new(first: u16, last: u16) -> Self {
        Self { first, last }
    }

    /// Whether `[start, start + count)` and this range share an address; returns the first shared one.
    fn first_overlap(&self, start: u16, count: usize) -> Option<u16> {
        let end = usize::from(start) + count; // exclusive
        let lo = usize::from(self.first).max(usize::from(start));
        let hi = (usize::from(self.last) + 1).min(end);
        // lo < hi <= 65536, so lo fits in u16.
        (lo < hi).then_some(lo as u16)
    }
}

/// The four data tables and the read-only ranges of one device.
#[derive(Debug, Clone, Default)]
#[repr(C)]
pub struct RegisterMap {
    // In declaration order (`repr(C)`): the change count and the tables a scan's field I/O
    // reads and writes first, the read-only ranges (client writes only) after.
    /// How many writes changed a value so far (see [`RegisterMap::changes`]).
    changes: u64,
    // Small tables (most PLCs declare a handful of registers) are held inline, in the PLC's
    // component: the sweep of scans done ahead then reads them with the PLC, in one stream
    // (0.91x at 10,000 PLCs, see docs/src/performance.md).
    input_registers: smallvec::SmallVec<[u16; 8]>,
    coils: smallvec::SmallVec<[bool; 16]>,
    holding_registers: smallvec::SmallVec<[u16; 8]>,
    discrete_inputs: smallvec::SmallVec<[bool; 16]>,
    read_only_coils: Vec<AddrRange>,
    read_only_holding: Vec<AddrRange>,
}

/// Two maps are equal when their tables and read-only ranges are: how many changes led
/// there is history, not content.
impl PartialEq for RegisterMap {
    fn eq(&self, other: &Self) -> bool {
        self.coils == other.coils
            && self.discrete_inputs == other.discrete_inputs
            && self.input_registers == other.input_registers
            && self.holding_registers == other.holding_registers
            && self.read_only_coils == other.read_only_coils
            && self.read_only_holding == other.read_only_holding
    }
}

impl Eq for RegisterMap {}

impl RegisterMap {
    /// Builds a zeroed map with the given table sizes (each clamped to 65 536).
    pub fn new(
        coils: usize,
        discrete_inputs: usize,
        input_registers: usize,
        holding_registers: usize,
    ) -> Self {
        Self {
            coils: smallvec::smallvec![false; coils.min(MAX_TABLE_LEN)],
            discrete_inputs: smallvec::smallvec![false; discrete_inputs.min(MAX_TABLE_LEN)],
            input_registers: smallvec::smallvec![0; input_registers.min(MAX_TABLE_LEN)],
            holding_registers: smallvec::smallvec![0; holding_registers.min(MAX_TABLE_LEN)],
            read_only_coils: Vec::new(),
            read_only_holding: Vec::new(),
            changes: 0,
        }
    }

    /// How many writes have changed a value of the map so far, whoever made them (a client,
    /// the field inputs, the program). Equal counts mean equal contents, which lets a
    /// program whose last scan changed nothing skip the next one
    /// ([`crate::plc_logic::PlcProgram::scan`]).
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Declares coil ranges that clients may not write (mapped to physical inputs).
    pub fn set_read_only_coils(&mut self, ranges: &[AddrRange]) {
        self.read_only_coils = ranges.to_vec();
        self.read_only_coils.sort();
    }

    /// Declares holding register ranges that clients may not write.
    pub fn set_read_only_holding(&mut self, ranges: &[AddrRange]) {
        self.read_only_holding = ranges.to_vec();
        self.read_only_holding.sort();
    }

    /// Read-only coil ranges, sorted.
    pub fn read_only_coils(&self) -> &[AddrRange] {
        &self.read_only_coils
    }

    /// Read-only holding register ranges, sorted.
    pub fn read_only_holding(&self) -> &[AddrRange] {
        &self.read_only_holding
    }

    /// Number of entries in `table`.
    pub fn len(&self, table: Table) -> usize {
        match table {
            Table::Coils => self.coils.len(),
            Table::DiscreteInputs => self.discrete_inputs.len(),
            Table::InputRegisters => self.input_registers.len(),
            Table::HoldingRegisters => self.holding_registers.len(),
        }
    }

    /// Whether every table is empty.
    pub fn is_empty(&self) -> bool {
        self.coils.is_empty()
            && self.discrete_inputs.is_empty()
            && self.input_registers.is_empty()
            && self.holding_registers.is_empty()
    }

    /// Whether a client write to `addr` in `table` would be refused.
    /// Discrete inputs and input registers are always read-only.
    pub fn is_read_only(&self, table: Table, addr: u16) -> bool {
        self.first_read_only(table, addr, 1).is_some()
    }

    fn first_read_only(&self, table: Table, start: u16, count: usize) -> Option<u16> {
        let ranges = match table {
            Table::Coils => &self.read_only_coils,
            Table::HoldingRegisters => &self.read_only_holding,
            Table::DiscreteInputs | Table::InputRegisters => return Some(start),
        };
        ranges.iter().filter_map(|r| r.first_overlap(start, count)).min()
    }

    /// Checks that `[start, start + count)` lies inside `table`.
    pub fn check_range(&self, table: Table, start: u16, count: usize) -> Result<(), MapError> {
        let size = self.len(table);
        if usize::from(start) + count > size {
            return Err(MapError::OutOfRange {
                table,
                start,
                count,
                size,
            });
        }
        Ok(())
    }

    /// Checks that a client may write `[start, start + count)` of `table`.
    pub fn check_writable(&self, table: Table, start: u16, count: usize) -> Result<(), MapError> {
        self.check_range(table, start, count)?;
        match self.first_read_only(table, start, count) {
            Some(addr) => Err(MapError::ReadOnly { table, addr }),
            None => Ok(()),
        }
    }

    /// Reads `count` bits from the coils or discrete inputs.
    pub fn read_bits(&self, table: Table, start: u16, count: usize) -> Result<&[bool], MapError> {
        self.check_range(table, start, count)?;
        let s = usize::from(start);
        match table {
            Table::Coils => Ok(&self.coils[s..s + count]),
            Table::DiscreteInputs => Ok(&self.discrete_inputs[s..s + count]),
            Table::InputRegisters | Table::HoldingRegisters => Err(MapError::OutOfRange {
                table,
                start,
                count,
                size: 0,
            }),
        }
    }

    /// Reads `count` registers from the input or holding registers.
    pub fn read_registers(&self, table: Table, start: u16, count: usize) -> Result<&[u16], MapError> {
        self.check_range(table, start, count)?;
        let s = usize::from(start);
        match table {
            Table::InputRegisters => Ok(&self.input_registers[s..s + count]),
            Table::HoldingRegisters => Ok(&self.holding_registers[s..s + count]),
            Table::Coils | Table::DiscreteInputs => Err(MapError::OutOfRange {
                table,
                start,
                count,
                size: 0,
            }),
        }
    }

    /// Client write of coils: refuses read-only addresses and writes nothing then.
    /// Returns whether any value changed.
    pub fn write_coils(&mut self, start: u16, values: &[bool]) -> Result<bool, MapError> {
        self.check_writable(Table::Coils, start, values.len())?;
        let s = usize::from(start);
        let dst = &mut self.coils[s..s + values.len()];
        let changed = dst != values;
        dst.copy_from_slice(values);
        self.changes += u64::from(changed);
        Ok(changed)
    }

    /// Client write of holding registers: refuses read-only addresses and writes nothing then.
    /// Returns whether any value changed.
    pub fn write_holding(&mut self, start: u16, values: &[u16]) -> Result<bool, MapError> {
        self.check_writable(Table::HoldingRegisters, start, values.len())?;
        let s = usize::from(start);
        let dst = &mut self.holding_registers[s..s + values.len()];
        let changed = dst != values;
        dst.copy_from_slice(values);
        self.changes += u64::from(changed);
        Ok(changed)
    }

    /// All coils (simulation view).
    pub fn coils(&self) -> &[bool] {
        &self.coils
    }
    /// All discrete inputs (simulation view).
    pub fn discrete_inputs(&self) -> &[bool] {
        &self.discrete_inputs
    }
    /// All input registers (simulation view).
    pub fn input_registers(&self) -> &[u16] {
        &self.input_registers
    }
    /// All holding registers (simulation view).
    pub fn holding_registers(&self) -> &[u16] {
        &self.holding_registers
    }

    /// One coil, `None` beyond the table.
    pub fn coil(&self, addr: u16) -> Option<bool> {
        self.coils.get(usize::from(addr)).copied()
    }
    /// One discrete input, `None` beyond the table.
    pub fn discrete_input(&self, addr: u16) -> Option<bool> {
        self.discrete_inputs.get(usize::from(addr)).copied()
    }
    /// One input register, `None` beyond the table.
    pub fn input_register(&self, addr: u16) -> Option<u16> {
        self.input_registers.get(usize::from(addr)).copied()
    }
    /// One holding register, `None` beyond the table.
    pub fn holding_register(&self, addr: u16) -> Option<u16> {
        self.holding_registers.get(usize::from(addr)).copied()
    }

    /// Simulation write of a coil (ignores read-only ranges). Returns whether it changed.
    pub fn set_coil(&mut self, addr: u16, value: bool) -> Result<bool, MapError> {
        let changed = set_one(&mut self.coils, Table::Coils, addr, value)?;
        self.changes += u64::from(changed);
        Ok(changed)
    }
    /// Simulation write of a discrete input. Returns whether it changed.
    pub fn set_discrete_input(&mut self, addr: u16, value: bool) -> Result<bool, MapError> {
        let changed = set_one(&mut self.discrete_inputs, Table::DiscreteInputs, addr, value)?;
        self.changes += u64::from(changed);
        Ok(changed)
    }
    /// Simulation write of an input register. Returns whether it changed.
    pub fn set_input_register(&mut self, addr: u16, value: u16) -> Result<bool, MapError> {
        let changed = set_one(&mut self.input_registers, Table::InputRegisters, addr, value)?;
        self.changes += u64::from(changed);
        Ok(changed)
    }
    /// Simulation write of a holding register (ignores read-only ranges). Returns whether it changed.
    pub fn set_holding_register(&mut self, addr: u16, value: u16) -> Result<bool, MapError> {
        let changed = set_one(&mut self.holding_registers, Table::HoldingRegisters, addr, value)?;
        self.changes += u64::from(changed);
        Ok(changed)
    }
}

fn set_one<T: Copy + PartialEq>(
    table_data: &mut [T],
    table: Table,
    addr: u16,
    value: T,
) -> Result<bool, MapError> {
    let size = table_data.len();
    let slot = table_data
        .get_mut(usize::from(addr))
        .ok_or(MapError::OutOfRange {
            table,
            start: addr,
            count: 1,
            size,
        })?;
    let changed = *slot != value;
    *slot = value;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_read_only() {
        let mut m = RegisterMap::new(16, 8, 4, 10);
        m.set_read_only_holding(&[AddrRange::new(2, 3)]);
        assert!(m.check_range(Table::HoldingRegisters, 0, 10).is_ok());
        assert!(m.check_range(Table::HoldingRegisters, 1, 10).is_err());
        assert_eq!(
            m.write_holding(0, &[1, 2, 3]),
            Err(MapError::ReadOnly {
                table: Table::HoldingRegisters,
                addr: 2
            })
        );
        assert_eq!(m.holding_register(0), Some(0), "nothing written on refusal");
        assert_eq!(m.write_holding(4, &[7]), Ok(true));
        assert_eq!(m.write_holding(4, &[7]), Ok(false));
        assert_eq!(m.set_holding_register(2, 9), Ok(true), "simulation may write");
        assert!(m.is_read_only(Table::InputRegisters, 0));
        assert!(m.set_coil(16, true).is_err());
        assert_eq!(m.read_bits(Table::Coils, 0, 16).unwrap().len(), 16);
    }

    #[test]
    fn changes_count_every_write_that_changes_a_value_and_no_other() {
        let mut m = RegisterMap::new(4, 4, 4, 4);
        m.set_read_only_holding(&[AddrRange::new(3, 3)]);
        type Write = fn(&mut RegisterMap) -> Result<bool, MapError>;
        let writes: [(Write, u64); 11] = [
            (|m| m.set_coil(0, true), 1),
            (|m| m.set_coil(0, true), 0),
            (|m| m.set_discrete_input(1, true), 1),
            (|m| m.set_input_register(2, 0), 0),
            (|m| m.set_input_register(2, 5), 1),
            (|m| m.set_holding_register(3, 9), 1),
            (|m| m.write_coils(0, &[true, true]), 1),
            (|m| m.write_coils(0, &[true, true]), 0),
            (|m| m.write_holding(0, &[0, 0]), 0),
            (|m| m.write_holding(1, &[4]), 1),
            (|m| m.write_holding(2, &[1, 2]), 0), // refused: 3 is read-only
        ];
        let mut expect = 0;
        for (k, (write, n)) in writes.into_iter().enumerate() {
            let before = m.clone();
            expect += n;
            assert_eq!(write(&mut m).unwrap_or(false), n == 1, "write {k}");
            assert_eq!(m.changes(), expect, "write {k}");
            assert_eq!(
                m == before,
                n == 0,
                "equal contents whatever the count (write {k})"
            );
        }
    }

    #[test]
    fn full_size_table() {
        let m = RegisterMap::new(0, 0, 0, 70_000);
        assert_eq!(m.len(Table::HoldingRegisters), MAX_TABLE_LEN);
        assert!(m.check_range(Table::HoldingRegisters, 65_535, 1).is_ok());
        assert!(m.check_range(Table::HoldingRegisters, 65_535, 2).is_err());
    }
}
