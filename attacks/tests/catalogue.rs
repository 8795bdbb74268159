//! The ATT&CK for ICS catalogue against facts from the ATT&CK v18.1 matrix, so that a data
//! update that drops, renames or re-tactics a technique shows up here first.

use std::collections::HashSet;

use otrange_attacks::catalogue::{self, CatalogueError};

fn tactic_names(id: &str) -> Vec<&'static str> {
    catalogue::technique(id)
        .unwrap()
        .tactics
        .iter()
        .map(|t| t.name)
        .collect()
}

#[test]
fn counts_match_attack_for_ics_v18_1() {
    assert_eq!(catalogue::techniques().len(), 83);
    assert_eq!(catalogue::tactics().len(), 12);
    assert_eq!(catalogue::deprecated_techniques().len(), 12);
}

#[test]
fn tactics_are_in_kill_chain_order() {
    let names: Vec<&str> = catalogue::tactics().iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "Initial Access",
            "Execution",
            "Persistence",
            "Privilege Escalation",
            "Evasion",
            "Discovery",
            "Lateral Movement",
            "Collection",
            "Command and Control",
            "Inhibit Response Function",
            "Impair Process Control",
            "Impact",
        ]
    );
    for (i, tactic) in catalogue::tactics().iter().enumerate() {
        assert_eq!(tactic.order, i);
    }
    let first = &catalogue::tactics()[0];
    assert_eq!((first.id, first.shortname), ("TA0108", "initial-access"));
    let last = catalogue::tactics().last().unwrap();
    assert_eq!((last.id, last.shortname), ("TA0105", "impact"));
}

#[test]
fn techniques_are_sorted_unique_and_well_formed() {
    let ids: Vec<&str> = catalogue::techniques().iter().map(|t| t.id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted);
    for t in catalogue::techniques() {
        assert!(t.id.len() == 5 && t.id.starts_with("T0"), "{}", t.id);
        assert!(!t.name.is_empty(), "{}", t.id);
    }
}

#[test]
fn every_technique_has_known_tactics_in_order() {
    let known: HashSet<&str> = catalogue::tactics().iter().map(|t| t.id).collect();
    for t in catalogue::techniques() {
        assert!(!t.tactics.is_empty(), "{} has no tactic", t.id);
        for tactic in &t.tactics {
            assert!(
                known.contains(tactic.id),
                "{} names unknown tactic {}",
                t.id,
                tactic.id
            );
        }
        assert!(t.tactics.windows(2).all(|w| w[0].order < w[1].order), "{}", t.id);
        assert_eq!(t.primary_tactic(), t.tactics[0]);
    }
}

#[test]
fn every_tactic_has_a_technique() {
    for tactic in catalogue::tactics() {
        assert!(
            catalogue::techniques()
                .iter()
                .any(|t| t.tactics.contains(&tactic)),
            "{} has no technique",
            tactic.name
        );
    }
}

#[test]
fn known_techniques() {
    let t = catalogue::technique("T0855").unwrap();
    assert_eq!(t.name, "Unauthorized Command Message");
    assert_eq!(tactic_names("T0855"), ["Impair Process Control"]);

    assert_eq!(
        catalogue::technique("T0831").unwrap().name,
        "Manipulation of Control"
    );
    assert_eq!(tactic_names("T0831"), ["Impact"]);

    let t = catalogue::technique("T0866").unwrap();
    assert_eq!(t.name, "Exploitation of Remote Services");
    assert_eq!(tactic_names("T0866"), ["Initial Access", "Lateral Movement"]);
    assert_eq!(t.primary_tactic().name, "Initial Access");

    // Spans tactics that sit far apart in the kill chain.
    assert_eq!(
        tactic_names("T0857"),
        ["Persistence", "Inhibit Response Function"]
    );
    assert_eq!(catalogue::technique("T0857").unwrap().name, "System Firmware");
    assert_eq!(catalogue::technique("T0836").unwrap().name, "Modify Parameter");
    assert_eq!(
        catalogue::technique("T0888").unwrap().name,
        "Remote System Information Discovery"
    );
}

#[test]
fn lookup_ignores_case_and_whitespace() {
    assert_eq!(catalogue::technique("t0855").unwrap().id, "T0855");
    assert_eq!(catalogue::technique(" T0855\n").unwrap().id, "T0855");
    assert_eq!(catalogue::detection("t0855").unwrap().technique, "T0855");
}

#[test]
fn has_tactic_accepts_every_form() {
    let t = catalogue::technique("T0866").unwrap();
    for form in ["TA0109", "ta0109", "Lateral Movement", "lateral-movement"] {
        assert!(t.has_tactic(form), "{form}");
    }
    assert!(!t.has_tactic("impact"));
    assert!(!t.has_tactic("no such tactic"));
    assert_eq!(
        catalogue::tactic("inhibit-response-function").unwrap().id,
        "TA0107"
    );
}

#[test]
fn mistyped_id_suggests_the_closest() {
    let err = catalogue::technique("T855").unwrap_err();
    assert_eq!(
        err,
        CatalogueError::Unknown {
            id: "T855".into(),
            suggestion: Some("T0855".into())
        }
    );
    let message = err.to_string();
    assert!(message.contains("`T855`"), "{message}");
    assert!(
        message.contains("(did you mean T0855, Unauthorized Command Message?)"),
        "{message}"
    );
    assert!(
        message.contains("expected an ATT&CK for ICS technique ID such as T0855"),
        "{message}"
    );
    assert!(message.contains("`otrange techniques` lists them"), "{message}");

    for (input, expected) in [
        ("0855", "T0855"),
        ("T00855", "T0855"),
        ("T0585", "T0855"),
        ("t866", "T0866"),
    ] {
        match catalogue::technique(input) {
            Err(CatalogueError::Unknown { suggestion, .. }) => {
                assert_eq!(suggestion.as_deref(), Some(expected), "{input}");
            }
            other => panic!("{input}: {other:?}"),
        }
    }
}

#[test]
fn name_suggests_its_id() {
    for (input, expected) in [
        ("Unauthorized Command Message", "T0855"),
        ("unauthorized command message", "T0855"),
        ("T0855 Unauthorized Command Message", "T0855"),
        ("unauthorized command", "T0855"),
        ("Manipulaton of Control", "T0831"),
    ] {
        match catalogue::technique(input) {
            Err(CatalogueError::Unknown { suggestion, .. }) => {
                assert_eq!(suggestion.as_deref(), Some(expected), "{input}");
            }
            other => panic!("{input}: {other:?}"),
        }
    }
}

#[test]
fn unrelated_input_gets_no_suggestion() {
    // An Enterprise ID is not an ICS technique, and no ICS technique is one slip away.
    for input in ["T1190", "", "completely unrelated", "modify"] {
        match catalogue::technique(input) {
            Err(CatalogueError::Unknown { suggestion: None, .. }) => {}
            other => panic!("{input:?}: {other:?}"),
        }
    }
    let message = catalogue::technique("T1190").unwrap_err().to_string();
    assert!(!message.contains("did you mean"), "{message}");
    assert!(
        message.contains("expected an ATT&CK for ICS technique ID"),
        "{message}"
    );
}

#[test]
fn deprecated_id_is_reported_as_deprecated() {
    let err = catalogue::technique("T0854").unwrap_err();
    assert_eq!(
        err,
        CatalogueError::Deprecated {
            id: "T0854",
            name: "Serial Connection Enumeration",
            replaced_by: None
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("T0854 (Serial Connection Enumeration) is deprecated"),
        "{message}"
    );
    assert!(message.contains("`otrange techniques`"), "{message}");

    assert!(matches!(
        catalogue::technique("t0818"),
        Err(CatalogueError::Deprecated { id: "T0818", .. })
    ));
    // By its old name, or with the zero dropped, it is still recognisably that technique.
    assert!(matches!(
        catalogue::technique("Engineering Workstation Compromise"),
        Err(CatalogueError::Deprecated { id: "T0818", .. })
    ));
    assert!(matches!(
        catalogue::technique("T854"),
        Err(CatalogueError::Deprecated { id: "T0854", .. })
    ));
}

#[test]
fn deprecated_ids_are_not_active() {
    for retired in catalogue::deprecated_techniques() {
        assert!(
            !catalogue::techniques()
                .iter()
                .any(|t| t.id == retired.id || t.name == retired.name),
            "{} is both deprecated and active",
            retired.id
        );
    }
    // Everything in T0800..=T0895 is either active or known to be deprecated, except T0876,
    // which ATT&CK never assigned.
    for n in 800..=895 {
        let id = format!("T{n:04}");
        let known = catalogue::technique(&id).is_ok()
            || catalogue::deprecated_techniques().iter().any(|d| d.id == id);
        assert_eq!(known, id != "T0876", "{id}");
    }
}

#[test]
fn every_technique_has_a_detection_strategy() {
    for t in catalogue::techniques() {
        let d = t
            .detection()
            .unwrap_or_else(|| panic!("{} has no detection strategy", t.id));
        assert_eq!(d.technique, t.id);
        assert!(d.id.starts_with("DET"), "{}", d.id);
        // v18.1 gives Autorun Image a strategy with no analytic yet; every other has one.
        assert_eq!(d.analytics.is_empty(), t.id == "T0895", "{}", t.id);
    }
    let d = catalogue::detection("T0800").unwrap();
    assert_eq!(d.id, "DET0802");
    assert_eq!(d.analytics, ["AN1934"]);
    assert_eq!(
        d.data_components,
        [
            "Application Log Content",
            "Device Alarm",
            "Network Traffic Content"
        ]
    );
    // Impact techniques have a strategy but no data components.
    assert!(catalogue::detection("T0831").unwrap().data_components.is_empty());
    assert!(catalogue::detection("T9999").is_none());
}

/// A made-up registry: two executors, one impact, one out of scope, the rest unexplained.
fn sample_meaning(id: &str) -> catalogue::Meaning {
    use catalogue::Meaning;
    match id {
        "T0855" | "T0836" => Meaning::Executor,
        "T0826" => Meaning::Impact,
        "T0860" => Meaning::OutOfScope("no radio"),
        _ => Meaning::Unexplained,
    }
}

#[test]
fn table_lists_every_technique_with_its_meaning() {
    let table = catalogue::table(sample_meaning);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 1 + 83 + 1);
    assert!(lines[0].starts_with("ID"), "{}", lines[0]);
    assert!(lines[0].ends_with("MEANING"), "{}", lines[0]);
    let line = lines.iter().find(|l| l.starts_with("T0855")).unwrap();
    assert!(line.contains("Unauthorized Command Message"), "{line}");
    assert!(line.contains("Impair Process Control"), "{line}");
    assert!(line.ends_with(" executor"), "{line}");
    let line = lines.iter().find(|l| l.starts_with("T0866")).unwrap();
    assert!(line.contains("Initial Access, Lateral Movement"), "{line}");
    assert!(line.ends_with(" -"), "{line}");
    let line = lines.iter().find(|l| l.starts_with("T0826")).unwrap();
    assert!(line.ends_with(" impact"), "{line}");
    let line = lines.iter().find(|l| l.starts_with("T0860")).unwrap();
    assert!(line.ends_with(" out of scope: no radio"), "{line}");
    assert_eq!(lines.iter().filter(|l| l.ends_with(" executor")).count(), 2);
    assert_eq!(
        lines[84],
        "83 techniques: 2 with an executor, 1 impacts the plant produces, 1 out of scope, 79 unexplained"
    );
    // Columns line up: every row's name starts where the header's NAME does.
    let name_col = lines[0].find("NAME").unwrap();
    for line in &lines[1..84] {
        assert_eq!(line.as_bytes()[name_col - 1], b' ', "{line}");
        assert_ne!(line.as_bytes()[name_col], b' ', "{line}");
    }
}

#[test]
fn json_carries_the_catalogue_and_the_notice() {
    let json = catalogue::to_json(|id| {
        if id == "T0855" {
            catalogue::Meaning::Executor
        } else {
            sample_meaning(id)
        }
    });
    assert_eq!(json["attack"]["version"], "18.1");
    assert!(
        json["attack"]["notice"]
            .as_str()
            .unwrap()
            .contains("registered trademark of The MITRE Corporation")
    );
    assert_eq!(json["tactics"].as_array().unwrap().len(), 12);
    assert_eq!(json["deprecated"].as_array().unwrap().len(), 12);
    let techniques = json["techniques"].as_array().unwrap();
    assert_eq!(techniques.len(), 83);
    let t0855 = techniques.iter().find(|t| t["id"] == "T0855").unwrap();
    assert_eq!(t0855["name"], "Unauthorized Command Message");
    assert_eq!(t0855["tactics"], serde_json::json!(["Impair Process Control"]));
    assert_eq!(t0855["tactic_ids"], serde_json::json!(["TA0106"]));
    assert_eq!(t0855["executor"], true);
    assert_eq!(t0855["meaning"], "executor");
    let t0860 = techniques.iter().find(|t| t["id"] == "T0860").unwrap();
    assert_eq!(t0860["meaning"], "out of scope");
    assert_eq!(t0860["out_of_scope_reason"], "no radio");
    assert!(
        t0855["detection"]["strategy"]
            .as_str()
            .unwrap()
            .starts_with("DET")
    );
    assert_eq!(techniques.iter().filter(|t| t["executor"] == true).count(), 2);
    let t0866 = techniques.iter().find(|t| t["id"] == "T0866").unwrap();
    assert_eq!(t0866["primary_tactic"], "Initial Access");
}
