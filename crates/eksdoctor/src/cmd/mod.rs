//! One module per command; each takes its parsed arguments and the output.

pub mod check;
mod check_kube;
mod check_org;
mod check_path;
mod check_pods;
pub mod completions;
pub mod dashboard;
pub mod explain;
pub mod explain_live;
pub mod keys;
pub mod lint_aws_auth;
pub mod lint_irsa;
pub mod lint_kubeconfig;
pub mod lint_podid;
pub mod lint_sts;
mod live;
pub mod policy;
pub mod rules;
pub mod token;
pub mod whoami;
