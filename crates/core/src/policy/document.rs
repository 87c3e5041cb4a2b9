//! Reading a policy document: plain IAM JSON, or saved AWS CLI output that
//! wraps it (`get-policy-version`, `get-role-policy`, `get-user-policy`,
//! `get-role`'s possibly URL-encoded `AssumeRolePolicyDocument`), compiled
//! once into the matcher form the evaluator runs: lowercased action
//! patterns, split wildcards, parsed conditions.

use std::fmt;

use serde_json::{Map, Value};

use super::condition::{Clause, parse_block};
use super::error::{PolicyError, Position};
use super::pattern::Pattern;
use super::principal::PrincipalSet;
use super::variables::ValuePattern;

/// Which kind of policy a document is, which decides how it takes part in
/// the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Attached to the caller (user, group or role; inline or managed).
    Identity,
    /// Attached to the resource (bucket policy, key policy, ...).
    ResourceBased,
    /// The caller's permissions boundary.
    PermissionsBoundary,
    /// The session policy passed when the role session was created.
    Session,
    /// An AWS Organizations service control policy (one level of the OU tree).
    ServiceControl,
    /// An AWS Organizations resource control policy.
    ResourceControl,
    /// A role's trust policy (the resource-based policy of `sts:AssumeRole*`).
    Trust,
}

impl PolicyKind {
    /// Plain words for reasons: "identity policy", "permissions boundary".
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Identity => "identity policy",
            Self::ResourceBased => "resource-based policy",
            Self::PermissionsBoundary => "permissions boundary",
            Self::Session => "session policy",
            Self::ServiceControl => "service control policy",
            Self::ResourceControl => "resource control policy",
            Self::Trust => "trust policy",
        }
    }

    /// Whether statements of this kind carry a `Principal`.
    #[must_use]
    pub fn has_principal(self) -> bool {
        matches!(
            self,
            Self::ResourceBased | Self::Trust | Self::ResourceControl
        )
    }
}

/// The policy language version: it decides whether `${...}` are variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2008-10-17`, or no `Version`: `${...}` is literal text.
    V2008_10_17,
    /// `2012-10-17`: policy variables.
    V2012_10_17,
}

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Allow => "Allow",
            Self::Deny => "Deny",
        })
    }
}

/// `Action`/`NotAction`, compiled (patterns lowercased: actions ignore case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionMatch {
    pub not: bool,
    pub patterns: Vec<Pattern>,
    /// The patterns as written, for explanations.
    pub written: Vec<String>,
}

impl ActionMatch {
    /// Whether the statement covers this (lowercased) action.
    #[must_use]
    pub fn covers(&self, action_lc: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(action_lc)) != self.not
    }
}

/// `Resource`/`NotResource`, compiled (case-sensitive; variables resolved per request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceMatch {
    pub not: bool,
    pub patterns: Vec<ValuePattern>,
}

/// `Principal`/`NotPrincipal`, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalMatch {
    pub not: bool,
    pub set: PrincipalSet,
}

/// One compiled statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Its position in the `Statement` array (0-based).
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: ActionMatch,
    /// `None`: no Resource element (trust policies), applies to any resource.
    pub resources: Option<ResourceMatch>,
    pub principals: Option<PrincipalMatch>,
    pub conditions: Vec<Clause>,
}

impl Statement {
    /// How the statement is named in output: its Sid, else its index.
    #[must_use]
    pub fn label(&self) -> String {
        match &self.sid {
            Some(s) if !s.is_empty() => s.clone(),
            _ => self.index.to_string(),
        }
    }

    /// `statement 'Sid'` or `statement #2`, for reasons.
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.sid {
            Some(s) if !s.is_empty() => format!("statement '{s}'"),
            _ => format!("statement #{}", self.index),
        }
    }
}

/// A compiled policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Where it came from (the file name), for reasons.
    pub name: String,
    pub kind: PolicyKind,
    pub version: Version,
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Parse and compile a policy document (or saved AWS CLI output holding one).
    ///
    /// # Errors
    /// Invalid JSON (with line and column), an unknown element or operator,
    /// a value of the wrong type.
    pub fn parse(name: &str, kind: PolicyKind, text: &str) -> Result<Self, PolicyError> {
        let value: Value = serde_json::from_str(text).map_err(|e| json_error(&e))?;
        let (doc, source) = unwrap_document(value, text)?;
        compile(name, kind, &doc, source.as_deref())
    }
}

fn json_error(e: &serde_json::Error) -> PolicyError {
    let msg = e.to_string();
    // serde_json appends " at line L column C"; we say it first.
    let message = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    };
    PolicyError::Json {
        line: e.line(),
        column: e.column(),
        message,
    }
}

/// Take the document out of saved AWS CLI output; decode a string document
/// (URL-encoded as IAM's API returns it). Returns the document and the text
/// positions refer to (`None` when positions would not match the file).
fn unwrap_document(value: Value, text: &str) -> Result<(Value, Option<String>), PolicyError> {
    let mut v = value;
    let mut source = Some(text.to_owned());
    for _ in 0..4 {
        let next = match &v {
            Value::Object(m) if m.contains_key("Statement") => return Ok((v, source)),
            Value::Object(m) => [
                "PolicyVersion",
                "Document",
                "PolicyDocument",
                "Role",
                "AssumeRolePolicyDocument",
            ]
            .iter()
            .find_map(|k| m.get(*k).cloned()),
            Value::String(s) => {
                let decoded = if s.trim_start().starts_with('{') {
                    s.clone()
                } else {
                    percent_encoding::percent_decode_str(&s.replace('+', " "))
                        .decode_utf8()
                        .map_err(|_| {
                            invalid(
                                None,
                                "the embedded policy document is not UTF-8 after URL-decoding",
                            )
                        })?
                        .into_owned()
                };
                let inner: Value = serde_json::from_str(&decoded).map_err(|e| {
                    let PolicyError::Json { line, column, message } = json_error(&e) else {
                        return json_error(&e);
                    };
                    invalid(
                        None,
                        format!("the embedded (URL-encoded) policy document is not valid JSON: line {line}, column {column} of the decoded text: {message}"),
                    )
                })?;
                source = None;
                Some(inner)
            }
            _ => None,
        };
        match next {
            Some(n) => v = n,
            None => break,
        }
    }
    match v {
        Value::Object(_) => Ok((v, source)),
        _ => Err(invalid(
            Some(Position { line: 1, column: 1 }),
            "not an IAM policy document: expected an object with \"Statement\" (or saved get-policy-version / get-role-policy / get-role output)",
        )),
    }
}

fn invalid(at: Option<Position>, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        at,
        message: message.into(),
    }
}

/// The position of the first `"needle"` in the source, for errors found
/// after parsing (serde_json's Value keeps no positions).
fn locate(source: Option<&str>, needle: &str) -> Option<Position> {
    let src = source?;
    let quoted = format!("\"{needle}\"");
    let at = src.find(&quoted)?;
    let before = &src[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(at, |nl| at - nl - 1) + 1;
    Some(Position { line, column })
}

/// A string, or a list of strings.
///
/// # Errors
/// Anything else.
pub fn string_list(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("expected a string, found {}", kind_of(other))),
            })
            .collect(),
        other => Err(format!(
            "expected a string or a list of strings, found {}",
            kind_of(other)
        )),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn compile(
    name: &str,
    kind: PolicyKind,
    doc: &Value,
    source: Option<&str>,
) -> Result<Policy, PolicyError> {
    let Value::Object(top) = doc else {
        return Err(invalid(None, "a policy document must be a JSON object"));
    };
    for key in top.keys() {
        if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
            return Err(invalid(
                locate(source, key),
                format!("unknown policy element {key:?} (expected Version, Id, Statement)"),
            ));
        }
    }
    let version = match top.get("Version") {
        None => Version::V2008_10_17,
        Some(Value::String(v)) if v == "2012-10-17" => Version::V2012_10_17,
        Some(Value::String(v)) if v == "2008-10-17" => Version::V2008_10_17,
        Some(other) => {
            return Err(invalid(
                locate(source, "Version"),
                format!("Version must be \"2012-10-17\" or \"2008-10-17\", not {other}"),
            ));
        }
    };
    let raw: Vec<&Map<String, Value>> = match top.get("Statement") {
        Some(Value::Object(one)) => vec![one],
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| match s {
                Value::Object(m) => Ok(m),
                other => Err(invalid(
                    locate(source, "Statement"),
                    format!("statement #{i} must be an object, found {}", kind_of(other)),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(invalid(
                locate(source, "Statement"),
                format!(
                    "Statement must be an object or a list, found {}",
                    kind_of(other)
                ),
            ));
        }
        None => return Err(invalid(None, "the policy has no Statement")),
    };
    let variables = version == Version::V2012_10_17;
    let statements = raw
        .into_iter()
        .enumerate()
        .map(|(i, m)| compile_statement(i, m, kind, variables, source))
        .collect::<Result<_, _>>()?;
    Ok(Policy {
        name: name.to_owned(),
        kind,
        version,
        statements,
    })
}

fn compile_statement(
    index: usize,
    m: &Map<String, Value>,
    kind: PolicyKind,
    variables: bool,
    source: Option<&str>,
) -> Result<Statement, PolicyError> {
    let sid = match m.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(invalid(
                locate(source, "Sid"),
                format!(
                    "statement #{index}: Sid must be a string, found {}",
                    kind_of(other)
                ),
            ));
        }
    };
    let who = match &sid {
        Some(s) if !s.is_empty() => format!("statement '{s}'"),
        _ => format!("statement #{index}"),
    };
    let err =
        |element: &str, msg: String| invalid(locate(source, element), format!("{who}: {msg}"));
    for key in m.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Principal"
                | "NotPrincipal"
                | "Condition"
        ) {
            return Err(err(
                key,
                format!(
                    "unknown statement element {key:?} (expected Sid, Effect, Action, NotAction, Resource, NotResource, Principal, NotPrincipal, Condition)"
                ),
            ));
        }
    }
    let effect = match m.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(err(
                "Effect",
                format!("Effect must be \"Allow\" or \"Deny\", not {other}"),
            ));
        }
        None => return Err(err("Sid", "no Effect".to_owned())),
    };
    let actions = match (m.get("Action"), m.get("NotAction")) {
        (Some(_), Some(_)) => {
            return Err(err("NotAction", "has both Action and NotAction".to_owned()));
        }
        (None, None) => return Err(err("Effect", "has neither Action nor NotAction".to_owned())),
        (Some(v), None) | (None, Some(v)) => {
            let not = m.contains_key("NotAction");
            let element = if not { "NotAction" } else { "Action" };
            let written = string_list(v).map_err(|e| err(element, format!("{element}: {e}")))?;
            ActionMatch {
                not,
                patterns: written
                    .iter()
                    .map(|a| Pattern::new(&a.to_ascii_lowercase()))
                    .collect(),
                written,
            }
        }
    };
    let resources = match (m.get("Resource"), m.get("NotResource")) {
        (Some(_), Some(_)) => {
            return Err(err(
                "NotResource",
                "has both Resource and NotResource".to_owned(),
            ));
        }
        (None, None) => None,
        (Some(v), None) | (None, Some(v)) => {
            let not = m.contains_key("NotResource");
            let element = if not { "NotResource" } else { "Resource" };
            let list = string_list(v).map_err(|e| err(element, format!("{element}: {e}")))?;
            Some(ResourceMatch {
                not,
                patterns: list
                    .iter()
                    .map(|r| ValuePattern::new(r, variables))
                    .collect(),
            })
        }
    };
    if resources.is_none()
        && matches!(
            kind,
            PolicyKind::Identity
                | PolicyKind::PermissionsBoundary
                | PolicyKind::Session
                | PolicyKind::ResourceBased
        )
    {
        // IAM rejects such a statement ("Policy statement must contain
        // resources"); reading it as "any resource" would over-grant.
        return Err(err(
            "Effect",
            format!(
                "has neither Resource nor NotResource, which a {} statement needs",
                kind.describe()
            ),
        ));
    }
    let principals = match (m.get("Principal"), m.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err(err(
                "NotPrincipal",
                "has both Principal and NotPrincipal".to_owned(),
            ));
        }
        (None, None) => None,
        (Some(v), None) | (None, Some(v)) => {
            let not = m.contains_key("NotPrincipal");
            let element = if not { "NotPrincipal" } else { "Principal" };
            if !kind.has_principal() {
                return Err(err(
                    element,
                    format!(
                        "{element} is not allowed in a {} (it belongs in resource-based and trust policies: pass this file with --resource-policy or --trust)",
                        kind.describe()
                    ),
                ));
            }
            let set = PrincipalSet::parse(v).map_err(|e| err(element, e))?;
            Some(PrincipalMatch { not, set })
        }
    };
    if kind.has_principal() && principals.is_none() && kind != PolicyKind::ResourceControl {
        return Err(err(
            "Effect",
            format!(
                "a {} statement needs a Principal or NotPrincipal",
                kind.describe()
            ),
        ));
    }
    let conditions: Vec<Clause> = match m.get("Condition") {
        None => Vec::new(),
        Some(c) => parse_block(c, variables).map_err(|e| {
            // Point at the operator or key the message names, else at Condition.
            let at = e
                .split('"')
                .nth(1)
                .and_then(|name| locate(source, name))
                .or_else(|| locate(source, "Condition"));
            invalid(at, format!("{who}: {e}"))
        })?,
    };
    Ok(Statement {
        index,
        sid,
        effect,
        actions,
        resources,
        principals,
        conditions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(kind: PolicyKind, text: &str) -> Result<Policy, PolicyError> {
        Policy::parse("p.json", kind, text)
    }

    #[test]
    fn statement_object_or_array_and_strings_or_lists() {
        let p = parse(
            PolicyKind::Identity,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"eks:*","Resource":"*"}}"#,
        )
        .unwrap();
        assert_eq!(p.statements.len(), 1);
        assert_eq!(p.version, Version::V2012_10_17);
        let p = parse(
            PolicyKind::Identity,
            r#"{"Statement":[{"Sid":"A","Effect":"Deny","NotAction":["s3:*","iam:*"],"NotResource":["arn:aws:s3:::b"]}]}"#,
        )
        .unwrap();
        assert_eq!(p.version, Version::V2008_10_17);
        assert!(p.statements[0].actions.not);
        assert_eq!(p.statements[0].label(), "A");
    }

    #[test]
    fn invalid_json_has_line_and_column() {
        let e = parse(
            PolicyKind::Identity,
            "{\n  \"Statement\": [\n    {\"Effect\": \"Allow\",}\n  ]\n}",
        )
        .unwrap_err();
        match e {
            PolicyError::Json { line, column, .. } => {
                assert_eq!(line, 3);
                assert!(column > 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_elements_are_named_with_their_place() {
        let e = parse(
            PolicyKind::Identity,
            "{\"Statement\": [\n {\"Sid\": \"X\", \"Effect\": \"Allow\", \"Actions\": \"s3:*\", \"Resource\": \"*\"}]}",
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("\"Actions\"") && s.contains("'X'") && s.starts_with("line 2"),
            "{s}"
        );
        let e = parse(
            PolicyKind::Identity,
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"k":"v"}}}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("StringEqualz"), "{e}");
        let e = parse(
            PolicyKind::Identity,
            r#"{"Statement":{"Effect":"allow","Action":"s3:*"}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("Effect"), "{e}");
        let e = parse(
            PolicyKind::Identity,
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*"}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("neither Resource"), "{e}");
    }

    #[test]
    fn principal_only_where_it_belongs() {
        let text =
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#;
        assert!(parse(PolicyKind::Identity, text).is_err());
        assert!(parse(PolicyKind::ResourceBased, text).is_ok());
        let no_principal = r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#;
        assert!(parse(PolicyKind::Trust, no_principal).is_err());
    }

    #[test]
    fn saved_cli_output_is_unwrapped() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let wrapped = format!(r#"{{"PolicyVersion":{{"Document":{doc},"VersionId":"v1"}}}}"#);
        assert!(parse(PolicyKind::Trust, &wrapped).is_ok());
        let wrapped = format!(r#"{{"RoleName":"r","PolicyName":"p","PolicyDocument":{doc}}}"#);
        assert!(parse(PolicyKind::Trust, &wrapped).is_ok());
        let encoded: String =
            percent_encoding::utf8_percent_encode(doc, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let wrapped =
            format!(r#"{{"Role":{{"RoleName":"r","AssumeRolePolicyDocument":"{encoded}"}}}}"#);
        let p = parse(PolicyKind::Trust, &wrapped).unwrap();
        assert_eq!(p.statements.len(), 1);
    }

    #[test]
    fn wrong_version_is_rejected() {
        assert!(
            parse(
                PolicyKind::Identity,
                r#"{"Version":"2012-10-18","Statement":[]}"#
            )
            .is_err()
        );
    }
}
