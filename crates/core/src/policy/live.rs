//! `explain --live`, the pure half: the policies read from the account
//! ([`Source`]: where each came from and its document), which statement
//! decided a request ([`deciding`]), the evaluation trace in plain words
//! ([`trace`]), and the smallest edit that allows it ([`plan_fixes`]),
//! re-evaluated with the edit applied.
//!
//! The live half (`eksdoctor_aws::policies`) reads the sources; nothing here
//! does I/O. Fix commands are POSIX shell with single-quoted values
//! (`explain::fix::q`), and an edit of an existing policy always carries the
//! whole merged document: nothing is replaced wholesale.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::Tri;
use super::document::{Effect, Policy, PolicyKind};
use super::error::PolicyError;
use super::eval::{Decision, Evaluation, PolicySet, Request, StatementRef, evaluate};
use super::explain;
use crate::explain::fix::q;
use crate::rules::Rule;

/// Where a policy read from the account lives: it decides the command that
/// edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Origin {
    /// `put-user-policy`.
    UserInline { user: String, name: String },
    /// `put-role-policy`.
    RoleInline { role: String, name: String },
    /// `put-group-policy`.
    GroupInline { group: String, name: String },
    /// A managed policy (attached, or a permissions boundary), by its
    /// default version; `versions` lists every version id, oldest first.
    Managed {
        arn: String,
        default_version: String,
        versions: Vec<String>,
    },
    /// A role's trust policy (`update-assume-role-policy`).
    Trust { role: String },
    /// An S3 bucket policy (`put-bucket-policy`); `exists` false: none yet.
    BucketPolicy { bucket: String, exists: bool },
    /// A KMS key policy (`put-key-policy`, always named `default`).
    KeyPolicy { key: String },
    /// An ECR repository policy (`ecr set-repository-policy`). Its
    /// statements carry no `Resource`: the repository is the resource.
    RepositoryPolicy {
        repository: String,
        registry: String,
        region: String,
        exists: bool,
    },
    /// A Secrets Manager secret's resource policy (`put-resource-policy`).
    SecretPolicy {
        secret: String,
        region: String,
        exists: bool,
    },
    /// An SNS topic's access policy (`set-topic-attributes`, attribute `Policy`).
    TopicPolicy {
        topic: String,
        region: String,
        exists: bool,
    },
    /// An SQS queue's access policy (`set-queue-attributes`, attribute `Policy`).
    QueuePolicy {
        queue_url: String,
        region: String,
        exists: bool,
    },
    /// An SCP or RCP (`organizations update-policy`, management account),
    /// attached at `target` (root, OU or account id).
    Organization { id: String, target: String },
    /// A session policy file given with `--session-policy`.
    SessionFile { path: String },
}

/// One policy read from the account (or given as a file).
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub origin: Origin,
    pub kind: PolicyKind,
    /// How output names it: the managed policy's ARN, `inline policy 'x' of role r`, ...
    pub name: String,
    pub document: Value,
}

impl Origin {
    /// For a resource policy that may not exist yet: whether it does.
    fn exists_mut(&mut self) -> Option<&mut bool> {
        match self {
            Self::BucketPolicy { exists, .. }
            | Self::RepositoryPolicy { exists, .. }
            | Self::SecretPolicy { exists, .. }
            | Self::TopicPolicy { exists, .. }
            | Self::QueuePolicy { exists, .. } => Some(exists),
            _ => None,
        }
    }

    /// Whether the policy's statements name no `Resource` (the policy's
    /// owner is the resource): trust policies and ECR repository policies.
    #[must_use]
    pub fn resource_implied(&self) -> bool {
        matches!(self, Self::Trust { .. } | Self::RepositoryPolicy { .. })
    }
}

impl Source {
    /// The organization level an SCP/RCP is attached at.
    #[must_use]
    pub fn level(&self) -> Option<&str> {
        match &self.origin {
            Origin::Organization { target, .. } => Some(target),
            _ => None,
        }
    }

    /// The document as the evaluator reads it: an ECR repository policy's
    /// statements apply to the repository they are attached to, so each
    /// one without `Resource`/`NotResource` gets `"Resource": "*"` (the
    /// document shown and put back is unchanged).
    fn evaluated_document(&self) -> std::borrow::Cow<'_, Value> {
        if !matches!(self.origin, Origin::RepositoryPolicy { .. }) {
            return std::borrow::Cow::Borrowed(&self.document);
        }
        let statements = statements_of(&self.document)
            .into_iter()
            .map(|mut st| {
                if let Value::Object(m) = &mut st
                    && !m.contains_key("Resource")
                    && !m.contains_key("NotResource")
                {
                    m.insert("Resource".to_owned(), json!("*"));
                }
                st
            })
            .collect();
        std::borrow::Cow::Owned(with_statements(&self.document, statements))
    }
}

/// Compile every source into one policy set (same order: statement
/// references index `sources`).
///
/// # Errors
/// The first document that does not parse, with its name.
pub fn build_set(sources: &[Source]) -> Result<PolicySet, (String, PolicyError)> {
    let mut set = PolicySet::new();
    for s in sources {
        let p = Policy::parse(&s.name, s.kind, &s.evaluated_document().to_string())
            .map_err(|e| (s.name.clone(), e))?;
        match s.level() {
            Some(l) => set.add_at_level(p, l),
            None => set.add(p),
        }
    }
    Ok(set)
}

/// What decided the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deciding {
    /// `explicit-deny`, `service-control`, `resource-control`, `trust`,
    /// `key-policy`, `resource`, `identity`, `boundary`, `session`, `allow`.
    pub layer: &'static str,
    /// The deciding statement: the Deny that matched, or the Allow that allowed.
    #[serde(skip)]
    pub statement: Option<StatementRef>,
    /// For an implicit deny: the policies of the layer none of whose statements allow.
    #[serde(skip)]
    pub policies: Vec<usize>,
    /// The catalog rule (`authz/...`), none for allow and indeterminate.
    #[serde(skip)]
    pub rule: Option<Rule>,
}

/// Which statement (or which layer, for an implicit deny) decided.
#[must_use]
pub fn deciding(set: &PolicySet, ev: &Evaluation) -> Deciding {
    let rule = explain::blocking_rule(set, ev);
    let kinds = |k: PolicyKind| -> Vec<usize> {
        set.policies()
            .iter()
            .enumerate()
            .filter(|(_, p)| p.kind == k)
            .map(|(i, _)| i)
            .collect()
    };
    let failing_level = |k: PolicyKind| -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for i in kinds(k) {
            if set.level_allows(&ev.outcomes, i) == Tri::False {
                out.push(i);
            }
        }
        // The first failing level only (the one nearest the root).
        let first = out.first().and_then(|&i| set.level(i).map(str::to_owned));
        out.retain(|&i| set.level(i).map(str::to_owned) == first);
        out
    };
    let l = &ev.layers;
    let mk = |layer, statement, policies| Deciding {
        layer,
        statement,
        policies,
        rule,
    };
    match ev.decision {
        Decision::ExplicitDeny => mk("explicit-deny", ev.denying_statements().next(), vec![]),
        Decision::Allow => mk("allow", ev.allowing_statements().next(), vec![]),
        Decision::Indeterminate => mk("indeterminate", ev.unresolved.first().map(|u| u.at), vec![]),
        Decision::ImplicitDeny => {
            let any_grant = l.resource_direct.or(l.resource_role).or(l.resource_account);
            let trust = set.has(PolicyKind::Trust);
            if l.scp == Tri::False {
                mk(
                    "service-control",
                    None,
                    failing_level(PolicyKind::ServiceControl),
                )
            } else if l.rcp == Tri::False {
                mk(
                    "resource-control",
                    None,
                    failing_level(PolicyKind::ResourceControl),
                )
            } else if trust && any_grant == Tri::False {
                mk("trust", None, kinds(PolicyKind::Trust))
            } else if l.key_policy && any_grant == Tri::False {
                mk("key-policy", None, kinds(PolicyKind::ResourceBased))
            } else if l.cross_account && any_grant == Tri::False {
                mk("resource", None, kinds(PolicyKind::ResourceBased))
            } else if l.identity == Tri::False {
                mk("identity", None, kinds(PolicyKind::Identity))
            } else if l.boundary == Some(Tri::False) {
                mk("boundary", None, kinds(PolicyKind::PermissionsBoundary))
            } else if l.session == Some(Tri::False) {
                mk("session", None, kinds(PolicyKind::Session))
            } else {
                mk("identity", None, kinds(PolicyKind::Identity))
            }
        }
    }
}

/// The statement as it reads in the policy, pretty-printed (the "lines" of
/// the deciding statement).
#[must_use]
pub fn statement_lines(document: &Value, index: usize) -> Option<String> {
    let st = match document.get("Statement")? {
        Value::Array(items) => items.get(index)?,
        one @ Value::Object(_) if index == 0 => one,
        _ => return None,
    };
    serde_json::to_string_pretty(st).ok()
}

/// The evaluation, layer by layer, in plain words.
#[must_use]
pub fn trace(set: &PolicySet, req: &Request, ev: &Evaluation) -> Vec<String> {
    trace_with(set, req, ev, None)
}

/// [`trace`], saying when the organization's policies were skipped because
/// `management_account` (the caller's account) is the organization's
/// management account: SCPs do not apply to its principals, nor RCPs to its
/// resources (AWS Organizations, "Service control policies" and "Resource
/// control policies").
#[must_use]
pub fn trace_with(
    set: &PolicySet,
    req: &Request,
    ev: &Evaluation,
    management_account: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    let l = &ev.layers;
    let word = |t: Tri| match t {
        Tri::True => "yes",
        Tri::False => "no",
        Tri::Unknown => "unknown (a condition key is missing)",
    };
    let names = |k: PolicyKind| -> String {
        let v: Vec<&str> = set
            .policies()
            .iter()
            .filter(|p| p.kind == k)
            .map(|p| p.name.as_str())
            .collect();
        if v.is_empty() {
            "none read".to_owned()
        } else {
            v.join(", ")
        }
    };
    out.push(format!(
        "1. does any statement Deny {} on {}? {}",
        req.action,
        req.resource,
        word(l.deny)
    ));
    if let Some(account) = management_account {
        out.push(format!(
            "2. service and resource control policies: skipped, {account} is the organization's management account (SCPs and RCPs do not apply to it)"
        ));
    } else if set.has(PolicyKind::ServiceControl) {
        out.push(format!(
            "2. does every service control policy level allow it? {} ({})",
            word(l.scp),
            names(PolicyKind::ServiceControl)
        ));
    } else {
        out.push(
            "2. service control policies: none (no organization, or not readable: see the notes)"
                .to_owned(),
        );
    }
    if set.has(PolicyKind::ResourceControl) {
        out.push(format!(
            "   does every resource control policy level allow it? {}",
            word(l.rcp)
        ));
    }
    let res = if set.has(PolicyKind::Trust) {
        Some(PolicyKind::Trust)
    } else if set.has(PolicyKind::ResourceBased) {
        Some(PolicyKind::ResourceBased)
    } else {
        None
    };
    if let Some(k) = res {
        out.push(format!(
            "3. does the {} ({}) allow the caller? {}{}",
            k.describe(),
            names(k),
            word(l.resource_direct.or(l.resource_role).or(l.resource_account)),
            if l.resource_required {
                " (it must: trust policy, KMS key policy or cross-account)"
            } else {
                ""
            }
        ));
    } else {
        out.push("3. resource-based policy: none read for this resource".to_owned());
    }
    out.push(format!(
        "4. does an identity-based policy allow it? {} ({})",
        word(l.identity),
        names(PolicyKind::Identity)
    ));
    if let Some(b) = l.boundary {
        out.push(format!(
            "5. does the permissions boundary allow it? {} ({})",
            word(b),
            names(PolicyKind::PermissionsBoundary)
        ));
    }
    if let Some(s) = l.session {
        out.push(format!(
            "6. does the session policy allow it? {} ({})",
            word(s),
            names(PolicyKind::Session)
        ));
    }
    out.push(format!("=> {}", ev.decision.as_str()));
    out
}

/// The condition keys the decision waits on, with the `--context` to add.
#[must_use]
pub fn indeterminate_keys(ev: &Evaluation) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for u in &ev.unresolved {
        if u.missing.operator.ends_with("Principal") {
            continue;
        }
        let k = u.missing.key.clone();
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// One edit of one policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixStep {
    /// The policy edited (its name), or the new inline policy.
    pub policy: String,
    pub summary: String,
    /// The statement added, or the Deny as narrowed.
    pub statement: Value,
    /// The whole document to put in place (merged with what is there).
    pub document: Value,
    pub commands: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The decision once this edit (and the ones before it) is applied.
    pub decision_after: &'static str,
}

/// The caller as policies name it: the user, the role (with its real path),
/// or the account root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixCaller {
    /// `arn:aws:iam::111122223333:user/alice` or the role ARN (path included).
    pub arn: String,
    /// The user or role whose inline policies take an identity fix.
    pub user: Option<String>,
    pub role: Option<String>,
}

/// The fixes, in order, until the request is allowed (at most four edits),
/// and the sources with them applied. Empty when already allowed, or when
/// nothing eksdoctor can edit decides (the step list then ends early; the
/// last step's `decision_after` says where it stands).
#[must_use]
pub fn plan_fixes(
    sources: &[Source],
    req: &Request,
    caller: &FixCaller,
) -> (Vec<FixStep>, Vec<Source>) {
    let mut current = sources.to_vec();
    let mut steps = Vec::new();
    for _ in 0..4 {
        let Ok(set) = build_set(&current) else { break };
        let ev = evaluate(&set, req);
        if matches!(ev.decision, Decision::Allow | Decision::Indeterminate) {
            break;
        }
        let d = deciding(&set, &ev);
        let Some((next, mut step)) = one_fix(&current, &d, req, caller) else {
            break;
        };
        let after = build_set(&next).map_or(Decision::ImplicitDeny, |s| evaluate(&s, req).decision);
        step.decision_after = after.as_str();
        steps.push(step);
        let done = after == Decision::Allow;
        current = next;
        if done {
            break;
        }
    }
    (steps, current)
}

fn statements_of(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => vec![],
    }
}

fn with_statements(doc: &Value, statements: Vec<Value>) -> Value {
    let mut m = match doc {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    m.entry("Version").or_insert_with(|| json!("2012-10-17"));
    m.insert("Statement".to_owned(), Value::Array(statements));
    Value::Object(m)
}

/// A Sid no statement of `doc` carries yet.
fn fresh_sid(doc: &Value, base: &str) -> String {
    let taken: Vec<String> = statements_of(doc)
        .iter()
        .filter_map(|s| s.get("Sid").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let mut sid = base.to_owned();
    let mut n = 2;
    while taken.contains(&sid) {
        sid = format!("{base}{n}");
        n += 1;
    }
    sid
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn allow_statement(doc: &Value, req: &Request, principal: Option<&str>, resource: bool) -> Value {
    let sid = fresh_sid(doc, &crate::explain::fix::sid("Allow", &req.action));
    let mut st = Map::new();
    st.insert("Sid".to_owned(), json!(sid));
    st.insert("Effect".to_owned(), json!("Allow"));
    if let Some(p) = principal {
        st.insert("Principal".to_owned(), json!({ "AWS": p }));
    }
    st.insert("Action".to_owned(), json!(req.action));
    if resource {
        st.insert("Resource".to_owned(), json!(req.resource));
    }
    Value::Object(st)
}

/// The commands that put `doc` in place of the source's document.
fn put_commands(origin: &Origin, doc: &Value, notes: &mut Vec<String>) -> Vec<String> {
    let d = q(&compact(doc));
    match origin {
        Origin::UserInline { user, name } => vec![format!(
            "aws iam put-user-policy --user-name {} --policy-name {} --policy-document {d}",
            q(user),
            q(name)
        )],
        Origin::RoleInline { role, name } => vec![format!(
            "aws iam put-role-policy --role-name {} --policy-name {} --policy-document {d}",
            q(role),
            q(name)
        )],
        Origin::GroupInline { group, name } => vec![format!(
            "aws iam put-group-policy --group-name {} --policy-name {} --policy-document {d}",
            q(group),
            q(name)
        )],
        Origin::Managed {
            arn,
            default_version,
            versions,
        } => {
            let mut cmds = Vec::new();
            if arn.split(':').nth(4) == Some("aws") {
                notes.push(format!(
                    "{arn} is an AWS managed policy, which cannot be edited: create a customer managed policy with this document and attach it in its place"
                ));
                return vec![format!(
                    "aws iam create-policy --policy-name {} --policy-document {d}",
                    q(&format!(
                        "{}-eksdoctor",
                        arn.rsplit('/').next().unwrap_or("policy")
                    ))
                )];
            }
            if versions.len() >= 5 {
                // The oldest version that is not the default goes first.
                if let Some(old) = versions.iter().find(|v| *v != default_version) {
                    notes.push(format!(
                        "{arn} already has {} versions (the limit is five): delete the oldest non-default version ({old}) first",
                        versions.len()
                    ));
                    cmds.push(format!(
                        "aws iam delete-policy-version --policy-arn {} --version-id {}",
                        q(arn),
                        q(old)
                    ));
                }
            }
            cmds.push(format!(
                "aws iam create-policy-version --policy-arn {} --policy-document {d} --set-as-default",
                q(arn)
            ));
            notes.push(format!(
                "the new version becomes the default; {default_version} stays as a previous version to roll back to (aws iam set-default-policy-version)"
            ));
            cmds
        }
        Origin::Trust { role } => vec![format!(
            "aws iam update-assume-role-policy --role-name {} --policy-document {d}",
            q(role)
        )],
        Origin::BucketPolicy { bucket, .. } => vec![format!(
            "aws s3api put-bucket-policy --bucket {} --policy {d}",
            q(bucket)
        )],
        Origin::KeyPolicy { key } => vec![format!(
            "aws kms put-key-policy --key-id {} --policy-name default --policy {d}",
            q(key)
        )],
        Origin::RepositoryPolicy {
            repository,
            registry,
            region,
            ..
        } => vec![format!(
            "aws ecr set-repository-policy --repository-name {} --registry-id {} --region {} --policy-text {d}",
            q(repository),
            q(registry),
            q(region)
        )],
        Origin::SecretPolicy { secret, region, .. } => vec![format!(
            "aws secretsmanager put-resource-policy --secret-id {} --region {} --resource-policy {d}",
            q(secret),
            q(region)
        )],
        Origin::TopicPolicy { topic, region, .. } => vec![format!(
            "aws sns set-topic-attributes --topic-arn {} --region {} --attribute-name Policy --attribute-value {d}",
            q(topic),
            q(region)
        )],
        Origin::QueuePolicy {
            queue_url, region, ..
        } => {
            // The Policy attribute is a string holding the JSON document.
            let attributes = json!({ "Policy": compact(doc) });
            vec![format!(
                "aws sqs set-queue-attributes --queue-url {} --region {} --attributes {}",
                q(queue_url),
                q(region),
                q(&compact(&attributes))
            )]
        }
        Origin::Organization { id, .. } => {
            notes.push(
                "organization policies are edited from the management account (or a delegated administrator): this cannot be fixed inside the member account".to_owned(),
            );
            vec![format!(
                "aws organizations update-policy --policy-id {} --content {d}",
                q(id)
            )]
        }
        Origin::SessionFile { path } => {
            notes.push(format!(
                "a session policy is passed when the session is created: write this document to {path} and pass it again with aws sts assume-role --policy file://{path}"
            ));
            vec![]
        }
    }
}

fn edit(
    sources: &[Source],
    i: usize,
    doc: Value,
    statement: Value,
    summary: String,
) -> Option<(Vec<Source>, FixStep)> {
    let src = sources.get(i)?;
    let mut notes = Vec::new();
    let commands = put_commands(&src.origin, &doc, &mut notes);
    let mut next = sources.to_vec();
    let mut origin = src.origin.clone();
    if let Some(exists) = origin.exists_mut() {
        if !*exists {
            notes.push(format!(
                "the {} has no policy yet: this is the whole new policy",
                match &src.origin {
                    Origin::BucketPolicy { .. } => "bucket",
                    Origin::RepositoryPolicy { .. } => "repository",
                    Origin::SecretPolicy { .. } => "secret",
                    Origin::TopicPolicy { .. } => "topic",
                    _ => "queue",
                }
            ));
        }
        *exists = true;
    }
    next[i] = Source {
        origin,
        document: doc.clone(),
        ..src.clone()
    };
    Some((
        next,
        FixStep {
            policy: src.name.clone(),
            summary,
            statement,
            document: doc,
            commands,
            notes,
            decision_after: "",
        },
    ))
}

/// Add an Allow for the request to source `i`.
fn add_allow(
    sources: &[Source],
    i: usize,
    req: &Request,
    principal: Option<&str>,
    summary: String,
) -> Option<(Vec<Source>, FixStep)> {
    let src = sources.get(i)?;
    // A trust policy or an ECR repository policy has no Resource element
    // (the role or the repository is the resource).
    let st = allow_statement(
        &src.document,
        req,
        principal,
        src.kind != PolicyKind::Trust && !src.origin.resource_implied(),
    );
    let mut all = statements_of(&src.document);
    all.push(st.clone());
    let doc = with_statements(&src.document, all);
    edit(sources, i, doc, st, summary)
}

fn one_fix(
    sources: &[Source],
    d: &Deciding,
    req: &Request,
    caller: &FixCaller,
) -> Option<(Vec<Source>, FixStep)> {
    let first = d.policies.first().copied();
    match d.layer {
        "explicit-deny" => {
            let at = d.statement?;
            narrow_deny(sources, at, caller)
        }
        "service-control" | "resource-control" | "boundary" | "session" => {
            let i = first?;
            let what = match d.layer {
                "boundary" => "widen the permissions boundary",
                "session" => "widen the session policy",
                _ => "allow it at this organization level",
            };
            add_allow(
                sources,
                i,
                req,
                None,
                format!(
                    "{what}: add an Allow for {} to {}",
                    req.action,
                    sources.get(i)?.name
                ),
            )
        }
        "trust" | "key-policy" | "resource" => {
            let i = first?;
            add_allow(
                sources,
                i,
                req,
                Some(&caller.arn),
                format!(
                    "let {} perform {} in {}",
                    caller.arn,
                    req.action,
                    sources.get(i)?.name
                ),
            )
        }
        "identity" => identity_fix(sources, req, caller),
        _ => None,
    }
}

/// Narrow the Deny at `at`: the caller is excepted with an `ArnNotLike`
/// condition on `aws:PrincipalArn` (merged into the statement's own).
fn narrow_deny(
    sources: &[Source],
    at: StatementRef,
    caller: &FixCaller,
) -> Option<(Vec<Source>, FixStep)> {
    let src = sources.get(at.policy)?;
    let mut all = statements_of(&src.document);
    let st = all.get_mut(at.statement)?;
    let Value::Object(m) = st else { return None };
    let cond = m
        .entry("Condition")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(cond) = cond else {
        return None;
    };
    let op = cond
        .entry("ArnNotLike")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(op) = op else { return None };
    let key = op
        .keys()
        .find(|k| k.eq_ignore_ascii_case("aws:PrincipalArn"))
        .cloned()
        .unwrap_or_else(|| "aws:PrincipalArn".to_owned());
    let values = op.entry(key).or_insert_with(|| Value::Array(vec![]));
    match values {
        Value::Array(a) => a.push(json!(caller.arn)),
        Value::String(s) => *values = json!([s.clone(), caller.arn]),
        _ => return None,
    }
    let statement = st.clone();
    let label = statement
        .get("Sid")
        .and_then(Value::as_str)
        .map_or_else(|| format!("#{}", at.statement), |s| format!("'{s}'"));
    let doc = with_statements(&src.document, all);
    edit(
        sources,
        at.policy,
        doc,
        statement,
        format!(
            "narrow the Deny statement {label} of {}: except {} with an ArnNotLike condition on aws:PrincipalArn (an Allow can never override a Deny)",
            src.name, caller.arn
        ),
    )
}

/// No identity-based policy allows: add the statement to the principal's
/// first inline policy, else a new inline policy.
fn identity_fix(
    sources: &[Source],
    req: &Request,
    caller: &FixCaller,
) -> Option<(Vec<Source>, FixStep)> {
    let own = sources.iter().position(|s| match &s.origin {
        Origin::UserInline { user, .. } => caller.user.as_deref() == Some(user),
        Origin::RoleInline { role, .. } => caller.role.as_deref() == Some(role),
        _ => false,
    });
    if let Some(i) = own {
        return add_allow(
            sources,
            i,
            req,
            None,
            format!("add an Allow for {} to {}", req.action, sources[i].name),
        );
    }
    let name = "eksdoctor-fix".to_owned();
    let origin = match (&caller.user, &caller.role) {
        (Some(u), _) => Origin::UserInline {
            user: u.clone(),
            name: name.clone(),
        },
        (None, Some(r)) => Origin::RoleInline {
            role: r.clone(),
            name: name.clone(),
        },
        _ => return None,
    };
    let who = match &origin {
        Origin::UserInline { user, .. } => format!("user {user}"),
        Origin::RoleInline { role, .. } => format!("role {role}"),
        _ => String::new(),
    };
    let mut next = sources.to_vec();
    next.push(Source {
        origin,
        kind: PolicyKind::Identity,
        name: format!("inline policy '{name}' of {who}"),
        document: json!({"Version": "2012-10-17", "Statement": []}),
    });
    let i = next.len() - 1;
    add_allow(
        &next,
        i,
        req,
        None,
        format!(
            "no identity-based policy of {who} allows {}: add a new inline policy '{name}' with one statement",
            req.action
        ),
    )
}

/// A Principal naming the caller's role without its path: AWS matches a role
/// ARN in a Principal exactly (path included), so `role/deploy` does not
/// name `role/ci/deploy`. Says which policy does it.
#[must_use]
pub fn path_mismatch(sources: &[Source], caller_arn: &str) -> Option<String> {
    let (head, tail) = caller_arn.split_once(":role/")?;
    let name = tail.rsplit('/').next()?;
    if name == tail {
        return None;
    }
    let pathless = format!("{head}:role/{name}");
    for src in sources.iter().filter(|s| s.kind.has_principal()) {
        for st in statements_of(&src.document) {
            let aws = st.get("Principal").and_then(|p| p.get("AWS"));
            let named = match aws {
                Some(Value::String(v)) => v == &pathless,
                Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(&pathless)),
                _ => false,
            };
            if named {
                return Some(format!(
                    "{} names {pathless}, but the role is {caller_arn}: a role ARN in a Principal must carry the role's path, so that statement does not name this caller",
                    src.name
                ));
            }
        }
    }
    None
}

/// Whether a policy of this kind can be edited from inside the account.
#[must_use]
pub fn editable_in_account(kind: PolicyKind) -> bool {
    !matches!(
        kind,
        PolicyKind::ServiceControl | PolicyKind::ResourceControl
    )
}

/// The effect of statement `at`, for output.
#[must_use]
pub fn effect_of(set: &PolicySet, at: StatementRef) -> Option<Effect> {
    set.statement(at).map(|(_, s)| s.effect)
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
