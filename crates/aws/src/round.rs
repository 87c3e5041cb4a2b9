//! One round of probes, run concurrently, streamed as [`ProbeUpdate`]s.
//!
//! The identity comes first (everything else keys on it); then keys, the
//! caller's role, the IAM OIDC providers and every region's clusters run at
//! once, each cluster's DescribeCluster fanning out into its access entry,
//! OIDC provider and console-permission probes. A semaphore bounds the calls
//! in flight (`--concurrency`); each probe has its own deadline; a failed
//! probe becomes a `Probe::Denied` / `TimedOut` / `Failed` section and never
//! stops the others.

use std::collections::BTreeMap;
use std::sync::Arc;

use eksdoctor_core::arn::{Principal, PrincipalKind};
use eksdoctor_core::snapshot::{
    AccessEntry, AccessKey, CallerIdentity, Cluster, IamRole, Probe, ProbeUpdate,
};
use tokio::sync::{OnceCell, Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::config::Live;
use crate::error::ProbeError;
use crate::iam::SimulatedDecision;
use crate::regions::RegionSelection;
use crate::{eks, iam, regions, sts};

/// Which clusters to probe.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClusterSelection {
    /// No cluster probes (identity and keys only).
    #[default]
    None,
    /// One cluster by name.
    One(String),
    /// Every cluster in the regions.
    All,
}

/// What a round probes.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub regions: RegionSelection,
    pub clusters: ClusterSelection,
    /// Calls in flight at once (at least 1).
    pub concurrency: usize,
    /// Probe access keys (of `keys_user`, else of the caller when it is an IAM user).
    pub keys: bool,
    pub keys_user: Option<String>,
    /// Check the console's permissions on each cluster with SimulatePrincipalPolicy.
    pub console: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            regions: RegionSelection::Home,
            clusters: ClusterSelection::None,
            concurrency: 16,
            keys: true,
            keys_user: None,
            console: true,
        }
    }
}

/// What the console needs on a cluster to show it and its Kubernetes objects
/// ("View Kubernetes resources in the AWS Management Console").
pub const CONSOLE_ACTIONS: &[&str] = &[
    "eks:ListClusters",
    "eks:DescribeCluster",
    "eks:ListNodegroups",
    "eks:DescribeNodegroup",
    "eks:ListFargateProfiles",
    "eks:ListUpdates",
    "eks:ListAddons",
    "eks:DescribeAddonVersions",
    "eks:ListIdentityProviderConfigs",
    "eks:AccessKubernetesApi",
];

/// Everything one cluster's probes found.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterProbes {
    pub region: String,
    pub name: String,
    pub cluster: Probe<Cluster>,
    /// The caller's access entry (`Ready(None)`: the caller has none).
    pub entry: Probe<Option<AccessEntry>>,
    /// Whether the IAM OIDC provider for the issuer exists.
    pub oidc_provider: Probe<bool>,
    /// The console's permissions, simulated for the caller.
    pub console: Probe<Vec<SimulatedDecision>>,
}

impl ClusterProbes {
    fn new(region: &str, name: &str) -> Self {
        Self {
            region: region.to_owned(),
            name: name.to_owned(),
            cluster: Probe::Pending,
            entry: Probe::Pending,
            oidc_provider: Probe::Pending,
            console: Probe::Pending,
        }
    }
}

/// The whole round's answers, plus every probe failure (for the findings).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSnapshot {
    pub identity: Probe<CallerIdentity>,
    /// The caller's role (assumed-role and role callers): path and trust policy.
    pub caller_role: Option<Probe<IamRole>>,
    pub keys: Option<Probe<Vec<AccessKey>>>,
    /// The user whose keys were listed.
    pub keys_user: Option<String>,
    /// ListClusters per region.
    pub regions: BTreeMap<String, Probe<Vec<String>>>,
    /// Per (region, cluster).
    pub clusters: BTreeMap<(String, String), ClusterProbes>,
    /// Every probe failure, in arrival order.
    pub problems: Vec<ProbeError>,
    /// The live config's credential facts, for the creds/* fixes.
    pub credential_source: crate::source::CredentialSource,
    /// The access key id the run signs with (not a secret; shown masked).
    pub access_key_id: String,
}

impl LiveSnapshot {
    /// The fatal problem, if live probing could not run at all.
    #[must_use]
    pub fn fatal(&self) -> Option<&ProbeError> {
        if self.identity.ready().is_some() {
            return None;
        }
        self.problems.iter().find(|p| p.is_fatal())
    }
}

/// A probe result as a panel state.
#[must_use]
pub fn to_probe<T>(r: Result<T, ProbeError>) -> Probe<T> {
    match r {
        Ok(t) => Probe::Ready(t),
        Err(ProbeError::Denied { permission, .. }) => Probe::Denied { permission },
        Err(ProbeError::TimedOut { .. }) => Probe::TimedOut,
        Err(e) => Probe::Failed {
            message: e.to_string(),
        },
    }
}

/// What tasks report to the collector.
enum Event {
    Update(ProbeUpdate),
    Role(Probe<IamRole>),
    Console {
        region: String,
        name: String,
        decisions: Probe<Vec<SimulatedDecision>>,
    },
    Problem(ProbeError),
}

struct Ctx {
    live: Live,
    sem: Arc<Semaphore>,
    identity: CallerIdentity,
    oidc: OnceCell<Result<Vec<String>, ProbeError>>,
    /// The caller's role (GetRole), fetched once.
    role: OnceCell<Result<IamRole, ProbeError>>,
    events: mpsc::UnboundedSender<Event>,
    console: bool,
    /// One region only: a named cluster is described directly, not listed first.
    single_region: bool,
}

impl Ctx {
    /// Run one probe under the concurrency bound; report its failure.
    async fn probe<T, F>(&self, fut: F) -> Result<T, ProbeError>
    where
        F: std::future::Future<Output = Result<T, ProbeError>>,
    {
        let _permit = self.sem.acquire().await;
        let r = fut.await;
        if let Err(e) = &r {
            let _ = self.events.send(Event::Problem(e.clone()));
        }
        r
    }

    fn send(&self, u: ProbeUpdate) {
        let _ = self.events.send(Event::Update(u));
    }

    /// GetRole for a role or assumed-role caller, once.
    async fn caller_role(&self) -> Option<Result<IamRole, ProbeError>> {
        let name = Principal::parse(&self.identity.arn)
            .ok()
            .and_then(|p| p.role_name().map(str::to_owned))?;
        Some(
            self.role
                .get_or_init(|| self.probe(iam::get_role(&self.live, &name)))
                .await
                .clone(),
        )
    }

    /// The principal SimulatePrincipalPolicy takes for the caller: the user,
    /// or for a role session the role's real ARN (path included; an STS
    /// session ARN cannot be simulated). `None` for root and federated users.
    async fn simulation_principal(&self) -> Option<String> {
        match self.identity.kind {
            PrincipalKind::User => Some(self.identity.arn.clone()),
            PrincipalKind::Role | PrincipalKind::AssumedRole => match self.caller_role().await {
                Some(Ok(role)) => Some(role.arn),
                _ => Some(self.identity.canonical_arn.clone()),
            },
            _ => None,
        }
    }

    async fn providers(&self) -> Result<Vec<String>, ProbeError> {
        self.oidc
            .get_or_init(|| self.probe(iam::oidc_providers(&self.live)))
            .await
            .clone()
    }
}

/// Run the whole round: send each [`ProbeUpdate`] on `tx` as its probe
/// finishes (then the derived `Findings`, then `Done`), and return the
/// collected snapshot. A closed `tx` does not stop the round.
pub async fn stream_probes(
    live: &Live,
    options: &ProbeOptions,
    tx: mpsc::Sender<ProbeUpdate>,
) -> LiveSnapshot {
    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    stream_probes_limited(live, options, tx, limit).await
}

/// [`stream_probes`] under a limit shared with other rounds (the fleet run:
/// one global bound over every account's calls; `options.concurrency` is
/// then unused).
pub async fn stream_probes_limited(
    live: &Live,
    options: &ProbeOptions,
    tx: mpsc::Sender<ProbeUpdate>,
    limit: Arc<Semaphore>,
) -> LiveSnapshot {
    let mut snap = LiveSnapshot {
        identity: Probe::Pending,
        caller_role: None,
        keys: None,
        keys_user: None,
        regions: BTreeMap::new(),
        clusters: BTreeMap::new(),
        problems: Vec::new(),
        credential_source: live.credential_source().clone(),
        access_key_id: live.access_key_id().to_owned(),
    };
    let identity = {
        let _permit = limit.acquire().await;
        sts::caller_identity(live).await
    };
    if let Err(e) = &identity {
        snap.problems.push(e.clone());
    }
    snap.identity = to_probe(identity.clone());
    let _ = tx.send(ProbeUpdate::Identity(snap.identity.clone())).await;
    let Ok(identity) = identity else {
        finish(&mut snap, &tx).await;
        return snap;
    };

    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let ctx = Arc::new(Ctx {
        live: live.clone(),
        sem: limit,
        identity: identity.clone(),
        oidc: OnceCell::new(),
        role: OnceCell::new(),
        events: events_tx,
        console: options.console,
        single_region: match &options.regions {
            RegionSelection::Home => true,
            RegionSelection::List(l) => l.len() == 1,
            RegionSelection::All => false,
        },
    });
    let mut tasks = JoinSet::new();

    // Keys: of --user, else of the caller when it is an IAM user.
    let keys_user = options.keys_user.clone().or_else(|| {
        (identity.kind == PrincipalKind::User)
            .then(|| Principal::parse(&identity.arn).ok().map(|p| p.name))
            .flatten()
    });
    if options.keys && keys_user.is_some() {
        snap.keys_user.clone_from(&keys_user);
        let ctx = ctx.clone();
        tasks.spawn(async move {
            let r = ctx
                .probe(iam::access_keys(&ctx.live, keys_user.as_deref()))
                .await;
            ctx.send(ProbeUpdate::AccessKeys(to_probe(r)));
        });
    }

    // The caller's role (role and assumed-role callers): its path (access
    // entries need it) and trust policy.
    {
        let ctx = ctx.clone();
        tasks.spawn(async move {
            if let Some(r) = ctx.caller_role().await {
                let _ = ctx.events.send(Event::Role(to_probe(r)));
            }
        });
    }

    // Clusters, per region.
    if options.clusters != ClusterSelection::None {
        let region_list = match &options.regions {
            RegionSelection::Home => vec![live.region().to_owned()],
            RegionSelection::List(l) => l.clone(),
            RegionSelection::All => regions::eks_regions(live.region())
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
        };
        for region in region_list {
            let ctx = ctx.clone();
            let selection = options.clusters.clone();
            tasks.spawn(async move { region_task(ctx, region, selection).await });
        }
    }
    drop(ctx);

    // Collect until every task (and so every sender) is gone.
    let collect = async {
        while let Some(ev) = events_rx.recv().await {
            apply(&mut snap, ev, &tx).await;
        }
    };
    let join = async { while tasks.join_next().await.is_some() {} };
    tokio::join!(collect, join);
    finish(&mut snap, &tx).await;
    snap
}

async fn region_task(ctx: Arc<Ctx>, region: String, selection: ClusterSelection) {
    let names = match &selection {
        // One named cluster in one region: no need to list.
        ClusterSelection::One(name) if ctx.single_region => vec![name.clone()],
        _ => {
            let r = ctx
                .probe(eks::list_clusters(&ctx.live, &region))
                .await
                .map_err(|e| match e {
                    // The identity already answered, so the keys are good:
                    // an opt-in region the account has not enabled.
                    ProbeError::Invalid(m) => ProbeError::Other(format!(
                        "region {region} rejects the credentials (an opt-in region not enabled for this account?): {m}"
                    )),
                    other => other,
                });
            ctx.send(ProbeUpdate::ClusterList {
                region: region.clone(),
                clusters: to_probe(r.clone()),
            });
            let Ok(all) = r else { return };
            match &selection {
                ClusterSelection::One(name) => all.into_iter().filter(|n| n == name).collect(),
                _ => all,
            }
        }
    };
    let mut set = JoinSet::new();
    for name in names {
        let ctx = ctx.clone();
        let region = region.clone();
        set.spawn(async move { cluster_task(ctx, region, name).await });
    }
    while set.join_next().await.is_some() {}
}

async fn cluster_task(ctx: Arc<Ctx>, region: String, name: String) {
    let described = ctx
        .probe(eks::describe_cluster(&ctx.live, &region, &name))
        .await;
    ctx.send(ProbeUpdate::Cluster {
        region: region.clone(),
        name: name.clone(),
        cluster: to_probe(described.clone()),
    });
    let cluster = described.ok();
    let mode = cluster.as_ref().and_then(|c| c.authentication_mode);

    let entry = async {
        let probe = if mode.is_some_and(|m| !m.uses_access_entries()) {
            // CONFIG_MAP clusters have no access entries to list.
            Probe::Ready(None)
        } else {
            to_probe(
                ctx.probe(eks::caller_access_entry(
                    &ctx.live,
                    &region,
                    &name,
                    &ctx.identity.canonical_arn,
                ))
                .await,
            )
        };
        ctx.send(ProbeUpdate::CallerAccessEntry {
            region: region.clone(),
            name: name.clone(),
            entry: probe,
        });
    };
    let oidc = async {
        let present = match cluster.as_ref().and_then(|c| c.oidc_issuer.clone()) {
            Some(issuer) => match ctx.providers().await {
                Ok(p) => Probe::Ready(iam::issuer_has_provider(&issuer, &p)),
                Err(e) => to_probe::<bool>(Err(e)),
            },
            None if cluster.is_some() => Probe::Failed {
                message: "the cluster has no OIDC issuer".to_owned(),
            },
            None => Probe::Failed {
                message: "DescribeCluster did not answer".to_owned(),
            },
        };
        ctx.send(ProbeUpdate::OidcProvider {
            region: region.clone(),
            name: name.clone(),
            present,
        });
    };
    let console = async {
        if !ctx.console {
            return;
        }
        let Some(arn) = cluster.as_ref().and_then(|c| c.arn.clone()) else {
            return;
        };
        let decisions = match ctx.simulation_principal().await {
            Some(principal) => to_probe(
                ctx.probe(iam::simulate(&ctx.live, &principal, CONSOLE_ACTIONS, &arn))
                    .await,
            ),
            None => Probe::Failed {
                message: "IAM cannot simulate this kind of principal (root, federated user)"
                    .to_owned(),
            },
        };
        let _ = ctx.events.send(Event::Console {
            region: region.clone(),
            name: name.clone(),
            decisions,
        });
    };
    tokio::join!(entry, oidc, console);
}

async fn apply(snap: &mut LiveSnapshot, ev: Event, tx: &mpsc::Sender<ProbeUpdate>) {
    match ev {
        Event::Problem(e) => snap.problems.push(e),
        Event::Role(r) => snap.caller_role = Some(r),
        Event::Console {
            region,
            name,
            decisions,
        } => {
            snap.clusters
                .entry((region.clone(), name.clone()))
                .or_insert_with(|| ClusterProbes::new(&region, &name))
                .console = decisions;
        }
        Event::Update(u) => {
            match &u {
                ProbeUpdate::AccessKeys(k) => snap.keys = Some(k.clone()),
                ProbeUpdate::ClusterList { region, clusters } => {
                    snap.regions.insert(region.clone(), clusters.clone());
                }
                ProbeUpdate::Cluster {
                    region,
                    name,
                    cluster,
                } => {
                    cluster_entry(snap, region, name).cluster = cluster.clone();
                }
                ProbeUpdate::CallerAccessEntry {
                    region,
                    name,
                    entry,
                } => {
                    cluster_entry(snap, region, name).entry = entry.clone();
                }
                ProbeUpdate::OidcProvider {
                    region,
                    name,
                    present,
                } => {
                    cluster_entry(snap, region, name).oidc_provider = present.clone();
                }
                _ => {}
            }
            let _ = tx.send(u).await;
        }
    }
}

fn cluster_entry<'a>(
    snap: &'a mut LiveSnapshot,
    region: &str,
    name: &str,
) -> &'a mut ClusterProbes {
    snap.clusters
        .entry((region.to_owned(), name.to_owned()))
        .or_insert_with(|| ClusterProbes::new(region, name))
}

async fn finish(snap: &mut LiveSnapshot, tx: &mpsc::Sender<ProbeUpdate>) {
    for c in snap.clusters.values_mut() {
        if c.console == Probe::Pending {
            c.console = Probe::Failed {
                message: "not checked".to_owned(),
            };
        }
    }
    let findings = crate::findings::derive(snap);
    let _ = tx.send(ProbeUpdate::Findings(findings)).await;
    let _ = tx.send(ProbeUpdate::Done).await;
}
