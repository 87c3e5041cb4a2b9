//! Saved AWS CLI JSON the offline commands read: access entries and role paths.
//!
//! Liberal in what it accepts, since operators paste what they have:
//! * one JSON value, a JSON array of values, or several values one after the
//!   other (`aws ... > f; aws ... >> f`);
//! * access entries: `aws eks list-access-entries` (`{"accessEntries": [ARN...]}`),
//!   `aws eks describe-access-entry` (`{"accessEntry": {...}}`), bare entry
//!   objects (`{"principalArn": ...}`), and `aws eks
//!   list-associated-access-policies` (`{"principalArn": ..., "associatedAccessPolicies": [...]}`);
//!   everything about one principal is merged;
//! * role paths: `aws iam list-roles` (`{"Roles": [...]}`), `aws iam get-role`
//!   (`{"Role": {...}}`), or bare role objects with an `Arn`.

use std::collections::HashMap;

use serde_json::Value;

use crate::arn::{Principal, PrincipalKind};
use crate::snapshot::{AccessEntry, AccessPolicyAssociation};

/// Saved JSON that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Shape(String),
}

fn values(text: &str) -> Result<Vec<Value>, SavedError> {
    let mut out = Vec::new();
    for v in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        let v = v.map_err(|e| SavedError::Json(e.to_string()))?;
        out.push(v);
    }
    if out.is_empty() {
        return Err(SavedError::Shape("the file holds no JSON".to_owned()));
    }
    Ok(out)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Read saved access-entry JSON.
///
/// # Errors
/// Text that is not JSON, or JSON of another shape.
pub fn parse_access_entries(text: &str) -> Result<Vec<AccessEntry>, SavedError> {
    let mut entries: Vec<AccessEntry> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut stack: Vec<Value> = values(text)?;
    stack.reverse();
    let mut slot = |entries: &mut Vec<AccessEntry>, arn: &str| -> usize {
        let key = arn.to_lowercase();
        if let Some(i) = index.get(&key) {
            return *i;
        }
        entries.push(AccessEntry {
            principal_arn: arn.to_owned(),
            username: None,
            kubernetes_groups: Vec::new(),
            entry_type: None,
            access_policies: Vec::new(),
        });
        index.insert(key, entries.len() - 1);
        entries.len() - 1
    };
    while let Some(v) = stack.pop() {
        match &v {
            Value::Array(items) => stack.extend(items.iter().rev().cloned()),
            Value::String(arn) => {
                slot(&mut entries, arn);
            }
            Value::Object(o) => {
                if let Some(inner) = o.get("accessEntry") {
                    stack.push(inner.clone());
                    continue;
                }
                if let Some(list) = o.get("accessEntries") {
                    stack.push(list.clone());
                    continue;
                }
                let Some(arn) = str_of(&v, "principalArn") else {
                    return Err(SavedError::Shape(
                        "expected saved `aws eks list-access-entries`, `describe-access-entry` or `list-associated-access-policies` output (an object with accessEntries, accessEntry or principalArn)".to_owned(),
                    ));
                };
                let i = slot(&mut entries, &arn);
                let e = &mut entries[i];
                if let Some(u) = str_of(&v, "username") {
                    e.username = Some(u);
                }
                if o.contains_key("kubernetesGroups") {
                    e.kubernetes_groups = strings(o.get("kubernetesGroups"));
                }
                if let Some(t) = str_of(&v, "type") {
                    e.entry_type = Some(t);
                }
                for p in o
                    .get("associatedAccessPolicies")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(policy_arn) = str_of(p, "policyArn") else {
                        continue;
                    };
                    let scope = p.get("accessScope");
                    let assoc = AccessPolicyAssociation {
                        policy_arn,
                        scope: scope
                            .and_then(|s| str_of(s, "type"))
                            .unwrap_or_else(|| "cluster".to_owned()),
                        namespaces: strings(scope.and_then(|s| s.get("namespaces"))),
                    };
                    if !e.access_policies.contains(&assoc) {
                        e.access_policies.push(assoc);
                    }
                }
            }
            _ => {
                return Err(SavedError::Shape(
                    "expected JSON objects or arrays of access entries".to_owned(),
                ));
            }
        }
    }
    Ok(entries)
}

/// Role paths from saved IAM output: (account, lower-cased role name) → full ARN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolePaths {
    roles: HashMap<(String, String), String>,
}

impl RolePaths {
    /// Read saved `aws iam list-roles` / `get-role` JSON.
    ///
    /// # Errors
    /// Text that is not JSON, or JSON without roles.
    pub fn parse(text: &str) -> Result<Self, SavedError> {
        let mut out = Self::default();
        let mut stack = values(text)?;
        while let Some(v) = stack.pop() {
            match &v {
                Value::Array(items) => stack.extend(items.iter().cloned()),
                Value::Object(o) => {
                    if let Some(r) = o.get("Roles").or_else(|| o.get("Role")) {
                        stack.push(r.clone());
                        continue;
                    }
                    let Some(arn) = str_of(&v, "Arn") else {
                        return Err(SavedError::Shape(
                            "expected saved `aws iam list-roles` or `aws iam get-role` output (Roles / Role with Arn)".to_owned(),
                        ));
                    };
                    out.insert(&arn);
                }
                _ => {
                    return Err(SavedError::Shape(
                        "expected saved `aws iam list-roles` output".to_owned(),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// Remember a role ARN (with its path).
    pub fn insert(&mut self, arn: &str) {
        if let Ok(p) = Principal::parse(arn)
            && p.kind == PrincipalKind::Role
        {
            let account = p.account().unwrap_or("").to_owned();
            self.roles
                .insert((account, p.name.to_lowercase()), arn.to_owned());
        }
    }

    /// The full ARN (with path) of a role, when known. IAM role names are
    /// unique in an account regardless of case.
    #[must_use]
    pub fn full_arn(&self, account: &str, role_name: &str) -> Option<&str> {
        self.roles
            .get(&(account.to_owned(), role_name.to_lowercase()))
            .map(String::as_str)
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_every_saved_shape() {
        let text = r#"
{"accessEntries": ["arn:aws:iam::111122223333:role/dev", "arn:aws:iam::111122223333:user/alice"]}
{"accessEntry": {"clusterName": "c", "principalArn": "arn:aws:iam::111122223333:role/dev",
  "kubernetesGroups": ["devs"], "username": "dev", "type": "STANDARD"}}
[{"clusterName": "c", "principalArn": "arn:aws:iam::111122223333:role/DEV",
  "associatedAccessPolicies": [{"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
     "accessScope": {"type": "namespace", "namespaces": ["a"]}}]}]
"#;
        let e = parse_access_entries(text).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].kubernetes_groups, vec!["devs"]);
        assert_eq!(e[0].access_policies[0].scope, "namespace");
        assert_eq!(e[1].username, None);
        assert!(parse_access_entries("{\"x\": 1}").is_err());
        assert!(parse_access_entries("nope").is_err());
    }

    #[test]
    fn role_paths() {
        let rp = RolePaths::parse(
            r#"{"Roles": [{"Path": "/team/", "RoleName": "Dev", "Arn": "arn:aws:iam::111122223333:role/team/Dev"}]}"#,
        )
        .unwrap();
        assert_eq!(
            rp.full_arn("111122223333", "dev"),
            Some("arn:aws:iam::111122223333:role/team/Dev")
        );
        assert!(rp.full_arn("444455556666", "dev").is_none());
    }
}
