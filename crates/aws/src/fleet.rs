//! The fleet run (`check --org`): every account of an organization, read
//! through a read-only role assumed in each.
//!
//! 1. [`list_accounts`]: organizations:ListAccounts (management account or a
//!    delegated administrator), active accounts only.
//! 2. Per account, all at once: sts:AssumeRole into the role (a failure is
//!    the account's `fleet/assume-failed` finding, never the run's), then the
//!    same round as `check --all-clusters` ([`crate::stream_probes_limited`])
//!    and the IAM credential report for key hygiene.
//! 3. Every call of every account waits on ONE semaphore (`--concurrency`);
//!    each account's calls are paced per service and region
//!    ([`crate::fleet_pace`]); clients retry in adaptive mode; throttling
//!    answers are counted.
//!
//! What comes back is core's [`AccountInput`]s; core builds the report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_iam::types::{ReportStateType, StatusType};
use aws_sdk_organizations::types::{AccountState, AccountStatus};
use eksdoctor_core::finding::Finding;
use eksdoctor_core::fleet::{self, AccountInput, ClusterFacts, RegionInput, Throttles};
use eksdoctor_core::keys::saved::{ListedKey, SavedKeys};
use eksdoctor_core::keys::{AccessKey, credential_report, merge};
use eksdoctor_core::rules;
use eksdoctor_core::snapshot::{KeyStatus, Probe, ProbeUpdate};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::config::{Live, LiveConfig};
use crate::error::ProbeError;
use crate::fleet_pace::{PacedClient, ThrottleCounter};
use crate::guard::ReadOnlyGuard;
use crate::regions::RegionSelection;
use crate::round::{ClusterSelection, ProbeOptions};
use crate::timed;
use crate::{LiveSnapshot, stream_probes_limited};

/// The role assumed in each account unless `--role-name` says otherwise.
pub const DEFAULT_ROLE_NAME: &str = "EksDoctorReadOnly";
/// The role session name unless `--session-name` says otherwise (CloudTrail
/// in each member account shows it).
pub const DEFAULT_SESSION_NAME: &str = "eksdoctor-fleet";

/// Rules about the caller itself: in a fleet run the caller is the audit
/// role, so "the audit role is not mapped into the cluster" is noise, not a
/// finding about the account.
const CALLER_RULES: &[&str] = &[
    "cluster/not-mapped",
    "cluster/access-entry-path",
    "cluster/console-no-k8s-access",
    "keys/long-term-credentials",
    // The Kubernetes probes ask as the audit role: its own RBAC is no
    // account's problem.
    "cluster/forbidden",
    "cluster/console-rbac",
];

/// One account to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTarget {
    pub id: String,
    pub name: Option<String>,
}

/// How the fleet run reaches and probes each account.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    pub role_name: String,
    pub external_id: Option<String>,
    pub session_name: String,
    pub regions: RegionSelection,
    /// Calls in flight at once, over every account.
    pub concurrency: usize,
    /// Read each account's credential report (keys/* rules).
    pub keys: bool,
    /// Where throttling answers are counted; give the management account's
    /// client the same counter ([`PacedClient::wrap`]) to count its calls too.
    pub throttles: Arc<ThrottleCounter>,
    /// Each cluster's own answers (aws-auth read through the engine, who
    /// the cluster takes the audit role for), signed as the account's role;
    /// `None` skips them.
    pub follow_up: Option<Arc<dyn crate::round::ClusterFollowUp>>,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            role_name: DEFAULT_ROLE_NAME.to_owned(),
            external_id: None,
            session_name: DEFAULT_SESSION_NAME.to_owned(),
            regions: RegionSelection::Home,
            concurrency: 16,
            keys: true,
            throttles: Arc::default(),
            follow_up: None,
        }
    }
}

/// What the run gathered.
#[derive(Debug, Clone)]
pub struct FleetRun {
    pub accounts: Vec<AccountInput>,
    pub throttles: Throttles,
    /// Each reached account's round, by account id (the dashboard replays them).
    pub snapshots: BTreeMap<String, LiveSnapshot>,
}

/// A finished round as the updates that built it (identity, regions,
/// clusters), for the dashboard to replay into its panels.
#[must_use]
pub fn replay(snap: &LiveSnapshot) -> Vec<ProbeUpdate> {
    let mut out = vec![ProbeUpdate::Identity(snap.identity.clone())];
    for (region, clusters) in &snap.regions {
        out.push(ProbeUpdate::ClusterList {
            region: region.clone(),
            clusters: clusters.clone(),
        });
    }
    for c in snap.clusters.values() {
        out.push(ProbeUpdate::Cluster {
            region: c.region.clone(),
            name: c.name.clone(),
            cluster: c.cluster.clone(),
        });
        out.push(ProbeUpdate::CallerAccessEntry {
            region: c.region.clone(),
            name: c.name.clone(),
            entry: c.entry.clone(),
        });
        out.push(ProbeUpdate::OidcProvider {
            region: c.region.clone(),
            name: c.name.clone(),
            present: c.oidc_provider.clone(),
        });
    }
    out
}

/// Organizations, guarded (the SDK resolves its global endpoint).
fn organizations(live: &Live) -> aws_sdk_organizations::Client {
    aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(live.sdk_config())
            .interceptor(ReadOnlyGuard)
            .build(),
    )
}

/// organizations:ListAccounts: the organization's active accounts (every
/// page), sorted by id.
///
/// # Errors
/// The classified failure (`Denied` when the caller is neither the
/// management account nor a delegated administrator).
pub async fn list_accounts(live: &Live) -> Result<Vec<AccountTarget>, ProbeError> {
    const PERM: &str = "organizations:ListAccounts";
    let client = organizations(live);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = timed(live, PERM, async {
            client
                .list_accounts()
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| ProbeError::from_sdk(&e, PERM))
        })
        .await?;
        for a in page.accounts() {
            // `State` replaces the deprecated `Status`; older answers carry only `Status`.
            let active = match (a.state(), a.status()) {
                (Some(s), _) => *s == AccountState::Active,
                (None, Some(s)) => *s == AccountStatus::Active,
                (None, None) => true,
            };
            if let (true, Some(id)) = (active, a.id()) {
                out.push(AccountTarget {
                    id: id.to_owned(),
                    name: a.name().map(str::to_owned),
                });
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    Ok(out)
}

/// Temporary credentials of an assumed role (never printed or stored).
struct SessionCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
}

async fn assume_role(
    live: &Live,
    role_arn: &str,
    options: &FleetOptions,
) -> Result<SessionCredentials, ProbeError> {
    const PERM: &str = "sts:AssumeRole";
    let out = timed(live, PERM, async {
        live.sts()
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(&options.session_name)
            .set_external_id(options.external_id.clone())
            .duration_seconds(3600)
            .send()
            .await
            .map_err(|e| ProbeError::from_sdk(&e, PERM))
    })
    .await?;
    let c = out
        .credentials()
        .ok_or_else(|| ProbeError::Other("AssumeRole returned no credentials".to_owned()))?;
    Ok(SessionCredentials {
        access_key_id: c.access_key_id().to_owned(),
        secret_access_key: c.secret_access_key().to_owned(),
        session_token: c.session_token().to_owned(),
    })
}

/// The credential report's keys: GenerateCredentialReport until it is
/// COMPLETE (AWS builds it in seconds; a report under four hours old is
/// reused), then GetCredentialReport, parsed by core.
async fn credential_report(live: &Live, limit: &Semaphore) -> Result<Vec<AccessKey>, ProbeError> {
    const GEN: &str = "iam:GenerateCredentialReport";
    const GET: &str = "iam:GetCredentialReport";
    let iam = live.iam();
    // AWS answers STARTED first and builds the report in seconds: poll at
    // 0.5 s, 1 s, then every 2 s.
    for attempt in 0..15u64 {
        let state = {
            let _permit = limit.acquire().await;
            timed(live, GEN, async {
                iam.generate_credential_report()
                    .send()
                    .await
                    .map_err(|e| ProbeError::from_sdk(&e, GEN))
            })
            .await?
        };
        if state.state() == Some(&ReportStateType::Complete) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500 * (attempt + 1).min(4))).await;
    }
    let out = {
        let _permit = limit.acquire().await;
        timed(live, GET, async {
            iam.get_credential_report()
                .send()
                .await
                .map_err(|e| ProbeError::from_sdk(&e, GET))
        })
        .await?
    };
    let bytes = out
        .content()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let rows = credential_report::parse_csv(&text)
        .map_err(|e| ProbeError::Other(format!("the credential report is unreadable: {e}")))?;
    // The report has no key ids: list the keys of each user holding some, so
    // the rotation commands carry real ids (a user that cannot be listed
    // keeps the report's placeholders).
    let holders: Vec<&str> = rows
        .iter()
        .filter(|r| !r.is_root() && r.keys.iter().any(|k| k.has_key()))
        .map(|r| r.user.as_str())
        .collect();
    let listed =
        futures_util::future::join_all(holders.iter().map(|user| listed_keys(live, limit, user)))
            .await;
    Ok(merge::combine(&SavedKeys {
        listed: listed.into_iter().flatten().flatten().collect(),
        report: rows,
        ..SavedKeys::default()
    }))
}

/// ListAccessKeys of one user (ids, status, creation date).
async fn listed_keys(
    live: &Live,
    limit: &Semaphore,
    user: &str,
) -> Result<Vec<ListedKey>, ProbeError> {
    const PERM: &str = "iam:ListAccessKeys";
    let _permit = limit.acquire().await;
    let out = timed(live, PERM, async {
        live.iam()
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .map_err(|e| ProbeError::from_sdk(&e, PERM))
    })
    .await?;
    Ok(out
        .access_key_metadata()
        .iter()
        .filter_map(|m| {
            let created = m.create_date()?;
            Some(ListedKey {
                user_name: m.user_name().unwrap_or(user).to_owned(),
                access_key_id: m.access_key_id()?.to_owned(),
                status: match m.status() {
                    Some(StatusType::Active) => KeyStatus::Active,
                    _ => KeyStatus::Inactive,
                },
                created: jiff::Timestamp::from_second(created.secs()).ok()?,
            })
        })
        .collect())
}

fn state<T>(p: &Probe<T>) -> Option<String> {
    match p {
        Probe::Ready(_) => None,
        Probe::Pending => Some("did not answer".to_owned()),
        Probe::Denied { permission } => Some(format!("denied {permission}")),
        Probe::TimedOut => Some("timed out".to_owned()),
        Probe::Failed { message } => Some(message.clone()),
    }
}

/// The regions and clusters of a finished round, as the report's input.
fn regions_of(snap: &LiveSnapshot) -> Vec<RegionInput> {
    snap.regions
        .iter()
        .map(|(region, listed)| RegionInput {
            region: region.clone(),
            error: state(listed),
            clusters: snap
                .clusters
                .values()
                .filter(|c| &c.region == region)
                .map(|c| {
                    let d = c.cluster.ready();
                    ClusterFacts {
                        name: c.name.clone(),
                        status: d.and_then(|d| d.status.clone()),
                        version: d.and_then(|d| d.version.clone()),
                        authentication_mode: d
                            .and_then(|d| d.authentication_mode)
                            .map(|m| m.as_str().to_owned()),
                        error: state(&c.cluster),
                    }
                })
                .collect(),
        })
        .collect()
}

/// Everything the fleet run shares between accounts.
struct Shared {
    base: LiveConfig,
    management: Live,
    options: FleetOptions,
    partition: String,
    limit: Arc<Semaphore>,
    /// Accounts being checked at once: enough to keep every call slot busy,
    /// few enough that memory (each account's clients and answers) does not
    /// grow with the organization.
    accounts: Semaphore,
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
    throttles: Arc<ThrottleCounter>,
}

async fn check_account(
    shared: Arc<Shared>,
    target: AccountTarget,
) -> (AccountInput, u64, Option<LiveSnapshot>) {
    let _account = shared.accounts.acquire().await;
    let role_arn = fleet::role_arn(&shared.partition, &target.id, &shared.options.role_name);
    let mut input = AccountInput {
        account_id: target.id.clone(),
        account_name: target.name.clone(),
        role_arn: role_arn.clone(),
        assume_error: None,
        regions: Vec::new(),
        findings: Vec::new(),
        keys: None,
    };
    let assumed = {
        let _permit = shared.limit.acquire().await;
        assume_role(&shared.management, &role_arn, &shared.options).await
    };
    let creds = match assumed {
        Ok(c) => c,
        Err(e) => {
            let exhausted = u64::from(matches!(e, ProbeError::Throttled { .. }));
            input.assume_error = Some(e.to_string());
            return (input, exhausted, None);
        }
    };
    let mut config = shared
        .base
        .clone()
        .static_credentials(
            creds.access_key_id,
            creds.secret_access_key,
            Some(creds.session_token),
        )
        .http_client(PacedClient::wrap(
            shared.http.clone(),
            shared.throttles.clone(),
        ));
    config.adaptive_retry = true;
    let live = match config.connect().await {
        Ok(l) => l,
        Err(e) => {
            input.assume_error = Some(format!("the assumed session does not work: {e}"));
            return (input, 0, None);
        }
    };
    let probe_options = ProbeOptions {
        regions: shared.options.regions.clone(),
        clusters: ClusterSelection::All,
        concurrency: shared.options.concurrency,
        keys: false,
        keys_user: None,
        // The console check simulates the caller: the audit role, not a person.
        console: false,
        follow_up: shared.options.follow_up.clone(),
    };
    // Nobody listens to this round's updates: the report is built at the end.
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    let round = stream_probes_limited(&live, &probe_options, tx, shared.limit.clone());
    let keys = async {
        if shared.options.keys {
            Some(credential_report(&live, &shared.limit).await)
        } else {
            None
        }
    };
    let (snap, keys) = tokio::join!(round, keys);
    let mut exhausted = snap
        .problems
        .iter()
        .filter(|p| matches!(p, ProbeError::Throttled { .. }))
        .count() as u64;
    let mut findings: Vec<Finding> = snap
        .all_findings()
        .into_iter()
        .filter(|f| !CALLER_RULES.contains(&f.rule))
        .collect();
    match keys {
        Some(Ok(k)) => input.keys = Some(k),
        Some(Err(e)) => {
            exhausted += u64::from(matches!(e, ProbeError::Throttled { .. }));
            let denied = crate::findings::probe_denied(std::slice::from_ref(&e));
            if denied.is_empty() {
                findings.push(
                    Finding::new(
                        rules::CREDS_PROBE_DENIED,
                        "the credential report could not be read: key hygiene is unknown",
                    )
                    .severity(eksdoctor_core::finding::Severity::Info)
                    .evidence("error", e.to_string()),
                );
            } else {
                findings.extend(denied);
            }
        }
        None => {}
    }
    input.regions = regions_of(&snap);
    input.findings = findings;
    (input, exhausted, Some(snap))
}

/// Check every account in `targets` through `management` (the caller's
/// connected run; `base` is its config, reused with each account's session).
pub async fn run(
    base: &LiveConfig,
    management: &Live,
    targets: Vec<AccountTarget>,
    options: &FleetOptions,
) -> FleetRun {
    // The partition (aws, aws-cn, aws-us-gov) of the role ARNs: the
    // caller's, which its region names (no call, so every account starts
    // one round trip sooner).
    let partition = eksdoctor_core::arn::partition_of_region(management.region()).to_owned();
    let shared = Arc::new(Shared {
        base: base.clone(),
        management: management.clone(),
        options: options.clone(),
        partition,
        limit: Arc::new(Semaphore::new(options.concurrency.max(1))),
        accounts: Semaphore::new(options.concurrency.max(8)),
        http: crate::config::https_client(),
        throttles: options.throttles.clone(),
    });
    let mut set = JoinSet::new();
    for t in targets {
        set.spawn(check_account(shared.clone(), t));
    }
    let mut accounts = Vec::new();
    let mut snapshots = BTreeMap::new();
    let mut exhausted = 0;
    while let Some(r) = set.join_next().await {
        if let Ok((a, e, snap)) = r {
            if let Some(snap) = snap {
                snapshots.insert(a.account_id.clone(), snap);
            }
            accounts.push(a);
            exhausted += e;
        }
    }
    let by_service = shared.throttles.snapshot();
    FleetRun {
        accounts,
        throttles: Throttles {
            total: by_service.values().sum(),
            by_service,
            exhausted,
        },
        snapshots,
    }
}
