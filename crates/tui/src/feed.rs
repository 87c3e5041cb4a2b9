//! What the dashboard is fed: probe results, arriving on one channel in any
//! order, each tagged with the refresh round that asked for it so a late
//! answer from an abandoned round never overwrites a fresh one.

use eksdoctor_core::access_path::{AwsAuthAnswer, KubernetesIdentity, RbacCheck};
use eksdoctor_core::finding::Finding;
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
    /// The live answer to the Explain box's text (`explain --live`'s
    /// engine), for the request the dashboard numbered `request`. Not tied
    /// to a refresh round: `r` does not abandon it.
    ExplainLive { request: u64, answer: LiveAnswer },
}

/// What the account's real policies say about the Explain box's denials.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveAnswer {
    /// The text's findings, each denial that could be checked rewritten:
    /// the deciding statement (evidence `live`) and the smallest fix.
    Answered {
        findings: Vec<Finding>,
        /// Read-only calls made.
        reads: usize,
    },
    /// No denial in the text names an IAM user or role, an action and a
    /// resource: there is nothing to ask IAM.
    NothingToAsk,
    /// The live check could not run (no credentials, no network, ...).
    Failed { message: String },
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

    /// Ask the account about the Explain box's text (what `explain --live`
    /// does) and answer on `sink` with [`Feed::ExplainLive`] carrying
    /// `request`. Returns at once; the dashboard keeps one request in
    /// flight. A source that cannot ask (the default) says so.
    fn explain_live(&mut self, request: u64, text: String, sink: FeedSink) {
        let _ = text;
        sink.send(Feed::ExplainLive {
            request,
            answer: LiveAnswer::Failed {
                message: "no AWS account to ask: the dashboard is not live".to_owned(),
            },
        });
    }
}
