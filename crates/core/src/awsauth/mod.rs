//! `lint aws-auth`: the aws-auth ConfigMap read and checked the way the EKS
//! authenticator reads it.
//!
//! * [`reader`]: the ConfigMap in any form operators hold it, every entry
//!   with the line of the file it stands on;
//! * [`rules`]: the aws-auth/ checks;
//! * [`mapper`]: the authenticator's lookup and template rendering;
//! * [`migrate`]: the access-entry commands that replace each mapping;
//! * [`fixer`]: the corrected ConfigMap, edited in place of the wrong text.

pub mod arns;
pub mod effective;
pub mod fixer;
pub mod mapper;
pub mod migrate;
pub mod reader;
pub mod rules;
pub mod yaml;

#[cfg(test)]
mod props;

pub use migrate::MigrateOptions;
pub use reader::{AwsAuth, Read, ReadError, Section, read};

use crate::finding::{Finding, Location};

/// What `lint aws-auth` found in one input.
#[derive(Debug, Clone, PartialEq)]
pub struct Lint {
    /// The aws-auth ConfigMaps read (none when the YAML does not parse).
    pub configmaps: Vec<AwsAuth>,
    pub findings: Vec<Finding>,
}

/// Read and check an input.
///
/// # Errors
/// When the input holds no aws-auth ConfigMap (exit 2). YAML that does not
/// parse is a finding (aws-auth/invalid-yaml), not an error.
pub fn lint(text: &str, file: &str, opts: &MigrateOptions) -> Result<Lint, ReadError> {
    match read(text, file)? {
        Read::Invalid(e) => {
            let mut f = Finding::new(
                crate::rules::AWS_AUTH_INVALID_YAML,
                format!("the file is not valid YAML: {}", e.message),
            )
            .detail("The file does not parse as YAML, so neither kubectl nor eksdoctor can read the ConfigMap. Fix the syntax at the line and column shown (often a tab, an unclosed quote or bracket, or a mis-indented line).")
            .evidence("error", e.message.clone());
            f.location = Some(Location {
                file: file.to_owned(),
                line: e.line,
                column: Some(e.column),
            });
            Ok(Lint {
                configmaps: Vec::new(),
                findings: vec![f],
            })
        }
        Read::ConfigMaps(configmaps) => {
            let findings = configmaps
                .iter()
                .flat_map(|a| rules::check(a, opts))
                .collect();
            Ok(Lint {
                configmaps,
                findings,
            })
        }
    }
}
