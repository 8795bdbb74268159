//! process.csv: the plant's key process variables over the run, for the report's timeline.
//!
//! The key variables are those the plant watches: every signal with a `[[process.band]]` or
//! a `[[process.limit]]`, in the order the plant file first names them. They are sampled at
//! a fixed simulated interval (about 720 samples a run, at least a second apart) by looking
//! at the world between ticks ([`otrange_sim::Sim::run_before`]), so tracing adds no tick and
//! changes nothing else a run writes.

use anyhow::Context;
use otrange_sim::plant::PlantConfig;
use otrange_sim::process::SignalId;
use otrange_sim::process::state::ProcessState;
use otrange_sim::{Sim, SimDuration, SimTime};
use std::io::Write;
use std::path::Path;

/// About this many samples a run, whatever its length.
const SAMPLES: u64 = 720;

/// The sampled key variables of one run.
pub struct ProcessTrace {
    names: Vec<String>,
    ids: Vec<SignalId>,
    every: SimDuration,
    rows: Vec<(SimTime, Vec<f64>)>,
}

impl ProcessTrace {
    /// A trace of `plant`'s banded and limited signals over a run of `duration`.
    pub fn new(plant: &PlantConfig, sim: &Sim, duration: SimDuration) -> ProcessTrace {
        let process = &sim.world.resource::<ProcessState>().process;
        let mut names: Vec<String> = Vec::new();
        let watched = plant
            .process
            .band
            .iter()
            .map(|b| b.get_ref().signal.get_ref())
            .chain(plant.process.limit.iter().map(|l| l.get_ref().signal.get_ref()));
        for name in watched {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        // A name the process cannot resolve was refused when the plant loaded.
        let (names, ids): (Vec<String>, Vec<SignalId>) = names
            .into_iter()
            .filter_map(|n| process.signal_id(&n).map(|id| (n, id)))
            .unzip();
        let secs = duration.as_nanos().div_ceil(SAMPLES * 1_000_000_000).max(1);
        ProcessTrace {
            names,
            ids,
            every: SimDuration::from_secs(secs),
            rows: Vec::new(),
        }
    }

    /// The simulated interval between samples.
    pub fn every(&self) -> SimDuration {
        self.every
    }

    /// Records the key variables as they are at `t`.
    pub fn sample(&mut self, t: SimTime, sim: &Sim) {
        let process = &sim.world.resource::<ProcessState>().process;
        self.rows
            .push((t, self.ids.iter().map(|&id| process.get(id)).collect()));
    }

    /// Writes process.csv: `t_s` and one column per variable, values as the simulation
    /// holds them (shortest form that reads back the same).
    pub fn write_csv(&self, path: &Path) -> anyhow::Result<()> {
        let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut w = std::io::BufWriter::new(f);
        write!(w, "t_s")?;
        for n in &self.names {
            write!(w, ",{n}")?;
        }
        writeln!(w)?;
        for (t, values) in &self.rows {
            write!(w, "{}", t.as_secs_f64())?;
            for v in values {
                write!(w, ",{v}")?;
            }
            writeln!(w)?;
        }
        w.flush()?;
        Ok(())
    }
}
