//! What the dashboard is fed: probe results, arriving on one channel in any
//! order, each tagged with the refresh round that asked for it so a late
//! answer from an abandoned round never overwrites a fresh one.

use eksdoctor_core::access_path::{AwsAuthAnswer, KubernetesIdentity, RbacCheck};
use eksdoctor_core::podid::live::PodCredential;
use eksdoctor_core::snapshot::{Mapping, Probe, ProbeUpdate};
use eksdoctor_core::sts::EndpointRow;
use tokio::sync::mpsc::UnboundedSender;

/// One piece of data for the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub enum Feed {
    /// A live probe's answer (the contract in `eksdoctor_core::snapshot`).
    Probe(ProbeUpdate),
    /// How the caller is mapped through aws-auth on a cluster, when the
    /// ConfigMap could be read (the demo; live only with Kubernetes access).
    AwsAuthMapping {
        region: String,
        name: String,
        mapping: Probe<Option<Mapping>>,
    },
    /// The STS endpoint each of a cluster's workloads resolves to
    /// (`core::sts`), when its manifests could be read.
    StsWorkloads {
        region: String,
        name: String,
        workloads: Probe<Vec<EndpointRow>>,
    },
    /// What aws-auth says about the caller, with the line of the entry
    /// (supersedes `AwsAuthMapping`, which carries no line).
    AwsAuth {
        region: String,
        name: String,
        answer: Probe<AwsAuthAnswer>,
    },
    /// Who the cluster says the caller is (SelfSubjectReview).
    KubernetesIdentity {
        region: String,
        name: String,
        identity: Probe<KubernetesIdentity>,
    },
    /// What RBAC lets the caller do (console and kubectl verbs).
    Rbac {
        region: String,
        name: String,
        checks: Probe<Vec<RbacCheck>>,
    },
    /// Which credentials each workload really gets, read live
    /// (`core::podid::live`: IRSA, Pod Identity or the node role).
    PodCredentials {
        region: String,
        name: String,
        workloads: Probe<Vec<PodCredential>>,
    },
}

impl From<ProbeUpdate> for Feed {
    fn from(u: ProbeUpdate) -> Self {
        Self::Probe(u)
    }
}

/// Where the feed goes: a clonable handle the sources send through.
#[derive(Debug, Clone)]
pub struct FeedSink {
    round: u64,
    tx: UnboundedSender<(u64, Feed)>,
}

impl FeedSink {
    #[must_use]
    pub fn new(round: u64, tx: UnboundedSender<(u64, Feed)>) -> Self {
        Self { round, tx }
    }

    /// Send one update; `false` once the dashboard has gone.
    pub fn send(&self, feed: impl Into<Feed>) -> bool {
        self.tx.send((self.round, feed.into())).is_ok()
    }

    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    #[must_use]
    pub fn round(&self) -> u64 {
        self.round
    }
}

/// Something that fills the dashboard: the live probes or the demo scenario.
/// `start` is called once at launch and again on each refresh (`r`); it
/// must return at once and do its work on tasks of its own, abandoning the
/// previous round's.
pub trait FeedSource: Send {
    fn start(&mut self, sink: FeedSink);
}
