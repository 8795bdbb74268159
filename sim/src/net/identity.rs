//! Who is signed in on a host: the facts an identity-aware (zero-trust) policy grants
//! access on.
//!
//! The table is the network's, not the policy's alone, because two sides change or read
//! it while a run goes on: a policy's `[[identity]]` entries sign the plant's users in,
//! and an attacker who logs in with a stolen or default password from a machine of its
//! own presents that user, without the second factor it does not have. Once a policy is
//! installed in the network it is owned there as a `Box<dyn PolicyHook>`; it hands the
//! network its [`IdentityHandle`] ([`crate::net::PolicyHook::identities`]), and attack
//! code reaches the same table through [`crate::net::Network::identities`]. The policy
//! notices a change by a generation counter, one atomic load per decision.

use crate::net::topology::HostId;
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
/// the policy's own `set_identity`) apply from the policy's next decision on.
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
    /// Counts changes: a reader caching the table compares it with the generation of its
    /// last [`IdentityHandle::snapshot`] to know whether to read the table again.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.board.generation.load(Ordering::Acquire)
    }
    /// The whole table with the generation it is current for.
    pub fn snapshot(&self) -> (u64, BTreeMap<HostId, Identity>) {
        let t = self.table();
        (self.generation(), t.clone())
    }
}
