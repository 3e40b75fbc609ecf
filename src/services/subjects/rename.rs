//! The `subject rename` planner: which labels a mapping file, a pattern or a patterns file
//! renames, which it merges into an existing subject, and which it skips and why. Pure, so the
//! rules are tested without a server; [`apply`] then carries a plan out.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::client::XnatClient;
use crate::core::output::{Report, Row};
use crate::core::validation::{validate_regex_pattern, validate_xnat_label};
use crate::core::{Error, Result};

/// One pattern rule: a regex over the whole label and a target template.
#[derive(Debug, Clone)]
pub struct Rule {
    re: Regex,
    to: String,
    description: Option<String>,
}

impl Rule {
    /// A rule from `--pattern RE --to TEMPLATE`; `RE` must match the whole label.
    pub fn new(pattern: &str, to: &str, description: Option<String>) -> Result<Rule> {
        validate_regex_pattern(pattern)?;
        let re = Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| Error::usage(format!("invalid pattern '{pattern}': {e}")))?;
        Ok(Rule {
            re,
            to: to.to_string(),
            description,
        })
    }

    /// `{project}` and the capture groups `{1}`, `{2}`, ... filled in for `label`, when it matches.
    fn target(&self, project: &str, label: &str) -> Option<String> {
        let caps = self.re.captures(label)?;
        let mut out = self.to.replace("{project}", project);
        for i in (1..caps.len()).rev() {
            let v = caps.get(i).map(|m| m.as_str()).unwrap_or("");
            out = out.replace(&format!("{{{i}}}"), v);
        }
        Some(out)
    }
}

/// Where the new labels come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// `{"OLD": "NEW", ...}`.
    Mapping(Map<String, Value>),
    /// Pattern rules, the first matching one wins.
    Rules(Vec<Rule>),
}

/// A patterns file `{"patterns":[{"project","match","to","description"}]}`.
#[derive(Debug, Clone)]
pub struct PatternsFile(Value);

impl PatternsFile {
    /// Wrap a parsed patterns file.
    pub fn new(doc: Value) -> Self {
        PatternsFile(doc)
    }

    fn entries(&self) -> impl Iterator<Item = &Value> {
        self.0
            .get("patterns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    }

    /// The one project the file names, when no `-P` is given (several is a usage error).
    pub fn project(&self) -> Result<Option<String>> {
        let named: BTreeSet<&str> = self
            .entries()
            .filter_map(|r| r.get("project").and_then(Value::as_str))
            .collect();
        match named.len() {
            0 => Ok(None),
            1 => Ok(named.into_iter().next().map(str::to_string)),
            _ => Err(Error::usage(format!(
                "the patterns file names several projects ({}); pass -P",
                named.into_iter().collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// The complete rules for `project` (at least one, else an error).
    pub fn rules(&self, project: &str) -> Result<Vec<Rule>> {
        let mut rules = Vec::new();
        for r in self.entries() {
            let field = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
            if let (Some(pr), Some(m), Some(to)) = (field("project"), field("match"), field("to")) {
                if pr == project {
                    rules.push(Rule::new(&m, &to, field("description"))?);
                }
            }
        }
        if rules.is_empty() {
            return Err(Error::InvalidInput(format!(
                "the patterns file has no complete rule for project {project}"
            )));
        }
        Ok(rules)
    }
}

/// One label change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Current label.
    pub from: String,
    /// New label.
    pub to: String,
    /// The description of the rule that produced it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// A label left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// The label.
    pub label: String,
    /// Why it is not renamed.
    pub reason: String,
}

/// What will happen (or happened, after [`apply`]) to each label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Relabelled in place.
    pub renamed: Vec<Change>,
    /// Sessions moved into an existing subject with the target label.
    pub merged: Vec<Change>,
    /// Left alone.
    pub skipped: Vec<Skip>,
    /// True once carried out (rows then say `renamed`, not `would rename`).
    #[serde(skip)]
    pub applied: bool,
}

/// Plan the renames of a project's `labels` (label → accession id).
pub fn plan(labels: &BTreeMap<String, String>, source: &Source, project: &str) -> Plan {
    let mut plan = Plan::default();
    let add = |plan: &mut Plan, from: String, to: String, rule: Option<String>| {
        let change = Change { from, to, rule };
        if labels.contains_key(&change.to) {
            plan.merged.push(change);
        } else {
            plan.renamed.push(change);
        }
    };
    let skip = |label: &str, reason: String| Skip {
        label: label.to_string(),
        reason,
    };
    match source {
        Source::Mapping(m) => {
            for (old, new) in m {
                let Some(new) = new.as_str() else {
                    plan.skipped
                        .push(skip(old, "target is not a string".into()));
                    continue;
                };
                if !labels.contains_key(old) {
                    plan.skipped.push(skip(old, "not found".into()));
                } else if new == old {
                    plan.skipped.push(skip(old, "same label".into()));
                } else if let Err(e) = validate_xnat_label(new, "label") {
                    plan.skipped
                        .push(skip(old, format!("invalid target label: {e}")));
                } else {
                    add(&mut plan, old.clone(), new.to_string(), None);
                }
            }
        }
        Source::Rules(rules) => {
            for label in labels.keys() {
                let Some((rule, target)) = rules
                    .iter()
                    .find_map(|r| r.target(project, label).map(|t| (r, t)))
                else {
                    continue;
                };
                if &target == label {
                    plan.skipped.push(skip(label, "already matches".into()));
                } else if let Err(e) = validate_xnat_label(&target, "label") {
                    plan.skipped
                        .push(skip(label, format!("invalid target label: {e}")));
                } else {
                    add(&mut plan, label.clone(), target, rule.description.clone());
                }
            }
        }
    }
    plan
}

/// Carry a plan out, one request per change; a failed change becomes a skip with its reason.
pub async fn apply(client: &XnatClient, project: &str, plan: Plan) -> Plan {
    let mut done = Plan {
        skipped: plan.skipped,
        applied: true,
        ..Plan::default()
    };
    for c in plan.renamed {
        match super::rename(client, project, &c.from, &c.to).await {
            Ok(()) => done.renamed.push(c),
            Err(e) => done.skipped.push(Skip {
                label: c.from,
                reason: format!("failed: {e}"),
            }),
        }
    }
    for c in plan.merged {
        match super::merge(client, project, &c.from, &c.to).await {
            Ok(_) => done.merged.push(c),
            Err(e) => done.skipped.push(Skip {
                label: c.from,
                reason: format!("merge failed: {e}"),
            }),
        }
    }
    done
}

/// One line of the table and TSV forms of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRow {
    /// `renamed`/`merged`/`skipped`, or `would rename`/`would merge` in a preview.
    pub action: &'static str,
    /// The current label.
    pub from: String,
    /// The new label (empty for a skip).
    pub to: String,
    /// The rule's description, or why a label is skipped.
    pub detail: String,
}

impl Row for PlanRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("action", "Action"),
        ("from", "From"),
        ("to", "To"),
        ("detail", "Detail"),
    ];
    const ID: &'static str = "to";
}

impl Report for Plan {
    type Row = PlanRow;
    fn rows(&self) -> Vec<PlanRow> {
        let (renamed, merged) = if self.applied {
            ("renamed", "merged")
        } else {
            ("would rename", "would merge")
        };
        let changes = [(renamed, &self.renamed), (merged, &self.merged)];
        let mut rows: Vec<PlanRow> = changes
            .into_iter()
            .flat_map(|(action, list)| {
                list.iter().map(move |c| PlanRow {
                    action,
                    from: c.from.clone(),
                    to: c.to.clone(),
                    detail: c.rule.clone().unwrap_or_default(),
                })
            })
            .collect();
        rows.extend(self.skipped.iter().map(|s| PlanRow {
            action: "skipped",
            from: s.label.clone(),
            to: String::new(),
            detail: s.reason.clone(),
        }));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(items: &[&str]) -> BTreeMap<String, String> {
        items
            .iter()
            .enumerate()
            .map(|(i, l)| (l.to_string(), format!("XNAT_S{i:05}")))
            .collect()
    }

    #[test]
    fn pattern_renames_and_merges_into_existing_labels() {
        let rules = vec![Rule::new(r"sub-(\d+)", "{project}_{1}", Some("bids".into())).unwrap()];
        let p = plan(
            &labels(&["sub-01", "sub-02", "P_02", "other"]),
            &Source::Rules(rules),
            "P",
        );
        assert_eq!(p.renamed.len(), 1);
        assert_eq!(p.renamed[0].to, "P_01");
        assert_eq!(p.renamed[0].rule.as_deref(), Some("bids"));
        assert_eq!(p.merged.len(), 1);
        assert_eq!(
            (p.merged[0].from.as_str(), p.merged[0].to.as_str()),
            ("sub-02", "P_02")
        );
        assert!(p.skipped.is_empty(), "unmatched labels are not skips");
    }

    #[test]
    fn pattern_must_match_the_whole_label() {
        let rules = vec![Rule::new(r"sub-\d", "X", None).unwrap()];
        let p = plan(&labels(&["sub-12"]), &Source::Rules(rules), "P");
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn mapping_skips_missing_same_and_invalid_targets() {
        let m: Map<String, Value> = serde_json::from_str(
            r#"{"A": "B", "MISSING": "X", "C": "C", "D": "bad/label", "E": 5}"#,
        )
        .unwrap();
        let p = plan(&labels(&["A", "C", "D", "E"]), &Source::Mapping(m), "P");
        assert_eq!(
            p.renamed,
            vec![Change {
                from: "A".into(),
                to: "B".into(),
                rule: None
            }]
        );
        let reasons: Vec<(&str, &str)> = p
            .skipped
            .iter()
            .map(|s| (s.label.as_str(), s.reason.split(':').next().unwrap_or("")))
            .collect();
        assert_eq!(
            reasons,
            vec![
                ("MISSING", "not found"),
                ("C", "same label"),
                ("D", "invalid target label"),
                ("E", "target is not a string"),
            ]
        );
    }

    #[test]
    fn patterns_file_names_one_project_or_fails() {
        let one = PatternsFile::new(serde_json::json!({"patterns": [
            {"project": "P", "match": "a(.)", "to": "b{1}"},
            {"project": "P", "match": "x"}
        ]}));
        assert_eq!(one.project().unwrap().as_deref(), Some("P"));
        assert_eq!(
            one.rules("P").unwrap().len(),
            1,
            "incomplete rules are ignored"
        );
        assert!(one.rules("Q").is_err());
        let two = PatternsFile::new(serde_json::json!({"patterns": [
            {"project": "P"}, {"project": "Q"}
        ]}));
        assert_eq!(two.project().unwrap_err().exit_code(), 2);
    }

    #[test]
    fn preview_rows_say_would() {
        let mut p = Plan {
            renamed: vec![Change {
                from: "a".into(),
                to: "b".into(),
                rule: None,
            }],
            ..Plan::default()
        };
        assert_eq!(p.rows()[0].action, "would rename");
        p.applied = true;
        assert_eq!(p.rows()[0].action, "renamed");
    }
}
