//! IAM probes: access keys, roles, OIDC providers, and policy simulation.

use aws_sdk_iam::types::{PolicyEvaluationDecisionType, StatusType};
use eksdoctor_core::snapshot::{AccessKey, IamRole, KeyLastUsed, KeyStatus};

use crate::config::Live;
use crate::error::ProbeError;
use crate::timed;

fn timestamp(d: &aws_smithy_types::DateTime) -> Option<jiff::Timestamp> {
    jiff::Timestamp::new(d.secs(), i32::try_from(d.subsec_nanos()).ok()?).ok()
}

/// ListAccessKeys (for `user`, else the caller's own user) and
/// GetAccessKeyLastUsed for each key. Last-use data that cannot be read
/// leaves `last_used_known` false rather than failing the probe.
///
/// # Errors
/// The classified failure of ListAccessKeys.
pub async fn access_keys(live: &Live, user: Option<&str>) -> Result<Vec<AccessKey>, ProbeError> {
    const LIST: &str = "iam:ListAccessKeys";
    const LAST: &str = "iam:GetAccessKeyLastUsed";
    let iam = live.iam();
    let metadata = timed(live, LIST, async {
        let mut all = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = iam
                .list_access_keys()
                .set_user_name(user.map(str::to_owned))
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| ProbeError::from_sdk(&e, LIST))?;
            all.extend(out.access_key_metadata().iter().cloned());
            match (out.is_truncated(), out.marker()) {
                (true, Some(m)) => marker = Some(m.to_owned()),
                _ => return Ok(all),
            }
        }
    })
    .await?;
    let lookups = metadata.iter().map(|m| {
        let iam = iam.clone();
        let id = m.access_key_id().unwrap_or_default().to_owned();
        async move {
            timed(live, LAST, async {
                iam.get_access_key_last_used()
                    .access_key_id(&id)
                    .send()
                    .await
                    .map_err(|e| ProbeError::from_sdk(&e, LAST))
            })
            .await
        }
    });
    let last = futures_util::future::join_all(lookups).await;
    let mut keys = Vec::with_capacity(metadata.len());
    for (m, last) in metadata.iter().zip(last) {
        let (last_used, known) = match last {
            Ok(out) => {
                let lu = out.access_key_last_used().and_then(|l| {
                    let date = timestamp(l.last_used_date()?)?;
                    let keep = |s: &str| (!s.is_empty() && s != "N/A").then(|| s.to_owned());
                    Some(KeyLastUsed {
                        date,
                        service: keep(l.service_name()),
                        region: keep(l.region()),
                    })
                });
                (lu, true)
            }
            Err(_) => (None, false),
        };
        keys.push(AccessKey {
            user_name: m.user_name().or(user).unwrap_or_default().to_owned(),
            access_key_id: m.access_key_id().unwrap_or_default().to_owned(),
            status: match m.status() {
                Some(StatusType::Active) => KeyStatus::Active,
                _ => KeyStatus::Inactive,
            },
            created: m
                .create_date()
                .and_then(timestamp)
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            last_used,
            last_used_known: known,
        });
    }
    Ok(keys)
}

/// GetRole: path and URL-decoded trust policy.
///
/// # Errors
/// The classified failure.
pub async fn get_role(live: &Live, name: &str) -> Result<IamRole, ProbeError> {
    const PERM: &str = "iam:GetRole";
    let out = timed(live, PERM, async {
        live.iam()
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| ProbeError::from_sdk(&e, PERM))
    })
    .await?;
    let Some(r) = out.role() else {
        return Err(ProbeError::NotFound(format!("role {name}")));
    };
    let trust_policy = r.assume_role_policy_document().and_then(|doc| {
        let decoded = percent_encoding::percent_decode_str(doc)
            .decode_utf8()
            .ok()?;
        serde_json::from_str(&decoded).ok()
    });
    Ok(IamRole {
        arn: r.arn().to_owned(),
        name: r.role_name().to_owned(),
        path: r.path().to_owned(),
        trust_policy,
    })
}

/// ListOpenIDConnectProviders: the providers' issuer host/paths
/// (`oidc.eks.REGION.amazonaws.com/id/XXXX`), from their ARNs.
///
/// # Errors
/// The classified failure.
pub async fn oidc_providers(live: &Live) -> Result<Vec<String>, ProbeError> {
    const PERM: &str = "iam:ListOpenIDConnectProviders";
    let out = timed(live, PERM, async {
        live.iam()
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|e| ProbeError::from_sdk(&e, PERM))
    })
    .await?;
    Ok(out
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .filter_map(|arn| {
            arn.split_once(":oidc-provider/")
                .map(|(_, url)| url.to_owned())
        })
        .collect())
}

/// Whether the issuer URL has a provider in `providers` (as [`oidc_providers`] returns them).
#[must_use]
pub fn issuer_has_provider(issuer: &str, providers: &[String]) -> bool {
    let want = issuer
        .trim()
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_ascii_lowercase();
    providers
        .iter()
        .any(|p| p.trim_end_matches('/').to_ascii_lowercase() == want)
}

/// One simulated decision (core's type: the cluster model holds it).
pub use eksdoctor_core::snapshot::SimulatedDecision;

/// SimulatePrincipalPolicy for `principal_arn` (a user or role ARN: for an
/// assumed-role caller pass the role's ARN; STS session ARNs cannot be simulated).
///
/// # Errors
/// The classified failure.
pub async fn simulate(
    live: &Live,
    principal_arn: &str,
    actions: &[&str],
    resource: &str,
) -> Result<Vec<SimulatedDecision>, ProbeError> {
    const PERM: &str = "iam:SimulatePrincipalPolicy";
    let out = timed(live, PERM, async {
        live.iam()
            .simulate_principal_policy()
            .policy_source_arn(principal_arn)
            .set_action_names(Some(actions.iter().map(|a| (*a).to_owned()).collect()))
            .resource_arns(resource)
            .send()
            .await
            .map_err(|e| ProbeError::from_sdk(&e, PERM))
    })
    .await?;
    Ok(out
        .evaluation_results()
        .iter()
        .map(|r| SimulatedDecision {
            action: r.eval_action_name().to_owned(),
            resource: r.eval_resource_name().unwrap_or(resource).to_owned(),
            decision: match r.eval_decision() {
                PolicyEvaluationDecisionType::Allowed => "allowed".to_owned(),
                PolicyEvaluationDecisionType::ExplicitDeny => "explicitDeny".to_owned(),
                _ => "implicitDeny".to_owned(),
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_matches_provider() {
        let providers = vec!["oidc.eks.us-west-2.amazonaws.com/id/ABC".to_owned()];
        assert!(issuer_has_provider(
            "https://oidc.eks.us-west-2.amazonaws.com/id/ABC",
            &providers
        ));
        assert!(!issuer_has_provider(
            "https://oidc.eks.us-west-2.amazonaws.com/id/DEF",
            &providers
        ));
    }
}
