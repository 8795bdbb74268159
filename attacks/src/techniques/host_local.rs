//! Techniques that happen on a host the actor holds and put nothing on the network: a
//! command line, a script, a screenshot, a masqueraded binary, a cleared log, a stopped
//! service, an infected project file. A network sensor sees nothing of them (which is the
//! point of running them in a range); the host's own logs do, so each step writes what
//! Sysmon and the Windows security and system logs would record there, labelled with the
//! step, for host detectors to find.
//!
//! The techniques span tactics (Execution, Evasion, Privilege Escalation, Discovery,
//! Collection, Persistence, Inhibit Response Function, Initial Access); they are kept whole
//! here because they share one executor, as [`aitm`](super::aitm) keeps its steps together.
//!
//! What each records by default, after public reporting of the incidents that used it.
//! Parameters override the defaults: `image`, `command_line`, `parent` and `user` for a
//! process, `path` for a file, `service` for a service, `user` for a credential.
//!
//! | technique | recorded on the host |
//! |---|---|
//! | T0807 Command-Line Interface | `cmd.exe /c whoami /all & ipconfig /all & net view`, started by the actor's implant |
//! | T0853 Scripting | `powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\Users\Public\run.ps1` |
//! | T0894 System Binary Proxy Execution | `rundll32.exe C:\Users\Public\payload.dll,Start` |
//! | T0834 Native API | the implant itself starting (`C:\Users\Public\update.exe`) |
//! | T0840 Network Connection Enumeration | `netstat -ano` |
//! | T0852 Screen Capture | a capture tool, and the image it writes |
//! | T0893 Data from Local System | a copy of the project folder into a staging archive |
//! | T0849 Masquerading | the implant run as `C:\Users\Public\svchost.exe` (svchost outside System32) |
//! | T0872 Indicator Removal on Host | `wevtutil.exe cl Security` |
//! | T0890 Exploitation for Privilege Escalation | an exploit binary, then a shell as SYSTEM |
//! | T0820 Exploitation for Evasion | an exploit binary, then the security agent's service stopped |
//! | T0851 Rootkit | a kernel driver service installed (`MRxCls`, Stuxnet's loader driver) |
//! | T0874 Hooking | a replaced communication DLL in the engineering software (`s7otbxdx.dll`, as Stuxnet did) |
//! | T0873 Project File Infection | the project file rewritten by the implant |
//! | T0895 Autorun Image | `E:\autorun.inf` written, and the script it names started |
//! | T0881 Service Stop | a service stopped (the historian's database by default) |
//! | T0892 Change Credential | an account's password reset by the actor |
//! | T0847 Replication Through Removable Media | a USB drive connected, its payload started; the actor holds the host |
//! | T0864 Transient Cyber Asset | a contractor's laptop logged on at the console; the actor holds it |
//!
//! T0847 and T0864 are how an actor appears on a host inside without crossing any
//! firewall: the target is where it appears (a laptop declared in the plant, or the host
//! the USB drive is plugged into), and every other technique here needs a foothold on its
//! target already.

use super::{ConfigError, Executor, Outcome, Progress, StepCx, param};
use otrange_sim::devices::host_log::{HostActivity, LogonMethod, ServiceAction};
use otrange_sim::net::Delivered;
use otrange_sim::net::topology::{HostId, Topology};

/// Where the actor's implant sits on a Windows host: a world-writable folder, as in much
/// public reporting (and the reason host rules watch it).
const IMPLANT: &str = r"C:\Users\Public\update.exe";
const CMD: &str = r"C:\Windows\System32\cmd.exe";
const POWERSHELL: &str = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";

/// The kind of record a technique leaves, which decides the parameters it takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Process,
    File,
    Service,
    Credential,
    Appears,
}

fn shape(id: &str) -> Shape {
    match id {
        "T0873" | "T0874" | "T0895" => Shape::File,
        "T0851" | "T0881" | "T0820" => Shape::Service,
        "T0892" => Shape::Credential,
        "T0847" | "T0864" => Shape::Appears,
        _ => Shape::Process,
    }
}

struct Local {
    technique: &'static str,
    host: Option<HostId>,
    params: toml::Table,
}

/// The target is the host it happens on (default: where the actor works from).
pub fn build(
    id: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    let keys: &[&str] = match shape(id) {
        Shape::Process => &["image", "command_line", "parent", "user"],
        Shape::File => &["path"],
        Shape::Service => &["service"],
        Shape::Credential => &["user"],
        Shape::Appears => &["user", "device"],
    };
    param::only(p, keys)?;
    for k in keys {
        param::string(p, k, Some(""))?;
    }
    if shape(id) == Shape::Appears && t.is_none() {
        return Err(ConfigError::unlocated(
            "target",
            "this technique needs a target: the host the actor appears on",
        ));
    }
    Ok(Box::new(Local {
        technique: id,
        host: t,
        params: p.clone(),
    }))
}

impl Local {
    fn param(&self, key: &str, default: &str) -> String {
        self.params
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or(default)
            .to_string()
    }

    /// A process start, with the parameters' overrides.
    fn process(&self, image: &str, command_line: &str, parent: &str, user: &str) -> HostActivity {
        HostActivity::ProcessStart {
            image: self.param("image", image),
            command_line: self.param("command_line", command_line),
            parent_image: self.param("parent", parent),
            user: self.param("user", user),
        }
    }

    /// What the host's logs record, and the outcome's words for it.
    fn activities(&self, cx: &StepCx, host: HostId) -> (Vec<HostActivity>, String) {
        let name = cx.name(host).to_string();
        let user = cx
            .actor
            .credential_for(cx.topo, host, true)
            .unwrap_or_else(|| "SYSTEM".into());
        let user = user.as_str();
        let file = |path: &str, image: &str| HostActivity::FileWrite {
            path: self.param("path", path),
            image: image.into(),
        };
        let service = |service: &str, action| HostActivity::ServiceChange {
            service: self.param("service", service),
            action,
        };
        let (acts, what) = match self.technique {
            "T0807" => (
                vec![self.process(
                    CMD,
                    "cmd.exe /c whoami /all & ipconfig /all & net view",
                    IMPLANT,
                    user,
                )],
                "ran commands in a shell",
            ),
            "T0853" => (
                vec![self.process(
                    POWERSHELL,
                    r"powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\Users\Public\run.ps1",
                    IMPLANT,
                    user,
                )],
                "ran a script",
            ),
            "T0894" => (
                vec![self.process(
                    r"C:\Windows\System32\rundll32.exe",
                    r"rundll32.exe C:\Users\Public\payload.dll,Start",
                    IMPLANT,
                    user,
                )],
                "ran its payload through a signed system binary",
            ),
            "T0834" => (
                vec![self.process(IMPLANT, "update.exe", r"C:\Windows\explorer.exe", user)],
                "ran its implant, calling the operating system's API directly",
            ),
            "T0840" => (
                vec![self.process(r"C:\Windows\System32\NETSTAT.EXE", "netstat -ano", CMD, user)],
                "listed the host's network connections",
            ),
            "T0852" => (
                vec![
                    self.process(
                        r"C:\Users\Public\scr.exe",
                        r"scr.exe -o C:\Users\Public\s0001.png",
                        IMPLANT,
                        user,
                    ),
                    HostActivity::FileWrite {
                        path: r"C:\Users\Public\s0001.png".into(),
                        image: r"C:\Users\Public\scr.exe".into(),
                    },
                ],
                "captured the screen",
            ),
            "T0893" => (
                vec![
                    self.process(
                        CMD,
                        r"cmd.exe /c copy C:\Projects\*.* C:\Users\Public\stage\",
                        IMPLANT,
                        user,
                    ),
                    HostActivity::FileWrite {
                        path: r"C:\Users\Public\stage\projects.zip".into(),
                        image: IMPLANT.into(),
                    },
                ],
                "staged files from the local disk",
            ),
            "T0849" => (
                vec![self.process(
                    r"C:\Users\Public\svchost.exe",
                    "svchost.exe -k netsvcs",
                    IMPLANT,
                    user,
                )],
                "disguised its tools as legitimate software",
            ),
            "T0872" => (
                vec![self.process(
                    r"C:\Windows\System32\wevtutil.exe",
                    "wevtutil.exe cl Security",
                    CMD,
                    user,
                )],
                "removed its traces from the logs",
            ),
            "T0890" => (
                vec![
                    self.process(r"C:\Users\Public\elevate.exe", "elevate.exe", IMPLANT, user),
                    HostActivity::ProcessStart {
                        image: CMD.into(),
                        command_line: "cmd.exe".into(),
                        parent_image: r"C:\Users\Public\elevate.exe".into(),
                        user: "SYSTEM".into(),
                    },
                ],
                "gained administrative rights",
            ),
            "T0820" => (
                vec![
                    HostActivity::ProcessStart {
                        image: r"C:\Users\Public\elevate.exe".into(),
                        command_line: "elevate.exe".into(),
                        parent_image: IMPLANT.into(),
                        user: user.into(),
                    },
                    service("WinDefend", ServiceAction::Stopped),
                ],
                "exploited a flaw to switch off the host's security agent",
            ),
            "T0851" => (
                vec![service("MRxCls", ServiceAction::Installed)],
                "installed a rootkit driver",
            ),
            "T0874" => (
                vec![file(
                    r"C:\Program Files (x86)\Siemens\Step7\S7BIN\s7otbxdx.dll",
                    IMPLANT,
                )],
                "hooked the engineering software's communication library",
            ),
            "T0873" => (
                vec![file(&format!(r"C:\Projects\{}.stu", target_project(cx)), IMPLANT)],
                "infected a project file",
            ),
            "T0895" => (
                vec![
                    file(r"E:\autorun.inf", r"C:\Windows\explorer.exe"),
                    HostActivity::ProcessStart {
                        image: r"C:\Windows\System32\cscript.exe".into(),
                        command_line: r"cscript.exe E:\lun.vbs".into(),
                        parent_image: r"C:\Windows\explorer.exe".into(),
                        user: user.into(),
                    },
                ],
                "placed an autorun image",
            ),
            "T0881" => (
                vec![service(default_service(cx, host), ServiceAction::Stopped)],
                "stopped a service",
            ),
            "T0892" => {
                let account = self.param(
                    "user",
                    &otrange_sim::devices::host_activity::account_of(cx.topo, host),
                );
                (
                    vec![HostActivity::CredentialChange {
                        user: account,
                        by: user.into(),
                    }],
                    "changed an account's password, locking its owner out",
                )
            }
            "T0847" => (
                vec![
                    HostActivity::DeviceConnected {
                        device: self.param("device", "USB Mass Storage Device"),
                    },
                    HostActivity::ProcessStart {
                        image: r"E:\setup.exe".into(),
                        command_line: r"E:\setup.exe".into(),
                        parent_image: r"C:\Windows\explorer.exe".into(),
                        user: self.param(
                            "user",
                            &otrange_sim::devices::host_activity::account_of(cx.topo, host),
                        ),
                    },
                ],
                "ran its payload from a USB drive",
            ),
            "T0864" => (
                vec![HostActivity::Logon {
                    user: self.param("user", "contractor"),
                    method: LogonMethod::Interactive,
                    source: None,
                    success: true,
                }],
                "came in on a transient device",
            ),
            other => (Vec::new(), other),
        };
        (acts, format!("{what} on {name}"))
    }
}

/// The project an infection rewrites: the one named after the step's target controller
/// when the step names one, else the plant's.
fn target_project(cx: &StepCx) -> String {
    cx.target
        .filter(|t| cx.topo.host(*t).role == otrange_sim::net::topology::Role::Plc)
        .map_or_else(|| "plant".to_string(), |t| cx.name(t).to_string())
}

/// The service a Service Stop hits when the step names none: the historian's database on
/// a historian, the HMI runtime on an HMI, else a database server.
fn default_service(cx: &StepCx, host: HostId) -> &'static str {
    use otrange_sim::net::topology::Role;
    match cx.topo.host(host).role {
        Role::Historian => "HistorianDB",
        Role::Hmi => "HMIRuntime",
        _ => "MSSQLSERVER",
    }
}

impl Executor for Local {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        let appears = shape(self.technique) == Shape::Appears;
        let host = match (appears, self.host) {
            (true, Some(t)) => t,
            (_, h) => h
                .filter(|h| cx.topo.host(*h).role != otrange_sim::net::topology::Role::Plc)
                .unwrap_or_else(|| cx.source()),
        };
        if !appears && !cx.actor.holds(host) {
            return Progress::Done(Outcome::Failed {
                reason: format!(
                    "missing precondition: the actor holds no foothold on {}",
                    cx.name(host)
                ),
            });
        }
        let (activities, what) = self.activities(cx, host);
        for a in activities {
            cx.record(host, a);
        }
        if appears {
            cx.actor.gain(host);
        }
        Progress::Done(Outcome::Succeeded {
            detail: format!("{what} (host-local: no network frames)"),
        })
    }
    fn reply(&mut self, _: &mut StepCx, _: &Delivered) -> Progress {
        Progress::Wait(None)
    }
    fn timer(&mut self, _: &mut StepCx) -> Progress {
        Progress::Wait(None)
    }
}
