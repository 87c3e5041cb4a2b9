//! Live, read-only probes. One `SdkConfig` per run; each probe is a narrow
//! async function that returns `eksdoctor_core::snapshot` types, never SDK
//! types, so the same rules run on live and on saved data.
//!
//! # Using it (the binary, the dashboard)
//! ```no_run
//! # async fn demo() -> Result<(), eksdoctor_aws::ProbeError> {
//! use eksdoctor_aws::{ClusterSelection, LiveConfig, ProbeOptions};
//! // From the global flags: --profile, --region, --endpoint-url.
//! let live = LiveConfig::new(Some("dev"), Some("eu-west-1"), None).connect().await?;
//! let options = ProbeOptions { clusters: ClusterSelection::All, ..ProbeOptions::default() };
//! let (tx, mut rx) = tokio::sync::mpsc::channel(64);
//! let round = tokio::spawn(async move { eksdoctor_aws::stream_probes(&live, &options, tx).await });
//! while let Some(update) = rx.recv().await {
//!     // ProbeUpdate::Identity / ClusterList / Cluster / CallerAccessEntry /
//!     // OidcProvider / AccessKeys as each probe finishes, then Findings, then Done.
//!     let _ = update;
//! }
//! let snapshot = round.await.ok();
//! # let _ = snapshot; Ok(()) }
//! ```
//! [`LiveConfig::connect`] fails (and live probing cannot run: exit 3) when
//! there is no region or the credential chain yields nothing;
//! [`findings::for_connect_error`] turns that into the creds/* finding.
//!
//! # Layout
//! - [`config`]: the one `SdkConfig` (pinned behaviour version, timeouts,
//!   standard retries) and the guarded clients.
//! - [`guard`]: the read-only interceptor and its allowlist (also the shipped
//!   least-privilege policy).
//! - [`error`]: SDK errors classified (denied, throttled, expired, ...).
//! - [`sts`], [`eks`], [`iam`]: the probes.
//! - [`policies`]: every policy that decides one request (`explain --live`).
//! - [`token`]: the EKS bearer token (`eksdoctor token`).
//! - [`round`]: the concurrent round, streamed as `ProbeUpdate`s, collected
//!   into a [`LiveSnapshot`] (core's one model of the answers, plus the
//!   probe failures); [`round::ClusterFollowUp`] lets the Kubernetes probes
//!   join each cluster.
//! - [`fleet`], [`fleet_pace`]: `check --org`, every account of an organization, paced.
//! - [`findings`]: what the answers mean (creds/*, probe-denied, irsa, sts, cluster).
//! - [`kube_target`]: the Kubernetes endpoint from DescribeCluster, the EKS token.
//!
//! `round` collects and `findings` interprets; neither imports the other:
//! [`stream_probes`] runs one, then the other.

pub mod config;
pub mod eks;
pub mod error;
pub mod findings;
pub mod fleet;
pub mod fleet_pace;
pub mod guard;
pub mod iam;
pub mod kube_target;
pub mod podid;
pub mod policies;
pub mod regions;
pub mod round;
pub mod source;
pub mod sts;
pub mod token;

pub use config::{Live, LiveConfig};
pub use error::ProbeError;
pub use regions::RegionSelection;
pub use round::{ClusterFollowUp, ClusterProbes, ClusterSelection, FollowUp, ProbeOptions};

use eksdoctor_core::finding::Finding;
use eksdoctor_core::snapshot::{ProbeUpdate, Snapshot};

/// A finished round: core's model of every answer ([`Snapshot`], which
/// this derefs to), plus what only the live side knows: every probe
/// failure and the credential facts, for the creds/* findings.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSnapshot {
    pub snapshot: Snapshot,
    /// Every probe failure, in arrival order.
    pub problems: Vec<ProbeError>,
    /// The live config's credential facts, for the creds/* fixes.
    pub credential_source: source::CredentialSource,
    /// The access key id the run signs with (not a secret; shown masked).
    pub access_key_id: String,
}

impl std::ops::Deref for LiveSnapshot {
    type Target = Snapshot;
    fn deref(&self) -> &Snapshot {
        &self.snapshot
    }
}

impl std::ops::DerefMut for LiveSnapshot {
    fn deref_mut(&mut self) -> &mut Snapshot {
        &mut self.snapshot
    }
}

impl LiveSnapshot {
    /// The fatal problem, if live probing could not run at all.
    #[must_use]
    pub fn fatal(&self) -> Option<&ProbeError> {
        if self.snapshot.identity.ready().is_some() {
            return None;
        }
        self.problems.iter().find(|p| p.is_fatal())
    }

    /// Every finding of the round: what the AWS answers mean
    /// ([`findings::derive`]) and what the follow-up probes found.
    #[must_use]
    pub fn all_findings(&self) -> Vec<Finding> {
        let mut f = findings::derive(self);
        f.extend(self.snapshot.findings.iter().cloned());
        f
    }
}

/// Run the whole round: send each [`ProbeUpdate`] on `tx` as its probe
/// finishes (then the derived `Findings`, then `Done`), and return the
/// collected snapshot. A closed `tx` does not stop the round.
pub async fn stream_probes(
    live: &Live,
    options: &ProbeOptions,
    tx: tokio::sync::mpsc::Sender<ProbeUpdate>,
) -> LiveSnapshot {
    let snap = round::run(live, options, &tx).await;
    let derived = findings::derive(&snap);
    let _ = tx.send(ProbeUpdate::Findings(derived)).await;
    let _ = tx.send(ProbeUpdate::Done).await;
    snap
}

/// [`stream_probes`] under a limit shared with other rounds (the fleet run:
/// one global bound over every account's calls; `options.concurrency` is
/// then unused).
pub async fn stream_probes_limited(
    live: &Live,
    options: &ProbeOptions,
    tx: tokio::sync::mpsc::Sender<ProbeUpdate>,
    limit: std::sync::Arc<tokio::sync::Semaphore>,
) -> LiveSnapshot {
    let snap = round::run_limited(live, options, &tx, limit).await;
    let derived = findings::derive(&snap);
    let _ = tx.send(ProbeUpdate::Findings(derived)).await;
    let _ = tx.send(ProbeUpdate::Done).await;
    snap
}

/// Run `fut` under the live config's per-probe deadline.
pub(crate) async fn timed<T, F>(live: &Live, permission: &str, fut: F) -> Result<T, ProbeError>
where
    F: std::future::Future<Output = Result<T, ProbeError>>,
{
    tokio::time::timeout(live.probe_timeout(), fut)
        .await
        .unwrap_or_else(|_| {
            Err(ProbeError::TimedOut {
                permission: permission.to_owned(),
            })
        })
}
