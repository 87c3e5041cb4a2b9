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
//! - [`token`]: the EKS bearer token (`eksdoctor token`).
//! - [`round`]: the concurrent round, streamed as `ProbeUpdate`s.
//! - [`fleet`], [`fleet_pace`]: `check --org`, every account of an organization, paced.
//! - [`findings`]: what the answers mean (creds/*, probe-denied, irsa, sts, cluster).

pub mod config;
pub mod eks;
pub mod error;
pub mod findings;
pub mod fleet;
pub mod fleet_pace;
pub mod guard;
pub mod iam;
pub mod kube_target;
pub mod regions;
pub mod round;
pub mod source;
pub mod sts;
pub mod token;

pub use config::{Live, LiveConfig};
pub use error::ProbeError;
pub use regions::RegionSelection;
pub use round::{
    ClusterProbes, ClusterSelection, LiveSnapshot, ProbeOptions, stream_probes,
    stream_probes_limited,
};

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
