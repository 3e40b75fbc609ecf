//! The whole command tree as a golden file, and its comparison with the Python xnatctl 0.6.0
//! command list (`tests/fixtures/reference-commands.txt`, dumped from the reference's Click tree).
//! A command or option that appears or disappears must show up in a reviewed snapshot.

use std::collections::{BTreeMap, BTreeSet};

use clap::CommandFactory;
use xnatctl::cli::Cli;

/// Options every command has (ours and the reference's); left out of the per-command lists.
const GLOBAL: &[&str] = &[
    "--profile",
    "--output",
    "--quiet",
    "--verbose",
    "--no-color",
    "--no-headers",
    "--log-file",
    "--config",
    "--help",
    "--version",
];

/// One line per command path: `path | group|cmd | ARGS | --options`.
fn our_tree() -> BTreeMap<String, (String, Vec<String>, BTreeSet<String>)> {
    fn walk(
        cmd: &clap::Command,
        path: &mut Vec<String>,
        out: &mut BTreeMap<String, (String, Vec<String>, BTreeSet<String>)>,
    ) {
        for sub in cmd.get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            path.push(sub.get_name().to_string());
            let args = sub
                .get_positionals()
                .filter(|a| !a.is_hide_set())
                .map(|a| {
                    a.get_value_names()
                        .and_then(|v| v.first().map(|s| s.to_string()))
                        .unwrap_or_else(|| a.get_id().to_string().to_uppercase())
                })
                .collect();
            let opts = sub
                .get_opts()
                .chain(sub.get_arguments().filter(|a| !a.is_positional()))
                .filter(|a| !a.is_hide_set() && !a.is_global_set())
                .filter_map(|a| {
                    a.get_long()
                        .map(|l| format!("--{l}"))
                        .or_else(|| a.get_short().map(|s| format!("-{s}")))
                })
                .filter(|o| !GLOBAL.contains(&o.as_str()))
                .collect();
            let kind = if sub.has_subcommands() {
                "group"
            } else {
                "cmd"
            };
            out.insert(path.join(" "), (kind.to_string(), args, opts));
            walk(sub, path, out);
            path.pop();
        }
    }
    let mut out = BTreeMap::new();
    walk(&Cli::command(), &mut Vec::new(), &mut out);
    out
}

fn reference_tree() -> BTreeMap<String, (String, BTreeSet<String>)> {
    let text = include_str!("fixtures/reference-commands.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let parts: Vec<&str> = line.split('|').map(str::trim).collect();
            let opts = parts[3].split_whitespace().map(str::to_string).collect();
            (parts[0].to_string(), (parts[1].to_string(), opts))
        })
        .collect()
}

/// Reference commands we do not have yet, or on purpose, each with the reason.
const ABSENT: &[(&str, &str)] = &[
    (
        "admin",
        "server administration: not yet ported (no issue yet)",
    ),
    (
        "anon",
        "anonymization scripts: not yet ported (no issue yet)",
    ),
    (
        "command",
        "Container Service: not yet ported (no issue yet)",
    ),
    (
        "container",
        "Container Service: not yet ported (no issue yet)",
    ),
    (
        "wrapper",
        "Container Service: not yet ported (no issue yet)",
    ),
    ("event", "Event Service: not yet ported (no issue yet)"),
    (
        "pipeline",
        "legacy pipelines: not yet ported (no issue yet)",
    ),
    ("scp", "DICOM SCP receivers: not yet ported (no issue yet)"),
];

/// Reference commands we have with another shape but the same command line.
const RESHAPED: &[(&str, &str)] = &[(
    "completion",
    "`completion SHELL` takes the shell as a value, so `completion bash` types the same",
)];

/// Our commands the reference does not have.
const ADDED: &[(&str, &str)] = &[
    ("man", "man pages generated from the command tree"),
    (
        "version",
        "commit, build date and target of this build (issue 16)",
    ),
    ("completion elvish", "clap_complete supports it"),
    ("completion powershell", "clap_complete supports it"),
    (
        "auth token",
        "alias tokens for scripts, CI and single-sign-on sites (issue 17)",
    ),
    (
        "vars",
        "metadata spreadsheet round-trip (export, apply with re-read check), issue 18",
    ),
    (
        "doctor",
        "diagnoses URL, TLS, proxy, credentials, access, version and clock (issue 17)",
    ),
    (
        "project pull",
        "incremental, verified project mirror (issue 15, docs/pull.md)",
    ),
];

fn reason<'a>(table: &'a [(&str, &str)], path: &str) -> Option<&'a str> {
    table
        .iter()
        .find(|(p, _)| {
            path == *p || path.starts_with(&format!("{p} ")) || path.starts_with(&format!("{p}-"))
        })
        .map(|(_, r)| *r)
}

#[test]
fn command_tree_golden() {
    let tree = our_tree();
    let text: String = tree
        .iter()
        .map(|(path, (kind, args, opts))| {
            let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
            format!(
                "{path} | {kind} | {} | {}\n",
                args.join(" "),
                opts.join(" ")
            )
        })
        .collect();
    insta::assert_snapshot!("command_tree", text);
}

#[test]
fn command_tree_versus_reference() {
    let ours = our_tree();
    let theirs = reference_tree();
    let mut report = String::new();
    let mut unexplained = Vec::new();
    for (path, (_, ref_opts)) in &theirs {
        match ours.get(path) {
            Some((_, _, our_opts)) => {
                let missing: Vec<&String> = ref_opts.difference(our_opts).collect();
                let added: Vec<&String> = our_opts.difference(ref_opts).collect();
                if !missing.is_empty() || !added.is_empty() {
                    report.push_str(&format!(
                        "{path}: options only in reference {missing:?}, only in ours {added:?}\n"
                    ));
                }
            }
            None => match (reason(RESHAPED, path), reason(ABSENT, path)) {
                (Some(why), _) => report.push_str(&format!("{path}: reshaped ({why})\n")),
                (None, Some(why)) => report.push_str(&format!("{path}: absent ({why})\n")),
                (None, None) => unexplained.push(format!("missing: {path}")),
            },
        }
    }
    for path in ours.keys() {
        if !theirs.contains_key(path) {
            match reason(ADDED, path) {
                Some(why) => report.push_str(&format!("{path}: added ({why})\n")),
                None => report.push_str(&format!("{path}: added\n")),
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "reference commands neither ported nor listed in ABSENT:\n{}",
        unexplained.join("\n")
    );
    insta::assert_snapshot!("command_tree_vs_reference", report);
}
