//! How much of MITRE's record of an incident a playbook replays.
//!
//! A playbook names its records (`[playbook] records = ["C0041", "S1165"]`). The techniques
//! of those records, less the ones that cannot happen in the range (out of scope, such as
//! radio), are what a faithful replay should contain. A technique counts as covered when a
//! step executes it, or when it is an impact the exercise's `[expect]` requires (the run
//! asserts those, so counting them is honest). Everything else is left out with the
//! playbook's reason, or missing: a gap the coverage test refuses.

use crate::catalogue::{self, Meaning, Record, Technique};
use crate::playbook::LeftOut;

/// Where one record technique stands for a playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// A step executes it (1-based step numbers).
    Executed(Vec<usize>),
    /// An impact the exercise expects the plant to produce.
    ImpactExpected,
    /// Cannot happen in the range; not counted.
    OutOfScope(&'static str),
    /// The playbook leaves it out, with this reason.
    LeftOut(String),
    /// Neither executed, expected, nor explained.
    Missing,
}

impl Status {
    /// One word for tables and JSON.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Executed(_) => "executed",
            Self::ImpactExpected => "impact",
            Self::OutOfScope(_) => "out of scope",
            Self::LeftOut(_) => "left out",
            Self::Missing => "missing",
        }
    }

    /// Whether it counts as covered.
    pub fn covered(&self) -> bool {
        matches!(self, Self::Executed(_) | Self::ImpactExpected)
    }
}

/// One technique of the records.
#[derive(Debug, Clone)]
pub struct Row {
    /// The technique.
    pub technique: &'static Technique,
    /// Which of the records list it.
    pub records: Vec<&'static str>,
    /// Where the playbook stands on it.
    pub status: Status,
}

/// A playbook measured against its records.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// The records, as the playbook lists them.
    pub records: Vec<Record>,
    /// The union of their techniques, by ID.
    pub rows: Vec<Row>,
}

impl Coverage {
    /// Measures `executed` (each step's technique, in step order) and `impacts` (the impact
    /// techniques the exercise expects) against `records`, with the playbook's `left_out`
    /// reasons and `meaning` deciding what is out of scope.
    pub fn of(
        records: &[Record],
        executed: &[&str],
        impacts: &[&str],
        left_out: &[LeftOut],
        meaning: impl Fn(&str) -> Meaning,
    ) -> Coverage {
        let mut ids: Vec<&'static str> = records
            .iter()
            .flat_map(|r| r.techniques().iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let rows = ids
            .into_iter()
            .filter_map(|id| catalogue::technique(id).ok())
            .map(|technique| {
                let id = technique.id;
                let steps: Vec<usize> = executed
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| **t == id)
                    .map(|(i, _)| i + 1)
                    .collect();
                let status = if !steps.is_empty() {
                    Status::Executed(steps)
                } else if impacts.contains(&id) {
                    Status::ImpactExpected
                } else if let Meaning::OutOfScope(why) = meaning(id) {
                    Status::OutOfScope(why)
                } else if let Some(l) = left_out.iter().find(|l| l.technique == id) {
                    Status::LeftOut(l.why.clone())
                } else {
                    Status::Missing
                };
                Row {
                    technique,
                    records: records
                        .iter()
                        .filter(|r| r.techniques().contains(&id))
                        .map(Record::id)
                        .collect(),
                    status,
                }
            })
            .collect();
        Coverage {
            records: records.to_vec(),
            rows,
        }
    }

    /// Record techniques that can happen in the range.
    pub fn in_scope(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| !matches!(r.status, Status::OutOfScope(_)))
            .count()
    }

    /// Of those, the ones executed or expected as impacts.
    pub fn covered(&self) -> usize {
        self.rows.iter().filter(|r| r.status.covered()).count()
    }

    /// `covered` of `in_scope` in percent, to one decimal; 100 for a record with nothing
    /// in scope.
    pub fn percent(&self) -> f64 {
        match self.in_scope() {
            0 => 100.0,
            n => (self.covered() as f64 * 1000.0 / n as f64).round() / 10.0,
        }
    }

    /// Rows with a given status label, in ID order.
    pub fn with(&self, label: &str) -> Vec<&Row> {
        self.rows.iter().filter(|r| r.status.label() == label).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{Coverage, Status};
    use crate::catalogue::{Meaning, RecordKind, record};
    use crate::playbook::LeftOut;

    fn meaning(id: &str) -> Meaning {
        crate::techniques::meaning(id)
    }

    #[test]
    fn executed_steps_and_expected_impacts_count_and_the_rest_is_explained_or_missing() {
        // C0041 FrostyGoop: T0826, T0829, T0836, T0857.
        let c0041 = record("C0041", RecordKind::Campaign).unwrap();
        let left = [LeftOut {
            technique: "T0829",
            why: "no HMI watches the heating".into(),
        }];
        let cov = Coverage::of(&[c0041], &["T0883", "T0836", "T0836"], &["T0826"], &left, meaning);
        let status: Vec<(&str, &Status)> = cov.rows.iter().map(|r| (r.technique.id, &r.status)).collect();
        assert_eq!(
            status,
            [
                ("T0826", &Status::ImpactExpected),
                ("T0829", &Status::LeftOut("no HMI watches the heating".into())),
                ("T0836", &Status::Executed(vec![2, 3])),
                ("T0857", &Status::Missing),
            ]
        );
        assert_eq!((cov.covered(), cov.in_scope(), cov.percent()), (2, 4, 50.0));
    }

    #[test]
    fn out_of_scope_techniques_are_not_counted() {
        // C0020 Maroochy lists T0860 Wireless Compromise.
        let c0020 = record("C0020", RecordKind::Campaign).unwrap();
        let cov = Coverage::of(&[c0020], &[], &[], &[], meaning);
        assert_eq!(cov.in_scope(), c0020.techniques().len() - 1);
        assert_eq!(cov.with("out of scope")[0].technique.id, "T0860");
    }
}
