//! Host telemetry: what a host's own logs record, which the network never shows. A script
//! run on a held workstation, a logon at the HMI's console, a project file rewritten on the
//! engineering workstation leave no frame on any wire, so a network sensor can only score
//! them "none"; an endpoint agent (Sysmon, the Windows security log, the engineering tool's
//! audit trail) sees them. Benign activity writes here too (operators log on, engineers
//! open projects, administrators run scripts), so a host detector has false alarms to
//! make, exactly as on a real site.
//!
//! Each activity is named in the vocabulary host-log rules are written in: a Windows-like
//! `logsource` (product, category, service) and the field names of Sysmon and the Windows
//! security and system logs (`Image`, `CommandLine`, `TargetUserName`, `LogonType`, ...).
//! That is what lets a detector evaluate Sigma rules over them without a mapping table per
//! rule.

use crate::base::time::SimTime;
use crate::net::topology::HostId;
use bevy_ecs::prelude::ResMut;
use bevy_ecs::resource::Resource;
use serde::{Deserialize, Serialize};

/// How a user logged on; the Windows logon type it is recorded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogonMethod {
    /// At the console (logon type 2).
    Interactive,
    /// Over the network: a file share, WinRM, SSH (logon type 3).
    Network,
    /// Remote desktop (logon type 10).
    RemoteInteractive,
}

impl LogonMethod {
    /// The Windows logon type (event 4624's `LogonType`).
    pub fn logon_type(self) -> u32 {
        match self {
            LogonMethod::Interactive => 2,
            LogonMethod::Network => 3,
            LogonMethod::RemoteInteractive => 10,
        }
    }
}

/// What happened to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceAction {
    /// A new service (or driver) was installed (system event 7045).
    Installed,
    /// A service stopped (system event 7036, state "stopped").
    Stopped,
    /// A service started (system event 7036, state "running").
    Started,
}

/// Which way a program moved between engineering software and a controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transfer {
    /// From the controller to the workstation.
    Upload,
    /// From the workstation into the controller.
    Download,
}

/// One thing a host's logs record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "activity", rename_all = "snake_case")]
pub enum HostActivity {
    /// A process started (Sysmon event 1).
    ProcessStart {
        /// The executable's path.
        image: String,
        /// The whole command line.
        command_line: String,
        /// The executable of the process that started it.
        parent_image: String,
        /// The account it runs as.
        user: String,
    },
    /// A logon, or a failed one (security events 4624, 4625).
    Logon {
        /// The account.
        user: String,
        /// How.
        method: LogonMethod,
        /// The host it came from, for a remote logon.
        source: Option<String>,
        /// Whether the credentials were accepted.
        success: bool,
    },
    /// A file created or overwritten (Sysmon event 11).
    FileWrite {
        /// The file's path.
        path: String,
        /// The executable that wrote it.
        image: String,
    },
    /// A service installed, stopped or started (system events 7045, 7036).
    ServiceChange {
        /// The service's name.
        service: String,
        /// What happened to it.
        action: ServiceAction,
    },
    /// An account's password changed or reset (security events 4723, 4724).
    CredentialChange {
        /// The account whose password changed.
        user: String,
        /// The account that changed it.
        by: String,
    },
    /// A removable or external device was plugged in (security event 6416).
    DeviceConnected {
        /// What the device reports itself as.
        device: String,
    },
    /// Engineering software moved a program to or from a controller (the engineering tool's
    /// audit trail, which is where such transfers are logged on a workstation).
    ProgramTransfer {
        /// The controller's host name.
        controller: String,
        /// Which way.
        direction: Transfer,
        /// The project file it came from or went into.
        project: String,
        /// The account that ran the engineering software.
        user: String,
    },
}

/// A host-log field's value: rules compare text, or numbers such as event IDs.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A string field.
    Text(String),
    /// A numeric field (event ID, logon type).
    Number(i64),
}

/// Where a rule looks for an activity: Sigma's `logsource` keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSource {
    /// `product`: `windows`, or `ics` for an engineering tool's audit trail.
    pub product: &'static str,
    /// `category`, when the activity has one (`process_creation`, `file_event`).
    pub category: Option<&'static str>,
    /// `service`, when it is a named log (`security`, `system`, `engineering`).
    pub service: Option<&'static str>,
}

impl HostActivity {
    /// The log the activity is written to.
    pub fn logsource(&self) -> LogSource {
        let (category, service) = match self {
            HostActivity::ProcessStart { .. } => (Some("process_creation"), None),
            HostActivity::FileWrite { .. } => (Some("file_event"), None),
            HostActivity::Logon { .. }
            | HostActivity::CredentialChange { .. }
            | HostActivity::DeviceConnected { .. } => (None, Some("security")),
            HostActivity::ServiceChange { .. } => (None, Some("system")),
            HostActivity::ProgramTransfer { .. } => (None, Some("engineering")),
        };
        let product = if matches!(self, HostActivity::ProgramTransfer { .. }) {
            "ics"
        } else {
            "windows"
        };
        LogSource {
            product,
            category,
            service,
        }
    }

    /// The activity as the named fields its log records, in a fixed order. Event IDs are
    /// Windows' (Sysmon's for process and file events) so rules written for real logs
    /// apply.
    pub fn fields(&self) -> Vec<(&'static str, FieldValue)> {
        let t = |s: &str| FieldValue::Text(s.to_string());
        let n = FieldValue::Number;
        match self {
            HostActivity::ProcessStart {
                image,
                command_line,
                parent_image,
                user,
            } => vec![
                ("EventID", n(1)),
                ("Image", t(image)),
                ("CommandLine", t(command_line)),
                ("ParentImage", t(parent_image)),
                ("User", t(user)),
            ],
            HostActivity::Logon {
                user,
                method,
                source,
                success,
            } => vec![
                ("EventID", n(if *success { 4624 } else { 4625 })),
                ("TargetUserName", t(user)),
                ("LogonType", n(i64::from(method.logon_type()))),
                ("WorkstationName", t(source.as_deref().unwrap_or("-"))),
            ],
            HostActivity::FileWrite { path, image } => vec![
                ("EventID", n(11)),
                ("TargetFilename", t(path)),
                ("Image", t(image)),
            ],
            HostActivity::ServiceChange { service, action } => {
                let (id, state) = match action {
                    ServiceAction::Installed => (7045, "installed"),
                    ServiceAction::Stopped => (7036, "stopped"),
                    ServiceAction::Started => (7036, "running"),
                };
                vec![
                    ("EventID", n(id)),
                    ("ServiceName", t(service)),
                    ("State", t(state)),
                ]
            }
            HostActivity::CredentialChange { user, by } => vec![
                ("EventID", n(if user == by { 4723 } else { 4724 })),
                ("TargetUserName", t(user)),
                ("SubjectUserName", t(by)),
            ],
            HostActivity::DeviceConnected { device } => {
                vec![("EventID", n(6416)), ("DeviceDescription", t(device))]
            }
            HostActivity::ProgramTransfer {
                controller,
                direction,
                project,
                user,
            } => vec![
                (
                    "Direction",
                    t(match direction {
                        Transfer::Upload => "upload",
                        Transfer::Download => "download",
                    }),
                ),
                ("Controller", t(controller)),
                ("Project", t(project)),
                ("User", t(user)),
            ],
        }
    }
}

/// One entry of a host's log.
#[derive(Debug, Clone, PartialEq)]
pub struct HostEvent {
    /// When it happened.
    pub t: SimTime,
    /// The host whose log records it.
    pub host: HostId,
    /// Ground truth: the attacker's step number whose action it records, 0 for benign
    /// activity. Detectors must not read it; scoring does.
    pub label: u32,
    /// What happened.
    pub activity: HostActivity,
}

/// Every host's log, in time order: one list for the plant, as a SIEM collecting every
/// host's events would hold it.
#[derive(Resource, Debug, Default)]
pub struct HostLog {
    events: Vec<HostEvent>,
    /// How many of `events` the network's host sensors have been shown. Kept here, not in
    /// the feeding system's own state: the full tick's system and the scan tick both feed.
    shown: usize,
}

impl HostLog {
    /// Records an activity on `host` at `t`.
    pub fn record(&mut self, t: SimTime, host: HostId, label: u32, activity: HostActivity) {
        self.events.push(HostEvent {
            t,
            host,
            label,
            activity,
        });
    }

    /// Shows the network's host sensors what was recorded since they last looked.
    pub(crate) fn feed(&mut self, net: &mut crate::net::Network, events: &mut crate::base::events::EventLog) {
        let new = &self.events[self.shown..];
        if new.is_empty() {
            return;
        }
        net.observe_host_events(new, events);
        self.shown = self.events.len();
    }

    /// Every event recorded so far, in the order recorded (which is time order: systems
    /// record at the tick's time).
    pub fn events(&self) -> &[HostEvent] {
        &self.events
    }
}

/// Observe: shows the sensors that read host logs (host detectors, placed as middleboxes)
/// what the hosts logged since the last tick, in order. Every writer records at its tick's
/// time, earlier in the tick, so the alerts they raise fall in time order in the event log.
pub(crate) fn feed_host_sensors(
    mut log: ResMut<HostLog>,
    mut net: ResMut<crate::net::Network>,
    mut events: ResMut<crate::base::events::EventLog>,
) {
    log.feed(&mut net, &mut events);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_desktop_logon_is_event_4624_of_type_10_in_the_security_log() {
        let a = HostActivity::Logon {
            user: "operator".into(),
            method: LogonMethod::RemoteInteractive,
            source: Some("ws-01".into()),
            success: true,
        };
        assert_eq!(
            a.logsource(),
            LogSource {
                product: "windows",
                category: None,
                service: Some("security")
            }
        );
        let f = a.fields();
        assert_eq!(f[0], ("EventID", FieldValue::Number(4624)));
        assert_eq!(f[2], ("LogonType", FieldValue::Number(10)));
        assert_eq!(f[3], ("WorkstationName", FieldValue::Text("ws-01".into())));
    }
}
