//! Initial Access (TA0108), and the moves between IT hosts after it: getting in and moving
//! around. Every technique here is one IT exchange (a VPN login, an RDP session, an SMB
//! exploit, a phishing mail, a malware beacon) over the simulated network. It succeeds only
//! if the path exists under the policy and, where the technique logs in, a credential the
//! actor holds (or a vendor default, for T0812) opens the host. Success gives the actor a
//! foothold it acts from next.
//!
//! * Initial Access: T0822 External Remote Services, T0883 Internet Accessible Device,
//!   T0865 Spearphishing Attachment, and T0866 Exploitation of Remote Services and T0886
//!   Remote Services (both also Lateral Movement).
//! * Lateral Movement: T0859 Valid Accounts (also Persistence), T0812 Default Credentials,
//!   T0867 Lateral Tool Transfer.
//! * Execution: T0863 User Execution (the victim's machine beacons out to the actor).
//!
//! One executor serves them all, since they differ only in the service, the login and
//! whether a foothold is gained; it is here with its primary tactic, Initial Access.
//! Program Download into a controller (T0843) is Modbus and lives in
//! [`lateral_movement`](super::lateral_movement).

use super::{ConfigError, Executor, Outcome, Progress, StepCx, param};
use otrange_sim::base::time::{SimDuration, SimTime};
use otrange_sim::net::Delivered;
use otrange_sim::net::topology::{HostId, Service, Topology};

/// How long an exchange may take before the step fails for want of an answer.
const TIMEOUT: SimDuration = SimDuration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Login {
    /// No login: an exploit, a delivered mail.
    None,
    /// A credential the actor holds.
    Held,
    /// A vendor default the host still accepts (T0812).
    Default,
    /// Either.
    Any,
}

struct Access {
    technique: &'static str,
    target: HostId,
    service: Service,
    bytes: u32,
    reply_bytes: u32,
    login: Login,
    gains: bool,
    /// T0863: the victim's machine beacons out to the actor, so the frame leaves the target.
    beacon: bool,
    deadline: SimTime,
}

fn service(p: &toml::Table, default: Service) -> Result<Service, ConfigError> {
    match p.get("service") {
        None => Ok(default),
        Some(v) => {
            let s = v
                .as_str()
                .ok_or_else(|| ConfigError::unlocated("params.service", "expected a service name"))?;
            toml::Value::String(s.to_string())
                .try_into::<Service>()
                .map_err(|_| ConfigError::unlocated("params.service", format!("unknown service {s:?}")))
        }
    }
}

/// Builds the executor for an access or lateral-movement technique.
pub fn build(
    technique: &'static str,
    target: Option<HostId>,
    p: &toml::Table,
    _topo: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    let target =
        target.ok_or_else(|| ConfigError::unlocated("target", "this technique needs a target host"))?;
    param::only(p, &["service", "bytes", "reply_bytes"])?;
    // Per technique: the usual service, whether it logs in, whether it gains a foothold.
    let (svc, login, gains, beacon) = match technique {
        "T0822" => (Service::Vpn, Login::Any, true, false), // External Remote Services
        "T0883" => (Service::Https, Login::None, true, false), // Internet Accessible Device
        "T0866" => (Service::Smb, Login::None, true, false), // Exploitation of Remote Services
        "T0859" => (Service::Rdp, Login::Held, true, false), // Valid Accounts
        "T0812" => (Service::Rdp, Login::Default, true, false), // Default Credentials
        "T0886" => (Service::Rdp, Login::Any, true, false), // Remote Services
        "T0865" => (Service::Https, Login::None, false, false), // Spearphishing Attachment
        "T0863" => (Service::Https, Login::None, true, true), // User Execution
        "T0867" => (Service::Smb, Login::Any, false, false), // Lateral Tool Transfer
        other => {
            return Err(ConfigError::unlocated(
                "technique",
                format!("{other} is no access technique"),
            ));
        }
    };
    let service = service(p, svc)?;
    let bytes = param::int(
        p,
        "bytes",
        Some(if technique == "T0867" { 2_000_000 } else { 4_000 }),
    )?;
    let reply_bytes = param::int(p, "reply_bytes", Some(20_000))?;
    let b = |v: i64, k: &str| {
        u32::try_from(v).map_err(|_| ConfigError::unlocated(format!("params.{k}"), "expected 0..=4294967295"))
    };
    Ok(Box::new(Access {
        technique,
        target,
        service,
        bytes: b(bytes, "bytes")?,
        reply_bytes: b(reply_bytes, "reply_bytes")?,
        login,
        gains,
        beacon,
        deadline: SimTime::ZERO,
    }))
}

impl Access {
    /// The account the step logs in with: a credential the actor holds, or the target's
    /// vendor default, as the technique allows.
    fn user(&self, cx: &StepCx) -> Option<String> {
        match self.login {
            Login::None => None,
            Login::Held => cx.actor.credential_for(cx.topo, self.target, false),
            Login::Default | Login::Any => {
                let held = if self.login == Login::Any {
                    cx.actor.credential_for(cx.topo, self.target, false)
                } else {
                    None
                };
                held.or_else(|| cx.actor.credential_for(cx.topo, self.target, true))
            }
        }
    }

    /// A login from a machine nobody of the plant is signed in on (the actor's own, on the
    /// internet) presents the account it uses, without a second factor: a password is
    /// what an actor steals or guesses, the MFA token is what it has not got. An
    /// identity-aware policy then sees that user, and can say that MFA is what stopped the
    /// login. From a foothold the actor acts as whoever is signed in there.
    fn sign_in(&self, cx: &mut StepCx) {
        let Some(user) = self.user(cx) else {
            return;
        };
        let src = cx.source();
        let table = cx.net.identities();
        if table.get(src).is_none() {
            table.set(src, Some(otrange_sim::net::Identity::new(user, false)));
        }
    }
}

impl Executor for Access {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        if !self.beacon && !cx.topo.host(self.target).services.contains(&self.service) {
            return Progress::Done(Outcome::Failed {
                reason: format!(
                    "{} offers no {} service",
                    cx.name(self.target),
                    self.service.as_str()
                ),
            });
        }
        if self.beacon {
            // The implant on the victim calls home to where the actor sits.
            let home = cx.actor.footholds()[0];
            cx.net.send(
                cx.now,
                self.target,
                home,
                self.service,
                otrange_sim::net::Payload::Flow {
                    bytes: self.bytes,
                    reply_bytes: self.reply_bytes,
                },
                cx.label,
            );
        } else {
            self.sign_in(cx);
            cx.send_flow(self.target, self.service, self.bytes, self.reply_bytes);
        }
        self.deadline = cx.now + TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }

    fn reply(&mut self, cx: &mut StepCx, _d: &Delivered) -> Progress {
        let target = cx.name(self.target).to_string();
        let user = self.user(cx);
        if self.login != Login::None && user.is_none() {
            return Progress::Done(Outcome::Failed {
                reason: format!("{target} accepted no credential the actor holds"),
            });
        }
        if self.beacon {
            // The victim's own accounts come with the machine.
            for c in &cx.topo.host(self.target).credentials {
                cx.actor.credentials.push(crate::playbook::CredentialRef {
                    user: c.user.clone(),
                    host: None,
                });
            }
        }
        if self.gains {
            cx.actor.gain(self.target);
        }
        let how = match &user {
            Some(u) => format!(" as {u}"),
            None => String::new(),
        };
        Progress::Done(Outcome::Succeeded {
            detail: format!(
                "{} {} {target} over {}{how}",
                self.technique,
                if self.gains { "took" } else { "reached" },
                self.service.as_str()
            ),
        })
    }

    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        if cx.now >= self.deadline {
            return Progress::Done(Outcome::Failed {
                reason: format!(
                    "no answer from {} over {}",
                    cx.name(self.target),
                    self.service.as_str()
                ),
            });
        }
        Progress::Wait(Some(self.deadline))
    }
}
