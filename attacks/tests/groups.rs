//! ATT&CK for ICS groups and software against facts from the ATT&CK v18.1 matrix, and the
//! group lookup as a user meets it: by ID, name or alias, and with close names when it fails.

use std::collections::HashSet;

use otrange_attacks::catalogue::{self, SoftwareKind};

#[test]
fn counts_match_attack_for_ics_v18_1() {
    assert_eq!(catalogue::groups().len(), 14);
    assert_eq!(catalogue::software().len(), 23);
}

#[test]
fn every_technique_a_group_or_software_uses_is_in_the_catalogue() {
    let uses = catalogue::groups()
        .iter()
        .map(|g| (g.id, &g.techniques))
        .chain(catalogue::software().iter().map(|s| (s.id, &s.techniques)));
    let mut seen = HashSet::new();
    for (owner, ids) in uses {
        for id in ids {
            let t = catalogue::technique(id).unwrap_or_else(|e| panic!("{owner} uses {id}: {e}"));
            assert_eq!(t.id, *id);
            seen.insert(*id);
        }
    }
    // None of them is deprecated; if a data update brings one, the parser refuses it by name.
    assert!(
        catalogue::deprecated_techniques()
            .iter()
            .all(|d| !seen.contains(d.id))
    );
    assert_eq!(seen.len(), 69, "distinct techniques used by groups and software");
    for g in catalogue::groups() {
        assert_eq!(g.resolved_techniques().len(), g.techniques.len(), "{g}");
    }
    for s in catalogue::software() {
        assert_eq!(s.resolved_techniques().len(), s.techniques.len(), "{s}");
    }
}

#[test]
fn ids_are_unique_and_in_file_order() {
    let ids: Vec<&str> = catalogue::groups().iter().map(|g| g.id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted);
    assert_eq!(ids.first(), Some(&"G0032"));
    assert_eq!(ids.last(), Some(&"G1027"));
    let software: Vec<&str> = catalogue::software().iter().map(|s| s.id).collect();
    let mut sorted = software.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(software, sorted);
}

#[test]
fn sandworm_team_is_found_by_id_name_and_alias() {
    for query in [
        "G0034",
        " g0034 ",
        "Sandworm Team",
        "sandworm team",
        "SANDWORM   TEAM",
        "ELECTRUM",
        "electrum",
        "Seashell Blizzard",
        "APT44",
        "BlackEnergy (Group)",
    ] {
        let g = catalogue::group(query).unwrap_or_else(|e| panic!("{query:?}: {e}"));
        assert_eq!((g.id, g.name), ("G0034", "Sandworm Team"), "{query:?}");
    }
    let g = catalogue::group("electrum").unwrap();
    assert_eq!(g.techniques, ["T0807", "T0819", "T0884"]);
    assert!(g.aliases.contains(&"Voodoo Bear"));
    assert!(!g.aliases.contains(&"Sandworm Team"));
}

#[test]
fn xenotime_is_temp_veles() {
    let g = catalogue::group("XENOTIME").unwrap();
    assert_eq!((g.id, g.name), ("G0088", "TEMP.Veles"));
    assert_eq!(g.aliases, ["XENOTIME"]);
    let names: Vec<&str> = g.resolved_techniques().iter().map(|t| t.name).collect();
    assert_eq!(names, ["Drive-by Compromise", "Supply Chain Compromise"]);
    assert_eq!(g.executable(|id| id == "T0817"), 1);
    assert_eq!(g.to_string(), "G0088 (TEMP.Veles)");
}

#[test]
fn some_groups_have_no_ics_techniques() {
    let empty: Vec<&str> = catalogue::groups()
        .iter()
        .filter(|g| g.techniques.is_empty())
        .map(|g| g.name)
        .collect();
    assert_eq!(
        empty,
        [
            "FIN6",
            "FIN7",
            "APT38",
            "Wizard Spider",
            "GOLD SOUTHFIELD",
            "HEXANE",
            "CyberAv3ngers"
        ]
    );
}

#[test]
fn software_facts() {
    assert!(
        catalogue::software()
            .iter()
            .all(|s| s.kind == SoftwareKind::Malware)
    );
    let triton = catalogue::software().iter().find(|s| s.id == "S1009").unwrap();
    assert_eq!(triton.name, "Triton");
    assert_eq!(triton.techniques.len(), 18);
    assert!(triton.techniques.contains(&"T0880"));
    assert_eq!(triton.kind.to_string(), "malware");
    let stuxnet = catalogue::software()
        .iter()
        .find(|s| s.name == "Stuxnet")
        .unwrap();
    assert_eq!((stuxnet.id, stuxnet.techniques.len()), ("S0603", 25));
}

#[test]
fn an_unknown_group_lists_close_names() {
    let err = catalogue::group("XENOTME").unwrap_err();
    assert_eq!(err.query, "XENOTME");
    assert_eq!(err.suggestions, ["XENOTIME"]);
    let message = err.to_string();
    assert!(
        message
            .contains("unknown ATT&CK for ICS group `XENOTME` (did you mean XENOTIME (G0088 TEMP.Veles)?)"),
        "{message}"
    );
    assert!(message.contains("otrange techniques --groups"), "{message}");

    let err = catalogue::group("sandwrom team").unwrap_err();
    assert_eq!(err.suggestions, ["Sandworm Team"]);
    assert!(err.to_string().contains("Sandworm Team (G0034)"), "{err}");

    let err = catalogue::group("sandworm").unwrap_err();
    assert_eq!(err.suggestions, ["Sandworm Team"]);

    let err = catalogue::group("G34").unwrap_err();
    assert_eq!(err.suggestions, ["G0034"]);
    assert!(err.to_string().contains("G0034 (Sandworm Team)"), "{err}");

    // A fragment proposes every group it fits, in the file's order.
    let err = catalogue::group("APT").unwrap_err();
    assert_eq!(err.suggestions, ["APT44", "APT34", "APT33", "APT38"]);
}

#[test]
fn nothing_close_means_no_suggestion() {
    for query in ["", "   ", "zzzzqqqq", "T0855"] {
        let err = catalogue::group(query).unwrap_err();
        assert!(err.suggestions.is_empty(), "{query:?}: {err}");
        assert!(!err.to_string().contains("did you mean"), "{err}");
    }
}

#[test]
fn group_table_shows_the_techniques_and_the_share_executable() {
    let g = catalogue::group("xenotime").unwrap();
    let only_t0862 = |id: &str| {
        if id == "T0862" {
            catalogue::Meaning::Executor
        } else {
            catalogue::Meaning::Unexplained
        }
    };
    let table = catalogue::group_table(g, only_t0862);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "G0088 TEMP.Veles, also known as XENOTIME");
    assert!(
        lines[1].starts_with("ID ") && lines[1].ends_with("MEANING"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("T0817  Drive-by Compromise") && lines[2].ends_with(" -"),
        "{table}"
    );
    assert!(
        lines[3].starts_with("T0862") && lines[3].ends_with(" executor"),
        "{table}"
    );
    assert_eq!(lines[4], "1 of 2 of its techniques have an executor");
    assert_eq!(lines.len(), 5);

    let empty = catalogue::group_table(catalogue::group("FIN7").unwrap(), |_| {
        catalogue::Meaning::Executor
    });
    assert!(
        empty.ends_with("ATT&CK for ICS v18.1 maps no techniques to this group\n"),
        "{empty}"
    );

    let json = catalogue::group_to_json(g, only_t0862);
    assert_eq!(json["group"]["id"], "G0088");
    assert_eq!(json["group"]["executable"], 1);
    assert_eq!(json["group"]["percent"], 50.0);
    assert_eq!(json["techniques"][1]["id"], "T0862");
    assert_eq!(json["techniques"][1]["executor"], true);
    assert_eq!(json["attack"]["version"], "18.1");
}

#[test]
fn groups_table_has_one_row_per_group_in_file_order() {
    let table = catalogue::groups_table(|id| ["T0817", "T0865"].contains(&id));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 15);
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["ID", "NAME", "TECHNIQUES", "EXECUTABLE", "SHARE"]);
    let allanite: Vec<&str> = lines[12].split_whitespace().collect();
    assert_eq!(allanite, ["G1000", "ALLANITE", "4", "2", "50%"]);
    let oilrig: Vec<&str> = lines[6].split_whitespace().collect();
    assert_eq!(oilrig, ["G0049", "OilRig", "5", "2", "40%"]);
    let fin6: Vec<&str> = lines[4].split_whitespace().collect();
    assert_eq!(fin6, ["G0037", "FIN6", "0", "0", "-"]);

    let json = catalogue::groups_to_json(|id| id == "T0817");
    let groups = json["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 14);
    assert_eq!(groups[2]["name"], "Dragonfly");
    assert_eq!(groups[2]["percent"], 50.0);
    assert_eq!(groups[3]["percent"], serde_json::Value::Null);
}
