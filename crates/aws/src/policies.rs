//! `explain --live`: read, read-only, every policy that takes part in one
//! request, as core's [`Source`]s (where each lives, and its document).
//!
//! - the principal (user or role; a role session reads its role): inline and
//!   attached managed policies (default version), the user's groups' ones,
//!   the permissions boundary, and its tags (as `aws:PrincipalTag/...`);
//! - the resource's policy where a read exists: a role's trust policy for
//!   `sts:AssumeRole*`, an S3 bucket policy, a KMS key policy, an ECR
//!   repository policy, a Secrets Manager resource policy, an SNS topic or
//!   SQS queue policy; and the resource's tags when a policy read names
//!   `aws:ResourceTag/`;
//! - the SCPs on the path from the organization root to the principal's
//!   account, and the RCPs on the path to the resource's account
//!   (ListParents, ListPoliciesForTarget, DescribePolicy), when the caller
//!   may read them; otherwise a note says what would. Neither is read for
//!   the organization's management account (DescribeOrganization, asked
//!   first): SCPs do not apply to its principals, nor RCPs to its resources.
//!
//! A principal in another account than the credentials' one is not looked
//! up: IAM would answer for the credentials' account. A note says so, and
//! what would read it. The credentials' account is the one their provider
//! gives (IAM Identity Center, an assumed role, `aws_account_id`,
//! `AWS_ACCOUNT_ID`: no call, so the principals' reads start at once), else
//! GetCallerIdentity's, asked once before any principal is read.
//!
//! Every read is cached for the run (a managed policy's versions are read
//! once whatever the number of principals attached to it, a group once
//! whatever the number of its users, a principal once whatever the number
//! of denials), each level is asked as soon as the one above answers, and
//! at most `concurrency` calls are in flight. [`PolicyReader::reads`]
//! counts the calls made.

use std::cmp::Ordering as Rank;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use aws_config::Region;
use eksdoctor_core::arn::{Principal, PrincipalKind};
use eksdoctor_core::policy::PolicyKind;
use eksdoctor_core::policy::live::{FixCaller, Origin, Source};
use serde_json::Value;
use tokio::sync::{OnceCell, oneshot};

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
    /// Why none of its policies was read (another account than the
    /// credentials'): no answer can be given for it.
    pub not_read: Option<String>,
}

/// One request's policies.
#[derive(Debug, Clone, Default)]
pub struct RequestPolicies {
    pub sources: Vec<Source>,
    pub notes: Vec<String>,
    pub caller: Option<FixCaller>,
    /// Condition keys eksdoctor could fill from what it read.
    pub context: Vec<(String, String)>,
    /// Condition keys known not to be in the request.
    pub absent: Vec<String>,
    /// Whether the SCP level was read (or known not to apply).
    pub scp_read: bool,
    /// The caller's account, when it is the organization's management
    /// account: SCPs and RCPs do not apply, and were left out.
    pub management_account: Option<String>,
    /// Why the principal's policies were not read at all (it is in another
    /// account than the credentials'): the request cannot be decided.
    pub principal_not_read: Option<String>,
}

type Cell<T> = Arc<OnceCell<T>>;
/// A resource's policy, or the note saying why none was read.
type ResourceRead = (Option<Source>, Option<String>);
/// One kind of organization policy (SCPs or RCPs) on an account's path.
#[derive(Debug, Clone, Default)]
struct OrgRead {
    sources: Vec<Source>,
    /// Why they were not read (and what would read them).
    note: Option<String>,
    /// The account is the organization's management account: none applies.
    management: bool,
}
/// A group's inline and attached policies, and what could not be read.
type GroupRead = (Vec<Source>, Vec<String>);
/// An account's path from the organization root (root first).
type OrgPath = Result<Vec<String>, ProbeError>;
/// A resource's tags, or the note saying why they were not read.
type TagsRead = Result<Vec<(String, String)>, String>;

/// One client per region for a regional service.
#[derive(Debug)]
struct Regional<C>(Mutex<HashMap<String, C>>);

impl<C: Clone> Regional<C> {
    fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    fn get(&self, region: &str, build: impl FnOnce(Region) -> C) -> C {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(region.to_owned())
            .or_insert_with(|| build(Region::new(region.to_owned())))
            .clone()
    }
}

/// A resource whose policy eksdoctor can read, from its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ResourceRef {
    /// A role, for `sts:AssumeRole*`: its trust policy.
    Trust {
        arn: String,
    },
    Bucket {
        name: String,
    },
    Key {
        arn: String,
        region: String,
    },
    Repository {
        arn: String,
        name: String,
        registry: String,
        region: String,
    },
    Secret {
        arn: String,
        region: String,
    },
    Topic {
        arn: String,
        region: String,
    },
    Queue {
        arn: String,
        name: String,
        account: String,
        region: String,
    },
}

impl ResourceRef {
    /// The resource `action` is asked on, when it has a policy eksdoctor reads.
    fn of(action: &str, resource: &str, home_region: &str) -> Option<Self> {
        let a = action.to_ascii_lowercase();
        let parts: Vec<&str> = resource.splitn(6, ':').collect();
        if parts.len() < 6 || parts[0] != "arn" {
            return None;
        }
        let (service, region, account, rest) = (parts[2], parts[3], parts[4], parts[5]);
        let region = if region.is_empty() {
            home_region
        } else {
            region
        }
        .to_owned();
        let arn = resource.to_owned();
        Some(match service {
            "iam" if a.starts_with("sts:assumerole") && rest.starts_with("role/") => {
                Self::Trust { arn }
            }
            "s3" if !rest.is_empty() => Self::Bucket {
                name: rest.split('/').next().unwrap_or(rest).to_owned(),
            },
            "kms" if rest.starts_with("key/") => Self::Key { arn, region },
            "ecr" => Self::Repository {
                name: rest.strip_prefix("repository/")?.to_owned(),
                registry: account.to_owned(),
                arn,
                region,
            },
            "secretsmanager" if rest.starts_with("secret:") => Self::Secret { arn, region },
            // A subscription ARN (topic:id) has no policy of its own.
            "sns" if !rest.is_empty() && !rest.contains(':') => Self::Topic { arn, region },
            "sqs" if !rest.is_empty() && !rest.contains(':') => Self::Queue {
                name: rest.to_owned(),
                account: account.to_owned(),
                arn,
                region,
            },
            _ => return None,
        })
    }

    /// How notes name it.
    fn describe(&self) -> String {
        match self {
            Self::Bucket { name } => format!("bucket {name}"),
            _ => self.key(),
        }
    }

    fn key(&self) -> String {
        match self {
            Self::Bucket { name } => format!("s3\u{1f}{name}"),
            Self::Trust { arn }
            | Self::Key { arn, .. }
            | Self::Repository { arn, .. }
            | Self::Secret { arn, .. }
            | Self::Topic { arn, .. }
            | Self::Queue { arn, .. } => arn.clone(),
        }
    }
}

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
    limit: Slots,
    reads: AtomicUsize,
    kms: Regional<aws_sdk_kms::Client>,
    ecr: Regional<aws_sdk_ecr::Client>,
    secrets: Regional<aws_sdk_secretsmanager::Client>,
    sns: Regional<aws_sdk_sns::Client>,
    sqs: Regional<aws_sdk_sqs::Client>,
    s3: aws_sdk_s3::Client,
    org: aws_sdk_organizations::Client,
    principals: Mutex<HashMap<String, Cell<PrincipalPolicies>>>,
    managed: Mutex<HashMap<String, Cell<Result<Managed, ProbeError>>>>,
    resources: Mutex<HashMap<String, Cell<ResourceRead>>>,
    tags: Mutex<HashMap<String, Cell<TagsRead>>>,
    queue_urls: Mutex<HashMap<String, Cell<Result<String, ProbeError>>>>,
    groups: Mutex<HashMap<String, Cell<GroupRead>>>,
    /// Per kind and account: the SCPs or RCPs on its path.
    orgs: Mutex<HashMap<String, Cell<OrgRead>>>,
    /// Per account: its path from the organization root (root first).
    org_paths: Mutex<HashMap<String, Cell<OrgPath>>>,
    /// Per policy id: an SCP's or RCP's document (the same policy is often
    /// attached at several levels).
    org_documents: Mutex<HashMap<String, Cell<Result<Value, ProbeError>>>>,
    /// DescribeOrganization's MasterAccountId (`None`: no organization, or
    /// not readable).
    management: OnceCell<Option<String>>,
    /// GetCallerIdentity's account (`None`: not readable).
    credentials_account: OnceCell<Option<String>>,
}

/// Which waiting call a freed slot goes to first: GetCallerIdentity (every
/// principal waits on it), then the reads that continue a chain already
/// under way (a group's policies once the user's groups are listed, a
/// managed policy's versions, a listed inline policy), those with more
/// reads behind them first; then the principals' first reads, first come
/// first served. Continuations first keeps the shared chains (one group,
/// one managed policy for many principals) from queueing behind every
/// principal's first reads and finishing alone at the end with idle slots.
fn reads_behind(permission: &str) -> u8 {
    match permission {
        "sts:GetCallerIdentity" => 3,
        "iam:ListGroupPolicies"
        | "iam:ListAttachedGroupPolicies"
        | "iam:ListPolicyVersions"
        | "organizations:ListParents"
        | "organizations:ListPoliciesForTarget" => 2,
        "iam:GetGroupPolicy"
        | "iam:GetUserPolicy"
        | "iam:GetRolePolicy"
        | "iam:GetPolicyVersion"
        | "organizations:DescribePolicy"
        | "sqs:GetQueueAttributes"
        | "sqs:ListQueueTags" => 1,
        _ => 0,
    }
}

/// At most `n` calls in flight. A freed slot goes to the waiting call with
/// the most reads behind it ([`reads_behind`]), then to the longest waiting.
#[derive(Debug)]
struct Slots(Mutex<SlotState>);

#[derive(Debug)]
struct SlotState {
    free: usize,
    arrived: u64,
    waiting: BinaryHeap<Waiter>,
}

#[derive(Debug)]
struct Waiter {
    rank: u8,
    arrived: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Rank::Equal
    }
}

impl Eq for Waiter {}

impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<Rank> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiter {
    /// The greatest is let in first: most reads behind, then earliest.
    fn cmp(&self, other: &Self) -> Rank {
        self.rank
            .cmp(&other.rank)
            .then_with(|| other.arrived.cmp(&self.arrived))
    }
}

/// A slot held; freed (handed to the next waiter) on drop.
struct Slot<'a>(&'a Slots);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// A call waiting for a slot: if it is dropped after a slot was handed to
/// it, the slot is passed on.
struct Waiting<'a> {
    slots: &'a Slots,
    wake: oneshot::Receiver<()>,
    done: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.wake.close();
            if self.wake.try_recv().is_ok() {
                self.slots.release();
            }
        }
    }
}

impl Slots {
    fn new(n: usize) -> Self {
        Self(Mutex::new(SlotState {
            free: n,
            arrived: 0,
            waiting: BinaryHeap::new(),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn acquire(&self, rank: u8) -> Slot<'_> {
        let wake = {
            let mut s = self.state();
            if s.free > 0 && s.waiting.is_empty() {
                s.free -= 1;
                return Slot(self);
            }
            let (tx, rx) = oneshot::channel();
            s.arrived += 1;
            let arrived = s.arrived;
            s.waiting.push(Waiter {
                rank,
                arrived,
                wake: tx,
            });
            rx
        };
        let mut waiting = Waiting {
            slots: self,
            wake,
            done: false,
        };
        // The sender lives in the heap as long as `self`: it only ever
        // sends (a slot handed over).
        let _ = (&mut waiting.wake).await;
        waiting.done = true;
        Slot(self)
    }

    fn release(&self) {
        let mut s = self.state();
        while let Some(w) = s.waiting.pop() {
            if w.wake.send(()).is_ok() {
                return;
            }
        }
        s.free += 1;
    }
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

/// The same request to IAM for a user, role or group: `$rest` is the rest
/// of the call chain on each operation's builder (their types differ, so it
/// is spelled once and expanded per kind).
macro_rules! per_holder {
    ($of:expr, $iam:expr, [$user:ident, $role:ident, $group:ident], |$req:ident| $rest:expr) => {
        match $of {
            Holder::User(n) => {
                let $req = $iam.$user().user_name(n);
                $rest
            }
            Holder::Role(n) => {
                let $req = $iam.$role().role_name(n);
                $rest
            }
            Holder::Group(n) => {
                let $req = $iam.$group().group_name(n);
                $rest
            }
        }
    };
}

/// One guarded, per-region client getter for each resource-policy service:
/// `name(&self, region) -> crate::Client`, built once per region from the
/// live SDK config with the read-only guard.
macro_rules! regional_clients {
    ($($name:ident: $sdk:ident),* $(,)?) => {
        $(
            fn $name(&self, region: &str) -> $sdk::Client {
                self.$name.get(region, |r| {
                    $sdk::Client::from_conf(
                        $sdk::config::Builder::from(self.live.sdk())
                            .interceptor(ReadOnlyGuard)
                            .region(r)
                            .build(),
                    )
                })
            }
        )*
    };
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
            limit: Slots::new(concurrency.max(1)),
            reads: AtomicUsize::new(0),
            kms: Regional::new(),
            ecr: Regional::new(),
            secrets: Regional::new(),
            sns: Regional::new(),
            sqs: Regional::new(),
            s3,
            org,
            principals: Mutex::default(),
            managed: Mutex::default(),
            resources: Mutex::default(),
            tags: Mutex::default(),
            queue_urls: Mutex::default(),
            groups: Mutex::default(),
            orgs: Mutex::default(),
            org_paths: Mutex::default(),
            org_documents: Mutex::default(),
            management: OnceCell::new(),
            credentials_account: OnceCell::new(),
        }
    }

    /// Calls made so far.
    #[must_use]
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }

    regional_clients! {
        kms: aws_sdk_kms,
        ecr: aws_sdk_ecr,
        secrets: aws_sdk_secretsmanager,
        sns: aws_sdk_sns,
        sqs: aws_sdk_sqs,
    }

    /// One call: under the concurrency limit and the probe deadline, counted.
    async fn call<T, F>(&self, permission: &str, fut: F) -> Result<T, ProbeError>
    where
        F: Future<Output = Result<T, ProbeError>>,
    {
        let _slot = self.limit.acquire(reads_behind(permission)).await;
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
        let at = ResourceRef::of(action, resource, self.live.region());
        // RCPs are the resource's account's: from its ARN; one without an
        // account (an S3 bucket or object) is taken to be the caller's.
        let resource_account = resource
            .split(':')
            .nth(4)
            .filter(|a| !a.is_empty())
            .unwrap_or(&account)
            .to_owned();
        let (who, res, scps, rcps) = tokio::join!(
            self.principal(principal),
            self.resource_policy(at.as_ref()),
            self.org_level(&account, PolicyKind::ServiceControl),
            self.org_level(&resource_account, PolicyKind::ResourceControl),
        );
        let mut out = RequestPolicies {
            caller: who.caller.clone(),
            principal_not_read: who.not_read.clone(),
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
        if scps.management {
            out.management_account = Some(account.clone());
        }
        out.scp_read = scps.note.is_none() || !scps.sources.is_empty();
        let mut rcps = rcps;
        if resource_account == account && scps.note.is_some() && rcps.note.is_some() {
            // One account's organization could not be read: said once.
            rcps.note = None;
        }
        for level in [scps, rcps] {
            out.sources.extend(level.sources);
            out.notes.extend(level.note);
        }
        self.fill_context(&mut out, principal, at.as_ref()).await;
        out
    }

    /// Condition keys known from what was read: the resource's tags (read
    /// only when a policy names `aws:ResourceTag/`), and MFA for an IAM
    /// user's access keys.
    async fn fill_context(
        &self,
        out: &mut RequestPolicies,
        principal: &Principal,
        at: Option<&ResourceRef>,
    ) {
        let names = |needle: &str| {
            out.sources
                .iter()
                .any(|s| s.document.to_string().to_ascii_lowercase().contains(needle))
        };
        let wants_tags = names("aws:resourcetag/");
        let wants_mfa = names("aws:multifactorauth");
        if let Some(at) = at.filter(|_| wants_tags) {
            match self.resource_tags(at).await {
                Ok(tags) => out.context.extend(
                    tags.into_iter()
                        .map(|(k, v)| (format!("aws:ResourceTag/{k}"), v)),
                ),
                Err(note) => out.notes.push(note),
            }
        }
        if principal.kind == PrincipalKind::User {
            // An IAM user's long-term access keys (CLI, SDK) carry no MFA
            // keys (IAM, "AWS global condition context keys").
            out.absent.push("aws:MultiFactorAuthPresent".to_owned());
            out.absent.push("aws:MultiFactorAuthAge".to_owned());
            if wants_mfa {
                out.notes.push(
                    "aws:MultiFactorAuthPresent is taken as absent, as for the user's long-term access keys (CLI, SDK); a console sign-in or a GetSessionToken session with MFA carries it: add --context aws:MultiFactorAuthPresent=true for that case".to_owned(),
                );
            }
        }
    }

    /// DescribeOrganization's management account, once per run (`None`:
    /// no organization, or not readable).
    async fn management_account(&self) -> Option<String> {
        const PERM: &str = "organizations:DescribeOrganization";
        self.management
            .get_or_init(|| async {
                self.call(PERM, async {
                    self.org
                        .describe_organization()
                        .send()
                        .await
                        .map_err(|e| ProbeError::from_sdk(&e, PERM))
                })
                .await
                .ok()
                .and_then(|o| {
                    o.organization()
                        .and_then(|o| o.master_account_id())
                        .map(str::to_owned)
                })
            })
            .await
            .clone()
    }

    /// The credentials' account, once per run: as their provider gives it
    /// (no call), else GetCallerIdentity's (`None`: not readable).
    async fn credentials_account(&self) -> Option<String> {
        const PERM: &str = "sts:GetCallerIdentity";
        self.credentials_account
            .get_or_init(|| async {
                if let Some(known) = self.live.account_id() {
                    return Some(known.to_owned());
                }
                let sts = self.live.sts();
                self.call(PERM, async {
                    sts.get_caller_identity()
                        .send()
                        .await
                        .map_err(|e| ProbeError::from_sdk(&e, PERM))
                })
                .await
                .ok()
                .and_then(|o| o.account().map(str::to_owned))
            })
            .await
            .clone()
    }

    /// The principal's identity policies and boundary (cached per ARN).
    pub async fn principal(&self, p: &Principal) -> PrincipalPolicies {
        let key = p.arn.as_ref().map(ToString::to_string).unwrap_or_default();
        cell(&self.principals, &key)
            .get_or_init(|| async {
                let theirs = p.account().unwrap_or_default();
                if let Some(ours) = self.credentials_account().await
                    && !theirs.is_empty()
                    && theirs != ours
                {
                    return foreign(p, theirs, &ours);
                }
                let mut out = match p.kind {
                    PrincipalKind::User => self.entity(Holder::User(p.name.clone())).await,
                    PrincipalKind::Role | PrincipalKind::AssumedRole => {
                        self.entity(Holder::Role(p.name.clone())).await
                    }
                    other => PrincipalPolicies {
                        notes: vec![format!(
                            "the caller is a {other} principal: eksdoctor reads the policies of IAM users and roles only"
                        )],
                        ..PrincipalPolicies::default()
                    },
                };
                if out.caller.is_none() && !out.notes.is_empty() {
                    // GetUser/GetRole was not read: the ARN as the text
                    // gives it (a session's role without its path).
                    let user = p.kind == PrincipalKind::User;
                    out.caller = Some(FixCaller {
                        arn: p.canonical_arn().unwrap_or_default(),
                        user: user.then(|| p.name.clone()),
                        role: (!user).then(|| p.name.clone()),
                    });
                }
                out
            })
            .await
            .clone()
    }

    /// A user's or role's policies: one shape, the SDK calls differ by kind.
    async fn entity(&self, who: Holder) -> PrincipalPolicies {
        let mut out = PrincipalPolicies::default();
        let get = async {
            let got = self.get_entity(&who).await;
            // Read the boundary as soon as it is known (into the cache),
            // not after the other reads.
            if let Ok(Some(b)) = got.as_ref().map(|e| e.boundary.as_deref()) {
                let _ = self.managed_policy(b).await;
            }
            got
        };
        // Each group's policies are asked as soon as the user's groups are
        // listed (and read once per group, whatever its number of users).
        let groups = async {
            let Holder::User(name) = &who else {
                return None;
            };
            Some(match self.groups_of(name).await {
                Ok(names) => {
                    Ok(futures_util::future::join_all(names.iter().map(|g| self.group(g))).await)
                }
                Err(e) => Err(e),
            })
        };
        let (get, inline, attached, groups) = tokio::join!(
            get,
            self.inline(who.clone()),
            self.attached(who.clone()),
            groups
        );
        let name = who.name();
        let as_caller = |arn: String| FixCaller {
            arn,
            user: matches!(who, Holder::User(_)).then(|| name.to_owned()),
            role: matches!(who, Holder::Role(_)).then(|| name.to_owned()),
        };
        let mut boundary = None;
        match get {
            Ok(e) => {
                out.caller = Some(as_caller(e.arn));
                boundary = e.boundary;
                out.tags = e.tags;
            }
            Err(e) => out.notes.push(not_read(
                &format!(
                    "{} (its path, permissions boundary and tags)",
                    who.describe()
                ),
                &e,
            )),
        }
        collect(&mut out, inline);
        collect(&mut out, attached);
        match groups {
            None => {}
            Some(Ok(each)) => {
                for read in each {
                    collect(&mut out, read);
                }
            }
            Some(Err(e)) => out
                .notes
                .push(not_read(&format!("the groups of user {name}"), &e)),
        }
        if let Some(b) = boundary {
            self.add_boundary(&mut out, &b).await;
        }
        out
    }

    /// A group's inline and attached policies (cached per group).
    async fn group(&self, name: &str) -> GroupRead {
        cell(&self.groups, name)
            .get_or_init(|| async {
                let (mut a, b) = tokio::join!(
                    self.inline(Holder::Group(name.to_owned())),
                    self.attached(Holder::Group(name.to_owned()))
                );
                a.0.extend(b.0);
                a.1.extend(b.1);
                a
            })
            .await
            .clone()
    }

    /// GetUser / GetRole: the ARN (path included), boundary and tags.
    async fn get_entity(&self, who: &Holder) -> Result<Entity, ProbeError> {
        let iam = self.live.iam();
        let perm = who.permissions().get;
        self.call(perm, async {
            let entity = match who {
                Holder::User(n) => {
                    let o = iam
                        .get_user()
                        .user_name(n)
                        .send()
                        .await
                        .map_err(|e| ProbeError::from_sdk(&e, perm))?;
                    o.user().map(|u| {
                        Entity::new(
                            u.arn(),
                            u.permissions_boundary()
                                .and_then(|b| b.permissions_boundary_arn()),
                            u.tags().iter().map(|t| (t.key(), t.value())),
                        )
                    })
                }
                Holder::Role(n) => {
                    let o = iam
                        .get_role()
                        .role_name(n)
                        .send()
                        .await
                        .map_err(|e| ProbeError::from_sdk(&e, perm))?;
                    o.role().map(|r| {
                        Entity::new(
                            r.arn(),
                            r.permissions_boundary()
                                .and_then(|b| b.permissions_boundary_arn()),
                            r.tags().iter().map(|t| (t.key(), t.value())),
                        )
                    })
                }
                Holder::Group(n) => {
                    return Err(ProbeError::Other(format!("group {n} is not a principal")));
                }
            };
            entity.ok_or_else(|| ProbeError::NotFound(who.describe()))
        })
        .await
    }

    async fn groups_of(&self, user: &str) -> Result<Vec<String>, ProbeError> {
        const PERM: &str = "iam:ListGroupsForUser";
        let iam = self.live.iam();
        self.call(PERM, async {
            iam.list_groups_for_user()
                .user_name(user)
                .max_items(1000)
                .send()
                .await
                .map(|g| {
                    g.groups()
                        .iter()
                        .map(|g| g.group_name().to_owned())
                        .collect()
                })
                .map_err(|e| ProbeError::from_sdk(&e, PERM))
        })
        .await
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
    async fn inline(&self, of: Holder) -> (Vec<Source>, Vec<String>) {
        let iam = self.live.iam();
        let perms = of.permissions();
        let (list_perm, get_perm) = (perms.list_inline, perms.get_inline);
        let names = self
            .call(list_perm, async {
                Ok(per_holder!(
                    &of,
                    iam,
                    [list_user_policies, list_role_policies, list_group_policies],
                    |req| req
                        .max_items(1000)
                        .send()
                        .await
                        .map_err(|e| ProbeError::from_sdk(&e, list_perm))?
                        .policy_names()
                        .to_vec()
                ))
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
                        Ok(per_holder!(
                            of,
                            iam,
                            [get_user_policy, get_role_policy, get_group_policy],
                            |req| req
                                .policy_name(&policy)
                                .send()
                                .await
                                .map_err(|e| ProbeError::from_sdk(&e, get_perm))?
                                .policy_document()
                                .to_owned()
                        ))
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
    async fn attached(&self, of: Holder) -> (Vec<Source>, Vec<String>) {
        let iam = self.live.iam();
        let perm = of.permissions().list_attached;
        let arns = self
            .call(perm, async {
                Ok(per_holder!(
                    &of,
                    iam,
                    [
                        list_attached_user_policies,
                        list_attached_role_policies,
                        list_attached_group_policies
                    ],
                    |req| req
                        .max_items(1000)
                        .send()
                        .await
                        .map_err(|e| ProbeError::from_sdk(&e, perm))?
                        .attached_policies()
                        .iter()
                        .filter_map(|p| p.policy_arn().map(str::to_owned))
                        .collect::<Vec<_>>()
                ))
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
    /// policy, KMS key policy, ECR repository policy, Secrets Manager
    /// resource policy, SNS topic and SQS queue policies. `(None, None)`
    /// where the resource has no policy eksdoctor reads.
    async fn resource_policy(&self, at: Option<&ResourceRef>) -> ResourceRead {
        let Some(at) = at else {
            return (None, None);
        };
        cell(&self.resources, &at.key())
            .get_or_init(|| async {
                match at {
                    ResourceRef::Trust { arn } => self.trust(arn).await,
                    ResourceRef::Bucket { name } => self.bucket(name).await,
                    ResourceRef::Key { arn, region } => self.key_policy(arn, region).await,
                    ResourceRef::Repository {
                        name,
                        registry,
                        region,
                        ..
                    } => self.repository_policy(name, registry, region).await,
                    ResourceRef::Secret { arn, region } => self.secret_policy(arn, region).await,
                    ResourceRef::Topic { arn, region } => self.topic_policy(arn, region).await,
                    ResourceRef::Queue {
                        arn,
                        name,
                        account,
                        region,
                    } => self.queue_policy(arn, name, account, region).await,
                }
            })
            .await
            .clone()
    }

    async fn repository_policy(&self, name: &str, registry: &str, region: &str) -> ResourceRead {
        const PERM: &str = "ecr:GetRepositoryPolicy";
        let ecr = self.ecr(region);
        let got = self
            .call(PERM, async {
                ecr.get_repository_policy()
                    .repository_name(name)
                    .registry_id(registry)
                    .send()
                    .await
                    .map(|o| o.policy_text().map(str::to_owned))
                    .map_err(|e| ProbeError::from_sdk(&e, PERM))
            })
            .await;
        let origin = |exists| Origin::RepositoryPolicy {
            repository: name.to_owned(),
            registry: registry.to_owned(),
            region: region.to_owned(),
            exists,
        };
        let got = match got {
            Err(e) if e.to_string().contains("RepositoryPolicyNotFound") => Ok(None),
            other => other,
        };
        read_policy(got, origin, &format!("repository policy of {name}"))
    }

    async fn secret_policy(&self, arn: &str, region: &str) -> ResourceRead {
        const PERM: &str = "secretsmanager:GetResourcePolicy";
        let sm = self.secrets(region);
        let got = self
            .call(PERM, async {
                sm.get_resource_policy()
                    .secret_id(arn)
                    .send()
                    .await
                    .map(|o| o.resource_policy().map(str::to_owned))
                    .map_err(|e| ProbeError::from_sdk(&e, PERM))
            })
            .await;
        read_policy(
            got,
            |exists| Origin::SecretPolicy {
                secret: arn.to_owned(),
                region: region.to_owned(),
                exists,
            },
            &format!("resource policy of {arn}"),
        )
    }

    async fn topic_policy(&self, arn: &str, region: &str) -> ResourceRead {
        const PERM: &str = "sns:GetTopicAttributes";
        let sns = self.sns(region);
        let got = self
            .call(PERM, async {
                sns.get_topic_attributes()
                    .topic_arn(arn)
                    .send()
                    .await
                    .map(|o| o.attributes().and_then(|a| a.get("Policy")).cloned())
                    .map_err(|e| ProbeError::from_sdk(&e, PERM))
            })
            .await;
        read_policy(
            got,
            |exists| Origin::TopicPolicy {
                topic: arn.to_owned(),
                region: region.to_owned(),
                exists,
            },
            &format!("access policy of {arn}"),
        )
    }

    /// GetQueueUrl (the queue's owner from its ARN), once per queue.
    async fn queue_url(
        &self,
        name: &str,
        account: &str,
        region: &str,
    ) -> Result<String, ProbeError> {
        const PERM: &str = "sqs:GetQueueUrl";
        let sqs = self.sqs(region);
        cell(
            &self.queue_urls,
            &format!("{region}\u{1f}{account}\u{1f}{name}"),
        )
        .get_or_init(|| async {
            self.call(PERM, async {
                sqs.get_queue_url()
                    .queue_name(name)
                    .set_queue_owner_aws_account_id(
                        (!account.is_empty()).then(|| account.to_owned()),
                    )
                    .send()
                    .await
                    .map_err(|e| ProbeError::from_sdk(&e, PERM))?
                    .queue_url()
                    .map(str::to_owned)
                    .ok_or_else(|| ProbeError::NotFound(format!("queue {name}")))
            })
            .await
        })
        .await
        .clone()
    }

    async fn queue_policy(
        &self,
        arn: &str,
        name: &str,
        account: &str,
        region: &str,
    ) -> ResourceRead {
        use aws_sdk_sqs::types::QueueAttributeName;
        const PERM: &str = "sqs:GetQueueAttributes";
        let url = match self.queue_url(name, account, region).await {
            Ok(u) => u,
            Err(e) if resource_missing(&e) => return (None, None),
            Err(e) => {
                return (
                    None,
                    Some(not_read(&format!("the access policy of {arn}"), &e)),
                );
            }
        };
        let sqs = self.sqs(region);
        let got = self
            .call(PERM, async {
                sqs.get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(QueueAttributeName::Policy)
                    .send()
                    .await
                    .map(|o| {
                        o.attributes()
                            .and_then(|a| a.get(&QueueAttributeName::Policy))
                            .cloned()
                    })
                    .map_err(|e| ProbeError::from_sdk(&e, PERM))
            })
            .await;
        read_policy(
            got,
            |exists| Origin::QueuePolicy {
                queue_url: url.clone(),
                region: region.to_owned(),
                exists,
            },
            &format!("access policy of {arn}"),
        )
    }

    /// The resource's tags, as `aws:ResourceTag/KEY` values (cached per resource).
    async fn resource_tags(&self, at: &ResourceRef) -> TagsRead {
        cell(&self.tags, &at.key())
            .get_or_init(|| async {
                self.read_tags(at).await.map_err(|e| {
                    not_read(
                        &format!("the tags of {} (aws:ResourceTag/...)", at.describe()),
                        &e,
                    )
                })
            })
            .await
            .clone()
    }

    async fn read_tags(&self, at: &ResourceRef) -> Result<Vec<(String, String)>, ProbeError> {
        fn owned<'a>(
            tags: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>,
        ) -> Vec<(String, String)> {
            tags.filter_map(|(k, v)| Some((k?.to_owned(), v.unwrap_or_default().to_owned())))
                .collect()
        }
        match at {
            ResourceRef::Trust { .. } => Ok(vec![]),
            ResourceRef::Bucket { name } => {
                const PERM: &str = "s3:GetBucketTagging";
                let got = self
                    .call(PERM, async {
                        self.s3
                            .get_bucket_tagging()
                            .bucket(name)
                            .send()
                            .await
                            .map_err(|e| ProbeError::from_sdk(&e, PERM))
                    })
                    .await;
                match got {
                    Ok(o) => Ok(owned(
                        o.tag_set().iter().map(|t| (Some(t.key()), Some(t.value()))),
                    )),
                    Err(e) if e.to_string().contains("NoSuchTagSet") => Ok(vec![]),
                    Err(e) => Err(e),
                }
            }
            ResourceRef::Key { arn, region } => {
                const PERM: &str = "kms:ListResourceTags";
                let kms = self.kms(region);
                let o = self
                    .call(PERM, async {
                        kms.list_resource_tags()
                            .key_id(arn)
                            .send()
                            .await
                            .map_err(|e| ProbeError::from_sdk(&e, PERM))
                    })
                    .await?;
                Ok(owned(
                    o.tags()
                        .iter()
                        .map(|t| (Some(t.tag_key()), Some(t.tag_value()))),
                ))
            }
            ResourceRef::Repository { arn, region, .. } => {
                const PERM: &str = "ecr:ListTagsForResource";
                let ecr = self.ecr(region);
                let o = self
                    .call(PERM, async {
                        ecr.list_tags_for_resource()
                            .resource_arn(arn)
                            .send()
                            .await
                            .map_err(|e| ProbeError::from_sdk(&e, PERM))
                    })
                    .await?;
                Ok(owned(
                    o.tags().iter().map(|t| (Some(t.key()), Some(t.value()))),
                ))
            }
            ResourceRef::Secret { arn, region } => {
                const PERM: &str = "secretsmanager:DescribeSecret";
                let sm = self.secrets(region);
                let o = self
                    .call(PERM, async {
                        sm.describe_secret()
                            .secret_id(arn)
                            .send()
                            .await
                            .map_err(|e| ProbeError::from_sdk(&e, PERM))
                    })
                    .await?;
                Ok(owned(o.tags().iter().map(|t| (t.key(), t.value()))))
            }
            ResourceRef::Topic { arn, region } => {
                const PERM: &str = "sns:ListTagsForResource";
                let sns = self.sns(region);
                let o = self
                    .call(PERM, async {
                        sns.list_tags_for_resource()
                            .resource_arn(arn)
                            .send()
                            .await
                            .map_err(|e| ProbeError::from_sdk(&e, PERM))
                    })
                    .await?;
                Ok(owned(
                    o.tags().iter().map(|t| (Some(t.key()), Some(t.value()))),
                ))
            }
            ResourceRef::Queue {
                name,
                account,
                region,
                ..
            } => {
                const PERM: &str = "sqs:ListQueueTags";
                let url = self.queue_url(name, account, region).await?;
                let sqs = self.sqs(region);
                let o = self
                    .call(PERM, async {
                        sqs.list_queue_tags()
                            .queue_url(&url)
                            .send()
                            .await
                            .map_err(|e| ProbeError::from_sdk(&e, PERM))
                    })
                    .await?;
                let mut tags = owned(
                    o.tags()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (Some(k.as_str()), Some(v.as_str()))),
                );
                tags.sort();
                Ok(tags)
            }
        }
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

    async fn bucket(&self, bucket: &str) -> ResourceRead {
        const PERM: &str = "s3:GetBucketPolicy";
        let got = self
            .call(PERM, async {
                self.s3
                    .get_bucket_policy()
                    .bucket(bucket)
                    .send()
                    .await
                    .map(|o| o.policy().map(str::to_owned))
                    .map_err(|e| ProbeError::from_sdk(&e, PERM))
            })
            .await;
        let got = match got {
            Err(e) if e.to_string().contains("NoSuchBucketPolicy") => Ok(None),
            other => other,
        };
        read_policy(
            got,
            |exists| Origin::BucketPolicy {
                bucket: bucket.to_owned(),
                exists,
            },
            &format!("bucket policy of {bucket}"),
        )
    }

    async fn key_policy(&self, key_arn: &str, region: &str) -> ResourceRead {
        const PERM: &str = "kms:GetKeyPolicy";
        let kms = self.kms(region);
        let got = self
            .call(PERM, async {
                kms.get_key_policy()
                    .key_id(key_arn)
                    .policy_name("default")
                    .send()
                    .await
                    .map(|o| o.policy().map(str::to_owned))
                    .map_err(|e| ProbeError::from_sdk(&e, PERM))
            })
            .await;
        read_policy(
            got,
            |_| Origin::KeyPolicy {
                key: key_arn.to_owned(),
            },
            &format!("key policy of {key_arn}"),
        )
    }

    /// The SCPs (`kind` ServiceControl) or RCPs (ResourceControl) from the
    /// root down to `account`, cached per kind and account; none for the
    /// management account, whose principals SCPs and resources RCPs do not
    /// govern (DescribeOrganization is asked first, so nothing else is read
    /// for it).
    async fn org_level(&self, account: &str, kind: PolicyKind) -> OrgRead {
        let what = if kind == PolicyKind::ServiceControl {
            "SCP level"
        } else {
            "RCP level"
        };
        if account.is_empty() {
            return OrgRead {
                note: Some(format!(
                    "the {} account is unknown: the {what} was not read",
                    if kind == PolicyKind::ServiceControl {
                        "caller's"
                    } else {
                        "resource's"
                    }
                )),
                ..OrgRead::default()
            };
        }
        let key = format!("{}\u{1f}{account}", kind.describe());
        cell(&self.orgs, &key)
            .get_or_init(|| async {
                if self.management_account().await.as_deref() == Some(account) {
                    return OrgRead {
                        management: true,
                        ..OrgRead::default()
                    };
                }
                match self.org_policies_on_path(account, kind).await {
                    Ok(sources) => OrgRead {
                        sources,
                        ..OrgRead::default()
                    },
                    // No organization: none applies to the credentials' own
                    // account (a complete answer); another account may be
                    // in an organization these credentials cannot see.
                    Err(e)
                        if e.to_string().contains("AWSOrganizationsNotInUse")
                            && self.credentials_account().await.as_deref() != Some(account)
                            && kind == PolicyKind::ResourceControl =>
                    {
                        OrgRead {
                            note: Some(format!(
                                "RCP level not read: the credentials' account is in no organization, and account {account} (the resource's) is another account: the answer assumes no resource control policy denies it. Run eksdoctor explain --live with credentials of {account}'s organization management account (or a delegated administrator) to read them"
                            )),
                            ..OrgRead::default()
                        }
                    }
                    Err(e) if e.to_string().contains("AWSOrganizationsNotInUse") => {
                        OrgRead::default()
                    }
                    Err(e) if e.to_string().contains("ChildNotFound") => OrgRead {
                        note: Some(format!(
                            "{what} not read: account {account} is not in the organization these credentials read; the answer assumes its {} allow the request. Reading them needs credentials of its own organization's management account (or a delegated administrator)",
                            if kind == PolicyKind::ServiceControl {
                                "service control policies"
                            } else {
                                "resource control policies"
                            }
                        )),
                        ..OrgRead::default()
                    },
                    Err(e) => OrgRead {
                        note: Some(format!(
                            "{what} not read ({e}): the answer assumes the {} allow the request. \
                             Reading them needs organizations:ListParents, organizations:ListPoliciesForTarget and organizations:DescribePolicy, \
                             which only the management account or a delegated administrator has: run eksdoctor explain --live there, \
                             or give the policies offline to eksdoctor policy eval --scp FILE",
                            if kind == PolicyKind::ServiceControl {
                                "service and resource control policies"
                            } else {
                                "resource control policies"
                            }
                        )),
                        ..OrgRead::default()
                    },
                }
            })
            .await
            .clone()
    }

    /// `account`'s path from the organization root, root first (cached per
    /// account: the SCP and RCP levels share it).
    async fn org_path(&self, account: &str) -> OrgPath {
        const PARENTS: &str = "organizations:ListParents";
        cell(&self.org_paths, account)
            .get_or_init(|| async {
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
                Ok(path)
            })
            .await
            .clone()
    }

    /// The policies of `kind` attached at every level of `account`'s path,
    /// every level asked at once.
    async fn org_policies_on_path(
        &self,
        account: &str,
        kind: PolicyKind,
    ) -> Result<Vec<Source>, ProbeError> {
        let path = self.org_path(account).await?;
        let levels = futures_util::future::join_all(
            path.iter().map(|target| self.org_policies(target, kind)),
        )
        .await;
        let mut sources = Vec::new();
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
                    }));
                }
                // RCPs may be unknown to an older organization: none then.
                Err(e)
                    if kind == PolicyKind::ResourceControl
                        && !matches!(e, ProbeError::Denied { .. }) => {}
                Err(e) => return Err(e),
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
            let doc = self.org_document(&id).await?;
            Ok::<_, ProbeError>((id, name, doc))
        });
        futures_util::future::join_all(reads)
            .await
            .into_iter()
            .collect()
    }

    /// DescribePolicy: an SCP's or RCP's document, once per policy.
    async fn org_document(&self, id: &str) -> Result<Value, ProbeError> {
        const DESCRIBE: &str = "organizations:DescribePolicy";
        cell(&self.org_documents, id)
            .get_or_init(|| async {
                let out = self
                    .call(DESCRIBE, async {
                        self.org
                            .describe_policy()
                            .policy_id(id)
                            .send()
                            .await
                            .map_err(|e| ProbeError::from_sdk(&e, DESCRIBE))
                    })
                    .await?;
                out.policy()
                    .and_then(|p| p.content())
                    .and_then(decode_doc)
                    .ok_or_else(|| ProbeError::Other(format!("{id}: no JSON content")))
            })
            .await
            .clone()
    }
}

/// A principal of another account than the credentials': not looked up
/// (IAM would answer with the credentials' account's user or role of that
/// name), and the note says what would read it.
fn foreign(p: &Principal, theirs: &str, ours: &str) -> PrincipalPolicies {
    let what = match p.kind {
        PrincipalKind::User => format!("user {}", p.name),
        _ => format!("role {}", p.name),
    };
    let note = format!(
        "{what} is in account {theirs}, and these credentials are of account {ours}: IAM would answer for account {ours}, so its policies were not read and the request was not decided live. \
         Run eksdoctor explain --live with credentials of account {theirs} (a profile there: --profile NAME, or a role in it: aws sts assume-role --role-arn arn:aws:iam::{theirs}:role/ROLE --role-session-name eksdoctor), \
         or give its policies offline to eksdoctor policy eval"
    );
    let user = p.kind == PrincipalKind::User;
    PrincipalPolicies {
        notes: vec![note.clone()],
        caller: Some(FixCaller {
            arn: p.canonical_arn().unwrap_or_default(),
            user: user.then(|| p.name.clone()),
            role: (!user).then(|| p.name.clone()),
        }),
        not_read: Some(note),
        ..PrincipalPolicies::default()
    }
}

/// A resource policy as a service answers it: `None` (or empty) is no
/// policy yet, which a fix then writes whole.
fn read_policy(
    got: Result<Option<String>, ProbeError>,
    origin: impl Fn(bool) -> Origin,
    what: &str,
) -> ResourceRead {
    let source = |document, exists| Source {
        origin: origin(exists),
        kind: PolicyKind::ResourceBased,
        name: what.to_owned(),
        document,
    };
    match got {
        Ok(Some(text)) if !text.trim().is_empty() => match decode_doc(&text) {
            Some(d) => (Some(source(d, true)), None),
            None => (None, Some(format!("the {what} is not a JSON document"))),
        },
        Ok(_) => (
            Some(source(
                serde_json::json!({"Version": "2012-10-17", "Statement": []}),
                false,
            )),
            None,
        ),
        // No such resource: no policy to read; the request fails for that
        // reason, not for a policy.
        Err(e) if resource_missing(&e) => (None, None),
        Err(e) => (None, Some(not_read(&format!("the {what}"), &e))),
    }
}

/// The resource itself does not exist (not its policy).
fn resource_missing(e: &ProbeError) -> bool {
    let text = e.to_string();
    matches!(e, ProbeError::NotFound(_))
        || [
            "RepositoryNotFound",
            "NonExistentQueue",
            "QueueDoesNotExist",
            "NoSuchBucket",
        ]
        .iter()
        .any(|code| text.contains(code))
}

fn collect(out: &mut PrincipalPolicies, (sources, notes): (Vec<Source>, Vec<String>)) {
    out.sources.extend(sources);
    out.notes.extend(notes);
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

/// A user, role or group: whose policies to read.
#[derive(Debug, Clone)]
enum Holder {
    User(String),
    Role(String),
    Group(String),
}

/// The IAM actions that read a holder's policies.
struct HolderPermissions {
    get: &'static str,
    list_inline: &'static str,
    get_inline: &'static str,
    list_attached: &'static str,
}

impl Holder {
    fn name(&self) -> &str {
        match self {
            Self::User(n) | Self::Role(n) | Self::Group(n) => n,
        }
    }

    fn permissions(&self) -> HolderPermissions {
        match self {
            Self::User(_) => HolderPermissions {
                get: "iam:GetUser",
                list_inline: "iam:ListUserPolicies",
                get_inline: "iam:GetUserPolicy",
                list_attached: "iam:ListAttachedUserPolicies",
            },
            Self::Role(_) => HolderPermissions {
                get: "iam:GetRole",
                list_inline: "iam:ListRolePolicies",
                get_inline: "iam:GetRolePolicy",
                list_attached: "iam:ListAttachedRolePolicies",
            },
            Self::Group(_) => HolderPermissions {
                get: "iam:GetGroup",
                list_inline: "iam:ListGroupPolicies",
                get_inline: "iam:GetGroupPolicy",
                list_attached: "iam:ListAttachedGroupPolicies",
            },
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

/// What GetUser / GetRole tell.
struct Entity {
    arn: String,
    boundary: Option<String>,
    tags: Vec<(String, String)>,
}

impl Entity {
    fn new<'a>(
        arn: &str,
        boundary: Option<&str>,
        tags: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        Self {
            arn: arn.to_owned(),
            boundary: boundary.map(str::to_owned),
            tags: tags.map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots: never more than `n` in flight; a freed slot goes to the
    /// waiter with the most reads behind it, ties first come first served.
    #[tokio::test]
    async fn slots_hand_over_by_rank_then_arrival() {
        use std::sync::Arc;
        let slots = Arc::new(Slots::new(1));
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = slots.acquire(0).await;
        let mut waiters = Vec::new();
        for (name, rank) in [("leaf-a", 0u8), ("list", 1), ("leaf-b", 0), ("groups", 3)] {
            let (slots, order) = (Arc::clone(&slots), Arc::clone(&order));
            waiters.push(tokio::spawn(async move {
                let _slot = slots.acquire(rank).await;
                order.lock().unwrap().push(name);
            }));
            // Each is queued before the next arrives.
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        // A waiter given up on does not keep a slot.
        let gone = tokio::time::timeout(std::time::Duration::from_millis(5), slots.acquire(9));
        assert!(gone.await.is_err());
        drop(first);
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["groups", "list", "leaf-a", "leaf-b"]
        );
        // All returned: one slot free again.
        let _again = tokio::time::timeout(std::time::Duration::from_millis(50), slots.acquire(0))
            .await
            .unwrap();
    }

    #[test]
    fn documents_decode_plain_or_url_encoded() {
        let plain = r#"{"Statement":[]}"#;
        assert!(decode_doc(plain).is_some());
        let enc = "%7B%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode_doc(enc), decode_doc(plain));
        assert!(decode_doc("%7Bnot").is_none());
    }
}
