//! Bad scenario input is refused with exit code 2 and an error that says where and what:
//! `file:line:column: field: message`, by both `otrange check` and `otrange run`, and never
//! with a panic. The fixtures are in tests/fixtures/: `minimal.toml` is a valid exercise and
//! every other one differs from it by one mistake.

mod common;

use common::{describe, fixture, otrange};
use std::path::{Path, PathBuf};
use std::process::Output;

/// One bad input: the exercise to load, and where the error must point.
struct Case {
    exercise: &'static str,
    /// File the error is in, relative to tests/fixtures/.
    file: &'static str,
    line: usize,
    column: usize,
    field: &'static str,
    /// Words the message must contain (what is wrong, what was expected).
    message: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        exercise: "missing-plant.toml",
        file: "missing-plant.toml",
        line: 4,
        column: 9,
        field: "exercise.plant",
        message: &["no-such-plant.toml", "not found"],
    },
    Case {
        exercise: "bad-duration.toml",
        file: "bad-duration.toml",
        line: 5,
        column: 12,
        field: "exercise.duration",
        message: &["10 parsecs", "expected"],
    },
    Case {
        exercise: "misspelt-field.toml",
        file: "plants/misspelt-field.toml",
        line: 37,
        column: 1,
        field: "plc[0].scan_perod",
        message: &["unknown field", "scan_period"],
    },
    Case {
        exercise: "unknown-link-host.toml",
        file: "plants/unknown-link-host.toml",
        line: 26,
        column: 5,
        field: "link[0].b",
        message: &["unknown host", "plc-2"],
    },
    Case {
        // A number where a duration string is expected. Regression: the field used to be
        // reported as `plc[0].scan_period.$__serde_spanned_private_value`.
        exercise: "wrong-type.toml",
        file: "plants/wrong-type.toml",
        line: 37,
        column: 15,
        field: "plc[0].scan_period",
        message: &["integer `5`", "expected a string"],
    },
    Case {
        exercise: "unknown-signal.toml",
        file: "plants/unknown-signal.toml",
        line: 43,
        column: 10,
        field: "plc[0].io[0].signal",
        message: &[
            "unknown signal",
            "tank.levle",
            "known signals of tank: level, volume, overflow_rate",
        ],
    },
    Case {
        exercise: "unknown-operand.toml",
        file: "plants/unknown-operand.toml",
        line: 49,
        column: 6,
        field: "plc[0].program[0].pv",
        message: &["ir:40", "ir:0..=ir:3"],
    },
    Case {
        exercise: "bad-busy-poll.toml",
        file: "bad-busy-poll.toml",
        line: 8,
        column: 13,
        field: "live.busy_poll",
        message: &["\"1h\" is too long", "at most 10ms"],
    },
    Case {
        // Regression: a poll period had no floor; "1ns" made a day 10^14 ticks.
        exercise: "tiny-poll-period.toml",
        file: "plants/tiny-poll-period.toml",
        line: 57,
        column: 15,
        field: "hmi[0].poll_period",
        message: &["\"1ns\" is too short", "at least 1ms"],
    },
    Case {
        exercise: "syntax-error.toml",
        file: "plants/syntax-error.toml",
        line: 3,
        column: 22,
        field: "(syntax)",
        message: &["string"],
    },
];

/// `otrange check` and `otrange run` (into a scratch directory) of one exercise.
fn check_and_run(exercise: &Path) -> [(&'static str, Output); 2] {
    let out = tempfile::tempdir().unwrap();
    [
        ("check", otrange([Path::new("check"), exercise])),
        (
            "run",
            otrange([
                Path::new("run"),
                exercise,
                Path::new("--duration"),
                Path::new("1s"),
                Path::new("--out"),
                out.path(),
            ]),
        ),
    ]
}

/// Exit code 2, no panic, and the stderr for further checks.
fn refused(cmd: &str, what: &Path, o: &Output) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "otrange {cmd} {} panicked:\n{}",
        what.display(),
        describe(o)
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "otrange {cmd} {} should exit 2 (bad input):\n{}",
        what.display(),
        describe(o)
    );
    stderr
}

#[test]
fn the_valid_fixture_passes() {
    // The baseline the bad fixtures are copies of: proves they fail for their one mistake.
    let ex = fixture("minimal.toml");
    for (cmd, o) in check_and_run(&ex) {
        assert_eq!(o.status.code(), Some(0), "otrange {cmd}:\n{}", describe(&o));
    }
}

#[test]
fn bad_input_is_located_by_file_line_column_and_field() {
    let mut failures = Vec::new();
    for c in CASES {
        let ex = fixture(c.exercise);
        let file: PathBuf = fixture(c.file);
        let location = format!("{}:{}:{}: {}: ", file.display(), c.line, c.column, c.field);
        for (cmd, o) in check_and_run(&ex) {
            let stderr = refused(cmd, &ex, &o);
            let Some(line) = stderr.lines().find(|l| l.contains(&location)) else {
                failures.push(format!(
                    "otrange {cmd} {}: expected an error starting {location:?}, got:\n{stderr}",
                    c.exercise
                ));
                continue;
            };
            let message = &line[line.find(&location).unwrap() + location.len()..];
            if message.contains("serde") {
                failures.push(format!(
                    "otrange {cmd} {}: serde internals in {line:?}",
                    c.exercise
                ));
            }
            for word in c.message {
                if !message.contains(word) {
                    failures.push(format!(
                        "otrange {cmd} {}: message {message:?} does not mention {word:?}",
                        c.exercise
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_missing_exercise_file_is_named() {
    let ex = fixture("no-such-exercise.toml");
    for (cmd, o) in check_and_run(&ex) {
        let stderr = refused(cmd, &ex, &o);
        assert!(
            stderr.contains(&format!("{}: ", ex.display())) && stderr.contains("cannot read"),
            "otrange {cmd}: {stderr}"
        );
    }
}

#[test]
fn a_bad_duration_on_the_command_line_is_refused() {
    let ex = fixture("minimal.toml");
    let out = tempfile::tempdir().unwrap();
    let o = otrange([
        Path::new("run"),
        &ex,
        Path::new("--duration"),
        Path::new("10 parsecs"),
        Path::new("--out"),
        out.path(),
    ]);
    let stderr = refused("run", &ex, &o);
    assert!(
        stderr.contains("--duration") && stderr.contains("10 parsecs"),
        "error does not name the option and the value:\n{stderr}"
    );
    assert!(
        !out.path().join("results.json").exists(),
        "a refused run wrote results"
    );
}

#[test]
fn a_rule_with_a_syntax_error_is_named_by_file_line_and_keyword() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("site.rules");
    std::fs::write(
        &rules,
        "# the site's own rules\n\
         alert modbus any any -> $MODBUS_SERVER 502 (msg:\"listen only\"; modbus: function 8, subfunction 4; sid:1;)\n\
         \n\
         alert modbus any any -> $MODBUS_SERVER 502 (msg:\"typo\"; \\\n    modbus: fuction 8; sid:2;)\n",
    )
    .unwrap();
    let set = dir.path().join("set.toml");
    std::fs::write(
        &set,
        "[[detector]]\nkind = \"rules\"\nname = \"site rules\"\nat = [\"sw-ctl\"]\nrules = \"site.rules\"\n",
    )
    .unwrap();
    let ex = common::repo_path("scenarios/oldsmar.toml");
    let o = otrange([Path::new("check"), &ex, Path::new("--detectors"), &set]);
    let stderr = refused("check --detectors", &set, &o);
    // The set file's line of the `rules` key, then the rules file, the rule's first line
    // (a continued rule is named by where it starts) and the keyword that is wrong.
    let want = format!(
        "{}:5:1: detector[0].rules: {}:4: \"modbus\": unknown setting \"fuction\"",
        set.display(),
        rules.display()
    );
    assert!(stderr.contains(&want), "expected {want:?} in:\n{stderr}");
}
