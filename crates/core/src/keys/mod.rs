//! `keys`: access-key hygiene and a rotation plan that respects the two-key limit.
//!
//! Live probes and saved CLI output both end as [`AccessKey`]s, so both get
//! the same findings from [`check`]:
//!
//! * [`saved`] reads `aws iam list-access-keys` / `create-access-key` JSON and
//!   the credential report ([`credential_report`]: CSV, or JSON with base64
//!   `Content`); [`merge::combine`] joins them.
//! * [`rules`] holds one small function per rule; [`check`] runs them all.
//! * [`rotation`] plans a rotation that never asks IAM for a third key.
//! * [`table`] is the per-user summary (`users` in the JSON report).
//!
//! Adding a rule: its id is in [`crate::rules::CATALOG`]; write a function in
//! [`rules`] taking one user's keys and the [`KeyPolicy`], call it from
//! [`check`], add `docs/rules/keys/<name>.md` and tests.

pub mod credential_report;
pub mod merge;
pub mod rotation;
pub mod rules;
pub mod saved;
pub mod table;

use std::collections::BTreeMap;

use crate::finding::Finding;
pub use crate::snapshot::AccessKey;

pub use rules::{is_example_key_id, is_example_secret, long_term_credentials};

/// The user name the credential report gives the account root user.
pub const ROOT_USER: &str = credential_report::ROOT_ACCOUNT;

/// Thresholds and the clock the rules use (`now` is a parameter so tests and
/// saved data get stable answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPolicy {
    /// `--max-age-days`: rotation age.
    pub max_age_days: u32,
    /// `--unused-days`.
    pub unused_days: u32,
    pub now: jiff::Timestamp,
}

impl KeyPolicy {
    /// The defaults (90 / 90 days) at `now`.
    #[must_use]
    pub fn new(now: jiff::Timestamp) -> Self {
        Self {
            max_age_days: 90,
            unused_days: 90,
            now,
        }
    }

    /// Whole days from `t` to now (0 for dates in the future).
    #[must_use]
    pub fn days_since(&self, t: jiff::Timestamp) -> i64 {
        (self.now.as_second() - t.as_second()).max(0) / 86_400
    }
}

/// Whether the key id is known (only the credential report knew keys that
/// `list-access-keys` output did not cover, and it carries no ids).
#[must_use]
pub fn id_known(k: &AccessKey) -> bool {
    !k.access_key_id.is_empty()
}

/// How a key is named in messages: the masked id, or its user and creation
/// date when only the credential report knew it.
#[must_use]
pub fn key_label(k: &AccessKey) -> String {
    if id_known(k) {
        crate::mask::mask_key_id(&k.access_key_id)
    } else {
        format!("the key created {}", date(k.created))
    }
}

/// How a key is named among its user's keys (`keys`): the masked id, with
/// as much more of its end shown as tells it from the user's other keys
/// (`AKIA***********7EXAMPLE` next to `AKIA***********BEXAMPLE`) plus its
/// creation date when the usual mask alone would look alike; for a key only
/// the credential report knew, its creation date and its placeholder.
#[must_use]
pub fn label_in(k: &AccessKey, keys: &[AccessKey]) -> String {
    if !id_known(k) {
        let ph = id_or_placeholder(k, keys);
        return format!("the key created {} ({ph})", date(k.created));
    }
    let masked = crate::mask::mask_key_id(&k.access_key_id);
    let alike = keys.iter().any(|o| {
        id_known(o)
            && o.access_key_id != k.access_key_id
            && crate::mask::mask_key_id(&o.access_key_id) == masked
    });
    if !alike {
        return masked;
    }
    let others: Vec<&str> = keys
        .iter()
        .filter(|o| id_known(o) && o.access_key_id != k.access_key_id)
        .map(|o| o.access_key_id.as_str())
        .collect();
    format!(
        "{} (created {})",
        crate::mask::mask_key_id_among(&k.access_key_id, &others),
        date(k.created)
    )
}

/// The key id for a command: the id itself, or for a key only the
/// credential report knew a placeholder: `ACCESS_KEY_ID` when the user has
/// one such key, `ACCESS_KEY_ID_1`, `ACCESS_KEY_ID_2` (oldest first) when
/// more, so a plan never names two keys alike. Placeholders are never masked.
#[must_use]
pub fn id_or_placeholder(k: &AccessKey, keys: &[AccessKey]) -> String {
    if id_known(k) {
        return k.access_key_id.clone();
    }
    let mut unknown: Vec<&AccessKey> = keys.iter().filter(|o| !id_known(o)).collect();
    if unknown.len() <= 1 {
        return PLACEHOLDER.to_owned();
    }
    unknown.sort_by_key(|o| o.created);
    let n = unknown.iter().position(|o| *o == k).map_or(1, |i| i + 1);
    format!("{PLACEHOLDER}_{n}")
}

/// The placeholder for a key id the input did not carry.
pub const PLACEHOLDER: &str = "ACCESS_KEY_ID";

/// `2024-03-02`.
#[must_use]
pub fn date(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

/// Keys grouped by user, users sorted.
#[must_use]
pub fn by_user(keys: &[AccessKey]) -> BTreeMap<&str, Vec<&AccessKey>> {
    let mut users: BTreeMap<&str, Vec<&AccessKey>> = BTreeMap::new();
    for k in keys {
        users.entry(k.user_name.as_str()).or_default().push(k);
    }
    users
}

/// Every keys/ rule over every user's keys.
#[must_use]
pub fn check(keys: &[AccessKey], policy: &KeyPolicy) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (user, user_keys) in by_user(keys) {
        let owned: Vec<AccessKey> = user_keys.into_iter().cloned().collect();
        findings.extend(rules::root_keys(user, &owned));
        findings.extend(rules::example_keys(&owned));
        findings.extend(rules::limit_reached(user, &owned));
        findings.extend(rules::two_active(user, &owned));
        findings.extend(rules::old(user, &owned, policy));
        findings.extend(rules::unused(user, &owned, policy));
        findings.extend(rules::inactive(user, &owned));
    }
    findings
}

/// The rotation plan for each user holding keys.
#[must_use]
pub fn rotation_plans(keys: &[AccessKey]) -> Vec<rotation::RotationPlan> {
    by_user(keys)
        .into_iter()
        .map(|(user, ks)| {
            let owned: Vec<AccessKey> = ks.into_iter().cloned().collect();
            rotation::rotation_plan(user, &owned)
        })
        .collect()
}

/// A saved input that could not be read: the message and, where known, the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct KeysInputError {
    pub line: Option<usize>,
    pub message: String,
}

impl KeysInputError {
    #[must_use]
    pub fn new(line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}
