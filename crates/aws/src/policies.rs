//! `explain --live`: read, read-only, every policy that takes part in one
//! request, as core's [`Source`]s (where each lives, and its document).
//!
//! - the principal (user or role; a role session reads its role): inline and
//!   attached managed policies (default version), the user's groups' ones,
//!   the permissions boundary, and its tags (as `aws:PrincipalTag/...`);
//! - the resource's policy where a read exists: a role's trust policy for
//!   `sts:AssumeRole*`, an S3 bucket policy, a KMS key policy;
//! - the SCPs and RCPs on the account's path from the organization root
//!   (ListParents, ListPoliciesForTarget, DescribePolicy), when the caller
//!   may read them; otherwise a note says what would.
//!
//! Every read is cached for the run (a managed policy's versions are read
//! once whatever the number of principals attached to it, a principal once
//! whatever the number of denials), and at most `concurrency` calls are in
//! flight. [`PolicyReader::reads`] counts the calls made.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use aws_config::Region;
use eksdoctor_core::arn::{Principal, PrincipalKind};
use eksdoctor_core::policy::PolicyKind;
use eksdoctor_core::policy::live::{FixCaller, Origin, Source};
use serde_json::Value;
use tokio::sync::{OnceCell, Semaphore};

use crate::config::Live;
use crate::error::ProbeError;
use crate::guard::ReadOnlyGuard;

/// The principal's side, as read.
#[derive(Debug, Clone, Default)]
pub struct PrincipalPolicies {
    /// Identity-based policies and the permissions boundary.
    pub sources: Vec<Source>,
    /// What could not be read, and what would read it.
    pub notes: Vec<String>,
    /// The user's or role's ARN (path included), when it could be read.
    pub caller: Option<FixCaller>,
    /// `aws:PrincipalTag/KEY` values from the user's or role's tags.
    pub tags: Vec<(String, String)>,
}

/// One request's policies.
#[derive(Debug, Clone, Default)]
pub struct RequestPolicies {
    pub sources: Vec<Source>,
    pub notes: Vec<String>,
    pub caller: Option<FixCaller>,
    /// Condition keys eksdoctor could fill from what it read.
    pub context: Vec<(String, String)>,
    /// Whether the SCP level was read (or known not to apply).
    pub scp_read: bool,
}

type Cell<T> = Arc<OnceCell<T>>;
/// A resource's policy, or the note saying why none was read.
type ResourceRead = (Option<Source>, Option<String>);
/// The SCPs/RCPs on an account's path, or the note saying why not.
type OrgRead = (Vec<Source>, Option<String>);

#[derive(Debug, Clone)]
struct Managed {
    default_version: String,
    versions: Vec<String>,
    document: Value,
}

/// Reads and caches policies for one run.
#[derive(Debug)]
pub struct PolicyReader {
    live: Live,
    limit: Semaphore,
    reads: AtomicUsize,
    kms: Mutex<HashMap<String, aws_sdk_kms::Client>>,
    s3: aws_sdk_s3::Client,
    org: aws_sdk_organizations::Client,
    principals: Mutex<HashMap<String, Cell<PrincipalPolicies>>>,
    managed: Mutex<HashMap<String, Cell<Result<Managed, ProbeError>>>>,
    resources: Mutex<HashMap<String, Cell<ResourceRead>>>,
    orgs: Mutex<HashMap<String, Cell<OrgRead>>>,
}

fn cell<T>(map: &Mutex<HashMap<String, Cell<T>>>, key: &str) -> Cell<T> {
    map.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(key.to_owned())
        .or_default()
        .clone()
}

/// IAM returns documents URL-encoded.
fn decode_doc(text: &str) -> Option<Value> {
    let t = text.trim();
    if t.starts_with('{') {
        return serde_json::from_str(t).ok();
    }
    let decoded = percent_encoding::percent_decode_str(t).decode_utf8().ok()?;
    serde_json::from_str(&decoded).ok()
}

fn not_read(what: &str, e: &ProbeError) -> String {
    match e {
        ProbeError::Denied { permission, .. } => format!(
            "{what} was not read: eksdoctor may not call {permission} (add it to eksdoctor's read-only policy, docs/eksdoctor-readonly-policy.json); the answer leaves it out"
        ),
        other => format!("{what} was not read ({other}); the answer leaves it out"),
    }
}

impl PolicyReader {
    /// A reader with at most `concurrency` calls in flight.
    #[must_use]
    pub fn new(live: &Live, concurrency: usize) -> Self {
        let sdk = live.sdk();
        let path_style = sdk.endpoint_url().is_some();
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(sdk)
                .interceptor(ReadOnlyGuard)
                .force_path_style(path_style)
                .build(),
        );
        let org = aws_sdk_organizations::Client::from_conf(
            aws_sdk_organizations::config::Builder::from(sdk)
                .interceptor(ReadOnlyGuard)
                .build(),
        );
        Self {
            live: live.clone(),
            limit: Semaphore::new(concurrency.max(1)),
            reads: AtomicUsize::new(0),
            kms: Mutex::new(HashMap::new()),
            s3,
            org,
            principals: Mutex::default(),
            managed: Mutex::default(),
            resources: Mutex::default(),
            orgs: Mutex::default(),
        }
    }

    /// Calls made so far.
    #[must_use]
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }

    fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        let build = || {
            aws_sdk_kms::Client::from_conf(
                aws_sdk_kms::config::Builder::from(self.live.sdk())
                    .interceptor(ReadOnlyGuard)
                    .region(Region::new(region.to_owned()))
                    .build(),
            )
        };
        self.kms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(region.to_owned())
            .or_insert_with(build)
            .clone()
    }

    /// One call: under the concurrency limit and the probe deadline, counted.
    async fn call<T, F>(&self, permission: &str, fut: F) -> Result<T, ProbeError>
    where
        F: Future<Output = Result<T, ProbeError>>,
    {
        let _permit = self.limit.acquire().await.ok();
        self.reads.fetch_add(1, Ordering::Relaxed);
        crate::timed(&self.live, permission, fut).await
    }

    /// Everything that decides `action` on `resource` for `principal`.
    pub async fn for_request(
        &self,
        principal: &Principal,
        action: &str,
        resource: &str,
    ) -> RequestPolicies {
        let account = principal.account().unwrap_or_default().to_owned();
        let (who, res, org) = tokio::join!(
            self.principal(principal),
            self.resource_policy(action, resource),
            self.organization(&account),
        );
        let mut out = RequestPolicies {
            caller: who.caller.clone(),
            ..RequestPolicies::default()
        };
        out.sources.extend(who.sources.iter().cloned());
        out.notes.extend(who.notes.iter().cloned());
        for (k, v) in &who.tags {
            out.context
                .push((format!("aws:PrincipalTag/{k}"), v.clone()));
        }
        if let Some(c) = &who.caller {
            // A session's aws:PrincipalArn is its role's ARN, path included:
            // only the read role tells the path.
            out.context
                .push(("aws:PrincipalArn".to_owned(), c.arn.clone()));
        }
        let (res_source, res_note) = res;
        out.sources.extend(res_source);
        out.notes.extend(res_note);
        let (scps, org_note) = org;
        out.scp_read = org_note.is_none() || !scps.is_empty();
        out.sources.extend(scps);
        out.notes.extend(org_note);
        out
    }

    /// The principal's identity policies and boundary (cached per ARN).
    pub async fn principal(&self, p: &Principal) -> PrincipalPolicies {
        let key = p.arn.as_ref().map(ToString::to_string).unwrap_or_default();
        cell(&self.principals, &key)
            .get_or_init(|| async {
                match p.kind {
                    PrincipalKind::User => self.user(p).await,
                    PrincipalKind::Role | PrincipalKind::AssumedRole => self.role(p).await,
                    other => PrincipalPolicies {
                        notes: vec![format!(
                            "the caller is a {other} principal: eksdoctor reads the policies of IAM users and roles only"
                        )],
                        ..PrincipalPolicies::default()
                    },
                }
            })
            .await
            .clone()
    }

    async fn user(&self, p: &Principal) -> PrincipalPolicies {
        let iam = self.live.iam();
        let name = p.name.clone();
        let mut out = PrincipalPolicies::default();
        let get = async {
            let got = self
                .call("iam:GetUser", async {
                    iam.get_user()
                        .user_name(&name)
                        .send()
                        .await
                        .map_err(|e| ProbeError::from_sdk(&e, "iam:GetUser"))
                })
                .await;
            // Read the boundary as soon as it is known (into the cache),
            // not after the other reads.
            let boundary = got
                .as_ref()
                .ok()
                .and_then(|o| o.user())
                .and_then(|u| u.permissions_boundary())
                .and_then(|b| b.permissions_boundary_arn());
            if let Some(b) = boundary {
                let _ = self.managed_policy(b).await;
            }
            got
        };
        let inline = self.inline(InlineOf::User(name.clone()));
        let attached = self.attached(AttachedOf::User(name.clone()));
        let groups = self.call("iam:ListGroupsForUser", async {
            iam.list_groups_for_user()
                .user_name(&name)
                .max_items(1000)
                .send()
                .await
                .map_err(|e| ProbeError::from_sdk(&e, "iam:ListGroupsForUser"))
        });
        let (get, inline, attached, groups) = tokio::join!(get, inline, attached, groups);
        let mut boundary = None;
        match get {
            Ok(o) => {
                if let Some(u) = o.user() {
                    out.caller = Some(FixCaller {
                        arn: u.arn().to_owned(),
                        user: Some(name.clone()),
                        role: None,
                    });
                    boundary = u
                        .permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .map(str::to_owned);
                    out.tags = u
                        .tags()
                        .iter()
                        .map(|t| (t.key().to_owned(), t.value().to_owned()))
                        .collect();
                }
            }
            Err(e) => out.notes.push(not_read(
                &format!("user {name} (its permissions boundary and tags)"),
                &e,
            )),
        }
        if out.caller.is_none() {
            out.caller = Some(FixCaller {
                arn: p.arn.as_ref().map(ToString::to_string).unwrap_or_default(),
                user: Some(name.clone()),
                role: None,
            });
        }
        collect(&mut out, inline);
        collect(&mut out, attached);
        match groups {
            Ok(g) => {
                let names: Vec<String> = g
                    .groups()
                    .iter()
                    .map(|g| g.group_name().to_owned())
                    .collect();
                let each = names.into_iter().map(|g| async move {
                    let (a, b) = tokio::join!(
                        self.inline(InlineOf::Group(g.clone())),
                        self.attached(AttachedOf::Group(g))
                    );
                    (a, b)
                });
                for (a, b) in futures_util::future::join_all(each).await {
                    collect(&mut out, a);
                    collect(&mut out, b);
                }
            }
            Err(e) => out
                .notes
                .push(not_read(&format!("the groups of user {name}"), &e)),
        }
        if let Some(b) = boundary {
            self.add_boundary(&mut out, &b).await;
        }
        out
    }

    async fn role(&self, p: &Principal) -> PrincipalPolicies {
        let name = p.name.clone();
        let mut out = PrincipalPolicies::default();
        let iam = self.live.iam();
        let get = async {
            let got = self
                .call("iam:GetRole", async {
                    iam.get_role()
                        .role_name(&name)
                        .send()
                        .await
                        .map_err(|e| ProbeError::from_sdk(&e, "iam:GetRole"))
                })
                .await;
            let boundary = got
                .as_ref()
                .ok()
                .and_then(|o| o.role())
                .and_then(|r| r.permissions_boundary())
                .and_then(|b| b.permissions_boundary_arn());
            if let Some(b) = boundary {
                let _ = self.managed_policy(b).await;
            }
            got
        };
        let inline = self.inline(InlineOf::Role(name.clone()));
        let attached = self.attached(AttachedOf::Role(name.clone()));
        let (get, inline, attached) = tokio::join!(get, inline, attached);
        let mut boundary = None;
        match get {
            Ok(o) => {
                if let Some(r) = o.role() {
                    out.caller = Some(FixCaller {
                        arn: r.arn().to_owned(),
                        user: None,
                        role: Some(name.clone()),
                    });
                    boundary = r
                        .permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .map(str::to_owned);
                    out.tags = r
                        .tags()
                        .iter()
                        .map(|t| (t.key().to_owned(), t.value().to_owned()))
                        .collect();
                }
            }
            Err(e) => out.notes.push(not_read(
                &format!("role {name} (its path, permissions boundary and tags)"),
                &e,
            )),
        }
        if out.caller.is_none() {
            out.caller = Some(FixCaller {
                arn: p.canonical_arn().unwrap_or_default(),
                user: None,
                role: Some(name.clone()),
            });
        }
        collect(&mut out, inline);
        collect(&mut out, attached);
        if let Some(b) = boundary {
            self.add_boundary(&mut out, &b).await;
        }
        out
    }

    async fn add_boundary(&self, out: &mut PrincipalPolicies, arn: &str) {
        match self.managed_policy(arn).await {
            Ok(m) => out
                .sources
                .push(managed_source(arn, PolicyKind::PermissionsBoundary, m)),
            Err(e) => out
                .notes
                .push(not_read(&format!("the permissions boundary {arn}"), &e)),
        }
    }

    /// Inline policies of a user, group or role.
    async fn inline(&self, of: InlineOf) -> (Vec<Source>, Vec<String>) {
        let iam = self.live.iam();
        let (list_perm, get_perm) = of.permissions();
        let names = self
            .call(list_perm, async {
                match &of {
                    InlineOf::User(n) => iam
                        .list_user_policies()
                        .user_name(n)
                        .max_items(1000)
                        .send()
                        .await
                        .map(|o| o.policy_names().to_vec())
                        .map_err(|e| ProbeError::from_sdk(&e, list_perm)),
                    InlineOf::Role(n) => iam
                        .list_role_policies()
                        .role_name(n)
                        .max_items(1000)
                        .send()
                        .await
                        .map(|o| o.policy_names().to_vec())
                        .map_err(|e| ProbeError::from_sdk(&e, list_perm)),
                    InlineOf::Group(n) => iam
                        .list_group_policies()
                        .group_name(n)
                        .max_items(1000)
                        .send()
                        .await
                        .map(|o| o.policy_names().to_vec())
                        .map_err(|e| ProbeError::from_sdk(&e, list_perm)),
                }
            })
            .await;
        let names = match names {
            Ok(n) => n,
            Err(e) => {
                return (
                    vec![],
                    vec![not_read(
                        &format!("the inline policies of {}", of.describe()),
                        &e,
                    )],
                );
            }
        };
        let gets = names.into_iter().map(|policy| {
            let iam = iam.clone();
            let of = &of;
            async move {
                let doc = self
                    .call(get_perm, async {
                        match of {
                            InlineOf::User(n) => iam
                                .get_user_policy()
                                .user_name(n)
                                .policy_name(&policy)
                                .send()
                                .await
                                .map(|o| o.policy_document().to_owned())
                                .map_err(|e| ProbeError::from_sdk(&e, get_perm)),
                            InlineOf::Role(n) => iam
                                .get_role_policy()
                                .role_name(n)
                                .policy_name(&policy)
                                .send()
                                .await
                                .map(|o| o.policy_document().to_owned())
                                .map_err(|e| ProbeError::from_sdk(&e, get_perm)),
                            InlineOf::Group(n) => iam
                                .get_group_policy()
                                .group_name(n)
                                .policy_name(&policy)
                                .send()
                                .await
                                .map(|o| o.policy_document().to_owned())
                                .map_err(|e| ProbeError::from_sdk(&e, get_perm)),
                        }
                    })
                    .await;
                (policy, doc)
            }
        });
        let mut sources = Vec::new();
        let mut notes = Vec::new();
        for (policy, doc) in futures_util::future::join_all(gets).await {
            let what = format!("inline policy '{policy}' of {}", of.describe());
            match doc.map(|d| decode_doc(&d)) {
                Ok(Some(document)) => sources.push(Source {
                    origin: of.origin(&policy),
                    kind: PolicyKind::Identity,
                    name: what,
                    document,
                }),
                Ok(None) => notes.push(format!("{what} is not a JSON policy document: left out")),
                Err(e) => notes.push(not_read(&what, &e)),
            }
        }
        (sources, notes)
    }

    /// Attached managed policies of a user, group or role (default versions).
    async fn attached(&self, of: AttachedOf) -> (Vec<Source>, Vec<String>) {
        let iam = self.live.iam();
        let perm = of.permission();
        let arns = self
            .call(perm, async {
                match &of {
                    AttachedOf::User(n) => iam
                        .list_attached_user_policies()
                        .user_name(n)
                        .max_items(1000)
                        .send()
                        .await
                        .map(|o| arns_of(o.attached_policies()))
                        .map_err(|e| ProbeError::from_sdk(&e, perm)),
                    AttachedOf::Role(n) => iam
                        .list_attached_role_policies()
                        .role_name(n)
                        .max_items(1000)
                        .send()
                        .await
                        .map(|o| arns_of(o.attached_policies()))
                        .map_err(|e| ProbeError::from_sdk(&e, perm)),
                    AttachedOf::Group(n) => iam
                        .list_attached_group_policies()
                        .group_name(n)
                        .max_items(1000)
                        .send()
                        .await
                        .map(|o| arns_of(o.attached_policies()))
                        .map_err(|e| ProbeError::from_sdk(&e, perm)),
                }
            })
            .await;
        let arns = match arns {
            Ok(a) => a,
            Err(e) => {
                return (
                    vec![],
                    vec![not_read(
                        &format!("the managed policies attached to {}", of.describe()),
                        &e,
                    )],
                );
            }
        };
        let reads = arns.iter().map(|arn| self.managed_policy(arn));
        let mut sources = Vec::new();
        let mut notes = Vec::new();
        for (arn, m) in arns.iter().zip(futures_util::future::join_all(reads).await) {
            match m {
                Ok(m) => sources.push(managed_source(arn, PolicyKind::Identity, m)),
                Err(e) => notes.push(not_read(&format!("managed policy {arn}"), &e)),
            }
        }
        (sources, notes)
    }

    /// ListPolicyVersions (the default and how many there are) and
    /// GetPolicyVersion of the default: once per policy per run.
    async fn managed_policy(&self, arn: &str) -> Result<Managed, ProbeError> {
        cell(&self.managed, arn)
            .get_or_init(|| async {
                let iam = self.live.iam();
                const LIST: &str = "iam:ListPolicyVersions";
                const GET: &str = "iam:GetPolicyVersion";
                let list = self
                    .call(LIST, async {
                        iam.list_policy_versions()
                            .policy_arn(arn)
                            .max_items(1000)
                            .send()
                            .await
                            .map_err(|e| ProbeError::from_sdk(&e, LIST))
                    })
                    .await?;
                let mut versions: Vec<(Option<i64>, String, bool)> = list
                    .versions()
                    .iter()
                    .filter_map(|v| {
                        Some((
                            v.create_date().map(aws_smithy_types::DateTime::secs),
                            v.version_id()?.to_owned(),
                            v.is_default_version(),
                        ))
                    })
                    .collect();
                // Oldest first (version ids count up: v1, v2, ...).
                versions.sort_by_key(|(d, id, _)| {
                    (
                        *d,
                        id.trim_start_matches('v')
                            .parse::<u64>()
                            .unwrap_or(u64::MAX),
                    )
                });
                let default_version = versions
                    .iter()
                    .find(|(_, _, d)| *d)
                    .map(|(_, id, _)| id.clone())
                    .ok_or_else(|| ProbeError::NotFound(format!("the default version of {arn}")))?;
                let got = self
                    .call(GET, async {
                        iam.get_policy_version()
                            .policy_arn(arn)
                            .version_id(&default_version)
                            .send()
                            .await
                            .map_err(|e| ProbeError::from_sdk(&e, GET))
                    })
                    .await?;
                let document = got
                    .policy_version()
                    .and_then(|v| v.document())
                    .and_then(decode_doc)
                    .ok_or_else(|| {
                        ProbeError::Other(format!("{arn} {default_version}: no JSON document"))
                    })?;
                Ok(Managed {
                    default_version,
                    versions: versions.into_iter().map(|(_, id, _)| id).collect(),
                    document,
                })
            })
            .await
            .clone()
    }

    /// The resource's policy: role trust for `sts:AssumeRole*`, S3 bucket
    /// policy, KMS key policy. `(None, note)` where none is read.
    async fn resource_policy(
        &self,
        action: &str,
        resource: &str,
    ) -> (Option<Source>, Option<String>) {
        let a = action.to_ascii_lowercase();
        let parts: Vec<&str> = resource.splitn(6, ':').collect();
        let service = parts.get(2).copied().unwrap_or_default();
        let rest = parts.get(5).copied().unwrap_or_default();
        let key =
            if a.starts_with("sts:assumerole") && service == "iam" && rest.starts_with("role/") {
                format!("trust\u{1f}{resource}")
            } else if service == "s3" && !rest.is_empty() {
                format!("s3\u{1f}{}", rest.split('/').next().unwrap_or(rest))
            } else if service == "kms" && rest.starts_with("key/") {
                format!("kms\u{1f}{resource}")
            } else {
                return (None, None);
            };
        cell(&self.resources, &key)
            .get_or_init(|| async {
                if let Some(role_arn) = key.strip_prefix("trust\u{1f}") {
                    self.trust(role_arn).await
                } else if let Some(bucket) = key.strip_prefix("s3\u{1f}") {
                    self.bucket(bucket).await
                } else {
                    self.key_policy(resource, parts.get(3).copied().unwrap_or_default())
                        .await
                }
            })
            .await
            .clone()
    }

    async fn trust(&self, role_arn: &str) -> (Option<Source>, Option<String>) {
        let name = role_arn.rsplit('/').next().unwrap_or(role_arn).to_owned();
        let iam = self.live.iam();
        let got = self
            .call("iam:GetRole", async {
                iam.get_role()
                    .role_name(&name)
                    .send()
                    .await
                    .map_err(|e| ProbeError::from_sdk(&e, "iam:GetRole"))
            })
            .await;
        match got {
            Ok(o) => {
                let doc = o
                    .role()
                    .and_then(|r| r.assume_role_policy_document())
                    .and_then(decode_doc);
                match doc {
                    Some(document) => (
                        Some(Source {
                            origin: Origin::Trust { role: name },
                            kind: PolicyKind::Trust,
                            name: format!("trust policy of {role_arn}"),
                            document,
                        }),
                        None,
                    ),
                    None => (
                        None,
                        Some(format!(
                            "the trust policy of {role_arn} is not a JSON document"
                        )),
                    ),
                }
            }
            Err(e) => (
                None,
                Some(not_read(&format!("the trust policy of {role_arn}"), &e)),
            ),
        }
    }

    async fn bucket(&self, bucket: &str) -> (Option<Source>, Option<String>) {
        const PERM: &str = "s3:GetBucketPolicy";
        let got = self
            .call(PERM, async {
                self.s3
                    .get_bucket_policy()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| ProbeError::from_sdk(&e, PERM))
            })
            .await;
        let source = |document: Value, exists: bool| Source {
            origin: Origin::BucketPolicy {
                bucket: bucket.to_owned(),
                exists,
            },
            kind: PolicyKind::ResourceBased,
            name: format!("bucket policy of {bucket}"),
            document,
        };
        match got {
            Ok(o) => match o.policy().and_then(decode_doc) {
                Some(d) => (Some(source(d, true)), None),
                None => (
                    None,
                    Some(format!(
                        "the bucket policy of {bucket} is not a JSON document"
                    )),
                ),
            },
            Err(e) if e.to_string().contains("NoSuchBucketPolicy") => (
                Some(source(
                    serde_json::json!({"Version": "2012-10-17", "Statement": []}),
                    false,
                )),
                None,
            ),
            Err(e) => (
                None,
                Some(not_read(&format!("the bucket policy of {bucket}"), &e)),
            ),
        }
    }

    async fn key_policy(&self, key_arn: &str, region: &str) -> (Option<Source>, Option<String>) {
        const PERM: &str = "kms:GetKeyPolicy";
        let region = if region.is_empty() {
            self.live.region()
        } else {
            region
        };
        let kms = self.kms(region);
        let got = self
            .call(PERM, async {
                kms.get_key_policy()
                    .key_id(key_arn)
                    .policy_name("default")
                    .send()
                    .await
                    .map_err(|e| ProbeError::from_sdk(&e, PERM))
            })
            .await;
        match got {
            Ok(o) => match o.policy().and_then(decode_doc) {
                Some(document) => (
                    Some(Source {
                        origin: Origin::KeyPolicy {
                            key: key_arn.to_owned(),
                        },
                        kind: PolicyKind::ResourceBased,
                        name: format!("key policy of {key_arn}"),
                        document,
                    }),
                    None,
                ),
                None => (
                    None,
                    Some(format!(
                        "the key policy of {key_arn} is not a JSON document"
                    )),
                ),
            },
            Err(e) => (
                None,
                Some(not_read(&format!("the key policy of {key_arn}"), &e)),
            ),
        }
    }

    /// SCPs and RCPs from the root down to the account (cached per account).
    async fn organization(&self, account: &str) -> (Vec<Source>, Option<String>) {
        if account.is_empty() {
            return (
                vec![],
                Some("the caller's account is unknown: the SCP level was not read".to_owned()),
            );
        }
        cell(&self.orgs, account)
            .get_or_init(|| async {
                match self.org_path(account).await {
                    Ok(sources) => (sources, None),
                    // In no organization: no SCP or RCP applies (a complete answer).
                    Err(e) if e.to_string().contains("AWSOrganizationsNotInUse") => (vec![], None),
                    Err(e) => (
                        vec![],
                        Some(format!(
                            "SCP level not read ({e}): the answer assumes the service and resource control policies allow the request. \
                             Reading them needs organizations:ListParents, organizations:ListPoliciesForTarget and organizations:DescribePolicy, \
                             which only the management account or a delegated administrator has: run eksdoctor explain --live there, \
                             or give the policies offline to eksdoctor policy eval --scp FILE"
                        )),
                    ),
                }
            })
            .await
            .clone()
    }

    async fn org_path(&self, account: &str) -> Result<Vec<Source>, ProbeError> {
        const PARENTS: &str = "organizations:ListParents";
        // Walk up: account, its OU, ..., the root.
        let mut path = vec![account.to_owned()];
        let mut child = account.to_owned();
        for _ in 0..8 {
            let out = self
                .call(PARENTS, async {
                    self.org
                        .list_parents()
                        .child_id(&child)
                        .send()
                        .await
                        .map_err(|e| ProbeError::from_sdk(&e, PARENTS))
                })
                .await?;
            let Some(parent) = out.parents().first().and_then(|p| p.id()) else {
                break;
            };
            path.push(parent.to_owned());
            if parent.starts_with("r-") {
                break;
            }
            child = parent.to_owned();
        }
        path.reverse();
        let mut sources = Vec::new();
        // Every level, SCPs and RCPs, at once.
        let kinds = [PolicyKind::ServiceControl, PolicyKind::ResourceControl];
        let all = futures_util::future::join_all(kinds.iter().map(|&kind| {
            futures_util::future::join_all(
                path.iter()
                    .map(move |target| self.org_policies(target, kind)),
            )
        }))
        .await;
        for (kind, levels) in kinds.into_iter().zip(all) {
            // RCPs may be unknown to an older organization: skip them then.
            for (target, got) in path.iter().zip(levels) {
                match got {
                    Ok(list) => {
                        sources.extend(list.into_iter().map(|(id, name, document)| Source {
                            origin: Origin::Organization {
                                id: id.clone(),
                                target: target.clone(),
                            },
                            kind,
                            name: format!(
                                "{} {name} ({id}, attached to {target})",
                                if kind == PolicyKind::ServiceControl {
                                    "SCP"
                                } else {
                                    "RCP"
                                }
                            ),
                            document,
                        }))
                    }
                    Err(e)
                        if kind == PolicyKind::ResourceControl
                            && !matches!(e, ProbeError::Denied { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(sources)
    }

    async fn org_policies(
        &self,
        target: &str,
        kind: PolicyKind,
    ) -> Result<Vec<(String, String, Value)>, ProbeError> {
        use aws_sdk_organizations::types::PolicyType;
        const LIST: &str = "organizations:ListPoliciesForTarget";
        const DESCRIBE: &str = "organizations:DescribePolicy";
        let filter = if kind == PolicyKind::ServiceControl {
            PolicyType::ServiceControlPolicy
        } else {
            PolicyType::ResourceControlPolicy
        };
        let mut ids: Vec<(String, String)> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .call(LIST, async {
                    self.org
                        .list_policies_for_target()
                        .target_id(target)
                        .filter(filter.clone())
                        .set_next_token(token.take())
                        .send()
                        .await
                        .map_err(|e| ProbeError::from_sdk(&e, LIST))
                })
                .await?;
            ids.extend(out.policies().iter().filter_map(|p| {
                Some((p.id()?.to_owned(), p.name().unwrap_or_default().to_owned()))
            }));
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        let reads = ids.into_iter().map(|(id, name)| async move {
            let out = self
                .call(DESCRIBE, async {
                    self.org
                        .describe_policy()
                        .policy_id(&id)
                        .send()
                        .await
                        .map_err(|e| ProbeError::from_sdk(&e, DESCRIBE))
                })
                .await?;
            let doc = out
                .policy()
                .and_then(|p| p.content())
                .and_then(decode_doc)
                .ok_or_else(|| ProbeError::Other(format!("{id}: no JSON content")))?;
            Ok::<_, ProbeError>((id, name, doc))
        });
        futures_util::future::join_all(reads)
            .await
            .into_iter()
            .collect()
    }
}

fn collect(out: &mut PrincipalPolicies, (sources, notes): (Vec<Source>, Vec<String>)) {
    out.sources.extend(sources);
    out.notes.extend(notes);
}

fn arns_of(list: &[aws_sdk_iam::types::AttachedPolicy]) -> Vec<String> {
    list.iter()
        .filter_map(|p| p.policy_arn().map(str::to_owned))
        .collect()
}

fn managed_source(arn: &str, kind: PolicyKind, m: Managed) -> Source {
    Source {
        origin: Origin::Managed {
            arn: arn.to_owned(),
            default_version: m.default_version.clone(),
            versions: m.versions,
        },
        kind,
        name: format!("{arn} ({})", m.default_version),
        document: m.document,
    }
}

enum InlineOf {
    User(String),
    Role(String),
    Group(String),
}

impl InlineOf {
    fn permissions(&self) -> (&'static str, &'static str) {
        match self {
            Self::User(_) => ("iam:ListUserPolicies", "iam:GetUserPolicy"),
            Self::Role(_) => ("iam:ListRolePolicies", "iam:GetRolePolicy"),
            Self::Group(_) => ("iam:ListGroupPolicies", "iam:GetGroupPolicy"),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::User(n) => format!("user {n}"),
            Self::Role(n) => format!("role {n}"),
            Self::Group(n) => format!("group {n}"),
        }
    }

    fn origin(&self, policy: &str) -> Origin {
        let name = policy.to_owned();
        match self {
            Self::User(n) => Origin::UserInline {
                user: n.clone(),
                name,
            },
            Self::Role(n) => Origin::RoleInline {
                role: n.clone(),
                name,
            },
            Self::Group(n) => Origin::GroupInline {
                group: n.clone(),
                name,
            },
        }
    }
}

enum AttachedOf {
    User(String),
    Role(String),
    Group(String),
}

impl AttachedOf {
    fn permission(&self) -> &'static str {
        match self {
            Self::User(_) => "iam:ListAttachedUserPolicies",
            Self::Role(_) => "iam:ListAttachedRolePolicies",
            Self::Group(_) => "iam:ListAttachedGroupPolicies",
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::User(n) => format!("user {n}"),
            Self::Role(n) => format!("role {n}"),
            Self::Group(n) => format!("group {n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_decode_plain_or_url_encoded() {
        let plain = r#"{"Statement":[]}"#;
        assert!(decode_doc(plain).is_some());
        let enc = "%7B%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode_doc(enc), decode_doc(plain));
        assert!(decode_doc("%7Bnot").is_none());
    }
}
