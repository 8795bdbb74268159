//! A rule's `attack.*` tags: the technique and the tactic its alerts name, so that scoring
//! can credit the step they detect (the Sigma tags appendix: `attack.t0853`,
//! `attack.execution`, groups `attack.gNNNN`, software `attack.sNNNN`).

use super::sigma::SigmaError;
use super::yaml::{Node, Value};

/// ATT&CK tactics by their tag shortname (`attack.inhibit-response-function`), with the
/// name alerts carry. ICS tactics from attacks/data/attack-ics-tactics.tsv (ATT&CK for ICS
/// v17); the Enterprise ones SigmaHQ's Windows rules carry, from ATT&CK Enterprise v17.
const TACTICS: [(&str, &str); 17] = [
    ("initial-access", "Initial Access"),
    ("execution", "Execution"),
    ("persistence", "Persistence"),
    ("privilege-escalation", "Privilege Escalation"),
    ("evasion", "Evasion"),
    ("discovery", "Discovery"),
    ("lateral-movement", "Lateral Movement"),
    ("collection", "Collection"),
    ("command-and-control", "Command and Control"),
    ("inhibit-response-function", "Inhibit Response Function"),
    ("impair-process-control", "Impair Process Control"),
    ("impact", "Impact"),
    ("defense-evasion", "Defense Evasion"),
    ("credential-access", "Credential Access"),
    ("exfiltration", "Exfiltration"),
    ("reconnaissance", "Reconnaissance"),
    ("resource-development", "Resource Development"),
];

/// The first technique and the first tactic among the `attack.*` tags. A malformed tag or an
/// unknown `attack.` tag is an error: a typo there would silently lose the attribution.
pub(crate) fn attack_tags(
    doc: &Node,
    tags: &[String],
) -> Result<(Option<String>, Option<String>), SigmaError> {
    let (mut technique, mut tactic) = (None, None);
    for (i, tag) in tags.iter().enumerate() {
        let at = || {
            let node = doc.get("tags").and_then(|n| match &n.value {
                Value::Seq(items) => items.get(i),
                _ => None,
            });
            node.unwrap_or(doc)
        };
        let field = format!("tags[{i}]");
        let Some((ns, rest)) = tag.split_once('.') else {
            return Err(SigmaError::on(
                at(),
                &field,
                format!("{tag:?}: a tag is namespace.value, e.g. attack.t0853"),
            ));
        };
        if ns != "attack" {
            continue;
        }
        let rest = rest.to_ascii_lowercase();
        let id = |p: char| {
            rest.strip_prefix(p)
                .filter(|d| d.len() >= 4 && d.chars().all(|c| c.is_ascii_digit() || c == '.'))
        };
        if let Some(digits) = id('t') {
            technique.get_or_insert_with(|| format!("T{}", digits.to_ascii_uppercase()));
        } else if id('g').is_some() || id('s').is_some() || id('m').is_some() || id('c').is_some() {
            // Groups, software, mitigations, campaigns: kept as written.
        } else if let Some((_, name)) = TACTICS.iter().find(|(short, _)| *short == rest) {
            tactic.get_or_insert_with(|| (*name).to_string());
        } else {
            return Err(SigmaError::on(
                at(),
                &field,
                format!(
                    "{tag:?} is neither an ATT&CK technique (attack.t0853), group, software nor tactic \
                     (attack.execution, attack.inhibit-response-function, ...)"
                ),
            ));
        }
    }
    Ok((technique, tactic))
}
