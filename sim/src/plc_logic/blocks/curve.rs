//! `curve`: a piecewise-linear characteristic, such as the weather
//! compensation of a district heating network (outdoor temperature to
//! supply temperature set point), a valve linearisation or a tank's level to
//! volume table.
//!
//! Points are constants in the units of the input and output operands: a signed
//! quantity such as an outdoor temperature is read as one (`in = "ir:0:i16"`), so the
//! points are written in °C, negative ones included.

use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::config::CurveConfig;
use crate::plc_logic::memory::PlcMemory;
use crate::plc_logic::operand::{Operand, RegRef};

/// Compiled `curve` block: linear interpolation between neighbouring
/// points; below the first point the first `y` and above the last the last
/// `y` is written, because a characteristic extrapolated past its design
/// range (a supply temperature above the network's limit on a very cold
/// day) is what the end points exist to prevent.
#[derive(Clone, Debug)]
pub struct Curve {
    input: Operand,
    out: RegRef,
    /// At least two points, `x` strictly increasing, all finite.
    points: Vec<(f64, f64)>,
}

impl Curve {
    pub(crate) fn compile(cfg: &CurveConfig, ctx: &Ctx<'_>) -> Result<Self, ConfigError> {
        let list = cfg.points.get_ref();
        if list.len() < 2 {
            return Err(ctx.err(
                "points",
                Some(cfg.points.span()),
                format!(
                    "expected 2 or more points like [[0, 60], [20, 30]], found {}",
                    list.len()
                ),
            ));
        }
        let mut points: Vec<(f64, f64)> = Vec::with_capacity(list.len());
        for (j, p) in list.iter().enumerate() {
            let field = format!("points[{j}]");
            let err = |msg: String| ctx.err(&field, Some(p.span()), msg);
            let (x, y) = match p.get_ref().as_slice() {
                &[x, y] => (x, y),
                other => {
                    return Err(err(format!(
                        "expected a point [x, y] of two numbers, found {} numbers",
                        other.len()
                    )));
                }
            };
            if !x.is_finite() || !y.is_finite() {
                return Err(err(format!("expected finite numbers, found [{x}, {y}]")));
            }
            if let Some(&(prev, _)) = points.last()
                && x <= prev
            {
                return Err(err(format!(
                    "expected x to increase strictly from point to point, found {x} after {prev}"
                )));
            }
            points.push((x, y));
        }
        Ok(Curve {
            input: ctx.input("in", &cfg.input)?,
            out: ctx.output("out", &cfg.out)?,
            points,
        })
    }

    pub(crate) fn exec(&mut self, mem: &mut dyn PlcMemory) {
        let y = self.eval(self.input.read(mem));
        self.out.write(mem, y);
    }

    fn eval(&self, x: f64) -> f64 {
        let (Some(&(x_first, y_first)), Some(&(x_last, y_last))) = (self.points.first(), self.points.last())
        else {
            return 0.0;
        };
        if x <= x_first {
            return y_first;
        }
        if x >= x_last {
            return y_last;
        }
        // x_first < x < x_last, so 1 <= i < len.
        let i = self.points.partition_point(|&(px, _)| px < x);
        let (x0, y0) = self.points[i - 1];
        let (x1, y1) = self.points[i];
        y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    }
}
