//! The signal table: every named f64 the process exposes, indexed by [`SignalId`].

use std::collections::BTreeMap;

/// Index of a signal in a [`crate::process::Process`].
///
/// Ids are dense and assigned in component evaluation order, each component's
/// signals in the order its file documents, so the same config always yields
/// the same ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignalId(pub u32);

/// A component's list of signals (a tank's inflows): up to four held inside the component,
/// so a step reads them without following a pointer to memory of their own (at 10,000
/// tanks that pointer was the step's cache miss).
pub(crate) type SignalList = smallvec::SmallVec<[SignalId; 4]>;

impl SignalId {
    fn index(self) -> usize {
        self.0 as usize
    }
}

/// Names and current values of all signals.
///
/// A `BTreeMap` (not a `HashMap`) backs name lookup so nothing observable can
/// depend on hash order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Signals {
    names: Vec<String>,
    values: Vec<f64>,
    by_name: BTreeMap<String, SignalId>,
}

impl Signals {
    /// Adds a signal with value 0 and returns its id; the caller ensures the
    /// name is new.
    pub(crate) fn register(&mut self, name: String) -> SignalId {
        let id = SignalId(u32::try_from(self.names.len()).expect("fewer than 2^32 signals"));
        self.by_name.insert(name.clone(), id);
        self.names.push(name);
        self.values.push(0.0);
        id
    }

    pub(crate) fn id(&self, name: &str) -> Option<SignalId> {
        self.by_name.get(name).copied()
    }

    /// Value of a signal; an id from another process reads as 0 rather than
    /// panicking, so a stale id cannot crash a running range.
    pub(crate) fn get(&self, id: SignalId) -> f64 {
        self.values.get(id.index()).copied().unwrap_or(0.0)
    }

    /// Sets a signal; unknown ids are ignored for the same reason as in `get`.
    pub(crate) fn set(&mut self, id: SignalId, v: f64) {
        if let Some(slot) = self.values.get_mut(id.index()) {
            *slot = v;
        }
    }

    pub(crate) fn name(&self, id: SignalId) -> &str {
        self.names.get(id.index()).map_or("", String::as_str)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (SignalId, &str)> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, n)| (SignalId(i as u32), n.as_str()))
    }

    /// Reads a 0..1 command. Out-of-range values saturate, as a real actuator
    /// saturates, and NaN reads as 0 so a garbage write fails safe (stopped).
    pub(crate) fn unit(&self, id: SignalId) -> f64 {
        let v = self.get(id);
        if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) }
    }

    /// Reads a boolean (0/1) signal: on at 0.5 and above, like a digital input
    /// with a mid-scale threshold. NaN reads as off.
    pub(crate) fn on(&self, id: SignalId) -> bool {
        self.get(id) >= 0.5
    }

    /// Reads an optional enable: an unwired enable is always on.
    pub(crate) fn enabled(&self, id: Option<SignalId>) -> bool {
        id.is_none_or(|id| self.on(id))
    }

    /// Sum of several flow signals (m³/s). A non-finite term counts as 0 so
    /// one garbage write cannot poison integrated state (levels, pressures)
    /// for the rest of the run.
    pub(crate) fn sum(&self, ids: &[SignalId]) -> f64 {
        ids.iter().map(|&id| self.get(id)).filter(|v| v.is_finite()).sum()
    }

    /// Reads a physical input that must be finite and non-negative (a flow
    /// or a level used as a driver); anything else reads as 0.
    pub(crate) fn non_negative(&self, id: SignalId) -> f64 {
        let v = self.get(id);
        if v.is_finite() { v.max(0.0) } else { 0.0 }
    }
}

/// Encodes a boolean as a 0/1 signal value.
pub(crate) fn bit(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}
