//! The decision, as "Policy evaluation logic" documents it:
//!
//! 1. an explicit `Deny` in any applicable policy decides (explicit-deny);
//! 2. every service control policy level, and every resource control
//!    policy, must allow;
//! 3. within one account, an identity-based Allow *or* a resource-based
//!    Allow suffices, but the identity-based side is capped by the
//!    permissions boundary and the session policy, when present. A
//!    resource-based Allow that names the caller's own ARN (an IAM user, a
//!    role *session*) is not capped by them; one that names the *role* ARN
//!    is; one that names the account delegates to the identity-based side;
//! 4. across accounts, both sides must allow; a role trust policy must
//!    always allow explicitly (it is the resource-based policy of
//!    `sts:AssumeRole*`), and so must a KMS key policy for `kms:` actions on
//!    a key ARN (directly, or by delegating to the account root);
//! 5. otherwise implicit-deny.
//!
//! `sts:GetCallerIdentity` needs no permission and no Deny blocks it: it is
//! always allowed.
//!
//! Every step is evaluated in three-valued logic ([`Tri`]): a condition on a
//! key the context does not give is `Unknown`, and the decision is
//! `indeterminate` only when the unknown could change it.

use super::Tri;
use super::condition::MissingKey;
use super::context::Context;
use super::document::{Effect, Policy, PolicyKind, Statement};
use super::principal::{Caller, Grant};

/// The policies that apply to a request, compiled once and evaluated against
/// many requests.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<Policy>,
    /// For service and resource control policies: the level of the
    /// organization tree each is attached to (root, OU, account). Policies
    /// of one level are alternatives (any of them may allow); every level
    /// must allow. `None`: a level of its own.
    levels: Vec<Option<Box<str>>>,
}

impl PolicySet {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a compiled policy. Each service control policy (and resource
    /// control policy) added is one level that must allow on its own.
    pub fn add(&mut self, policy: Policy) {
        self.policies.push(policy);
        self.levels.push(None);
    }

    /// Add a service or resource control policy attached at `level` (the
    /// root, OU or account id it is attached to): AWS requires that at
    /// each level some attached policy allows, and every level must.
    pub fn add_at_level(&mut self, policy: Policy, level: &str) {
        self.policies.push(policy);
        self.levels.push(Some(level.into()));
    }

    /// The organization level a policy was added at.
    #[must_use]
    pub fn level(&self, policy: usize) -> Option<&str> {
        self.levels.get(policy).and_then(|l| l.as_deref())
    }

    /// Whether the level of policy `index` allows: OR over the policies
    /// attached at the same level (the policy alone when it has none).
    #[must_use]
    pub fn level_allows(&self, outcomes: &[PolicyOutcome], index: usize) -> Tri {
        let Some(level) = self.level(index) else {
            return outcomes.get(index).map_or(Tri::False, |o| o.allow);
        };
        let kind = self.policies.get(index).map(|p| p.kind);
        Tri::any(
            self.policies
                .iter()
                .zip(outcomes)
                .enumerate()
                .filter(|(i, (p, _))| Some(p.kind) == kind && self.level(*i) == Some(level))
                .map(|(_, (_, o))| o.allow),
        )
    }

    /// AND over the levels of `kind` (true when there are none).
    fn levels_allow(&self, kind: PolicyKind, outcomes: &[PolicyOutcome]) -> Tri {
        Tri::all(
            self.policies
                .iter()
                .enumerate()
                .filter(|(_, p)| p.kind == kind)
                .map(|(i, _)| self.level_allows(outcomes, i)),
        )
    }

    /// Builder form of [`Self::add`].
    #[must_use]
    pub fn with(mut self, policy: Policy) -> Self {
        self.add(policy);
        self
    }

    #[must_use]
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// Whether the set holds a policy of this kind.
    #[must_use]
    pub fn has(&self, kind: PolicyKind) -> bool {
        self.policies.iter().any(|p| p.kind == kind)
    }

    /// The statement a reference points at.
    #[must_use]
    pub fn statement(&self, r: StatementRef) -> Option<(&Policy, &Statement)> {
        let p = self.policies.get(r.policy)?;
        Some((p, p.statements.get(r.statement)?))
    }
}

/// One request: action, resource, caller and condition context.
#[derive(Debug, Clone)]
pub struct Request {
    pub action: String,
    action_lc: String,
    pub resource: String,
    pub caller: Option<Caller>,
    pub context: Context,
}

impl Request {
    /// A request. Condition keys AWS derives from the caller
    /// (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:username`,
    /// `aws:PrincipalType`) are added unless the context gives them.
    #[must_use]
    pub fn new(action: &str, resource: &str, caller: Option<Caller>, mut context: Context) -> Self {
        if let Some(c) = &caller {
            c.fill_context(&mut context);
        }
        Self {
            action: action.to_owned(),
            action_lc: action.to_ascii_lowercase(),
            resource: resource.to_owned(),
            caller,
            context,
        }
    }

    /// The account that owns the resource: from its ARN, else `aws:ResourceAccount`.
    #[must_use]
    pub fn resource_account(&self) -> Option<&str> {
        let from_arn = self
            .resource
            .strip_prefix("arn:")
            .and_then(|r| r.split(':').nth(3))
            .filter(|a| crate::arn::is_account_id(a));
        from_arn.or_else(|| match self.context.get("aws:resourceaccount") {
            Some([one]) => Some(one.as_str()),
            _ => None,
        })
    }

    /// Whether this is a `kms:` action on a KMS key ARN, where the key
    /// policy must allow (AWS KMS "Key policies": "Without permission from
    /// the key policy, IAM policies that allow permissions have no effect").
    #[must_use]
    pub fn is_kms_key(&self) -> bool {
        self.action_lc.starts_with("kms:")
            && self.resource.starts_with("arn:")
            && self.resource.split(':').nth(2) == Some("kms")
            && self
                .resource
                .splitn(6, ':')
                .nth(5)
                .is_some_and(|r| r.starts_with("key/"))
    }

    /// Whether caller and resource are known to live in different accounts.
    #[must_use]
    pub fn cross_account(&self) -> bool {
        match (
            self.caller.as_ref().and_then(Caller::account),
            self.resource_account(),
        ) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        }
    }
}

/// A statement of a policy in a [`PolicySet`] (indexes into it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatementRef {
    pub policy: usize,
    pub statement: usize,
}

/// A statement that applied to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matched {
    pub at: StatementRef,
    pub effect: Effect,
    /// For resource-based and trust statements: how the Principal named the caller.
    pub grant: Option<Grant>,
}

/// A statement whose applicability depends on a key the context lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub at: StatementRef,
    pub effect: Effect,
    pub missing: MissingKey,
}

/// Per-policy result: does it allow, does it deny (each three-valued), and
/// for resource-based/trust policies, by which kind of grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyOutcome {
    pub allow: Tri,
    pub deny: Tri,
    /// The strongest grant among Allow statements that apply.
    pub grant: Option<Grant>,
    /// The strongest grant among Allow statements that might apply.
    pub grant_unknown: Option<Grant>,
}

/// The final answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
    /// A condition needs a key the context does not give, and the answer
    /// depends on it.
    Indeterminate,
}

impl Decision {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::ExplicitDeny => "explicit-deny",
            Self::ImplicitDeny => "implicit-deny",
            Self::Indeterminate => "indeterminate",
        }
    }

    /// The exit status `policy eval` uses: 0 allow, 1 anything else.
    #[must_use]
    pub fn exit_code(self) -> i32 {
        i32::from(self != Self::Allow)
    }
}

/// The values of each step of the decision, for explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layers {
    pub deny: Tri,
    pub scp: Tri,
    pub rcp: Tri,
    pub identity: Tri,
    pub boundary: Option<Tri>,
    pub session: Option<Tri>,
    /// Resource-based (or trust) Allow that names the caller directly.
    pub resource_direct: Tri,
    /// ... that names the role of the caller's session.
    pub resource_role: Tri,
    /// ... that names the caller's account.
    pub resource_account: Tri,
    /// Whether a resource-based (or trust) Allow was required (trust policy,
    /// or a cross-account request).
    pub resource_required: bool,
    pub cross_account: bool,
    /// Trust mode without identity policies: the identity side was assumed
    /// to allow (an IAM caller's own account must still allow it).
    pub identity_assumed: bool,
    /// A `kms:` action on a KMS key ARN: the key policy must allow, directly
    /// or by delegating to the account (identity policies alone do nothing).
    pub key_policy: bool,
    /// `sts:GetCallerIdentity`: needs no permission; a Deny does not block it.
    pub always_allowed: bool,
    pub allowed: Tri,
}

/// The decision and everything that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub matched: Vec<Matched>,
    pub unresolved: Vec<Unresolved>,
    pub outcomes: Vec<PolicyOutcome>,
    pub layers: Layers,
}

impl Evaluation {
    /// The Deny statements that decided an explicit-deny (empty otherwise).
    pub fn denying_statements(&self) -> impl Iterator<Item = StatementRef> + '_ {
        self.matched
            .iter()
            .filter(|m| m.effect == Effect::Deny)
            .map(|m| m.at)
    }

    /// The Allow statements that applied.
    pub fn allowing_statements(&self) -> impl Iterator<Item = StatementRef> + '_ {
        self.matched
            .iter()
            .filter(|m| m.effect == Effect::Allow)
            .map(|m| m.at)
    }
}

/// Evaluate one request against a policy set.
#[must_use]
pub fn evaluate(set: &PolicySet, req: &Request) -> Evaluation {
    let mut matched = Vec::new();
    let mut unresolved = Vec::new();
    let mut outcomes = Vec::with_capacity(set.policies.len());
    let mut scratch: Vec<MissingKey> = Vec::new();

    for (pi, policy) in set.policies.iter().enumerate() {
        let mut out = PolicyOutcome {
            allow: Tri::False,
            deny: Tri::False,
            grant: None,
            grant_unknown: None,
        };
        for (si, st) in policy.statements.iter().enumerate() {
            scratch.clear();
            let (tri, grant) = statement_applies(st, req, &mut scratch);
            let at = StatementRef {
                policy: pi,
                statement: si,
            };
            match tri {
                Tri::False => {}
                Tri::True => {
                    matched.push(Matched {
                        at,
                        effect: st.effect,
                        grant,
                    });
                    match st.effect {
                        Effect::Allow => {
                            out.allow = Tri::True;
                            out.grant = strongest(out.grant, grant);
                        }
                        Effect::Deny => out.deny = Tri::True,
                    }
                }
                Tri::Unknown => {
                    unresolved.extend(scratch.drain(..).map(|missing| Unresolved {
                        at,
                        effect: st.effect,
                        missing,
                    }));
                    match st.effect {
                        Effect::Allow => {
                            out.allow = out.allow.or(Tri::Unknown);
                            out.grant_unknown = strongest(out.grant_unknown, grant);
                        }
                        Effect::Deny => out.deny = out.deny.or(Tri::Unknown),
                    }
                }
            }
        }
        outcomes.push(out);
    }

    let layers = decide_layers(set, req, &outcomes);
    let decision = match (layers.deny, layers.allowed) {
        _ if layers.always_allowed => Decision::Allow,
        (Tri::True, _) => Decision::ExplicitDeny,
        (_, Tri::False) => Decision::ImplicitDeny,
        (Tri::False, Tri::True) => Decision::Allow,
        _ => Decision::Indeterminate,
    };
    Evaluation {
        decision,
        matched,
        unresolved,
        outcomes,
        layers,
    }
}

fn strongest(a: Option<Grant>, b: Option<Grant>) -> Option<Grant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

fn decide_layers(set: &PolicySet, req: &Request, outcomes: &[PolicyOutcome]) -> Layers {
    let of = |kind: PolicyKind| {
        set.policies
            .iter()
            .zip(outcomes)
            .filter(move |(p, _)| p.kind == kind)
            .map(|(_, o)| o)
    };
    let deny = Tri::any(outcomes.iter().map(|o| o.deny));
    let scp = set.levels_allow(PolicyKind::ServiceControl, outcomes);
    let rcp = set.levels_allow(PolicyKind::ResourceControl, outcomes);
    let trust_mode = set.has(PolicyKind::Trust);
    let iam_caller = matches!(req.caller, Some(Caller::Iam(_)) | None);
    let identity_given = set.has(PolicyKind::Identity);
    let identity_assumed = trust_mode && !identity_given;
    let identity = if identity_assumed || (trust_mode && !iam_caller) {
        Tri::True
    } else {
        Tri::any(of(PolicyKind::Identity).map(|o| o.allow))
    };
    let boundary = set
        .has(PolicyKind::PermissionsBoundary)
        .then(|| Tri::all(of(PolicyKind::PermissionsBoundary).map(|o| o.allow)));
    let session = set
        .has(PolicyKind::Session)
        .then(|| Tri::all(of(PolicyKind::Session).map(|o| o.allow)));
    let caps = boundary
        .unwrap_or(Tri::True)
        .and(session.unwrap_or(Tri::True));
    let base = identity.and(caps);

    let resource_kinds = |o: &&PolicyOutcome, want: &dyn Fn(Grant) -> bool| {
        let sure = o.grant.is_some_and(want);
        let maybe = o.grant_unknown.is_some_and(want);
        if sure {
            Tri::True
        } else if maybe {
            Tri::Unknown
        } else {
            Tri::False
        }
    };
    let res_kind = if trust_mode {
        PolicyKind::Trust
    } else {
        PolicyKind::ResourceBased
    };
    let grant_tri =
        |want: &dyn Fn(Grant) -> bool| Tri::any(of(res_kind).map(|o| resource_kinds(&o, want)));
    let direct = grant_tri(&|g| matches!(g, Grant::Direct | Grant::Wildcard));
    let role = grant_tri(&|g| g == Grant::Role);
    let account = grant_tri(&|g| g == Grant::Account);

    let cross_account = req.cross_account();
    let key_policy = !trust_mode && req.is_kms_key();
    let resource_required = trust_mode || key_policy || cross_account;
    let combined = if cross_account {
        direct.or(role).or(account).and(base)
    } else if resource_required {
        direct.or(role.and(caps)).or(account.and(base))
    } else {
        base.or(direct).or(role.and(caps))
    };
    let allowed = scp.and(rcp).and(combined);
    Layers {
        deny,
        scp,
        rcp,
        identity,
        boundary,
        session,
        resource_direct: direct,
        resource_role: role,
        resource_account: account,
        resource_required,
        cross_account,
        identity_assumed: identity_assumed && iam_caller,
        key_policy,
        always_allowed: req.action_lc == "sts:getcalleridentity",
        allowed,
    }
}

/// Does the statement apply to the request? Missing keys go to `missing`.
fn statement_applies(
    st: &Statement,
    req: &Request,
    missing: &mut Vec<MissingKey>,
) -> (Tri, Option<Grant>) {
    if !st.actions.covers(&req.action_lc) {
        return (Tri::False, None);
    }
    let mut result = Tri::True;
    if let Some(rm) = &st.resources {
        let mut hit = Tri::False;
        for p in &rm.patterns {
            match p.matches(&req.resource, &req.context) {
                Ok(true) => {
                    hit = Tri::True;
                    break;
                }
                Ok(false) => {}
                Err(key) => {
                    hit = Tri::Unknown;
                    missing.push(MissingKey {
                        key,
                        operator: if rm.not { "NotResource" } else { "Resource" }.to_owned(),
                        variable: true,
                    });
                }
            }
        }
        result = hit.negate_if(rm.not);
        if result == Tri::False {
            missing.clear();
            return (Tri::False, None);
        }
    }
    let mut grant = None;
    if let Some(pm) = &st.principals {
        let t = match &req.caller {
            // NotPrincipal with Deny: the caller escapes only when every
            // identity it carries is listed (AWS's documented rule). With
            // Allow: everyone except those named, so naming the caller's
            // ARN, its session's role, or its account leaves it out.
            Some(c) if pm.not && st.effect == Effect::Deny => {
                Tri::from(!pm.set.excludes(c, &req.context))
            }
            Some(c) if pm.not => Tri::from(!pm.set.names_any(c, &req.context)),
            Some(c) => match pm.set.grant_for(c, &req.context) {
                Some(g) => {
                    grant = Some(g);
                    Tri::True
                }
                None => Tri::False,
            },
            None if pm.set.grant_for(&Caller::Anonymous, &req.context).is_some() => {
                grant = Some(Grant::Wildcard);
                Tri::from(!pm.not)
            }
            None => {
                // Unknown caller: the statement might name it in any way.
                grant = Some(Grant::Direct);
                missing.push(MissingKey {
                    key: "the caller (--caller)".to_owned(),
                    operator: if pm.not { "NotPrincipal" } else { "Principal" }.to_owned(),
                    variable: false,
                });
                Tri::Unknown
            }
        };
        if pm.not && t == Tri::True {
            grant = Some(Grant::Wildcard);
        }
        result = result.and(t);
        if result == Tri::False {
            missing.clear();
            return (Tri::False, None);
        }
    }
    for clause in &st.conditions {
        result = result.and(clause.eval(&req.context, missing));
        if result == Tri::False {
            missing.clear();
            return (Tri::False, None);
        }
    }
    (result, grant)
}
