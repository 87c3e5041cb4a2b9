//! Who is asking (the caller) and the `Principal` / `NotPrincipal` elements
//! that resource-based and trust policies name them with.
//!
//! As "AWS JSON policy elements: Principal" documents: an account id or its
//! `root` ARN stands for the account (which must then allow its own
//! principals through their identity-based policies); a role ARN matches the
//! sessions of that role; an assumed-role session ARN matches that session
//! only; wildcards are not allowed inside a principal ARN (only `*` alone).

use serde_json::Value;

use super::context::Context;
use crate::arn::{Arn, Principal, PrincipalKind, is_account_id};

/// The principal making the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An IAM or STS principal: user, role, assumed-role session, federated user, root.
    Iam(Principal),
    /// An AWS service (`ec2.amazonaws.com`).
    Service(String),
    /// A web identity or SAML provider (an `oidc-provider/...` or
    /// `saml-provider/...` ARN, or a domain such as `accounts.google.com`).
    Federated(String),
    /// An S3 canonical user id.
    CanonicalUser(String),
    /// An unauthenticated caller.
    Anonymous,
}

impl Caller {
    /// Parse `--caller`. `federated` says the action is
    /// `sts:AssumeRoleWithWebIdentity` / `...WithSAML`, where the caller is
    /// an identity provider.
    ///
    /// # Errors
    /// Text that is none of the above.
    pub fn parse(text: &str, federated: bool) -> Result<Self, String> {
        let t = text.trim();
        if t == "*" || t.eq_ignore_ascii_case("anonymous") {
            return Ok(Self::Anonymous);
        }
        if t.starts_with("arn:") && (t.contains(":oidc-provider/") || t.contains(":saml-provider/"))
        {
            return Ok(Self::Federated(t.to_owned()));
        }
        if federated && !t.starts_with("arn:") {
            return Ok(Self::Federated(t.to_owned()));
        }
        if crate::arn::is_service_principal(t) {
            return Ok(Self::Service(t.to_owned()));
        }
        if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Self::CanonicalUser(t.to_owned()));
        }
        Principal::parse(t).map(Self::Iam).map_err(|e| {
            format!(
                "{t:?}: {e}; expected a user, role, assumed-role or federated-user ARN, an account root ARN, a service principal (eks.amazonaws.com), or an identity provider"
            )
        })
    }

    /// The caller's account, when it has one.
    #[must_use]
    pub fn account(&self) -> Option<&str> {
        match self {
            Self::Iam(p) => p.account(),
            Self::Federated(arn) => arn.split(':').nth(4).filter(|a| is_account_id(a)),
            _ => None,
        }
    }

    /// The caller in words, for reasons.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Iam(p) => format!("{} {p}", p.kind),
            Self::Service(s) => format!("service {s}"),
            Self::Federated(f) => format!("identity provider {f}"),
            Self::CanonicalUser(c) => format!("canonical user {c}"),
            Self::Anonymous => "an anonymous caller".to_owned(),
        }
    }

    /// Condition keys AWS derives from the caller, added where the operator
    /// gave none: aws:PrincipalArn, aws:PrincipalAccount, aws:username,
    /// aws:PrincipalType.
    pub fn fill_context(&self, ctx: &mut Context) {
        let Self::Iam(p) = self else {
            if let Self::Service(s) = self {
                ctx.insert_default("aws:PrincipalServiceName", s);
            }
            ctx.mark_absent("aws:username");
            return;
        };
        // "aws:username: this key is not present for assumed roles" (and
        // other non-user principals).
        if p.kind != PrincipalKind::User {
            ctx.mark_absent("aws:username");
        }
        if let Some(acct) = p.account() {
            ctx.insert_default("aws:PrincipalAccount", acct);
        }
        let arn = match p.kind {
            // aws:PrincipalArn of a session is its role's ARN (path unknown from the session ARN).
            PrincipalKind::AssumedRole => p.canonical_arn(),
            _ => p.arn.as_ref().map(ToString::to_string),
        };
        if let Some(arn) = arn {
            ctx.insert_default("aws:PrincipalArn", &arn);
        }
        let ty = match p.kind {
            PrincipalKind::User => "User",
            PrincipalKind::Role | PrincipalKind::AssumedRole => "AssumedRole",
            PrincipalKind::FederatedUser => "FederatedUser",
            PrincipalKind::Root => "Account",
            PrincipalKind::Service => "Service",
        };
        ctx.insert_default("aws:PrincipalType", ty);
        if p.kind == PrincipalKind::User {
            ctx.insert_default("aws:username", &p.name);
        }
    }
}

/// How a `Principal` element matched the caller: it decides whether a
/// resource-based Allow suffices on its own (see `eval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// `*`: everyone.
    Wildcard,
    /// The caller's own ARN (user, session, federated user, root), service,
    /// provider or canonical user.
    Direct,
    /// The role of an assumed-role session, by the role's ARN.
    Role,
    /// The caller's account (id or `root` ARN): the account must delegate.
    Account,
}

/// One `AWS` principal value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AwsPrincipal {
    Any,
    Account(Box<str>),
    /// A user, assumed-role, federated-user ARN: matched exactly (IAM names
    /// are unique case-insensitively).
    Exact(Box<str>),
    /// A role ARN: matches the role's sessions.
    Role {
        arn: Box<str>,
        account: Box<str>,
        name: Box<str>,
    },
    /// Something that never matches (a wildcard inside an ARN, a unique id).
    Never(Box<str>),
}

impl AwsPrincipal {
    fn parse(text: &str) -> Self {
        let t = text.trim();
        if t == "*" {
            return Self::Any;
        }
        if is_account_id(t) {
            return Self::Account(t.into());
        }
        if t.contains(['*', '?']) {
            return Self::Never(t.into());
        }
        let Ok(arn) = t.parse::<Arn>() else {
            return Self::Never(t.into());
        };
        if arn.service == "iam" && arn.resource == "root" {
            return Self::Account(arn.account.into());
        }
        if let Some(rest) = arn
            .resource
            .strip_prefix("role/")
            .filter(|_| arn.service == "iam")
        {
            let name = rest.rsplit('/').next().unwrap_or(rest);
            return Self::Role {
                arn: t.into(),
                account: arn.account.into(),
                name: name.into(),
            };
        }
        Self::Exact(t.into())
    }
}

/// A compiled `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalSet {
    aws: Vec<AwsPrincipal>,
    service: Vec<Box<str>>,
    federated: Vec<Box<str>>,
    canonical: Vec<Box<str>>,
}

impl PrincipalSet {
    /// Compile the element's JSON value. `Err` names an unknown principal type.
    ///
    /// # Errors
    /// A principal type other than AWS, Service, Federated, CanonicalUser, or
    /// a value that is not a string or a list of strings.
    pub fn parse(v: &Value) -> Result<Self, String> {
        let mut set = Self::default();
        match v {
            Value::String(s) if s == "*" => set.aws.push(AwsPrincipal::Any),
            Value::String(s) => {
                return Err(format!(
                    "Principal must be \"*\" or an object such as {{\"AWS\": ...}}, not the string {s:?}"
                ));
            }
            Value::Object(map) => {
                for (kind, vals) in map {
                    let vals = super::document::string_list(vals)
                        .map_err(|e| format!("Principal {kind}: {e}"))?;
                    match kind.as_str() {
                        "AWS" => set.aws.extend(vals.iter().map(|s| AwsPrincipal::parse(s))),
                        "Service" => set.service.extend(vals.iter().map(|s| s.as_str().into())),
                        "Federated" => {
                            set.federated.extend(vals.iter().map(|s| s.as_str().into()));
                        }
                        "CanonicalUser" => {
                            set.canonical.extend(vals.iter().map(|s| s.as_str().into()));
                        }
                        other => {
                            return Err(format!(
                                "unknown principal type {other:?} (expected AWS, Service, Federated or CanonicalUser)"
                            ));
                        }
                    }
                }
            }
            _ => return Err("Principal must be \"*\" or an object".to_owned()),
        }
        Ok(set)
    }

    /// Whether the element holds a principal ARN with a wildcard, which AWS
    /// never matches.
    #[must_use]
    pub fn has_wildcard_arn(&self) -> bool {
        self.aws
            .iter()
            .any(|p| matches!(p, AwsPrincipal::Never(t) if t.contains(['*', '?'])))
    }

    /// How the element names the caller, if it does. `ctx` supplies
    /// `aws:PrincipalArn` to check a role's path.
    #[must_use]
    pub fn grant_for(&self, caller: &Caller, ctx: &Context) -> Option<Grant> {
        let mut best: Option<Grant> = None;
        let mut offer = |g: Grant| {
            best = Some(match best {
                Some(b) if b <= g => b,
                _ => g,
            });
        };
        for p in &self.aws {
            match (p, caller) {
                (AwsPrincipal::Any, _) => offer(Grant::Wildcard),
                (AwsPrincipal::Account(a), Caller::Iam(c)) if c.account() == Some(&**a) => {
                    offer(if c.kind == PrincipalKind::Root {
                        Grant::Direct
                    } else {
                        Grant::Account
                    });
                }
                (AwsPrincipal::Exact(arn), Caller::Iam(c)) if same_arn(c, arn) => {
                    offer(Grant::Direct);
                }
                (AwsPrincipal::Role { arn, account, name }, Caller::Iam(c))
                    if role_matches(arn, account, name, c, ctx) =>
                {
                    offer(Grant::Role);
                }
                _ => {}
            }
        }
        match caller {
            Caller::Service(s) if self.service.iter().any(|x| x.eq_ignore_ascii_case(s)) => {
                offer(Grant::Direct);
            }
            Caller::Federated(f) if self.federated.iter().any(|x| x.eq_ignore_ascii_case(f)) => {
                offer(Grant::Direct);
            }
            Caller::CanonicalUser(c) if self.canonical.iter().any(|x| **x == *c) => {
                offer(Grant::Direct);
            }
            _ => {}
        }
        best
    }

    /// Whether a `NotPrincipal` element excludes the caller: every identity
    /// the caller carries (its own ARN, its role for a session, its account)
    /// must be listed, as AWS documents for `NotPrincipal` with `Deny`.
    #[must_use]
    pub fn excludes(&self, caller: &Caller, ctx: &Context) -> bool {
        if self.aws.contains(&AwsPrincipal::Any) {
            return true;
        }
        match caller {
            Caller::Iam(c) => {
                let own = c.kind == PrincipalKind::Root
                    || self.aws.iter().any(|p| match p {
                        AwsPrincipal::Exact(arn) => same_arn(c, arn),
                        AwsPrincipal::Role { arn, account, name } => {
                            c.kind == PrincipalKind::Role
                                && role_matches(arn, account, name, c, ctx)
                        }
                        _ => false,
                    });
                let role = c.kind != PrincipalKind::AssumedRole
                    || self.aws.iter().any(|p| match p {
                        AwsPrincipal::Role { arn, account, name } => {
                            role_matches(arn, account, name, c, ctx)
                        }
                        _ => false,
                    });
                let account = self
                    .aws
                    .iter()
                    .any(|p| matches!(p, AwsPrincipal::Account(a) if c.account() == Some(&**a)));
                own && role && account
            }
            other => self.grant_for(other, ctx).is_some(),
        }
    }
}

impl PrincipalSet {
    /// Whether the element names the caller by any identity it carries: its
    /// own ARN (user, session, role, federated user), the role of its
    /// session, its account, or `*`. A `NotPrincipal` in an `Allow`
    /// statement allows everyone except those: naming any one of them
    /// leaves the caller out.
    #[must_use]
    pub fn names_any(&self, caller: &Caller, ctx: &Context) -> bool {
        if self.aws.contains(&AwsPrincipal::Any) {
            return true;
        }
        match caller {
            Caller::Iam(c) => self.aws.iter().any(|p| match p {
                AwsPrincipal::Exact(arn) => same_arn(c, arn),
                AwsPrincipal::Role { arn, account, name } => {
                    role_matches(arn, account, name, c, ctx)
                }
                AwsPrincipal::Account(a) => c.account() == Some(&**a),
                AwsPrincipal::Any | AwsPrincipal::Never(_) => false,
            }),
            other => self.grant_for(other, ctx).is_some(),
        }
    }
}

/// Does a role ARN in a policy name this caller's role? A role caller must
/// be that ARN; a session must be of a role with that name in that account
/// (and with that path when `aws:PrincipalArn` says what the path is).
fn role_matches(arn: &str, account: &str, name: &str, c: &Principal, ctx: &Context) -> bool {
    match c.kind {
        PrincipalKind::Role => same_arn(c, arn),
        PrincipalKind::AssumedRole => {
            if c.account() != Some(account) {
                return false;
            }
            // A role ARN given with --context aws:PrincipalArn (path included)
            // settles the path; the one derived from the session has none.
            if let Some([given]) = ctx.get("aws:principalarn")
                && Some(given.as_str()) != c.canonical_arn().as_deref()
            {
                return given.eq_ignore_ascii_case(arn);
            }
            c.role_name().is_some_and(|r| r.eq_ignore_ascii_case(name))
        }
        _ => false,
    }
}

/// Whether the caller's ARN is `arn` (IAM names are unique case-insensitively).
fn same_arn(c: &Principal, arn: &str) -> bool {
    c.arn
        .as_ref()
        .is_some_and(|a| a.to_string().eq_ignore_ascii_case(arn))
}

/// The role path of a role ARN, when it has one other than `/`.
#[must_use]
pub fn role_path(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":role/")?.1;
    let (path, _) = rest.rsplit_once('/')?;
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn caller(s: &str) -> Caller {
        Caller::parse(s, false).unwrap()
    }

    #[test]
    fn account_and_root() {
        let set = PrincipalSet::parse(&json!({"AWS": "111122223333"})).unwrap();
        let c = caller("arn:aws:iam::111122223333:user/alice");
        assert_eq!(set.grant_for(&c, &Context::new()), Some(Grant::Account));
        let set = PrincipalSet::parse(&json!({"AWS": "arn:aws:iam::111122223333:root"})).unwrap();
        assert_eq!(set.grant_for(&c, &Context::new()), Some(Grant::Account));
        let other = caller("arn:aws:iam::444455556666:user/alice");
        assert_eq!(set.grant_for(&other, &Context::new()), None);
    }

    #[test]
    fn role_arn_matches_its_sessions() {
        let set =
            PrincipalSet::parse(&json!({"AWS": ["arn:aws:iam::111122223333:role/dev/Admin"]}))
                .unwrap();
        let s = caller("arn:aws:sts::111122223333:assumed-role/Admin/bob");
        assert_eq!(set.grant_for(&s, &Context::new()), Some(Grant::Role));
        let s2 = caller("arn:aws:sts::111122223333:assumed-role/Other/bob");
        assert_eq!(set.grant_for(&s2, &Context::new()), None);
        let set = PrincipalSet::parse(
            &json!({"AWS": "arn:aws:sts::111122223333:assumed-role/Admin/bob"}),
        )
        .unwrap();
        assert_eq!(set.grant_for(&s, &Context::new()), Some(Grant::Direct));
    }

    #[test]
    fn wildcard_inside_arn_never_matches() {
        let set = PrincipalSet::parse(&json!({"AWS": "arn:aws:iam::111122223333:user/*"})).unwrap();
        assert!(set.has_wildcard_arn());
        let c = caller("arn:aws:iam::111122223333:user/alice");
        assert_eq!(set.grant_for(&c, &Context::new()), None);
    }

    #[test]
    fn services_and_unknown_types() {
        let set = PrincipalSet::parse(&json!({"Service": ["eks.amazonaws.com"]})).unwrap();
        assert_eq!(
            set.grant_for(&caller("eks.amazonaws.com"), &Context::new()),
            Some(Grant::Direct)
        );
        assert!(PrincipalSet::parse(&json!({"Aws": "*"})).is_err());
        assert!(PrincipalSet::parse(&json!("111122223333")).is_err());
    }

    #[test]
    fn names_any_identity() {
        let s = caller("arn:aws:sts::111122223333:assumed-role/Admin/bob");
        let ctx = Context::new();
        for named in [
            json!({"AWS": "arn:aws:sts::111122223333:assumed-role/Admin/bob"}),
            json!({"AWS": "arn:aws:iam::111122223333:role/Admin"}),
            json!({"AWS": "111122223333"}),
            json!("*"),
        ] {
            assert!(
                PrincipalSet::parse(&named).unwrap().names_any(&s, &ctx),
                "{named}"
            );
        }
        let other =
            PrincipalSet::parse(&json!({"AWS": "arn:aws:iam::111122223333:role/Other"})).unwrap();
        assert!(!other.names_any(&s, &ctx));
        let u = caller("arn:aws:iam::111122223333:user/alice");
        let alice =
            PrincipalSet::parse(&json!({"AWS": "arn:aws:iam::111122223333:user/alice"})).unwrap();
        assert!(alice.names_any(&u, &ctx));
        assert!(!alice.names_any(&caller("arn:aws:iam::111122223333:user/bob"), &ctx));
    }

    #[test]
    fn not_principal_needs_every_identity() {
        let s = caller("arn:aws:sts::111122223333:assumed-role/Admin/bob");
        let only_session = PrincipalSet::parse(
            &json!({"AWS": ["arn:aws:sts::111122223333:assumed-role/Admin/bob"]}),
        )
        .unwrap();
        assert!(!only_session.excludes(&s, &Context::new()));
        let all = PrincipalSet::parse(&json!({"AWS": [
            "arn:aws:sts::111122223333:assumed-role/Admin/bob",
            "arn:aws:iam::111122223333:role/Admin",
            "arn:aws:iam::111122223333:root"
        ]}))
        .unwrap();
        assert!(all.excludes(&s, &Context::new()));
    }
}
