//! Live, read-only Kubernetes probes for eksdoctor, on kube-rs (rustls with
//! ring, as the AWS SDK uses) and k8s-openapi.
//!
//! A crate of its own, not a module of eksdoctor-aws: kube-rs, hyper's client
//! stack and k8s-openapi are the heaviest dependencies of the workspace;
//! kept apart, the AWS probes and their tests build without them, and the
//! Kubernetes guard sits beside the client it guards.
//!
//! * [`guard`]: the read-only tower layer (GET/LIST/WATCH and the three
//!   self-review kinds; everything else refused before it is sent).
//! * [`probes`]: the guarded client (bearer token from
//!   `eksdoctor_aws::token`), SelfSubjectReview, aws-auth, SelfSubjectAccessReview
//!   for the console's reads.
//! * [`findings`]: what the answers mean.
//! * [`cluster`]: one cluster end to end (for `check` and the dashboard).
//! * [`kubeconfig`]: kubeconfig files read and merged by kube-rs's types, for
//!   `eksdoctor_core::kubeconfig`'s rules.

pub mod cluster;
pub mod findings;
pub mod guard;
pub mod kubeconfig;
pub mod probes;
pub mod workloads;

pub use probes::{KubeError, Target, UserInfo};
