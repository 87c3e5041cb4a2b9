//! `rules` and `rules ID`.

use std::fmt::Write as _;

use eksdoctor_core::rules::{self, CATALOG};

use crate::cli::{Format, RulesArgs};
use crate::error::CliError;
use crate::output::Output;
use crate::rule_pages;

pub fn run(args: &RulesArgs, out: &Output) -> Result<i32, CliError> {
    match &args.id {
        None => {
            if out.format == Format::Json {
                let list: Vec<_> = CATALOG
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "id": r.id,
                            "severity": r.severity.as_str(),
                            "title": r.title,
                            "documented": rule_pages::page(r.id).is_some(),
                        })
                    })
                    .collect();
                out.print(&format!("{}\n", serde_json::Value::Array(list)));
            } else {
                let mut text = String::new();
                for r in CATALOG {
                    let _ = writeln!(text, "{:<32} {:<8} {}", r.id, r.severity.as_str(), r.title);
                }
                text.push_str("\n`eksdoctor rules ID` prints a rule's page.\n");
                out.print(&text);
            }
            Ok(0)
        }
        Some(id) => {
            let id = id.trim().trim_end_matches(".md");
            let Some(rule) = rules::by_id(id) else {
                return Err(CliError::Usage(format!(
                    "no rule {id:?}; `eksdoctor rules` lists them"
                )));
            };
            let page = rule_pages::page(rule.id);
            if out.format == Format::Json {
                let v = serde_json::json!({
                    "id": rule.id,
                    "severity": rule.severity.as_str(),
                    "title": rule.title,
                    "documented": page.is_some(),
                    "page": page,
                });
                out.print(&format!("{v:#}\n"));
                return Ok(0);
            }
            match page {
                Some(page) => out.print(page),
                None => out.print(&format!(
                    "# {}\n\nSeverity: {}\n\n{}\n\n(This rule's page is not written yet.)\n",
                    rule.id, rule.severity, rule.title
                )),
            }
            Ok(0)
        }
    }
}
