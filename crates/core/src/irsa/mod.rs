//! `lint irsa`: IAM roles for service accounts, the role's trust policy
//! against the pod's projected token.
//!
//! A pod using IRSA calls `sts:AssumeRoleWithWebIdentity` with a token whose
//! issuer is the cluster's OIDC issuer, `sub` is
//! `system:serviceaccount:NAMESPACE:NAME` and `aud` is `sts.amazonaws.com`
//! (or the service account's `eks.amazonaws.com/audience`). The role's trust
//! policy must have an Allow statement whose Federated principal is the IAM
//! OIDC provider for that issuer, whose action admits
//! `sts:AssumeRoleWithWebIdentity`, and whose `ISSUER:sub` / `ISSUER:aud`
//! conditions match. [`check`] says which part does not, and gives the
//! corrected trust policy. Deny statements and other layers are the business
//! of [`crate::policy`].

pub mod trust;

use serde_json::{Value, json};

use crate::arn::partition_of_region;
use crate::finding::{Finding, Fix, Severity};
use crate::rules as catalog;
pub use trust::{RoleTrust, TrustStatement};

/// The audience the EKS pod identity webhook requests by default.
pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";
/// The action IRSA calls.
pub const ACTION: &str = "sts:AssumeRoleWithWebIdentity";

/// A cluster's OIDC issuer (`https://oidc.eks.REGION.amazonaws.com/id/ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// `oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE`:
    /// the IAM OIDC provider's name and the condition-key prefix.
    pub host_path: String,
}

impl Issuer {
    /// From the issuer URL (scheme optional, trailing slash ignored).
    ///
    /// # Errors
    /// An empty URL, or one with spaces.
    pub fn parse(url: &str) -> Result<Self, String> {
        let t = url.trim();
        let t = t
            .strip_prefix("https://")
            .or_else(|| t.strip_prefix("http://"))
            .unwrap_or(t)
            .trim_end_matches('/');
        if t.is_empty() || t.contains(char::is_whitespace) || !t.contains('.') {
            return Err(format!(
                "{url:?} is not an OIDC issuer URL like https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
            ));
        }
        Ok(Self {
            host_path: t.to_owned(),
        })
    }

    /// From an IAM OIDC provider ARN (`arn:aws:iam::ACCT:oidc-provider/HOST/PATH`).
    #[must_use]
    pub fn from_provider_arn(arn: &str) -> Option<Self> {
        let (_, rest) = arn.split_once(":oidc-provider/")?;
        Self::parse(rest).ok()
    }

    /// The region in an EKS issuer host (`oidc.eks.REGION.amazonaws.com`).
    #[must_use]
    pub fn region(&self) -> Option<&str> {
        let host = self.host_path.split('/').next()?;
        host.strip_prefix("oidc.eks.")?.split('.').next()
    }

    /// The partition, from the issuer's region (`aws` when unknown).
    #[must_use]
    pub fn partition(&self) -> &'static str {
        self.region().map_or("aws", partition_of_region)
    }

    /// The IAM OIDC provider ARN for this issuer in `account`.
    #[must_use]
    pub fn provider_arn(&self, account: &str) -> String {
        format!(
            "arn:{}:iam::{account}:oidc-provider/{}",
            self.partition(),
            self.host_path
        )
    }

    /// Whether a Federated principal names this issuer's provider.
    #[must_use]
    pub fn matches_provider(&self, federated: &str) -> bool {
        federated == "*"
            || Self::from_provider_arn(federated)
                .is_some_and(|i| i.host_path.eq_ignore_ascii_case(&self.host_path))
    }

    /// `HOST/PATH:sub` and the like.
    #[must_use]
    pub fn key(&self, claim: &str) -> String {
        format!("{}:{claim}", self.host_path)
    }
}

/// The service account a pod runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountRef {
    pub namespace: String,
    pub name: String,
    /// The token audience: `eks.amazonaws.com/audience`, else `sts.amazonaws.com`.
    pub audience: String,
}

impl ServiceAccountRef {
    /// From `NAMESPACE/NAME`.
    ///
    /// # Errors
    /// Text without exactly one `/` or with an empty part.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().split_once('/') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(Self {
                    namespace: ns.to_owned(),
                    name: name.to_owned(),
                    audience: DEFAULT_AUDIENCE.to_owned(),
                })
            }
            _ => Err(format!(
                "{s:?}: expected NAMESPACE/NAME, e.g. media/uploader"
            )),
        }
    }

    /// `system:serviceaccount:NS:NAME`.
    #[must_use]
    pub fn subject(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }
}

/// IAM's `StringLike` matching: `*` any run, `?` one character.
#[must_use]
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn action_admits(actions: &[String]) -> bool {
    actions
        .iter()
        .any(|a| glob_match(&a.to_ascii_lowercase(), &ACTION.to_ascii_lowercase()))
}

/// What is wrong with one claim condition (`sub` or `aud`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum ClaimProblem {
    Missing,
    WildcardWithStringEquals {
        operator: String,
        values: Vec<String>,
    },
    Mismatch {
        operator: String,
        values: Vec<String>,
    },
}

/// Check the conditions on `ISSUER:claim` against the token's value.
fn check_claim(conditions: &[&trust::ConditionEntry], expected: &str) -> Option<ClaimProblem> {
    if conditions.is_empty() {
        return Some(ClaimProblem::Missing);
    }
    for c in conditions {
        let base = c
            .operator
            .trim_start_matches("ForAnyValue:")
            .trim_start_matches("ForAllValues:")
            .trim_end_matches("IfExists");
        let ok = match base {
            "StringEquals" => {
                if !c.values.iter().any(|v| v == expected)
                    && c.values.iter().any(|v| v.contains('*') || v.contains('?'))
                {
                    return Some(ClaimProblem::WildcardWithStringEquals {
                        operator: c.operator.clone(),
                        values: c.values.clone(),
                    });
                }
                c.values.iter().any(|v| v == expected)
            }
            "StringEqualsIgnoreCase" => c.values.iter().any(|v| v.eq_ignore_ascii_case(expected)),
            "StringLike" => c.values.iter().any(|v| glob_match(v, expected)),
            "StringNotEquals" => !c.values.iter().any(|v| v == expected),
            "StringNotLike" => !c.values.iter().any(|v| glob_match(v, expected)),
            // Operators IRSA trust policies do not use: do not judge them here.
            _ => true,
        };
        if !ok {
            return Some(ClaimProblem::Mismatch {
                operator: c.operator.clone(),
                values: c.values.clone(),
            });
        }
    }
    None
}

/// One statement's problems for this service account.
fn statement_problems(
    s: &TrustStatement,
    issuer: &Issuer,
    sa: &ServiceAccountRef,
) -> Vec<(String, String, Severity)> {
    let mut out = Vec::new();
    if !action_admits(&s.actions) {
        out.push((
            format!(
                "the action is {} where IRSA calls {ACTION}",
                if s.actions.is_empty() {
                    "missing".to_owned()
                } else {
                    s.actions.join(", ")
                }
            ),
            "wrong-action".to_owned(),
            Severity::Error,
        ));
    }
    let conds_for = |claim: &str| -> Vec<&trust::ConditionEntry> {
        let key = issuer.key(claim);
        s.conditions
            .iter()
            .filter(|c| c.key.eq_ignore_ascii_case(&key))
            .collect()
    };
    // Conditions on another issuer's claims: that key is absent from this
    // token's request context, so the condition can never hold.
    for c in &s.conditions {
        let lower = c.key.to_ascii_lowercase();
        if (lower.ends_with(":sub") || lower.ends_with(":aud"))
            && !lower.starts_with(&issuer.host_path.to_ascii_lowercase())
            && !c.operator.ends_with("IfExists")
        {
            out.push((
                format!(
                    "the condition key {} belongs to another OIDC issuer: this cluster's token never carries it",
                    c.key
                ),
                "foreign-condition-key".to_owned(),
                Severity::Error,
            ));
        }
    }
    let subject = sa.subject();
    match check_claim(&conds_for("sub"), &subject) {
        Some(ClaimProblem::Missing) | None => {}
        Some(ClaimProblem::WildcardWithStringEquals { operator, values }) => out.push((
            format!(
                "{operator} compares {} literally: the wildcard in {values:?} needs StringLike",
                issuer.key("sub")
            ),
            "wildcard-with-string-equals".to_owned(),
            Severity::Error,
        )),
        Some(ClaimProblem::Mismatch { operator, values }) => out.push((
            format!("{operator} on sub allows {values:?}, not {subject:?}"),
            "wrong-sub".to_owned(),
            Severity::Error,
        )),
    }
    match check_claim(&conds_for("aud"), &sa.audience) {
        None => {}
        Some(ClaimProblem::Missing) => out.push((
            format!(
                "no condition on {}: AWS recommends pinning the audience to {}",
                issuer.key("aud"),
                sa.audience
            ),
            "missing-aud".to_owned(),
            Severity::Warning,
        )),
        Some(ClaimProblem::WildcardWithStringEquals { operator, values }) => out.push((
            format!(
                "{operator} on aud compares {values:?} literally: use StringLike for wildcards"
            ),
            "wildcard-with-string-equals".to_owned(),
            Severity::Error,
        )),
        Some(ClaimProblem::Mismatch { operator, values }) => out.push((
            format!(
                "{operator} on aud allows {values:?}, but the token's audience is {:?}",
                sa.audience
            ),
            "wrong-aud".to_owned(),
            Severity::Error,
        )),
    }
    out
}

/// The corrected trust policy: statements for other principals kept, the
/// IRSA statement(s) for this issuer replaced by one that admits the service account.
#[must_use]
pub fn corrected_policy(
    trust: &RoleTrust,
    issuer: &Issuer,
    sa: &ServiceAccountRef,
    account: &str,
) -> Value {
    corrected_policy_with(trust, issuer, sa, account, None)
}

/// As [`corrected_policy`], keeping a `sub` wildcard (under StringLike) when
/// the author meant one.
fn corrected_policy_with(
    trust: &RoleTrust,
    issuer: &Issuer,
    sa: &ServiceAccountRef,
    account: &str,
    sub_pattern: Option<&str>,
) -> Value {
    let mut statements: Vec<Value> = match trust.document.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        _ => Vec::new(),
    };
    let parsed = trust.statements();
    statements = statements
        .into_iter()
        .zip(parsed.iter())
        .filter(|(_, p)| {
            !(p.federated
                .iter()
                .any(|f| f != "*" && issuer.matches_provider(f))
                || p.actions.iter().any(|a| a.eq_ignore_ascii_case(ACTION)))
        })
        .map(|(v, _)| v)
        .collect();
    let condition = match sub_pattern {
        Some(p) => json!({
            "StringEquals": {issuer.key("aud"): sa.audience},
            "StringLike": {issuer.key("sub"): p},
        }),
        None => json!({
            "StringEquals": {
                issuer.key("sub"): sa.subject(),
                issuer.key("aud"): sa.audience,
            }
        }),
    };
    statements.push(json!({
        "Effect": "Allow",
        "Principal": {"Federated": issuer.provider_arn(account)},
        "Action": ACTION,
        "Condition": condition,
    }));
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The account for the provider ARN: from the role ARN, else from a Federated principal.
fn account_of(trust: &RoleTrust) -> String {
    let from_arn = |a: &str| {
        a.split(':')
            .nth(4)
            .filter(|acct| crate::arn::is_account_id(acct))
            .map(str::to_owned)
    };
    trust
        .role_arn
        .as_deref()
        .and_then(from_arn)
        .or_else(|| {
            trust
                .statements()
                .iter()
                .flat_map(|s| s.federated.clone())
                .find_map(|f| from_arn(&f))
        })
        .unwrap_or_else(|| "ACCOUNT_ID".to_owned())
}

/// The OIDC issuers a trust policy names, for inferring `--issuer`.
#[must_use]
pub fn issuers_in(trust: &RoleTrust) -> Vec<Issuer> {
    let mut out: Vec<Issuer> = Vec::new();
    for s in trust.statements() {
        for f in &s.federated {
            if let Some(i) = Issuer::from_provider_arn(f)
                && !out.contains(&i)
            {
                out.push(i);
            }
        }
    }
    out
}

/// Where the trust policy came from, for locations and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustSource {
    pub file: String,
    /// The role name for the update command (`ROLE_NAME` when unknown).
    pub role_name: String,
}

/// irsa/trust-mismatch findings for one role and one service account.
#[must_use]
pub fn check(
    trust: &RoleTrust,
    issuer: &Issuer,
    sa: &ServiceAccountRef,
    source: &TrustSource,
) -> Vec<Finding> {
    let statements: Vec<TrustStatement> =
        trust.statements().into_iter().filter(|s| s.allow).collect();
    let matching: Vec<&TrustStatement> = statements
        .iter()
        .filter(|s| s.federated.iter().any(|f| issuer.matches_provider(f)))
        .collect();
    let account = account_of(trust);
    // A wildcard written under StringEquals that would admit the service
    // account under StringLike: keep the author's pattern, fix the operator.
    let subject = sa.subject();
    let sub_key = issuer.key("sub");
    let meant_pattern = matching
        .iter()
        .flat_map(|s| s.conditions.iter())
        .filter(|c| c.operator == "StringEquals" && c.key.eq_ignore_ascii_case(&sub_key))
        .flat_map(|c| c.values.iter())
        .find(|v| (v.contains('*') || v.contains('?')) && glob_match(v, &subject))
        .cloned();
    let policy = corrected_policy_with(trust, issuer, sa, &account, meant_pattern.as_deref());
    let fix = || {
        Fix::new(format!(
            "trust the cluster's OIDC provider for {} (save the policy as trust.json)",
            sa.subject()
        ))
        .policy(policy.clone())
        .command(format!(
            "aws iam update-assume-role-policy --role-name {} --policy-document file://trust.json",
            source.role_name
        ))
    };
    let base = |message: String, problem: &str| {
        Finding::new(catalog::IRSA_TRUST_MISMATCH, message)
            .evidence("role", source.role_name.clone())
            .evidence("service_account", format!("{}/{}", sa.namespace, sa.name))
            .evidence("expected_sub", sa.subject())
            .evidence("expected_aud", sa.audience.clone())
            .evidence("issuer", issuer.host_path.clone())
            .evidence("problem", problem)
            .at(source.file.clone(), 1)
    };
    if matching.is_empty() {
        let found: Vec<String> = statements
            .iter()
            .flat_map(|s| s.federated.clone())
            .collect();
        return vec![
            base(
                format!(
                    "Role {} does not trust the cluster's OIDC provider {}",
                    source.role_name,
                    issuer.provider_arn(&account)
                ),
                "no-federated-principal",
            )
            .detail(format!(
                "AssumeRoleWithWebIdentity succeeds only when an Allow statement's Principal.Federated is the IAM \
                 OIDC provider of the token's issuer. This policy federates {}. A cluster re-created or another \
                 cluster gets a new issuer id, and its provider ARN must be in the trust policy (and the provider \
                 must exist in IAM: aws iam list-open-id-connect-providers).",
                if found.is_empty() { "no OIDC provider at all".to_owned() } else { found.join(", ") }
            ))
            .evidence("federated", found)
            .fix(fix()),
        ];
    }
    let per_statement: Vec<Vec<(String, String, Severity)>> = matching
        .iter()
        .map(|s| statement_problems(s, issuer, sa))
        .collect();
    // One statement that admits the service account is enough (warnings aside).
    if per_statement
        .iter()
        .any(|p| p.iter().all(|(_, _, sev)| *sev != Severity::Error))
    {
        let best = per_statement
            .iter()
            .find(|p| p.iter().all(|(_, _, sev)| *sev != Severity::Error))
            .cloned()
            .unwrap_or_default();
        return best
            .into_iter()
            .map(|(msg, problem, sev)| {
                base(format!("Role {}: {msg}", source.role_name), &problem)
                    .severity(sev)
                    .detail(
                        "The trust policy admits the service account, but without an aud condition any token from \
                         this issuer with a matching sub is accepted whatever its audience. EKS and eksctl pin aud \
                         to sts.amazonaws.com.",
                    )
                    .fix(fix())
            })
            .collect();
    }
    let (idx, problems) = per_statement
        .iter()
        .enumerate()
        .min_by_key(|(_, p)| p.len())
        .map(|(i, p)| (i, p.clone()))
        .unwrap_or_default();
    let stmt = matching.get(idx).map_or(0, |s| s.index);
    problems
        .into_iter()
        .map(|(msg, problem, sev)| {
            base(format!("Role {}: {msg}", source.role_name), &problem)
                .severity(sev)
                .detail(format!(
                    "A pod running as {} presents a token with sub {:?} and aud {:?} from issuer {}. Statement {} of \
                     the trust policy does not admit it, so AssumeRoleWithWebIdentity fails with AccessDenied \
                     (\"Not authorized to perform sts:AssumeRoleWithWebIdentity\").",
                    sa.subject(),
                    sa.subject(),
                    sa.audience,
                    issuer.host_path,
                    stmt
                ))
                .evidence("statement", stmt)
                .fix(fix())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ISSUER: &str =
        "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    const HP: &str = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

    fn policy(action: &str, op: &str, sub: &str, aud: Option<&str>) -> RoleTrust {
        let mut cond = serde_json::Map::new();
        let mut inner = serde_json::Map::new();
        inner.insert(format!("{HP}:sub"), json!(sub));
        cond.insert(op.to_owned(), Value::Object(inner));
        if let Some(a) = aud {
            cond.entry("StringEquals".to_owned())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .unwrap()
                .insert(format!("{HP}:aud"), json!(a));
        }
        let doc = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{HP}")},
            "Action": action,
            "Condition": cond,
        }]});
        trust::read(&doc.to_string()).unwrap()
    }

    fn run(t: &RoleTrust) -> Vec<Finding> {
        let issuer = Issuer::parse(ISSUER).unwrap();
        let sa = ServiceAccountRef::parse("media/uploader").unwrap();
        check(
            t,
            &issuer,
            &sa,
            &TrustSource {
                file: "trust.json".into(),
                role_name: "uploader".into(),
            },
        )
    }

    fn problems(f: &[Finding]) -> Vec<String> {
        f.iter()
            .map(|f| f.evidence["problem"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_correct_policy_is_clean() {
        let t = policy(
            ACTION,
            "StringEquals",
            "system:serviceaccount:media:uploader",
            Some("sts.amazonaws.com"),
        );
        assert!(run(&t).is_empty());
        let t = policy(
            ACTION,
            "StringLike",
            "system:serviceaccount:media:*",
            Some("sts.amazonaws.com"),
        );
        assert!(run(&t).is_empty());
    }

    #[test]
    fn each_mismatch() {
        let t = policy(
            ACTION,
            "StringEquals",
            "system:serviceaccount:default:uploader",
            Some("sts.amazonaws.com"),
        );
        assert_eq!(problems(&run(&t)), ["wrong-sub"]);
        let t = policy(
            ACTION,
            "StringEquals",
            "system:serviceaccount:media:*",
            Some("sts.amazonaws.com"),
        );
        let f = run(&t);
        assert_eq!(problems(&f), ["wildcard-with-string-equals"]);
        let fixed = f[0].fix.as_ref().unwrap().policy.as_ref().unwrap();
        assert_eq!(
            fixed["Statement"][0]["Condition"]["StringLike"][format!("{HP}:sub")],
            "system:serviceaccount:media:*"
        );
        let t = policy(
            ACTION,
            "StringEquals",
            "system:serviceaccount:media:uploader",
            Some("sts.amazonaws.com.cn"),
        );
        assert_eq!(problems(&run(&t)), ["wrong-aud"]);
        let t = policy(
            ACTION,
            "StringEquals",
            "system:serviceaccount:media:uploader",
            None,
        );
        let f = run(&t);
        assert_eq!(problems(&f), ["missing-aud"]);
        assert_eq!(f[0].severity, Severity::Warning);
        let t = policy(
            "sts:AssumeRole",
            "StringEquals",
            "system:serviceaccount:media:uploader",
            Some("sts.amazonaws.com"),
        );
        assert_eq!(problems(&run(&t)), ["wrong-action"]);
    }

    #[test]
    fn wrong_provider_and_the_fix() {
        let other = policy(
            ACTION,
            "StringEquals",
            "system:serviceaccount:media:uploader",
            Some("sts.amazonaws.com"),
        );
        let issuer = Issuer::parse(
            "https://oidc.eks.us-west-2.amazonaws.com/id/0000000000000000000000000000000A",
        )
        .unwrap();
        let sa = ServiceAccountRef::parse("media/uploader").unwrap();
        let f = check(
            &other,
            &issuer,
            &sa,
            &TrustSource {
                file: "t.json".into(),
                role_name: "uploader".into(),
            },
        );
        assert_eq!(problems(&f), ["no-federated-principal"]);
        let fix = f[0].fix.as_ref().unwrap();
        assert_eq!(
            fix.commands[0],
            "aws iam update-assume-role-policy --role-name uploader --policy-document file://trust.json"
        );
        let p = fix.policy.as_ref().unwrap();
        let st = p["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 1, "the stale IRSA statement is replaced: {p}");
        assert_eq!(
            st[0]["Principal"]["Federated"],
            "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/0000000000000000000000000000000A"
        );
        assert_eq!(
            st[0]["Condition"]["StringEquals"]["oidc.eks.us-west-2.amazonaws.com/id/0000000000000000000000000000000A:sub"],
            "system:serviceaccount:media:uploader"
        );
    }

    #[test]
    fn partitions_and_parsing() {
        let i = Issuer::parse("https://oidc.eks.cn-north-1.amazonaws.com.cn/id/ABC/").unwrap();
        assert_eq!(
            i.provider_arn("111122223333"),
            "arn:aws-cn:iam::111122223333:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/ABC"
        );
        assert!(Issuer::parse("not a url").is_err());
        assert!(ServiceAccountRef::parse("media").is_err());
        assert!(ServiceAccountRef::parse("a/b/c").is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_match(
            "system:serviceaccount:*:app",
            "system:serviceaccount:prod:app"
        ));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a*d", "abc"));
        assert!(glob_match("*", ""));
        assert!(action_admits(&["sts:*".into()]));
        assert!(action_admits(&["STS:AssumeRoleWithWebIdentity".into()]));
        assert!(!action_admits(&["sts:AssumeRole".into()]));
    }

    proptest! {
        #[test]
        fn glob_of_literal_is_equality(a in "[a-z:]{0,12}", b in "[a-z:]{0,12}") {
            prop_assert_eq!(glob_match(&a, &b), a == b);
            let (pattern, text) = (format!("{a}*"), format!("{a}{b}"));
            prop_assert!(glob_match(&pattern, &text));
        }

        #[test]
        fn exact_sub_always_admitted(ns in "[a-z][a-z0-9-]{0,15}", name in "[a-z][a-z0-9-]{0,15}") {
            let sa = ServiceAccountRef::parse(&format!("{ns}/{name}")).unwrap();
            let t = policy(ACTION, "StringEquals", &sa.subject(), Some("sts.amazonaws.com"));
            let issuer = Issuer::parse(ISSUER).unwrap();
            let f = check(&t, &issuer, &sa, &TrustSource { file: "t".into(), role_name: "r".into() });
            prop_assert!(f.is_empty());
            // And the corrected policy for any SA admits that SA.
            let fixed = corrected_policy(&t, &issuer, &sa, "111122223333");
            let re = trust::read(&fixed.to_string()).unwrap();
            let src = TrustSource { file: "t".into(), role_name: "r".into() };
            let again = check(&re, &issuer, &sa, &src);
            prop_assert!(again.is_empty());
        }
    }
}
