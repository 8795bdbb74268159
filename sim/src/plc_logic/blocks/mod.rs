//! Function blocks and the compile-time context they validate against.

pub mod alarm;
pub mod condition;
pub mod curve;
pub mod interlock;
pub mod leadlag;
pub mod math;
pub mod onoff;
pub mod pid;
pub mod ramp;
pub mod scale;
pub mod schedule;
pub mod select;
pub mod timer;

use std::ops::Range;

use crate::base::config_error::ConfigError;
use crate::plc_logic::config::OperandCfg;
use crate::plc_logic::memory::{Area, PlcMemory};
use crate::plc_logic::operand::{Operand, RegRef};

/// Where a block is being compiled: the memory it will run against and the
/// dotted path used in error messages (`program[3]`).
pub(crate) struct Ctx<'a> {
    pub(crate) mem: &'a dyn PlcMemory,
    pub(crate) path: String,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(mem: &'a dyn PlcMemory, path: String) -> Self {
        Ctx { mem, path }
    }

    /// Context for a nested table, e.g. `when` or `when.any[2]`.
    pub(crate) fn sub(&self, field: &str) -> Ctx<'a> {
        Ctx {
            mem: self.mem,
            path: self.field(field),
        }
    }

    pub(crate) fn field(&self, field: &str) -> String {
        format!("{}.{}", self.path, field)
    }

    pub(crate) fn err(&self, field: &str, span: Option<Range<usize>>, msg: impl Into<String>) -> ConfigError {
        ConfigError::new(self.field(field), span, msg)
    }

    fn check_reg(&self, field: &str, span: &Range<usize>, r: RegRef) -> Result<RegRef, ConfigError> {
        let len = self.mem.len(r.area);
        if r.last_addr() < u32::from(len) {
            return Ok(r);
        }
        let what = match r.area {
            Area::Coil => "coils",
            Area::DiscreteInput => "discrete inputs",
            Area::InputRegister => "input registers",
            Area::HoldingRegister => "holding registers",
        };
        let msg = if r.addr < len {
            format!(
                "{r} takes two registers, {p}:{} and {p}:{}, and the PLC has {len} {what} ({p}:0..={p}:{})",
                r.addr,
                r.last_addr(),
                len - 1,
                p = r.area.prefix()
            )
        } else if len == 0 {
            format!("{r} is outside the PLC memory: it has no {what}")
        } else {
            format!(
                "{r} is outside the PLC memory: expected {}:0..={}:{} ({len} {what})",
                r.area.prefix(),
                r.area.prefix(),
                len - 1
            )
        };
        Err(self.err(field, Some(span.clone()), msg))
    }

    /// A readable operand: constant or in-map register.
    pub(crate) fn input(&self, field: &str, src: &OperandCfg) -> Result<Operand, ConfigError> {
        let span = src.span();
        match src.get_ref().parse() {
            Ok(Operand::Reg(r)) => self.check_reg(field, &span, r).map(Operand::Reg),
            Ok(c) => Ok(c),
            Err(msg) => Err(self.err(field, Some(span), msg)),
        }
    }

    /// An optional readable operand with a default constant.
    pub(crate) fn input_or(
        &self,
        field: &str,
        src: Option<&OperandCfg>,
        default: f64,
    ) -> Result<Operand, ConfigError> {
        match src {
            Some(s) => self.input(field, s),
            None => Ok(Operand::Const(default)),
        }
    }

    /// A writable register. Any in-map area is accepted: the program owns
    /// the whole image, and writing an input register/discrete input is how
    /// a PLC publishes computed status to Modbus clients.
    pub(crate) fn output(&self, field: &str, src: &OperandCfg) -> Result<RegRef, ConfigError> {
        let span = src.span();
        match src.get_ref().parse() {
            Ok(Operand::Reg(r)) => self.check_reg(field, &span, r),
            Ok(Operand::Const(_)) => Err(self.err(
                field,
                Some(span),
                format!(
                    "expected a register to write like \"co:1\" or \"hr:7\", found the constant {}",
                    src.get_ref()
                ),
            )),
            Err(msg) => Err(self.err(field, Some(span), msg)),
        }
    }

    /// A writable single bit (coil or discrete input).
    pub(crate) fn bit_output(&self, field: &str, src: &OperandCfg) -> Result<RegRef, ConfigError> {
        let r = self.output(field, src)?;
        if r.area.is_bit() {
            Ok(r)
        } else {
            Err(self.err(
                field,
                Some(src.span()),
                format!("expected a bit like \"co:1\" or \"di:2\", found the register {r}"),
            ))
        }
    }

    /// A non-negative, finite constant number of seconds.
    pub(crate) fn seconds(&self, field: &str, v: &toml::Spanned<f64>) -> Result<f64, ConfigError> {
        let s = *v.get_ref();
        if s.is_finite() && s >= 0.0 {
            Ok(s)
        } else {
            Err(self.err(
                field,
                Some(v.span()),
                format!("expected a duration in seconds >= 0, found {s}"),
            ))
        }
    }
}
