//! The per-user summary `keys` prints before its findings (text) and under
//! `users` (JSON): each key masked, its status, creation date, age, last use,
//! and the count against the limit of two.

use std::fmt::Write as _;

use serde::Serialize;

use super::rotation::RotationPlan;
use super::{KeyPolicy, by_user, date, rotation};
use crate::snapshot::{AccessKey, KeyStatus};

/// IAM's per-user access-key limit (active and inactive keys alike).
pub const KEY_LIMIT: usize = 2;

/// One key's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRow {
    /// Masked (`AKIA************MPLE`, more of the end shown when another key
    /// of the user would look alike), or `unknown` when only the credential
    /// report knew the key.
    pub access_key_id: String,
    /// For an `unknown` key: the placeholder its rotation plan uses
    /// (`ACCESS_KEY_ID`, or `ACCESS_KEY_ID_1`, `_2` when the user has two).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    pub status: &'static str,
    pub created: String,
    pub age_days: i64,
    /// `null`: never used. Absent when last use is not known (list-access-keys alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<Option<LastUsedRow>>,
}

/// Where and when a key was last used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastUsedRow {
    pub date: String,
    pub service: Option<String>,
    pub region: Option<String>,
}

/// One user's keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserKeys {
    pub user: String,
    pub count: usize,
    pub limit: usize,
    pub keys: Vec<KeyRow>,
    pub rotation_plan: RotationPlan,
}

/// The summary of every user.
#[must_use]
pub fn summarize(keys: &[AccessKey], policy: &KeyPolicy) -> Vec<UserKeys> {
    by_user(keys)
        .into_iter()
        .map(|(user, ks)| {
            let owned: Vec<AccessKey> = ks.iter().map(|k| (*k).clone()).collect();
            UserKeys {
                user: user.to_owned(),
                count: ks.len(),
                limit: KEY_LIMIT,
                keys: ks.iter().map(|k| row(k, &owned, policy)).collect(),
                rotation_plan: rotation::rotation_plan(user, &owned),
            }
        })
        .collect()
}

fn row(k: &AccessKey, keys: &[AccessKey], policy: &KeyPolicy) -> KeyRow {
    KeyRow {
        access_key_id: if super::id_known(k) {
            let others: Vec<&str> = keys
                .iter()
                .filter(|o| super::id_known(o))
                .map(|o| o.access_key_id.as_str())
                .collect();
            crate::mask::mask_key_id_among(&k.access_key_id, &others)
        } else {
            "unknown".to_owned()
        },
        placeholder: (!super::id_known(k)).then(|| super::id_or_placeholder(k, keys)),
        status: match k.status {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        },
        created: date(k.created),
        age_days: policy.days_since(k.created),
        last_used: k.last_used_known.then(|| {
            k.last_used.as_ref().map(|u| LastUsedRow {
                date: date(u.date),
                service: u.service.clone(),
                region: u.region.clone(),
            })
        }),
    }
}

/// The text table.
#[must_use]
pub fn render(users: &[UserKeys]) -> String {
    let mut out = String::new();
    if users.is_empty() {
        out.push_str("No access keys in the input.\n\n");
        return out;
    }
    for u in users {
        let full = if u.count >= u.limit {
            " (limit reached)"
        } else {
            ""
        };
        let _ = writeln!(out, "{}: {}/{} keys{full}", u.user, u.count, u.limit);
        let shown = |k: &KeyRow| match &k.placeholder {
            Some(p) => format!("unknown ({p})"),
            None => k.access_key_id.clone(),
        };
        let w = u
            .keys
            .iter()
            .map(|k| shown(k).chars().count())
            .max()
            .unwrap_or(0)
            .max(20);
        let _ = writeln!(
            out,
            "  {:<w$}  {:<8}  {:<10}  {:>5}  LAST USED",
            "KEY", "STATUS", "CREATED", "AGE"
        );
        for k in &u.keys {
            let last = match &k.last_used {
                None => "unknown (add the credential report)".to_owned(),
                Some(None) => "never".to_owned(),
                Some(Some(l)) => {
                    let mut s = l.date.clone();
                    for part in [&l.service, &l.region].into_iter().flatten() {
                        s.push(' ');
                        s.push_str(part);
                    }
                    s
                }
            };
            let _ = writeln!(
                out,
                "  {:<w$}  {:<8}  {:<10}  {:>4}d  {last}",
                shown(k),
                k.status,
                k.created,
                k.age_days
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::KeyLastUsed;

    #[test]
    fn table_masks_and_counts() {
        let now: jiff::Timestamp = "2026-11-29T00:00:00Z".parse().unwrap();
        let keys = vec![
            AccessKey {
                user_name: "marymajor".into(),
                access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                status: KeyStatus::Active,
                created: "2024-03-02T10:11:12Z".parse().unwrap(),
                last_used: Some(KeyLastUsed {
                    date: "2026-11-20T09:00:00Z".parse().unwrap(),
                    service: Some("s3".into()),
                    region: Some("us-east-1".into()),
                }),
                last_used_known: true,
            },
            AccessKey {
                user_name: "marymajor".into(),
                access_key_id: "AKIAI44QH8DHBEXAMPLE".into(),
                status: KeyStatus::Inactive,
                created: "2025-10-20T08:00:00Z".parse().unwrap(),
                last_used: None,
                last_used_known: true,
            },
        ];
        let users = summarize(&keys, &KeyPolicy::new(now));
        let text = render(&users);
        assert!(
            text.contains("marymajor: 2/2 keys (limit reached)"),
            "{text}"
        );
        // The two ids mask alike as AKIA************MPLE: more of the end is shown.
        assert!(text.contains("AKIA********7EXAMPLE  Active"), "{text}");
        assert!(text.contains("AKIA********BEXAMPLE  Inactive"), "{text}");
        assert!(text.contains("2026-11-20 s3 us-east-1"), "{text}");
        assert!(text.contains("never"), "{text}");
        assert!(!text.contains("AKIAIOSFODNN7EXAMPLE"));
        let json = serde_json::to_value(&users).unwrap();
        assert_eq!(json[0]["count"], 2);
        assert_eq!(json[0]["keys"][1]["last_used"], serde_json::Value::Null);
        assert_eq!(json[0]["keys"][0]["age_days"], 1001);
    }
}
