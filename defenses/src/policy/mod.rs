//! Segmentation policies as data: a TOML file of ordered rules, compiled against the
//! plant's topology into a [`PolicyHook`] the network consults at every enforcement point.
//!
//! Why a compiled form: the network asks the policy about every frame at every router,
//! firewall and destination device, millions of times in a simulated day. Loading
//! resolves every name to a [`HostId`] bitset and files each rule under the (enforcement
//! point, destination) pairs it can apply to, so a decision walks a short list of rules
//! that each cost a few loads and compares: no strings, no allocation (except the rule
//! name a denial must carry).
//!
//! # Semantics, in the order a decision takes them
//! 1. A reply (`src_port` is its service's well-known port) on a connection whose request
//!    was allowed at this point passes: every point is stateful. Routers and firewalls
//!    keep their own state; device filters share one, because a request is filtered at
//!    the server and its reply at the client.
//! 2. Otherwise the rules that apply at this point are tried in file order; the first
//!    whose every condition holds decides, allow or deny; a denial names the rule.
//! 3. If none does, the policy's `default` decides (a denial names "default deny").
//!
//! Every request is evaluated, even on a connection already allowed: a Modbus write that
//! a deep-inspection rule denies is denied whatever came before it on the connection.
//! Deep inspection looks at requests (frames towards the service's port) and is
//! fail-closed: an allow rule needs all of the request inside it, a deny rule fires on
//! any part, and what cannot be parsed never satisfies an allow rule.
//!
//! # Format
//! ```toml
//! [policy]
//! name = "zero-trust"              # required; what reports and results.json call it
//! description = "..."
//! default = "deny"                 # required: "allow" | "deny", for what no rule matches
//!
//! [[identity]]                     # who is signed in on a source host when the run starts
//! host = "vendor-portal"           # (Policy::set_identity / IdentityHandle change it)
//! user = "vendor-support"
//! mfa = true                       # proved a second factor (default false)
//!
//! [[rule]]                         # tried in file order; the first match decides
//! name = "hmi-1: NaOH set point"   # required, unique: what denials and logs show
//! action = "allow"                 # required: "allow" | "deny"
//! description = "..."
//! at = "host"                      # where it applies (default "any"): "any",
//!                                  # "any-firewall", "network" (routers and firewalls),
//!                                  # "host" (every device's own filter), names of routers
//!                                  # or firewalls, names of end hosts (their own filter)
//! from = "hmi-1"                   # sources (default any): host names, "role:<role>",
//! to = ["plc-dosing"]              # "zone:<zone>", "level:<L0..L5|DMZ>", "any"
//! service = "modbus"               # one or a list of service names (default any)
//! port = 502                       # one or a list of destination ports (default any)
//! identity = ["vendor-support"]    # the source's signed-in user is one of these
//! mfa = true                       # ... and proved MFA (alone: any user with MFA)
//! window = { every = "24h", start = "02:00", length = "2h" }  # simulated time, 00:00 =
//!                                  # start of the run; start is "HH:MM[:SS]" or "90m"
//! modbus = { functions = [6], unit = 1, access = "write", registers = "hr:0", values = [0, 150] }
//! # functions: 1..=127; unit: 0..=255 (one or lists); access: "read" (FC 1-4, 20, 24),
//! # "write" (5, 6, 15, 16, 21-23), "diagnostic" (everything else: 7, 8, 11, 12, 17, 43...);
//! # registers: "co|di|ir|hr:<first>[-<last>]", one or a list; values: [min, max] of
//! # written values (FC 5, 6, 15, 16, 22, 23); coils write 0 or 1.
//! ```
//! Every condition given must hold. Errors name the file, line, column and field.

mod conntrack;
mod file;
pub(crate) mod load;
pub(crate) mod matcher;
pub(crate) mod modbus_match;
mod window;

pub use otrange_sim::base::config_error::FileError;
pub use otrange_sim::net::identity::{Identity, IdentityHandle};

use conntrack::{ConnTable, HOST_LAYER, key};
use matcher::HostSet;
use modbus_match::{ModbusMatch, Request, parse_request};
use otrange_sim::SimTime;
use otrange_sim::net::topology::{HostId, Topology};
use otrange_sim::net::{EnforcementPoint, Frame, Payload, PolicyHook, Verdict};
use std::path::Path;
use window::Window;

/// What a rule (or the default) does with a frame it matches. Only two answers, as a
/// firewall gives: anything subtler (log, rate-limit) belongs to detectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Let the frame on its way (and, for a request, remember its connection at this point
    /// so the reply passes).
    Allow,
    /// Stop it; the denial names the rule that decided (or "default deny").
    Deny,
}

impl Action {
    /// The spelling policy files and results.json use.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Deny => "deny",
        }
    }
}

/// A rule's identity condition: the source host's signed-in user is one of `users` (any
/// user when empty), with MFA when `mfa`.
#[derive(Clone, Debug)]
struct IdentityReq {
    users: Box<[u32]>,
    mfa: bool,
}

/// A rule as decisions use it. `at` and `to` are not here: they are applied when rules
/// are filed under (point, destination) lists at load.
#[derive(Clone, Debug)]
struct Rule {
    deny: bool,
    /// None: any source.
    from: Option<HostSet>,
    /// Bit per `Service` discriminant; 0: any service.
    services: u64,
    /// Destination ports; None: any.
    ports: Option<Box<[u16]>>,
    identity: Option<IdentityReq>,
    window: Option<Window>,
    modbus: Option<Box<ModbusMatch>>,
}

/// What an identity condition found missing, in the order of `identity_denials`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shortfall {
    /// The right user without a second factor.
    Mfa,
    /// A user the rule does not name.
    User,
    /// Nobody signed in on the source.
    Nobody,
}

/// What reports show about a rule.
#[derive(Clone, Debug)]
struct RuleInfo {
    name: String,
    action: Action,
    description: String,
    /// Where the rule applies and to whom, kept for decisions at a host point about a
    /// frame addressed to another host (which the network never asks for).
    to: HostSet,
    at_host: HostSet,
}

#[inline]
fn service_bit(s: otrange_sim::net::topology::Service) -> u64 {
    1u64 << ((s as u32) & 63)
}

/// A policy compiled for one topology. It is tied to that topology (rules hold its host
/// ids), and it is stateful (connections, hit counts): load one per run.
pub struct Policy {
    name: String,
    description: String,
    default: Action,
    default_rule: String,
    rules: Vec<Rule>,
    info: Vec<RuleInfo>,
    hits: Vec<u64>,
    /// Default verdicts given: [allowed, denied].
    default_hits: [u64; 2],
    established: u64,
    n_hosts: usize,
    /// Per host: its slot among the enforcing nodes, or u32::MAX.
    net_slot: Vec<u32>,
    /// Rule lists per (slot, destination): `slot * n_hosts + dst`.
    net_lists: Vec<Box<[u32]>>,
    /// Rule lists per destination host for its own filter.
    host_lists: Vec<Box<[u32]>>,
    /// No rules and default allow: nothing to decide, nothing to remember.
    trivial: bool,
    conns: ConnTable,
    /// Interned user names; rules refer to them by index.
    users: Vec<String>,
    /// Per host: (user index or u32::MAX for a user no rule names, mfa).
    signed_in: Vec<Option<(u32, bool)>>,
    identities: IdentityHandle,
    seen_generation: u64,
    /// Denials an identity condition made, by [`Shortfall`]: the evidence of what MFA and
    /// per-identity rules stopped.
    identity_denials: [u64; 3],
    /// Some rule has an identity condition: only then can a denial be an identity's.
    has_identity_rules: bool,
    /// Host names, for the reason a denial gives.
    topo_names: Vec<String>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("name", &self.name)
            .field("default", &self.default)
            .field("rules", &self.info.iter().map(|r| &r.name).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// Reads and compiles a policy file against the plant it will protect. Every name in
    /// it must resolve in `topo`; errors carry the file, line, column and field.
    pub fn load(path: impl AsRef<Path>, topo: &Topology) -> Result<Policy, FileError> {
        let path = path.as_ref();
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| FileError::whole_file(path, format!("cannot read the policy file: {e}")))?;
        Self::from_str(&label, &text, topo)
    }

    /// Compiles policy text; `file_label` is what errors call the file.
    #[allow(clippy::should_implement_trait)] // FromStr has no room for the label and topology
    pub fn from_str(file_label: &str, text: &str, topo: &Topology) -> Result<Policy, FileError> {
        load::compile(file_label, text, topo)
    }

    /// The `[policy] description`, for reports that say what was enforced.
    pub fn description(&self) -> &str {
        &self.description
    }
    /// What traffic no rule mentions gets; a report needs it to read the hit counts.
    pub fn default_action(&self) -> Action {
        self.default
    }
    /// Rule names in evaluation order (the order that decides), for listings and tests.
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.info.iter().map(|r| r.name.as_str())
    }
    /// Rules in evaluation order: name, action and the description the file gives them
    /// (for reports that explain what was enforced).
    pub fn rules(&self) -> impl Iterator<Item = (&str, Action, &str)> {
        self.info
            .iter()
            .map(|r| (r.name.as_str(), r.action, r.description.as_str()))
    }
    /// How many frames a rule decided so far; None for a name the policy does not have.
    pub fn hits(&self, rule: &str) -> Option<u64> {
        self.info
            .iter()
            .position(|r| r.name == rule)
            .map(|i| self.hits[i])
    }
    /// Connections currently remembered across all points: state grows with distinct
    /// connections (a port scan that is allowed grows it), which a long run may watch.
    pub fn tracked_connections(&self) -> usize {
        self.conns.len()
    }

    /// Signs `identity` in on `host` (None: nobody), from the next decision on. Code that
    /// no longer owns the policy (it is installed in the network) uses
    /// [`Policy::identity_handle`] instead.
    pub fn set_identity(&mut self, host: HostId, identity: Option<Identity>) {
        self.identities.set(host, identity);
        self.sync_identities();
    }
    /// Who is signed in on `host`, as rules will see it.
    pub fn identity(&self, host: HostId) -> Option<Identity> {
        self.identities.get(host)
    }
    /// A handle sharing this policy's identity table, to change identities after the
    /// policy was handed to the network.
    pub fn identity_handle(&self) -> IdentityHandle {
        self.identities.clone()
    }

    #[inline]
    fn sync_identities(&mut self) {
        if self.identities.generation() == self.seen_generation {
            return;
        }
        let (generation, table) = self.identities.snapshot();
        self.signed_in.iter_mut().for_each(|s| *s = None);
        for (host, id) in table {
            if let Some(slot) = self.signed_in.get_mut(host.0 as usize) {
                let user = self
                    .users
                    .iter()
                    .position(|u| *u == id.user)
                    .map_or(u32::MAX, |i| i as u32);
                *slot = Some((user, id.mfa));
            }
        }
        self.seen_generation = generation;
    }

    /// The first rule among `candidates` that matches.
    #[inline]
    fn first_match(&self, candidates: impl Iterator<Item = u32>, frame: &Frame, now: SimTime) -> Option<u32> {
        let mut dpi: Option<Option<Request<'_>>> = None;
        candidates
            .into_iter()
            .find(|&r| self.holds(r, frame, now, &mut dpi, true))
    }

    /// Whether every condition of rule `r` holds for the frame (its identity condition
    /// only when `identity`). `dpi` caches the parsed request: inspected once per
    /// decision, and only if some rule asks.
    #[inline]
    fn holds<'f>(
        &self,
        r: u32,
        frame: &'f Frame,
        now: SimTime,
        dpi: &mut Option<Option<Request<'f>>>,
        identity: bool,
    ) -> bool {
        let Some(rule) = self.rules.get(r as usize) else {
            return false;
        };
        if let Some(from) = &rule.from
            && !from.contains(frame.src)
        {
            return false;
        }
        if rule.services != 0 && rule.services & service_bit(frame.service) == 0 {
            return false;
        }
        if let Some(ports) = &rule.ports
            && !ports.contains(&frame.dst_port)
        {
            return false;
        }
        if identity
            && let Some(req) = &rule.identity
            && self.identity_shortfall(req, frame).is_some()
        {
            return false;
        }
        if let Some(w) = &rule.window
            && !w.contains(now)
        {
            return false;
        }
        if let Some(m) = &rule.modbus {
            let view = dpi.get_or_insert_with(|| match &frame.payload {
                Payload::Modbus(adu) if frame.dst_port == frame.service.port() => Some(parse_request(adu)),
                _ => None,
            });
            match view {
                Some(req) if m.matches(req, rule.deny) => {}
                _ => return false,
            }
        }
        true
    }

    /// What the frame's source lacks for an identity condition, None when it has it.
    #[inline]
    fn identity_shortfall(&self, req: &IdentityReq, frame: &Frame) -> Option<Shortfall> {
        let Some(Some((user, mfa))) = self.signed_in.get(frame.src.0 as usize) else {
            return Some(Shortfall::Nobody);
        };
        if !req.users.is_empty() && !req.users.contains(user) {
            Some(Shortfall::User)
        } else if req.mfa && !mfa {
            Some(Shortfall::Mfa)
        } else {
            None
        }
    }

    /// Why a denied frame was denied, when an identity condition is what stopped it: the
    /// first allow rule before the deciding one (`found`; every rule after a default
    /// verdict) whose every other condition holds. Asked on denials only.
    fn why_denied(
        &mut self,
        point: EnforcementPoint,
        frame: &Frame,
        now: SimTime,
        found: Option<u32>,
    ) -> Option<String> {
        if !self.has_identity_rules {
            return None;
        }
        let candidates: Vec<u32> = match point {
            EnforcementPoint::Host(h) if h != frame.dst => (0..self.info.len() as u32)
                .filter(|&r| {
                    let i = &self.info[r as usize];
                    i.at_host.contains(h) && i.to.contains(frame.dst)
                })
                .collect(),
            _ => self.list(point, frame.dst).to_vec(),
        };
        let mut dpi = None;
        let (r, shortfall) = candidates
            .into_iter()
            .take_while(|&r| Some(r) != found)
            .filter(|&r| !self.rules[r as usize].deny)
            .find_map(|r| {
                let req = self.rules[r as usize].identity.as_ref()?;
                let short = self.identity_shortfall(req, frame)?;
                self.holds(r, frame, now, &mut dpi, false).then_some((r, short))
            })?;
        self.identity_denials[shortfall as usize] += 1;
        let rule = &self.info[r as usize].name;
        let user = self.identities.get(frame.src).map(|i| i.user).unwrap_or_default();
        let src = &self.topo_names[frame.src.0 as usize];
        Some(match shortfall {
            Shortfall::Mfa => {
                format!("MFA required by \"{rule}\": {user} signed in on {src} without a second factor")
            }
            Shortfall::User => {
                format!("identity required by \"{rule}\": {user} on {src} is not among its users")
            }
            Shortfall::Nobody => format!("identity required by \"{rule}\": nobody is signed in on {src}"),
        })
    }

    /// The rules filed for this point and destination.
    #[inline]
    fn list(&self, point: EnforcementPoint, dst: HostId) -> &[u32] {
        let d = dst.0 as usize;
        match point {
            EnforcementPoint::Network(n) => match self.net_slot.get(n.0 as usize) {
                Some(&slot) if slot != u32::MAX && d < self.n_hosts => {
                    &self.net_lists[slot as usize * self.n_hosts + d]
                }
                _ => &[],
            },
            EnforcementPoint::Host(h) => self.host_lists.get(h.0 as usize).map_or(&[], |l| &l[..]),
        }
    }
}

impl PolicyHook for Policy {
    fn decide(&mut self, point: EnforcementPoint, frame: &Frame, _topo: &Topology, now: SimTime) -> Verdict {
        if self.trivial {
            self.default_hits[0] += 1;
            return Verdict::Allow;
        }
        self.sync_identities();
        let code = match point {
            EnforcementPoint::Network(n) => n.0,
            EnforcementPoint::Host(_) => HOST_LAYER,
        };
        let reply = frame.src_port == frame.service.port();
        if reply
            && self
                .conns
                .contains(key(code, frame.dst, frame.dst_port, frame.src, frame.src_port))
        {
            self.established += 1;
            return Verdict::Allow;
        }
        let found = match point {
            EnforcementPoint::Host(h) if h != frame.dst => {
                // Not something the network asks; answered exactly, if slowly.
                let cands = (0..self.info.len() as u32).filter(|&r| {
                    let i = &self.info[r as usize];
                    i.at_host.contains(h) && i.to.contains(frame.dst)
                });
                self.first_match(cands, frame, now)
            }
            _ => self.first_match(self.list(point, frame.dst).iter().copied(), frame, now),
        };
        let deny = match found {
            Some(r) => {
                self.hits[r as usize] += 1;
                self.rules[r as usize].deny
            }
            None => {
                let deny = self.default == Action::Deny;
                self.default_hits[usize::from(deny)] += 1;
                deny
            }
        };
        if deny {
            let why = self.why_denied(point, frame, now, found);
            let rule = found.map_or(&self.default_rule, |r| &self.info[r as usize].name);
            return Verdict::Deny {
                rule: rule.clone(),
                why,
            };
        }
        if !reply {
            self.conns
                .insert(key(code, frame.src, frame.src_port, frame.dst, frame.dst_port));
        }
        Verdict::Allow
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn identities(&self) -> Option<IdentityHandle> {
        Some(self.identities.clone())
    }

    /// Hits per rule in file order, default verdicts and replies passed on connection
    /// state: what the policy did over the run, deterministic for a deterministic run.
    fn summary(&self) -> serde_json::Value {
        let rule_hits: u64 = self.hits.iter().sum();
        let denied: u64 = self
            .info
            .iter()
            .zip(&self.hits)
            .filter(|(r, _)| r.action == Action::Deny)
            .map(|(_, h)| h)
            .sum::<u64>()
            + self.default_hits[1];
        let decisions = rule_hits + self.default_hits[0] + self.default_hits[1] + self.established;
        let mut summary = serde_json::json!({
            "policy": self.name,
            "default": self.default.as_str(),
            "decisions": decisions,
            "allowed": decisions - denied,
            "denied": denied,
            "established": self.established,
            "default_verdicts": { "allowed": self.default_hits[0], "denied": self.default_hits[1] },
            "rules": self.info.iter().zip(&self.hits).map(|(r, h)| serde_json::json!({
                "name": r.name,
                "action": r.action.as_str(),
                "hits": h,
            })).collect::<Vec<_>>(),
        });
        if self.has_identity_rules {
            let [mfa, user, nobody] = self.identity_denials;
            summary["identity_denials"] = serde_json::json!({
                "mfa": mfa,
                "user": user,
                "nobody": nobody,
            });
        }
        summary
    }
}
