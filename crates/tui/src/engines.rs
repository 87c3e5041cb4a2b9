//! The dashboard's one seam to eksdoctor-core's engines. Panels never call an
//! engine directly: they go through here, so following an engine's changes
//! touches one file.

use eksdoctor_core::finding::{Finding, Fix};
use eksdoctor_core::rules;
use eksdoctor_core::snapshot::AccessKey;

/// The findings for pasted error text: offline, immediate.
#[must_use]
pub fn explain(text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(f) = explain_line(line) {
            out.push(f);
        }
    }
    out
}

/// Until `core::explain` lands: the denial shape AWS prints,
/// `User: ARN is not authorized to perform: ACTION [on resource: R]`.
fn explain_line(line: &str) -> Option<Finding> {
    let (_, rest) = line.split_once("User: ")?;
    let (principal, rest) = rest.split_once(" is not authorized to perform: ")?;
    let action = rest.split_whitespace().next()?.trim_end_matches(['.', ',']);
    let resource = rest
        .split_once(" on resource: ")
        .map(|(_, r)| r.split_whitespace().next().unwrap_or_default().to_owned());
    let rule = if action.eq_ignore_ascii_case("iam:PassRole") {
        rules::AUTHZ_PASS_ROLE
    } else {
        rules::AUTHZ_NO_IDENTITY_POLICY
    };
    let resource_text = resource.clone().unwrap_or_else(|| "*".to_owned());
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource_text}]
    });
    let mut f = Finding::new(rule, format!("{principal} may not call {action}"))
        .detail(format!(
            "No identity-based policy of {principal} allows {action}; IAM denies by default."
        ))
        .evidence("principal", principal)
        .evidence("action", action)
        .fix(
            Fix::new(format!(
                "Allow {action} in a policy attached to {principal}"
            ))
            .policy(policy),
        );
    if let Some(r) = resource {
        f = f.evidence("resource", r);
    }
    Some(f)
}

pub use eksdoctor_core::keys::rotation::RotationPlan;

/// The rotation plan for each user holding keys (`core::keys`).
#[must_use]
pub fn rotation_plans(keys: &[AccessKey]) -> Vec<RotationPlan> {
    eksdoctor_core::keys::rotation_plans(keys)
}

/// The keys/ findings for these keys at `now` (`core::keys`).
#[must_use]
pub fn key_findings(keys: &[AccessKey], now: jiff::Timestamp, rotation_days: u32) -> Vec<Finding> {
    let mut policy = eksdoctor_core::keys::KeyPolicy::new(now);
    policy.max_age_days = rotation_days;
    eksdoctor_core::keys::check(keys, &policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_a_pass_role_denial() {
        let f = explain(
            "User: arn:aws:iam::123456789012:user/marymajor is not authorized to perform: iam:PassRole",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, rules::AUTHZ_PASS_ROLE.id);
        assert!(explain("hello").is_empty());
    }
}
