//! One function per keys/ rule. Each takes one user's keys (and the policy
//! where thresholds matter) and returns its findings. Messages and evidence
//! show masked key ids; fix commands carry the full id (a key id is not a
//! secret; ids that arrived with their secret are masked by the output layer).

use serde_json::json;

use super::rotation::{self, RotationPlan};
use super::{KeyPolicy, ROOT_USER, date, id_or_placeholder, label_in};
use crate::finding::{Finding, Fix};
use crate::rules as catalog;
use crate::snapshot::{AccessKey, CredentialKind, KeyStatus};

/// AWS's documentation placeholder key ids.
pub const EXAMPLE_KEY_IDS: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "AKIAI44QH8DHBEXAMPLE",
    "ASIAIOSFODNN7EXAMPLE",
];

/// AWS's documentation placeholder secret access keys.
pub const EXAMPLE_SECRETS: &[&str] = &[
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
];

/// Whether `id` is one of AWS's documentation placeholder key ids.
#[must_use]
pub fn is_example_key_id(id: &str) -> bool {
    EXAMPLE_KEY_IDS.contains(&id.trim())
}

/// Whether `secret` is one of AWS's documentation placeholder secrets.
#[must_use]
pub fn is_example_secret(secret: &str) -> bool {
    EXAMPLE_SECRETS.contains(&secret.trim())
}

fn key_evidence(
    f: Finding,
    k: &AccessKey,
    keys: &[AccessKey],
    policy: Option<&KeyPolicy>,
) -> Finding {
    let mut f = f
        .evidence("user", k.user_name.clone())
        .evidence("access_key_id", label_in(k, keys))
        .evidence(
            "status",
            match k.status {
                KeyStatus::Active => "Active",
                KeyStatus::Inactive => "Inactive",
            },
        )
        .evidence("created", date(k.created));
    if let Some(p) = policy {
        f = f.evidence("age_days", p.days_since(k.created));
    }
    if k.last_used_known {
        f = f.evidence(
            "last_used",
            k.last_used.as_ref().map_or(
                serde_json::Value::Null,
                |u| json!({"date": date(u.date), "service": u.service, "region": u.region}),
            ),
        );
    }
    f
}

fn plan_fix(summary: impl Into<String>, plan: &RotationPlan) -> Fix {
    let mut fix = Fix::new(summary);
    for c in plan.commands() {
        fix = fix.command(c);
    }
    fix
}

fn user_arg(user: &str) -> String {
    if user == ROOT_USER {
        String::new()
    } else {
        format!(" --user-name {user}")
    }
}

/// keys/root-keys: the account root user holds access keys.
#[must_use]
pub fn root_keys(user: &str, keys: &[AccessKey]) -> Vec<Finding> {
    if user != ROOT_USER || keys.is_empty() {
        return Vec::new();
    }
    let plan = rotation::rotation_plan(user, keys);
    let active = keys
        .iter()
        .filter(|k| k.status == KeyStatus::Active)
        .count();
    let f = Finding::new(
        catalog::KEYS_ROOT_KEYS,
        format!(
            "The account root user has {} access key{} ({active} active)",
            keys.len(),
            if keys.len() == 1 { "" } else { "s" }
        ),
    )
    .detail(
        "Root access keys carry unrestricted access to the account: no IAM policy, permissions boundary or \
         SCP in the account can limit them. AWS recommends the root user hold no access keys at all; use an \
         IAM role or IAM Identity Center for programmatic access. Sign in as the root user (console: account \
         menu > Security credentials > Access keys) to deactivate and delete them, or run the commands with \
         root credentials.",
    )
    .evidence("user", ROOT_USER)
    .evidence("keys", keys.iter().map(|k| label_in(k, keys)).collect::<Vec<_>>())
    .fix(plan_fix(
        "deactivate, then delete every root access key (root credentials; no --user-name)",
        &plan,
    ));
    vec![f]
}

/// keys/example-key: AWS's documentation placeholders used as real keys.
#[must_use]
pub fn example_keys(keys: &[AccessKey]) -> Vec<Finding> {
    keys.iter()
        .filter(|k| is_example_key_id(&k.access_key_id))
        .map(|k| {
            key_evidence(
                Finding::new(
                    catalog::KEYS_EXAMPLE_KEY,
                    format!(
                        "{} is AWS's documentation placeholder key, not a real credential",
                        label_in(k, keys)
                    ),
                ),
                k,
                keys,
                None,
            )
            .detail(
                "AKIAIOSFODNN7EXAMPLE, AKIAI44QH8DHBEXAMPLE and the secret ending in EXAMPLEKEY appear throughout \
                 AWS's documentation. Configured as credentials they fail with \
                 InvalidClientTokenId; found in code or configuration they mean a sample was copied without \
                 replacing its placeholders.",
            )
            .fix(
                Fix::new("replace the placeholder with a real key of the user (or better, a role), then check the profile")
                    .command(format!("aws iam create-access-key{}", user_arg(&k.user_name)))
                    .command("aws configure --profile PROFILE")
                    .command("aws sts get-caller-identity --profile PROFILE"),
            )
        })
        .collect()
}

/// keys/limit-reached: the user holds two keys (inactive keys count).
#[must_use]
pub fn limit_reached(user: &str, keys: &[AccessKey]) -> Vec<Finding> {
    if keys.len() < 2 || user == ROOT_USER {
        return Vec::new();
    }
    let plan = rotation::rotation_plan(user, keys);
    let Some(first) = rotation::first_to_delete(keys) else {
        return Vec::new();
    };
    let inactive = keys
        .iter()
        .filter(|k| k.status == KeyStatus::Inactive)
        .count();
    vec![
        Finding::new(
            catalog::KEYS_LIMIT_REACHED,
            format!(
                "{user} holds {}/2 access keys ({inactive} inactive): create-access-key will fail with LimitExceeded",
                keys.len()
            ),
        )
        .detail(format!(
            "IAM allows two access keys per user and counts inactive keys toward that limit, so no new key \
             can be created until one is deleted. Delete {} first (inactive before active, never used before \
             used, older before newer), then rotate:\n{}",
            label_in(first, keys),
            plan.describe()
        ))
        .evidence("user", user)
        .evidence("count", keys.len())
        .evidence("keys", keys.iter().map(|k| label_in(k, keys)).collect::<Vec<_>>())
        .evidence("delete_first", label_in(first, keys))
        .fix(plan_fix(
            format!(
                "delete {} first, then create, switch, deactivate and delete the old key. {}",
                label_in(first, keys),
                rotation::SECRET_SHOWN_ONCE
            ),
            &plan,
        )),
    ]
}

/// keys/two-active: both of the user's keys are active.
#[must_use]
pub fn two_active(user: &str, keys: &[AccessKey]) -> Vec<Finding> {
    let active: Vec<&AccessKey> = keys
        .iter()
        .filter(|k| k.status == KeyStatus::Active)
        .collect();
    if active.len() < 2 {
        return Vec::new();
    }
    let owned: Vec<AccessKey> = active.iter().map(|k| (*k).clone()).collect();
    let Some(spare) = rotation::first_to_delete(&owned) else {
        return Vec::new();
    };
    vec![
        Finding::new(
            catalog::KEYS_TWO_ACTIVE,
            format!("Both of {user}'s access keys are active"),
        )
        .detail(
            "Two active keys are meant to overlap only during a rotation. Left in place, the old key keeps \
             working wherever it leaked, and nobody knows which applications still use which key. Deactivate \
             the one not in use (the never-used or least recently used one), watch for breakage, then delete it.",
        )
        .evidence("user", user)
        .evidence("keys", active.iter().map(|k| label_in(k, keys)).collect::<Vec<_>>())
        .fix(
            Fix::new(format!("deactivate {} (then delete it once nothing broke)", label_in(spare, keys)))
                .command(format!(
                    "aws iam get-access-key-last-used --access-key-id {}",
                    id_or_placeholder(spare, keys)
                ))
                .command(format!(
                    "aws iam update-access-key{} --access-key-id {} --status Inactive",
                    user_arg(user),
                    id_or_placeholder(spare, keys)
                )),
        ),
    ]
}

/// keys/old: an active key older than the rotation age.
#[must_use]
pub fn old(user: &str, keys: &[AccessKey], policy: &KeyPolicy) -> Vec<Finding> {
    let max = i64::from(policy.max_age_days);
    let plan = rotation::rotation_plan(user, keys);
    keys.iter()
        .filter(|k| k.status == KeyStatus::Active && policy.days_since(k.created) > max)
        .map(|k| {
            let age = policy.days_since(k.created);
            key_evidence(
                Finding::new(
                    catalog::KEYS_OLD,
                    format!(
                        "{}'s key {} is {age} days old (rotation age {max} days)",
                        user,
                        label_in(k, keys)
                    ),
                ),
                k,
                keys,
                Some(policy),
            )
            .detail(
                "Long-lived keys accumulate copies (laptops, CI variables, images) and any leak stays valid until \
                 the key is rotated. The commands rotate it without ever needing a third key: make room if the \
                 user holds two, create, switch applications, deactivate, then delete the old key.",
            )
            .evidence("max_age_days", max)
            .fix(plan_fix(
                format!("rotate within the two-key limit. {}", rotation::SECRET_SHOWN_ONCE),
                &plan,
            ))
        })
        .collect()
}

/// keys/unused: an active key never used, or not used for the unused age.
#[must_use]
pub fn unused(user: &str, keys: &[AccessKey], policy: &KeyPolicy) -> Vec<Finding> {
    let limit = i64::from(policy.unused_days);
    keys.iter()
        .filter(|k| k.status == KeyStatus::Active && k.last_used_known)
        .filter_map(|k| {
            let message = match &k.last_used {
                None => format!(
                    "{}'s key {} has never been used (created {}, {} days ago)",
                    user,
                    label_in(k, keys),
                    date(k.created),
                    policy.days_since(k.created)
                ),
                Some(u) if policy.days_since(u.date) > limit => format!(
                    "{}'s key {} has not been used for {} days (last {})",
                    user,
                    label_in(k, keys),
                    policy.days_since(u.date),
                    date(u.date)
                ),
                Some(_) => return None,
            };
            Some(
                key_evidence(Finding::new(catalog::KEYS_UNUSED, message), k, keys, Some(policy))
                    .detail(
                        "A key nobody uses is pure risk: it grants access if it leaks and serves no one. \
                         Deactivate it, wait to see that nothing breaks, then delete it. (A key created moments \
                         ago for a rotation is expected to be unused until applications switch to it.)",
                    )
                    .evidence("unused_days", limit)
                    .fix(
                        Fix::new(format!("deactivate, then delete {}", label_in(k, keys)))
                            .command(format!(
                                "aws iam update-access-key{} --access-key-id {} --status Inactive",
                                user_arg(user),
                                id_or_placeholder(k, keys)
                            ))
                            .command(format!(
                                "aws iam delete-access-key{} --access-key-id {}",
                                user_arg(user),
                                id_or_placeholder(k, keys)
                            )),
                    ),
            )
        })
        .collect()
}

/// keys/inactive: an inactive key still counts toward the limit.
#[must_use]
pub fn inactive(user: &str, keys: &[AccessKey]) -> Vec<Finding> {
    keys.iter()
        .filter(|k| k.status == KeyStatus::Inactive)
        .map(|k| {
            key_evidence(
                Finding::new(
                    catalog::KEYS_INACTIVE,
                    format!(
                        "{}'s key {} is inactive but still counts toward the limit of two",
                        user,
                        label_in(k, keys)
                    ),
                ),
                k,
                keys,
                None,
            )
            .detail(
                "An inactive key cannot sign requests, but IAM still counts it toward the two keys a user may \
                 hold, so it blocks the next rotation. Once you are sure nothing needs it back, delete it.",
            )
            .fix(Fix::new(format!("delete {}", label_in(k, keys))).command(format!(
                "aws iam delete-access-key{} --access-key-id {}",
                user_arg(user),
                id_or_placeholder(k, keys)
            )))
        })
        .collect()
}

/// keys/secret-in-input, for `keys` inputs: a key id arrived next to its
/// secret (saved `create-access-key` output). The secret itself is never read
/// into any value that is shown; the id is masked everywhere.
#[must_use]
pub fn secret_in_input(access_key_id: &str, source: &str) -> Finding {
    Finding::new(
        catalog::KEYS_SECRET_IN_INPUT,
        format!(
            "{source} holds the secret access key of {}: rotate that key",
            crate::mask::mask_key_id(access_key_id)
        ),
    )
    .detail(
        "A file with a secret access key in it (saved create-access-key output) is a copy of the \
         credential: whoever can read the file can sign as the user. eksdoctor never prints the secret and \
         masks this key id everywhere. Rotate the key and delete the file.",
    )
    .evidence("access_key_id", crate::mask::mask_key_id(access_key_id))
    .evidence("input", source)
    .fix(Fix::new("rotate the key (see the rotation plan), then delete the file"))
}

/// keys/long-term-credentials: the caller signs with long-term keys
/// (`AKIA...`) rather than temporary credentials (`ASIA...`). For `whoami`
/// and the live probes; `None` for temporary or unrecognised ids.
#[must_use]
pub fn long_term_credentials(access_key_id: &str, caller_arn: Option<&str>) -> Option<Finding> {
    if CredentialKind::from_key_id(access_key_id) != Some(CredentialKind::LongTerm) {
        return None;
    }
    let mut f = Finding::new(
        catalog::KEYS_LONG_TERM_CREDENTIALS,
        format!(
            "The caller signs with a long-term access key ({})",
            crate::mask::mask_key_id(access_key_id)
        ),
    )
    .detail(
        "AKIA... keys belong to an IAM user (or the root user) and stay valid until someone rotates them; \
         ASIA... credentials are temporary and expire on their own. Prefer IAM Identity Center (aws sso login) \
         or assuming a role, so nothing long-lived sits on this machine.",
    )
    .evidence("access_key_id", crate::mask::mask_key_id(access_key_id))
    .evidence("credential_kind", CredentialKind::LongTerm.as_str())
    .fix(
        Fix::new("use temporary credentials: an IAM Identity Center profile or a role")
            .command("aws configure sso --profile PROFILE")
            .command("aws sso login --profile PROFILE"),
    );
    if let Some(arn) = caller_arn {
        f = f.evidence("caller", arn);
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyPolicy, check};
    use crate::snapshot::KeyLastUsed;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn policy() -> KeyPolicy {
        KeyPolicy::new(ts("2026-11-29T00:00:00Z"))
    }

    fn key(
        user: &str,
        id: &str,
        status: KeyStatus,
        created: &str,
        used: Option<&str>,
    ) -> AccessKey {
        AccessKey {
            user_name: user.into(),
            access_key_id: id.into(),
            status,
            created: ts(created),
            last_used: used.map(|d| KeyLastUsed {
                date: ts(d),
                service: Some("s3".into()),
                region: Some("us-east-1".into()),
            }),
            last_used_known: true,
        }
    }

    fn rules_of(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn limit_counts_inactive_keys() {
        let keys = [
            key(
                "bob",
                "AKIAAAAAAAAAAAAAAAAA",
                KeyStatus::Active,
                "2026-11-01T00:00:00Z",
                Some("2026-11-28T00:00:00Z"),
            ),
            key(
                "bob",
                "AKIABBBBBBBBBBBBBBBB",
                KeyStatus::Inactive,
                "2026-10-01T00:00:00Z",
                None,
            ),
        ];
        let f = check(&keys, &policy());
        assert_eq!(rules_of(&f), ["keys/limit-reached", "keys/inactive"]);
        let fix = f[0].fix.as_ref().unwrap();
        assert_eq!(
            fix.commands[0],
            "aws iam delete-access-key --user-name bob --access-key-id AKIABBBBBBBBBBBBBBBB"
        );
        assert!(fix.summary.contains("shown only once"));
        assert_eq!(f[0].evidence["delete_first"], "AKIA************BBBB");
        assert!(!f[0].message.contains("AKIABBBBBBBBBBBBBBBB"));
    }

    #[test]
    fn two_active_old_unused() {
        let keys = [
            key(
                "bob",
                "AKIAAAAAAAAAAAAAAAAA",
                KeyStatus::Active,
                "2025-01-01T00:00:00Z",
                Some("2026-11-28T00:00:00Z"),
            ),
            key(
                "bob",
                "AKIABBBBBBBBBBBBBBBB",
                KeyStatus::Active,
                "2026-11-20T00:00:00Z",
                None,
            ),
        ];
        let f = check(&keys, &policy());
        assert_eq!(
            rules_of(&f),
            [
                "keys/limit-reached",
                "keys/two-active",
                "keys/old",
                "keys/unused"
            ]
        );
        // The spare key to deactivate is the never-used one.
        assert!(f[1].fix.as_ref().unwrap().commands[1].contains("AKIABBBBBBBBBBBBBBBB"));
        assert_eq!(f[2].evidence["age_days"], 697);
    }

    #[test]
    fn unused_for_too_long_and_thresholds() {
        let keys = [key(
            "eve",
            "AKIAAAAAAAAAAAAAAAAA",
            KeyStatus::Active,
            "2026-10-01T00:00:00Z",
            Some("2026-08-01T00:00:00Z"),
        )];
        assert_eq!(rules_of(&check(&keys, &policy())), ["keys/unused"]);
        let lax = KeyPolicy {
            unused_days: 200,
            ..policy()
        };
        assert!(check(&keys, &lax).is_empty());
        let strict = KeyPolicy {
            max_age_days: 30,
            ..lax
        };
        assert_eq!(rules_of(&check(&keys, &strict)), ["keys/old"]);
    }

    #[test]
    fn unknown_last_use_is_not_unused() {
        let mut k = key(
            "eve",
            "AKIAAAAAAAAAAAAAAAAA",
            KeyStatus::Active,
            "2026-11-01T00:00:00Z",
            None,
        );
        k.last_used_known = false;
        assert!(check(&[k], &policy()).is_empty());
    }

    #[test]
    fn root_and_example_keys() {
        let root = key(
            ROOT_USER,
            "",
            KeyStatus::Active,
            "2021-01-01T00:00:00Z",
            None,
        );
        let f = check(&[root], &policy());
        assert_eq!(f[0].rule, "keys/root-keys");
        assert!(
            f[0].fix
                .as_ref()
                .unwrap()
                .commands
                .iter()
                .all(|c| !c.contains("--user-name"))
        );
        let ex = key(
            "mary",
            "AKIAIOSFODNN7EXAMPLE",
            KeyStatus::Active,
            "2026-11-01T00:00:00Z",
            Some("2026-11-02T00:00:00Z"),
        );
        assert_eq!(rules_of(&check(&[ex], &policy())), ["keys/example-key"]);
        assert!(is_example_secret(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        ));
        assert!(!is_example_key_id("AKIAAAAAAAAAAAAAAAAA"));
    }

    #[test]
    fn long_term_vs_temporary() {
        assert!(long_term_credentials("AKIAIOSFODNN7EXAMPLE", None).is_some());
        assert!(long_term_credentials("ASIAIOSFODNN7EXAMPLE", None).is_none());
        let f = long_term_credentials(
            "AKIAAAAAAAAAAAAAAAAA",
            Some("arn:aws:iam::111122223333:user/bob"),
        )
        .unwrap();
        assert_eq!(f.evidence["access_key_id"], "AKIA************AAAA");
    }
}
