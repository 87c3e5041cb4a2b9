//! Reading a role's trust policy for IRSA: a bare policy document, saved
//! `aws iam get-role` output (whose `AssumeRolePolicyDocument` the API
//! returns URL-encoded; the CLI decodes it, other tools may not), or the
//! URL-encoded document itself. Only what IRSA needs is extracted: Allow
//! statements, their Federated principals, actions and conditions. The full
//! IAM evaluator lives in [`crate::policy`].

use serde_json::Value;

/// A trust policy that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct TrustError {
    pub line: Option<usize>,
    pub message: String,
}

impl TrustError {
    fn new(line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

/// A role and its trust policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleTrust {
    pub role_name: Option<String>,
    pub role_arn: Option<String>,
    pub document: Value,
}

/// One condition entry: operator, key, values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionEntry {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

/// One statement, as far as IRSA cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustStatement {
    pub index: usize,
    pub sid: Option<String>,
    pub allow: bool,
    /// Federated principals; `["*"]` for `"Principal": "*"`.
    pub federated: Vec<String>,
    pub actions: Vec<String>,
    pub conditions: Vec<ConditionEntry>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::Bool(b)) => vec![b.to_string()],
        Some(Value::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

/// Parse a trust policy from text.
///
/// # Errors
/// Malformed JSON (with the line), a document without `Statement`, or an
/// undecodable URL-encoded document.
pub fn read(text: &str) -> Result<RoleTrust, TrustError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.starts_with("%7B") || trimmed.starts_with("%7b") {
        return read(&url_decode(trimmed)?);
    }
    let v: Value = serde_json::from_str(trimmed).map_err(|e| {
        let msg = e.to_string();
        let msg = msg
            .find(" at line ")
            .map_or(msg.clone(), |i| msg[..i].to_owned());
        TrustError::new(Some(e.line()), format!("malformed JSON: {msg}"))
    })?;
    let (role_name, role_arn, doc) = if let Some(role) = v.get("Role") {
        (
            role.get("RoleName")
                .and_then(Value::as_str)
                .map(str::to_owned),
            role.get("Arn").and_then(Value::as_str).map(str::to_owned),
            role.get("AssumeRolePolicyDocument")
                .cloned()
                .ok_or_else(|| {
                    TrustError::new(
                        None,
                        "get-role output without Role.AssumeRolePolicyDocument",
                    )
                })?,
        )
    } else {
        (None, None, v)
    };
    let document = match doc {
        Value::String(s) => {
            let decoded = url_decode(&s)?;
            serde_json::from_str(&decoded).map_err(|e| {
                TrustError::new(
                    None,
                    format!("AssumeRolePolicyDocument is not a JSON policy ({e})"),
                )
            })?
        }
        other => other,
    };
    if document.get("Statement").is_none() {
        return Err(TrustError::new(
            None,
            "not a trust policy: no Statement (expected the policy JSON or `aws iam get-role` output)",
        ));
    }
    Ok(RoleTrust {
        role_name,
        role_arn,
        document,
    })
}

fn url_decode(s: &str) -> Result<String, TrustError> {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| TrustError::new(None, "URL-encoded policy document is not UTF-8"))
}

impl RoleTrust {
    /// The statements (a single object or a list).
    #[must_use]
    pub fn statements(&self) -> Vec<TrustStatement> {
        let list: Vec<&Value> = match self.document.get("Statement") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(o @ Value::Object(_)) => vec![o],
            _ => Vec::new(),
        };
        list.into_iter()
            .enumerate()
            .map(|(index, s)| {
                let federated = match s.get("Principal") {
                    Some(Value::String(p)) if p == "*" => vec!["*".to_owned()],
                    Some(p) => strings(p.get("Federated")),
                    None => Vec::new(),
                };
                let mut conditions = Vec::new();
                if let Some(Value::Object(ops)) = s.get("Condition") {
                    for (op, keys) in ops {
                        if let Value::Object(keys) = keys {
                            for (key, values) in keys {
                                conditions.push(ConditionEntry {
                                    operator: op.clone(),
                                    key: key.clone(),
                                    values: strings(Some(values)),
                                });
                            }
                        }
                    }
                }
                TrustStatement {
                    index,
                    sid: s.get("Sid").and_then(Value::as_str).map(str::to_owned),
                    allow: s.get("Effect").and_then(Value::as_str) == Some("Allow"),
                    federated,
                    actions: strings(s.get("Action")),
                    conditions,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub":"system:serviceaccount:media:uploader","oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud":"sts.amazonaws.com"}}}]}"#;

    #[test]
    fn reads_bare_get_role_and_encoded() {
        let t = read(DOC).unwrap();
        let s = t.statements();
        assert_eq!(s.len(), 1);
        assert!(s[0].allow);
        assert_eq!(s[0].conditions.len(), 2);
        let role = format!(
            r#"{{"Role":{{"RoleName":"uploader","Arn":"arn:aws:iam::111122223333:role/uploader","AssumeRolePolicyDocument":{DOC}}}}}"#
        );
        let t = read(&role).unwrap();
        assert_eq!(t.role_name.as_deref(), Some("uploader"));
        let encoded: String =
            percent_encoding::utf8_percent_encode(DOC, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let role = format!(
            r#"{{"Role":{{"RoleName":"uploader","AssumeRolePolicyDocument":"{encoded}"}}}}"#
        );
        assert_eq!(read(&role).unwrap().statements().len(), 1);
        assert_eq!(read(&encoded).unwrap().statements().len(), 1);
    }

    #[test]
    fn errors_name_the_line() {
        let e = read("{\n \"Statement\": [\n  {,\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(read(r#"{"Version":"2012-10-17"}"#).is_err());
        assert!(read(r#"{"Role":{}}"#).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            if let Ok(t) = read(&s) {
                let _ = t.statements();
            }
        }
    }
}
