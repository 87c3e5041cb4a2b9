//! One round of probes, run concurrently, streamed as [`ProbeUpdate`]s.
//!
//! The identity comes first (everything else keys on it); then keys, the
//! caller's role, the IAM OIDC providers and every region's clusters run at
//! once, each cluster's DescribeCluster fanning out into its access entry,
//! OIDC provider and console-permission probes. A semaphore bounds the calls
//! in flight (`--concurrency`); each probe has its own deadline; a failed
//! probe becomes a `Probe::Denied` / `TimedOut` / `Failed` section and never
//! stops the others.
//!
//! Probes that live in another crate (the Kubernetes probes of
//! eksdoctor-kube, which depends on this one) join each described cluster
//! through [`ClusterFollowUp`]: they run inside the round, under the same
//! permits, and send their answers on the same stream.
//!
//! The round only collects ([`crate::LiveSnapshot`]); what the answers mean
//! is [`crate::findings`]'s, run once the round is over by
//! [`crate::stream_probes`].

use std::pin::Pin;
use std::sync::Arc;

use eksdoctor_core::arn::{Principal, PrincipalKind};
use eksdoctor_core::finding::Finding;
pub use eksdoctor_core::snapshot::ClusterProbes;
use eksdoctor_core::snapshot::{
    ApiEndpoint, CallerIdentity, Cluster, IamRole, KubeUpdate, Probe, ProbeUpdate, Snapshot,
};
use tokio::sync::{OnceCell, Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::config::Live;
use crate::error::ProbeError;
use crate::regions::RegionSelection;
use crate::{LiveSnapshot, eks, iam, kube_target, regions, sts};

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
    /// Probes each described cluster also gets (the Kubernetes probes); `None`: off.
    pub follow_up: Option<Arc<dyn ClusterFollowUp>>,
}

/// More probes for each described cluster, from another crate: run inside
/// the round (same permits, same stream). `run` must end by itself (its
/// own deadlines); the round waits for it.
pub trait ClusterFollowUp: Send + Sync + std::fmt::Debug {
    fn run<'a>(&'a self, job: FollowUp<'a>) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// One described cluster, handed to a [`ClusterFollowUp`].
pub struct FollowUp<'a> {
    pub live: &'a Live,
    pub cluster: &'a Cluster,
    pub api: &'a ApiEndpoint,
    pub identity: &'a CallerIdentity,
    ctx: &'a Ctx,
}

impl FollowUp<'_> {
    /// The round's permits (`--concurrency`): hold one per call.
    #[must_use]
    pub fn permits(&self) -> &Semaphore {
        &self.ctx.sem
    }

    /// Send one of this cluster's Kubernetes answers.
    pub fn send(&self, update: KubeUpdate) {
        self.ctx.send(ProbeUpdate::Kubernetes {
            region: self.cluster.region.clone(),
            name: self.cluster.name.clone(),
            update,
        });
    }

    /// Send findings about this cluster; each names the cluster and its
    /// region in its evidence (unless it already does), so reports scope it.
    pub fn findings(&self, mut findings: Vec<Finding>) {
        if findings.is_empty() {
            return;
        }
        for f in &mut findings {
            for (key, value) in [
                ("cluster", &self.cluster.name),
                ("region", &self.cluster.region),
            ] {
                f.evidence
                    .entry(key.to_owned())
                    .or_insert_with(|| value.clone().into());
            }
        }
        self.ctx.send(ProbeUpdate::Findings(findings));
    }
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
            follow_up: None,
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
    follow_up: Option<Arc<dyn ClusterFollowUp>>,
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
/// finishes, and return the collected snapshot (settled: see [`settle`]).
/// A closed `tx` does not stop the round.
pub async fn run(
    live: &Live,
    options: &ProbeOptions,
    tx: &mpsc::Sender<ProbeUpdate>,
) -> LiveSnapshot {
    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    run_limited(live, options, tx, limit).await
}

/// [`run`] under a limit shared with other rounds (the fleet run: one
/// global bound over every account's calls; `options.concurrency` is then
/// unused).
pub async fn run_limited(
    live: &Live,
    options: &ProbeOptions,
    tx: &mpsc::Sender<ProbeUpdate>,
    limit: Arc<Semaphore>,
) -> LiveSnapshot {
    let mut snap = LiveSnapshot {
        snapshot: Snapshot::default(),
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
        settle(&mut snap);
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
        follow_up: options.follow_up.clone(),
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
                ctx.send(ProbeUpdate::CallerRole(to_probe(r)));
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
            match ev {
                Event::Problem(e) => snap.problems.push(e),
                Event::Update(u) => {
                    snap.snapshot.apply(u.clone());
                    let _ = tx.send(u).await;
                }
            }
        }
    };
    let join = async { while tasks.join_next().await.is_some() {} };
    tokio::join!(collect, join);
    settle(&mut snap);
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
        .probe(kube_target::describe(&ctx.live, &region, &name))
        .await;
    ctx.send(ProbeUpdate::Cluster {
        region: region.clone(),
        name: name.clone(),
        cluster: to_probe(described.clone().map(|(c, _)| c)),
    });
    let (cluster, api) = match described {
        Ok((c, api)) => {
            ctx.send(ProbeUpdate::ApiEndpoint {
                region: region.clone(),
                name: name.clone(),
                api: api.clone(),
            });
            (Some(c), Some(api))
        }
        Err(_) => (None, None),
    };
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
        ctx.send(ProbeUpdate::Console {
            region: region.clone(),
            name: name.clone(),
            decisions,
        });
    };
    let follow_up = async {
        if let (Some(f), Some(cluster), Some(api)) = (&ctx.follow_up, &cluster, &api) {
            f.run(FollowUp {
                live: &ctx.live,
                cluster,
                api,
                identity: &ctx.identity,
                ctx: &ctx,
            })
            .await;
        }
    };
    tokio::join!(entry, oidc, console, follow_up);
}

/// After the round: a console check that never ran says so.
pub fn settle(snap: &mut LiveSnapshot) {
    for c in snap.snapshot.clusters.values_mut() {
        if c.console == Probe::Pending {
            c.console = Probe::Failed {
                message: "not checked".to_owned(),
            };
        }
    }
}
