//! Which fields the hosts' logs record under which logsource, read from the activities
//! themselves (one of each kind), so a rule naming a field no event of its logsource has
//! (a typo, or a field of another product's log) is refused when loaded instead of
//! silently never matching.

use super::sigma::RuleLogSource;
use otrange_sim::devices::host_log::{HostActivity, LogSource, LogonMethod, ServiceAction, Transfer};

/// One activity of every kind (values do not matter, only logsources and field names).
fn samples() -> Vec<HostActivity> {
    let s = String::new;
    vec![
        HostActivity::ProcessStart {
            image: s(),
            command_line: s(),
            parent_image: s(),
            user: s(),
        },
        HostActivity::Logon {
            user: s(),
            method: LogonMethod::Interactive,
            source: None,
            success: true,
        },
        HostActivity::FileWrite {
            path: s(),
            image: s(),
        },
        HostActivity::ServiceChange {
            service: s(),
            action: ServiceAction::Installed,
        },
        HostActivity::CredentialChange { user: s(), by: s() },
        HostActivity::DeviceConnected { device: s() },
        HostActivity::ProgramTransfer {
            controller: s(),
            direction: Transfer::Download,
            project: s(),
            user: s(),
        },
    ]
}

/// The fields of every activity a rule with this logsource reads, in first-seen order;
/// empty when the hosts log nothing under it.
pub(crate) fn recorded(ls: &RuleLogSource) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for a in samples().iter().filter(|a| ls.covers(&a.logsource())) {
        for (name, _) in a.fields() {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// The logsources the hosts log under, for messages.
pub(crate) fn sources() -> String {
    let mut out: Vec<String> = Vec::new();
    for a in samples() {
        let LogSource {
            product,
            category,
            service,
        } = a.logsource();
        let s = match (category, service) {
            (Some(c), _) => format!("{{product: {product}, category: {c}}}"),
            (None, Some(v)) => format!("{{product: {product}, service: {v}}}"),
            (None, None) => format!("{{product: {product}}}"),
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(", ")
}
