//! Boolean conditions over operands (`when = { ... }`).

use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::config::ConditionConfig;
use crate::plc_logic::memory::PlcMemory;
use crate::plc_logic::operand::Operand;

/// Comparison operator of a leaf condition.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `lhs < rhs`
    Below,
    /// `lhs > rhs`
    Above,
    /// `lhs == rhs` (exact: register values are integers)
    Equals,
    /// `lhs != rhs`
    NotEquals,
}

/// A compiled condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// Compare two operands.
    Compare(Operand, Cmp, Operand),
    /// OR of the sub-conditions.
    Any(Vec<Condition>),
    /// AND of the sub-conditions.
    All(Vec<Condition>),
}

impl Condition {
    pub(crate) fn compile(cfg: &ConditionConfig, ctx: &Ctx<'_>) -> Result<Condition, ConfigError> {
        let cmps = [
            ("below", Cmp::Below, &cfg.below),
            ("above", Cmp::Above, &cfg.above),
            ("equals", Cmp::Equals, &cfg.equals),
            ("not_equals", Cmp::NotEquals, &cfg.not_equals),
        ];
        let given: Vec<_> = cmps.iter().filter(|c| c.2.is_some()).collect();
        let forms = usize::from(cfg.operand.is_some() || !given.is_empty())
            + usize::from(cfg.any.is_some())
            + usize::from(cfg.all.is_some());
        let shape = "expected a condition like { operand = \"ir:0\", below = 50 } \
                     (or above/equals/not_equals), { any = [...] } or { all = [...] }";
        // Point at whatever text we have to help find the table.
        let any_span = cfg
            .operand
            .as_ref()
            .or(given.first().and_then(|c| c.2.as_ref()))
            .map(|s| s.span());
        if forms != 1 {
            return Err(ConfigError::new(ctx.path.clone(), any_span, shape));
        }
        if let Some(list) = &cfg.any {
            return Ok(Condition::Any(compile_list(list, "any", ctx)?));
        }
        if let Some(list) = &cfg.all {
            return Ok(Condition::All(compile_list(list, "all", ctx)?));
        }
        let Some(lhs) = &cfg.operand else {
            return Err(ConfigError::new(
                ctx.field("operand"),
                any_span,
                "a comparison needs `operand`",
            ));
        };
        match given.as_slice() {
            [(name, cmp, Some(rhs))] => Ok(Condition::Compare(
                ctx.input("operand", lhs)?,
                *cmp,
                ctx.input(name, rhs)?,
            )),
            _ => Err(ctx.err(
                "operand",
                Some(lhs.span()),
                "expected exactly one of `below`, `above`, `equals`, `not_equals` next to `operand`",
            )),
        }
    }

    /// Evaluate against the current memory.
    pub fn eval(&self, mem: &dyn PlcMemory) -> bool {
        match self {
            Condition::Compare(l, cmp, r) => {
                let (l, r) = (l.read(mem), r.read(mem));
                match cmp {
                    Cmp::Below => l < r,
                    Cmp::Above => l > r,
                    Cmp::Equals => l == r,
                    Cmp::NotEquals => l != r,
                }
            }
            Condition::Any(cs) => cs.iter().any(|c| c.eval(mem)),
            Condition::All(cs) => cs.iter().all(|c| c.eval(mem)),
        }
    }
}

fn compile_list(list: &[ConditionConfig], key: &str, ctx: &Ctx<'_>) -> Result<Vec<Condition>, ConfigError> {
    if list.is_empty() {
        return Err(ctx.err(key, None, format!("`{key}` needs at least one condition")));
    }
    list.iter()
        .enumerate()
        .map(|(i, c)| Condition::compile(c, &ctx.sub(&format!("{key}[{i}]"))))
        .collect()
}
