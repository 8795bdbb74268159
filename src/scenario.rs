//! Exercise files: one plant, optionally a playbook, a policy and detectors, and the
//! expectations CI asserts, composed by relative paths. Loading reports every problem with
//! the file, line, column and field, and what was expected.

use otrange_attacks::playbook::{Playbook, PlaybookConfig};
use otrange_defenses::Policy;
use otrange_defenses::detect::register::{AssetRegister, Columns, RegisterError};
use otrange_defenses::detect::{BuildContext, DetectorSet};
use otrange_sim::Sim;
use otrange_sim::base::config_error::FileError;
use otrange_sim::base::time::{DurationField, SimDuration};
use otrange_sim::base::wallclock::StartField;
use otrange_sim::live::config::{LiveConfig, LiveSettings};
use otrange_sim::plant::PlantConfig;
use otrange_sim::templates::Expanded;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// `[exercise]` in an exercise file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseInfo {
    /// The exercise's name, as results.json and reports show it.
    pub name: String,
    /// What the exercise shows, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Plant file, relative to the exercise file.
    pub plant: Spanned<String>,
    /// Default run length, e.g. "24h".
    #[serde(default = "default_duration")]
    pub duration: Spanned<DurationField>,
    /// Default seed (the command line's `--seed` overrides it).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The run's calendar start, RFC 3339 (default 2025-01-01T00:00:00Z): EVE alerts, pcap
    /// timestamps and the `run_started` event carry times from it.
    #[serde(default = "StartField::default_start")]
    pub start: StartField,
    /// Segmentation policy file, relative to the exercise file (default: none, the flat
    /// network of most legacy plants).
    pub policy: Option<Spanned<String>>,
    /// Attack playbook file, relative to the exercise file (default: none, benign operation).
    pub playbook: Option<Spanned<String>>,
    /// Detector-set file, relative to the exercise file (default: none).
    pub detectors: Option<Spanned<String>>,
    /// Assume breach: start the playbook from this host, which the actor holds with the
    /// accounts found there, skipping the steps that only got it in (default: the
    /// playbook's own entry).
    pub foothold: Option<Spanned<String>>,
    /// Record every frame sent and delivered in events.jsonl (large).
    #[serde(default)]
    pub log_frames: bool,
}

fn default_duration() -> Spanned<DurationField> {
    Spanned::new(0..0, DurationField::default_of("1h"))
}
fn default_seed() -> u64 {
    1
}

/// `[expect]`: what must hold at the end of the run for CI to pass.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Exact number of impact events, or exactly which limits fire
    /// (`[{ limit = "naoh_overdose", technique = "T0880" }]`).
    pub impacts: Option<crate::impact_expect::ImpactsExpectation>,
    /// Limits that must fire, others allowed (`count = 0`: must not fire).
    pub impacts_include: Option<Vec<crate::impact_expect::LimitExpectation>>,
    /// Limits that must not fire.
    pub no_impacts_from: Option<Vec<Spanned<String>>>,
    /// Every banded process variable stayed inside its band.
    pub within_bands: Option<bool>,
    /// Upper bound on HMI poll timeouts.
    pub max_poll_timeouts: Option<u64>,
    /// Upper bound on any HMI's 99th percentile poll latency, in milliseconds.
    pub max_hmi_p99_latency_ms: Option<f64>,
    /// Upper bound on Modbus exception answers.
    pub max_modbus_exceptions: Option<u64>,
    /// ATT&CK impact techniques that must each appear among the impacts, e.g. ["T0880"].
    pub impact_techniques: Option<Vec<String>>,
    /// The status of every playbook step, in order: succeeded, blocked, failed, not_reached.
    pub steps: Option<Vec<String>>,
    /// The detection of every playbook step, in order: technique, tactic, general,
    /// telemetry, none
    /// (how the exercise's detectors saw it; a detector regression breaks it).
    pub detections: Option<Vec<Detection>>,
    /// Upper bound on detector alerts over the run (false alarms, in a benign exercise).
    pub max_alerts: Option<u64>,
    /// Upper bound on frames blocked that no attacker sent (what defences cost operations).
    pub max_blocked_legitimate: Option<u64>,
    /// Upper bound on TSN stream frames that arrived after their deadline, over all streams.
    pub max_deadline_misses: Option<u64>,
}

/// How a step was detected, in the vocabulary of MITRE's ATT&CK Evaluations, ordered from
/// worst to best so that a step's detection is the `max` over its alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Detection {
    /// No alert counted for the step and no sensor saw its frames (a step on a host, or
    /// on a path no detector watches).
    None,
    /// A detector's sensor saw the step's frames, but no alert counted for the step: the
    /// evidence was there for an analyst to find (MITRE's Telemetry category).
    Telemetry,
    /// An alert flagged the step's frames without naming its tactic or technique.
    General,
    /// An alert named the step's tactic.
    Tactic,
    /// An alert named the step's ATT&CK technique.
    Technique,
}

impl Detection {
    /// The name results.json and exercise files use.
    pub fn as_str(self) -> &'static str {
        match self {
            Detection::Technique => "technique",
            Detection::Tactic => "tactic",
            Detection::General => "general",
            Detection::Telemetry => "telemetry",
            Detection::None => "none",
        }
    }
}

/// Where an exercise's playbook starts when it assumes a breach.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Foothold {
    /// The host the actor holds from the start.
    pub host: String,
    /// The ids of the playbook's steps left out because they only got the actor in.
    pub skipped_steps: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExerciseFile {
    exercise: ExerciseInfo,
    #[serde(default)]
    expect: Expectations,
    #[serde(default)]
    live: LiveConfig,
}

/// A loaded, validated exercise.
#[derive(Debug, Clone)]
pub struct Exercise {
    /// The exercise file, as given.
    pub file: PathBuf,
    /// Its `[exercise]` table.
    pub info: ExerciseInfo,
    /// Its `[expect]` table.
    pub expect: Expectations,
    /// The plant file, resolved against the exercise file.
    pub plant_file: PathBuf,
    /// The plant, loaded and checked.
    pub plant: PlantConfig,
    /// The plant's text with its templates expanded, which errors are located in and
    /// mapped back from.
    pub plant_text: Expanded,
    /// `[live]`, checked against the plant.
    pub live: LiveSettings,
    /// The segmentation policy installed in the network, if any.
    pub policy_file: Option<PathBuf>,
    /// The attack replayed against the plant, if any, checked against it (started from the
    /// foothold, when there is one).
    pub playbook: Option<(PathBuf, Playbook)>,
    /// The foothold the playbook starts from, and the steps it skips.
    pub foothold: Option<Foothold>,
    /// The playbook as written, for [`Exercise::set_foothold`] to start again from.
    as_written: Option<Playbook>,
    /// The detectors placed in the plant, if any.
    pub detectors: Option<(PathBuf, DetectorSet)>,
    /// The asset register the inventory is compared with (the CLI's `--assets`), if any.
    pub assets: Option<AssetRegister>,
    /// The run length from `[exercise]` (the command line's `--duration` overrides it).
    pub duration: SimDuration,
    /// What the checks found allowed but probably not meant, located in their files; the
    /// CLI prints them as `warning:` lines and runs anyway.
    pub warnings: Vec<FileError>,
}

/// Parses a TOML file into `T`, turning syntax and type errors into located errors that
/// name the field path.
pub fn parse_toml<T: serde::de::DeserializeOwned>(file: &Path, source: &str) -> Result<T, FileError> {
    let de = toml::Deserializer::parse(source)
        .map_err(|e| FileError::at(file, source, e.span(), "(syntax)", e.message().to_string()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        // `Spanned<T>` fields deserialise through a private inner key; the user's field is
        // the one around it.
        let field = e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "");
        let inner = e.into_inner();
        FileError::at(file, source, inner.span(), &field, inner.message().to_string())
    })
}

/// Checks that the limits and techniques `[expect]` names exist in the plant, reporting
/// every one that does not.
fn check_impact_names(file: &Path, source: &str, expect: &Expectations, sim: &Sim) -> Result<(), FileError> {
    use crate::impact_expect::{ImpactsExpectation, check_names};
    let exactly = match &expect.impacts {
        Some(ImpactsExpectation::Exactly(list)) => list.as_slice(),
        _ => &[],
    };
    let include = expect.impacts_include.as_deref().unwrap_or(&[]);
    let none = expect.no_impacts_from.as_deref().unwrap_or(&[]);
    let known = sim.process().limit_names();
    let errors = check_names(
        &[("impacts", exactly), ("impacts_include", include)],
        none,
        &known,
    );
    match FileError::all(errors.into_iter().map(|e| FileError::locate(file, source, e))) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Reads a plant file, expands its `[[instance]]` templates and parses the result; errors
/// point into the plant file or the template file they came from.
pub fn load_plant(file: &Path) -> Result<(PlantConfig, Expanded), FileError> {
    let source = read(file)?;
    let text = otrange_sim::templates::expand(file, &source)?;
    let mut plant: PlantConfig = parse_toml(file, &text.text).map_err(|e| text.relocate(e))?;
    // Recorded series (`[[process.series]]`) are read relative to the plant file.
    plant.process.base_dir = Some(file.parent().unwrap_or(Path::new(".")).to_path_buf());
    Ok((plant, text))
}

/// Reads a file a scenario names, or says which file could not be read.
fn read(file: &Path) -> Result<String, FileError> {
    std::fs::read_to_string(file).map_err(|e| FileError::whole_file(file, format!("cannot read: {e}")))
}

impl Exercise {
    /// Loads an exercise file and the files it names, checking everything that can be
    /// checked without running: the plant builds into a world.
    pub fn load(file: &Path) -> Result<Exercise, FileError> {
        let source = read(file)?;
        let ex: ExerciseFile = parse_toml(file, &source)?;
        let duration = ex.exercise.duration.get_ref().value;
        let base = file.parent().unwrap_or(Path::new("."));
        let plant_file = referenced_file(file, &source, base, &ex.exercise.plant, "exercise.plant", "plant")?;
        let (plant, plant_text) = load_plant(&plant_file)?;
        // Building the world is the full check: every reference resolves, every program
        // compiles, every wire and poll fits. Every error it finds is reported, not the first.
        let locate = |e| FileError::locate(&plant_file, &plant_text.text, e);
        let (sim, plant_warnings) =
            otrange_sim::plant::build_checked(&plant, ex.exercise.seed).map_err(|errors| {
                plant_text.relocate(FileError::all(errors.into_iter().map(locate)).expect("an error"))
            })?;
        let mut warnings: Vec<FileError> = plant_warnings
            .into_iter()
            .map(|w| plant_text.relocate(locate(w)))
            .collect();
        // The files the exercise names, each checked against the plant.
        let named = |p: &Option<Spanned<String>>, field: &str, what: &str| {
            p.as_ref()
                .map(|p| referenced_file(file, &source, base, p, field, what))
                .transpose()
        };
        let policy_file = named(&ex.exercise.policy, "exercise.policy", "policy")?;
        if let Some(path) = &policy_file {
            load_policy(path, &sim)?;
        }
        let playbook = match named(&ex.exercise.playbook, "exercise.playbook", "playbook")? {
            Some(path) => {
                let text = read(&path)?;
                let cfg: PlaybookConfig = parse_toml(&path, &text)?;
                let pb = cfg
                    .resolve(sim.network().topology())
                    .map_err(|e| FileError::locate(&path, &text, e))?;
                if let Some(e) = crate::playbook_check::register_errors(&cfg, &pb, &sim)
                    .into_iter()
                    .next()
                {
                    return Err(FileError::locate(&path, &text, e));
                }
                let found = crate::playbook_check::register_warnings(&cfg, &pb, &sim);
                warnings.extend(found.into_iter().map(|w| FileError::locate(&path, &text, w)));
                Some((path, pb))
            }
            None => None,
        };
        let detectors = match named(&ex.exercise.detectors, "exercise.detectors", "detector-set")? {
            Some(path) => {
                let text = read(&path)?;
                let set: DetectorSet = parse_toml(&path, &text)?;
                place_detectors(&path, &set, &sim, &plant)?;
                Some((path, set))
            }
            None => None,
        };
        check_impact_names(file, &source, &ex.expect, &sim)?;
        let live = ex
            .live
            .resolve(sim.network().topology())
            .map_err(|e| FileError::locate(file, &source, e))?;
        let foothold = ex.exercise.foothold.clone();
        let mut loaded = Exercise {
            file: file.to_path_buf(),
            info: ex.exercise,
            expect: ex.expect,
            plant_file,
            plant,
            plant_text,
            live,
            policy_file,
            as_written: playbook.as_ref().map(|(_, pb)| pb.clone()),
            playbook,
            foothold: None,
            detectors,
            assets: None,
            duration,
            warnings,
        };
        if let Some(host) = foothold {
            loaded
                .start_from(sim.network().topology(), host.get_ref())
                .map_err(|msg| FileError::at(file, &source, Some(host.span()), "exercise.foothold", msg))?;
        }
        Ok(loaded)
    }

    /// The playbook as its file writes it, before any foothold skipped steps: what
    /// `otrange techniques --coverage` measures.
    pub fn playbook_as_written(&self) -> Option<&Playbook> {
        self.as_written.as_ref()
    }

    /// Starts the playbook from `host` (the CLI's `--foothold`, a sweep's `footholds`
    /// axis): see [`otrange_attacks::foothold`].
    pub fn set_foothold(&mut self, host: &str) -> Result<(), FileError> {
        let sim = self.build(self.info.seed)?;
        let exercise = self.file.clone();
        self.start_from(sim.network().topology(), host)
            .map_err(|msg| FileError::whole_file(&exercise, format!("foothold {host:?}: {msg}")))
    }

    fn start_from(&mut self, topo: &otrange_sim::net::topology::Topology, host: &str) -> Result<(), String> {
        let (Some(original), Some((_, playbook))) = (&self.as_written, &mut self.playbook) else {
            return Err("a foothold starts a playbook, and this exercise has none".into());
        };
        let id = topo
            .host_by_name(host)
            .ok_or_else(|| format!("unknown host {host:?}: expected the name of a [[host]] of the plant"))?;
        let (pb, skipped_steps) = otrange_attacks::foothold::from_foothold(original, id, topo);
        *playbook = pb;
        self.foothold = Some(Foothold {
            host: host.to_string(),
            skipped_steps,
        });
        Ok(())
    }

    /// A fresh simulation of this exercise's plant, its policy installed.
    pub fn build(&self, seed: u64) -> Result<Sim, FileError> {
        let text = &self.plant_text;
        let mut sim = otrange_sim::plant::build(&self.plant, seed)
            .map_err(|e| text.relocate(FileError::locate(&self.plant_file, &text.text, e)))?;
        // Profiles and recorded series follow the calendar the exercise starts at.
        sim.set_calendar_start(self.info.start.unix_ns);
        // OTRANGE_FULL_TICKS=1 runs every tick in full, every scan at its instant with its
        // program, and every network event through the queue: the check that scan ticks,
        // scans done ahead, settled scans skipped and hops done at once change no output
        // (docs/src/architecture.md, "A tick touches what is due").
        if std::env::var_os("OTRANGE_FULL_TICKS").is_some() {
            sim.set_scan_ticks(false);
            sim.set_scan_ahead(false);
            sim.set_settled_scans(false);
            sim.network_mut().set_direct_hops(false);
        }
        if let Some(path) = &self.policy_file {
            let policy = load_policy(path, &sim)?;
            sim.network_mut().set_policy(Box::new(policy));
        }
        for placed in self.placed_detectors(&sim)? {
            sim.network_mut()
                .add_middlebox(placed.middlebox, placed.stage, &placed.nodes);
        }
        if let Some((_, pb)) = &self.playbook {
            otrange_attacks::agent::install(&mut sim, pb.clone());
        }
        Ok(sim)
    }

    /// The exercise's detectors, built for `sim` (a simulation of its plant), ready to place.
    pub fn placed_detectors(&self, sim: &Sim) -> Result<Vec<otrange_defenses::detect::Placed>, FileError> {
        match &self.detectors {
            Some((path, set)) => place_detectors(path, set, sim, &self.plant),
            None => Ok(Vec::new()),
        }
    }

    /// Whether the exercise is undefended: no detectors, and no policy or one that can deny
    /// nothing (`flat.toml`).
    pub fn undefended(&self) -> Result<bool, FileError> {
        if self.detectors.is_some() {
            return Ok(false);
        }
        let Some(path) = &self.policy_file else {
            return Ok(true);
        };
        let sim = self.build(self.info.seed)?;
        let policy = load_policy(path, &sim)?;
        Ok(policy.default_action() == otrange_defenses::policy::Action::Allow
            && policy.rule_names().next().is_none())
    }

    /// Whether every detector watches only (none in prevention mode): such a set changes
    /// nothing in the run, so several can share one simulation.
    pub fn detectors_passive(&self) -> bool {
        self.detectors.as_ref().is_none_or(|(_, set)| {
            set.detectors
                .iter()
                .all(|d| d.mode == otrange_defenses::detect::Mode::Detect)
        })
    }

    /// Whether the detector set has a statistical anomaly detector, whose threshold a
    /// sweep can vary.
    pub fn has_anomaly_detector(&self) -> bool {
        self.detectors
            .as_ref()
            .is_some_and(|(_, set)| set.detectors.iter().any(|d| d.kind == "anomaly"))
    }

    /// Runs every anomaly detector of the set at `threshold` (a sweep's
    /// `anomaly_thresholds` axis): the knob that trades detection against false alarms.
    pub fn set_anomaly_threshold(&mut self, threshold: f64) {
        if let Some((_, set)) = &mut self.detectors {
            for d in set.detectors.iter_mut().filter(|d| d.kind == "anomaly") {
                d.threshold = Some(threshold);
            }
        }
    }

    /// The same plant, policy and detectors with nothing attacking and nothing expected:
    /// what the defences cost when all is well.
    pub fn benign(&self) -> Exercise {
        let mut ex = self.clone();
        ex.info.name = format!("{} (benign)", self.plant.plant.name);
        ex.playbook = None;
        ex.as_written = None;
        ex.foothold = None;
        ex.expect = Expectations::default();
        ex
    }

    /// Replaces the exercise's policy (the CLI's `--policy`), checking it against the plant.
    pub fn set_policy(&mut self, path: &Path) -> Result<(), FileError> {
        let sim = self.build(self.info.seed)?;
        load_policy(path, &sim)?;
        self.policy_file = Some(path.to_path_buf());
        Ok(())
    }

    /// Replaces the exercise's detector set (the CLI's `--detectors`), checking it.
    pub fn set_detectors(&mut self, path: &Path) -> Result<(), FileError> {
        if !path.is_file() {
            return Err(detector_error(
                path,
                "(file)".into(),
                "detector-set file not found".into(),
            ));
        }
        let sim = self.build(self.info.seed)?;
        let text = read(path)?;
        let set: DetectorSet = parse_toml(path, &text)?;
        place_detectors(path, &set, &sim, &self.plant)?;
        self.detectors = Some((path.to_path_buf(), set));
        Ok(())
    }
}

impl Exercise {
    /// The name of the detector set's first `inventory` detector: the one an asset register
    /// is compared with.
    pub fn inventory_detector(&self) -> Option<&str> {
        let (_, set) = self.detectors.as_ref()?;
        set.detectors
            .iter()
            .find(|d| d.kind == "inventory")
            .map(|d| d.name.as_str())
    }

    /// Compares the run's passive inventory with the asset register in `path` (the CLI's
    /// `--assets`): results.json gets an `asset_register` section. The comparison is with
    /// what an `inventory` detector saw, so the detector set must have one; without it the
    /// register would be compared with nothing and every asset reported missing.
    pub fn set_assets(&mut self, path: &Path, columns: &Columns) -> Result<(), RegisterError> {
        const HINT: &str = "the asset register is compared with what an `inventory` detector sees \
                            (e.g. --detectors scenarios/detectors/plant-inventory.toml)";
        match &self.detectors {
            None => {
                return Err(RegisterError::new(
                    &self.file,
                    0,
                    "--assets",
                    format!("the exercise has no detector set: {HINT}"),
                ));
            }
            Some((set, _)) if self.inventory_detector().is_none() => {
                return Err(RegisterError::new(
                    set,
                    0,
                    "--assets",
                    format!("this detector set has no `inventory` detector: {HINT}"),
                ));
            }
            Some(_) => {}
        }
        self.assets = Some(AssetRegister::load(path, columns)?);
        Ok(())
    }
}

/// A file an exercise names, relative to the exercise file, which must exist.
fn referenced_file(
    exercise: &Path,
    source: &str,
    base: &Path,
    name: &Spanned<String>,
    field: &str,
    what: &str,
) -> Result<PathBuf, FileError> {
    let path = base.join(name.get_ref());
    if path.is_file() {
        return Ok(path);
    }
    Err(FileError::at(
        exercise,
        source,
        Some(name.span()),
        field,
        format!(
            "{what} file {} not found (paths are relative to the exercise file)",
            path.display()
        ),
    ))
}

/// A detector-set problem; the set has no spans yet, so it names the file and field only.
fn detector_error(path: &Path, field: String, message: String) -> FileError {
    let (line, column) = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| locate_detector_field(&text, &field))
        .unwrap_or((0, 0));
    FileError {
        file: path.to_path_buf(),
        line,
        column,
        field,
        message,
        also: Vec::new(),
    }
}

/// Line and column of `detector[i].key` in a detector-set file: the key's line within the
/// i-th `[[detector]]` table (or the table's header when the key is absent).
fn locate_detector_field(text: &str, field: &str) -> Option<(usize, usize)> {
    let rest = field.strip_prefix("detector[")?;
    let (index, key) = rest.split_once("].")?;
    let index: usize = index.parse().ok()?;
    let key = key.split(['.', '[']).next()?;
    let mut table = None;
    let mut header = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("[[detector]]") {
            table = Some(table.map_or(0, |t: usize| t + 1));
            if table == Some(index) {
                header = Some((n + 1, 1));
            }
            continue;
        }
        if trimmed.starts_with("[[") && !trimmed.starts_with("[[detector.") {
            table = None;
        }
        if table == Some(index) {
            let k = trimmed.split(['=', ' ']).next().unwrap_or("");
            if k == key {
                return Some((n + 1, line.len() - trimmed.len() + 1));
            }
        }
    }
    header
}

/// Builds a detector set against a simulation's plant, errors located in the set's file.
fn place_detectors(
    path: &Path,
    set: &DetectorSet,
    sim: &Sim,
    plant: &PlantConfig,
) -> Result<Vec<otrange_defenses::detect::Placed>, FileError> {
    let base = path.parent().unwrap_or(Path::new("."));
    let cx = BuildContext {
        base,
        topo: sim.network().topology(),
        plant: Some(plant),
    };
    set.build(&cx)
        .map_err(|(field, message)| detector_error(path, field, message))
}

/// Loads a policy file against a plant's topology, with errors located in the policy file.
fn load_policy(path: &Path, sim: &Sim) -> Result<Policy, FileError> {
    if !path.is_file() {
        return Err(FileError::whole_file(path, "policy file not found"));
    }
    Policy::load(path, sim.network().topology())
}
