//! What both benchmarks start from: the reference plant's topology.

use otrange_sim::net::topology::Topology;
use otrange_sim::plant::PlantConfig;
use std::path::PathBuf;

/// The repository root, so the benchmarks read the shipped scenario files.
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(crate) fn topology() -> Topology {
    let text = std::fs::read_to_string(repo().join("scenarios/water-treatment/plant.toml")).unwrap();
    let cfg: PlantConfig = toml::from_str(&text).unwrap();
    Topology::build(&cfg.zones, &cfg.hosts, &cfg.links).unwrap()
}
