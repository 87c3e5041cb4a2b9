//! One cluster's Kubernetes answers, end to end: who the cluster thinks the
//! caller is, aws-auth read from the cluster and run through the aws-auth
//! engine (findings and the caller's mapping with its line), and the
//! console's reads. For `check` and the dashboard: findings plus a JSON
//! section. Never hangs: every request has the target's deadline.

use eksdoctor_aws::token::EksToken;
use eksdoctor_core::awsauth::{self, mapper};
use eksdoctor_core::finding::Finding;
use serde_json::{Value, json};

use crate::findings::{self, EndpointAccess};
use crate::probes::{self, KubeError, Target};

/// One cluster's Kubernetes findings and its `kubernetes` JSON section.
#[derive(Debug, Clone)]
pub struct ClusterAnswers {
    pub findings: Vec<Finding>,
    pub json: Value,
}

fn err_json(e: &KubeError) -> Value {
    json!({"error": e.to_string(), "status": e.code()})
}

/// An operator's own question: may I VERB RESOURCE (in NAMESPACE)?
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Can {
    pub verb: String,
    /// `pods`, or `deployments.apps` (resource.group).
    pub resource: String,
    pub namespace: Option<String>,
}

/// Probe `cluster` as `caller` (whose token is `token`).
pub async fn probe(
    cluster: &str,
    target: &Target,
    token: &EksToken,
    caller: &mapper::Caller,
    access: &EndpointAccess,
    concurrency: usize,
    can: Option<&Can>,
) -> ClusterAnswers {
    let mut out = Vec::new();
    let client = match probes::client(target, token) {
        Ok(c) => c,
        Err(e) => {
            out.push(findings::unreachable(cluster, &target.endpoint, &e, access));
            return ClusterAnswers {
                findings: out,
                json: json!({"reachable": false, "whoami": err_json(&e)}),
            };
        }
    };
    let user = match probes::who_am_i(&client, target.timeout).await {
        Ok(u) => u,
        Err(e) => {
            let f = match e.code() {
                Some(401) => {
                    findings::not_mapped(cluster, &caller.arn, &caller.canonical_arn, &e, &[])
                }
                _ => findings::unreachable(cluster, &target.endpoint, &e, access),
            };
            out.push(f);
            return ClusterAnswers {
                findings: out,
                json: json!({"reachable": e.code().is_some(), "whoami": err_json(&e)}),
            };
        }
    };
    if user.is_anonymous() {
        out.push(findings::anonymous(cluster));
        return ClusterAnswers {
            findings: out,
            json: json!({"reachable": true, "whoami": user}),
        };
    }
    let aws_auth = match probes::aws_auth(&client, target.timeout).await {
        Ok(Some(yaml)) => match awsauth::lint(
            &yaml,
            "kube-system/aws-auth",
            &awsauth::MigrateOptions {
                cluster: Some(cluster.to_owned()),
                ..awsauth::MigrateOptions::default()
            },
        ) {
            Ok(lint) => {
                out.extend(lint.findings);
                let mapping = lint.configmaps.first().map(|a| mapper::lookup(a, caller));
                let mapped = match mapping.as_ref().map(|m| &m.outcome) {
                    Some(mapper::Outcome::Entry {
                        line,
                        username,
                        groups,
                        ..
                    }) => json!({
                        "line": line,
                        "username": username.text,
                        "groups": groups.iter().map(|g| g.text.clone()).collect::<Vec<_>>(),
                    }),
                    Some(mapper::Outcome::Account { line, username }) => {
                        json!({"line": line, "username": username})
                    }
                    Some(mapper::Outcome::Refused { line, reason }) => {
                        json!({"line": line, "refused": reason})
                    }
                    _ => Value::Null,
                };
                json!({"read": true, "caller_mapping": mapped})
            }
            Err(e) => json!({"read": true, "error": e.to_string()}),
        },
        Ok(None) => json!({"read": true, "absent": true}),
        Err(e) => {
            out.push(findings::aws_auth_unreadable(cluster, Some(&user), &e));
            json!({"read": false, "error": e.to_string(), "status": e.code()})
        }
    };
    let console = match probes::console_access(&client, target.timeout, concurrency).await {
        Ok(access) => {
            let denied: Vec<String> = access
                .iter()
                .filter(|a| !a.allowed)
                .map(|a| {
                    format!(
                        "{} {}{}",
                        a.verb,
                        a.resource,
                        if a.group.is_empty() {
                            String::new()
                        } else {
                            format!(".{}", a.group)
                        }
                    )
                })
                .collect();
            if let Some(f) = findings::console_rbac(cluster, &caller.canonical_arn, &user, &access)
            {
                out.push(f);
            }
            json!({"checked": access.len(), "denied": denied})
        }
        Err(e) => err_json(&e),
    };
    let can = match can {
        None => Value::Null,
        Some(c) => {
            let (resource, group) = c
                .resource
                .split_once('.')
                .unwrap_or((c.resource.as_str(), ""));
            match probes::can_i(
                &client,
                target.timeout,
                group,
                resource,
                &c.verb,
                c.namespace.as_deref(),
            )
            .await
            {
                Ok(a) => {
                    if !a.allowed {
                        out.push(findings::forbidden(
                            cluster,
                            &caller.canonical_arn,
                            &user,
                            &a,
                        ));
                    }
                    json!(a)
                }
                Err(e) => err_json(&e),
            }
        }
    };
    ClusterAnswers {
        findings: out,
        json: json!({"reachable": true, "whoami": user, "aws_auth": aws_auth, "console": console, "can": can}),
    }
}
