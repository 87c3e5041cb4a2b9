//! The Kubernetes probes of `check` and the live dashboard, from the flags:
//! for each cluster the round describes, ask the cluster itself
//! (eksdoctor-kube): who it thinks the caller is, aws-auth through the
//! engine, the console's reads, `--can`, and the kubeconfig context that
//! points at it. They run inside the AWS round (same --concurrency, same
//! --timeout); a cluster that does not answer is a cluster/unreachable
//! finding, never a hang.

use std::sync::Arc;

use eksdoctor_aws::ClusterFollowUp;
use eksdoctor_kube::cluster::{Can, Prober};

use crate::cli::CheckArgs;
use crate::error::CliError;

/// The probes for `check`'s flags; `None` with `--no-kubernetes`.
///
/// # Errors
/// An unreadable `--kube-ca` file (exit 2).
pub fn prober(args: &CheckArgs) -> Result<Option<Arc<dyn ClusterFollowUp>>, CliError> {
    if args.no_kubernetes {
        return Ok(None);
    }
    let ca_pem = args
        .kube_ca
        .as_deref()
        .map(crate::input::read_text)
        .transpose()?;
    let can = match args.can.as_slice() {
        [verb, resource] => Some(Can {
            verb: verb.clone(),
            resource: resource.clone(),
            namespace: args.namespace.clone(),
        }),
        _ => None,
    };
    Ok(Some(Arc::new(Prober {
        endpoint: args.kube_endpoint.clone(),
        ca_pem,
        can,
        contexts: eksdoctor_kube::kubeconfig::default_contexts(),
        timeout: None,
    })))
}

/// The probes for the live dashboard: every cluster, no `--can`.
#[must_use]
pub fn dashboard_prober() -> Arc<dyn ClusterFollowUp> {
    Arc::new(Prober {
        contexts: eksdoctor_kube::kubeconfig::default_contexts(),
        ..Prober::default()
    })
}

/// The probes for `check --org`: each cluster as the account's read-only
/// role (aws-auth through the engine, reachability), with no kubeconfig (the
/// runner's contexts say nothing of the members' clusters) and no `--can`.
/// `None` with `--no-kubernetes`.
///
/// # Errors
/// An unreadable `--kube-ca` file (exit 2).
pub fn fleet_prober(args: &CheckArgs) -> Result<Option<Arc<dyn ClusterFollowUp>>, CliError> {
    if args.no_kubernetes {
        return Ok(None);
    }
    let ca_pem = args
        .kube_ca
        .as_deref()
        .map(crate::input::read_text)
        .transpose()?;
    Ok(Some(Arc::new(Prober {
        endpoint: args.kube_endpoint.clone(),
        ca_pem,
        ..Prober::default()
    })))
}
