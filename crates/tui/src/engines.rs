//! The dashboard's one seam to eksdoctor-core's engines. Panels never call an
//! engine directly: they go through here, so following an engine's changes
//! touches one file.

use eksdoctor_core::finding::{Finding, Fix};
use eksdoctor_core::mask::mask_key_id;
use eksdoctor_core::rules;
use eksdoctor_core::snapshot::{AccessKey, KeyStatus};

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

/// One step of a key rotation that never asks IAM for a third key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationStep {
    pub summary: String,
    pub commands: Vec<String>,
}

/// A user's rotation plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationPlan {
    pub user: String,
    pub steps: Vec<RotationStep>,
}

/// The rotation plan for each user holding keys.
#[must_use]
pub fn rotation_plans(keys: &[AccessKey]) -> Vec<RotationPlan> {
    let mut users: Vec<&str> = keys.iter().map(|k| k.user_name.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    users
        .into_iter()
        .map(|user| {
            let mut mine: Vec<&AccessKey> = keys.iter().filter(|k| k.user_name == user).collect();
            // Inactive first, then never used, then oldest: the one to delete first.
            mine.sort_by_key(|k| (k.status == KeyStatus::Active, k.last_used.is_some(), k.created));
            let mut steps = Vec::new();
            if mine.len() >= 2 {
                let first = mine[0];
                let id = &first.access_key_id;
                if first.status == KeyStatus::Active {
                    steps.push(RotationStep {
                        summary: format!("Deactivate {} (watch for breakage)", mask_key_id(id)),
                        commands: vec![format!(
                            "aws iam update-access-key --user-name {user} --access-key-id {id} --status Inactive"
                        )],
                    });
                }
                steps.push(RotationStep {
                    summary: format!("Delete {} to get under the limit of two", mask_key_id(id)),
                    commands: vec![format!(
                        "aws iam delete-access-key --user-name {user} --access-key-id {id}"
                    )],
                });
            }
            steps.push(RotationStep {
                summary: "Create the new key".to_owned(),
                commands: vec![format!("aws iam create-access-key --user-name {user}")],
            });
            steps.push(RotationStep {
                summary: "Switch applications to the new key".to_owned(),
                commands: vec![],
            });
            if let Some(old) = mine.last().filter(|_| mine.len() >= 2 || !mine.is_empty()) {
                let id = &old.access_key_id;
                steps.push(RotationStep {
                    summary: format!("Deactivate, then delete {}", mask_key_id(id)),
                    commands: vec![
                        format!("aws iam update-access-key --user-name {user} --access-key-id {id} --status Inactive"),
                        format!("aws iam delete-access-key --user-name {user} --access-key-id {id}"),
                    ],
                });
            }
            RotationPlan {
                user: user.to_owned(),
                steps,
            }
        })
        .collect()
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
