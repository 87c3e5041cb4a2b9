//! The eksdoctor diagnosis engine.
//!
//! Everything here is pure and synchronous: parsers (ARNs, AWS error text,
//! aws-auth ConfigMaps, IAM policies, Kubernetes manifests, saved AWS CLI
//! JSON), the rules that turn parsed input into [`finding::Finding`]s, the IAM
//! policy evaluator, and the report model. No tokio, no AWS SDK, no terminal:
//! every function can be tested from strings.
//!
//! # Adding a rule
//! 1. Its id, severity and title already stand in [`rules::CATALOG`] (the
//!    spec's catalog); a new id goes there first.
//! 2. Write the check as a small pure function in the area's module
//!    (`explain`, `awsauth`, `keys`, `sts`, `irsa`, ...) that returns
//!    `Vec<Finding>` built with [`finding::Finding::new`].
//! 3. Write `docs/rules/<area>/<name>.md`; `eksdoctor rules <id>` prints it.
//! 4. Add tests beside the check and fixtures under `tests/fixtures/`.

pub mod access;
pub mod access_path;
pub mod arn;
pub mod awsauth;
pub mod explain;
pub mod export;
pub mod finding;
pub mod fleet;
pub mod irsa;
pub mod k8s;
pub mod keys;
pub mod kubeconfig;
pub mod mask;
pub mod podid;
pub mod policy;
pub mod report;
pub mod rules;
pub mod sarif;
pub mod snapshot;
pub mod sts;
