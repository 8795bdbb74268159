//! Who is behind a source host, for zero-trust rules (`identity`, `mfa`).
//!
//! Identities change while a run goes on: an attacker who phished a vendor's password
//! but not their MFA token connects as that user without MFA. Once a policy is installed
//! in the network it is owned there as a `Box<dyn PolicyHook>`, so attack code changes
//! identities through an [`IdentityHandle`] it took from the policy before installing it.
//! The policy notices a change by a generation counter, one atomic load per decision.

use otrange_sim::net::topology::HostId;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A user signed in on a host, and whether they proved a second factor: the two facts a
/// zero-trust gateway grants access on, and the two an attacker with a stolen password
/// has only one of.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Identity {
    /// The signed-in user, as a rule's `identity` list names it.
    pub user: String,
    /// Whether they proved a second factor; a rule with `mfa = true` requires it.
    pub mfa: bool,
}

impl Identity {
    /// Shorthand for tests and attack steps: `Identity::new("vendor-support", false)`.
    pub fn new(user: impl Into<String>, mfa: bool) -> Self {
        Identity {
            user: user.into(),
            mfa,
        }
    }
}

#[derive(Debug, Default)]
struct Board {
    generation: AtomicU64,
    table: Mutex<BTreeMap<HostId, Identity>>,
}

/// A shared view of a policy's identity table: changes through any handle (or through
/// [`super::Policy::set_identity`]) apply from the policy's next decision on.
#[derive(Clone, Debug, Default)]
pub struct IdentityHandle {
    board: Arc<Board>,
}

impl IdentityHandle {
    fn table(&self) -> MutexGuard<'_, BTreeMap<HostId, Identity>> {
        // A panic elsewhere while holding the lock leaves a table that is still whole.
        self.board.table.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Signs `identity` in on `host` (None signs whoever was there out).
    pub fn set(&self, host: HostId, identity: Option<Identity>) {
        let mut t = self.table();
        match identity {
            Some(id) => t.insert(host, id),
            None => t.remove(&host),
        };
        self.board.generation.fetch_add(1, Ordering::Release);
    }
    /// Who is signed in on `host`, as the policy will see it at its next decision.
    pub fn get(&self, host: HostId) -> Option<Identity> {
        self.table().get(&host).cloned()
    }
    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.board.generation.load(Ordering::Acquire)
    }
    pub(crate) fn snapshot(&self) -> (u64, BTreeMap<HostId, Identity>) {
        let t = self.table();
        (self.generation(), t.clone())
    }
}
