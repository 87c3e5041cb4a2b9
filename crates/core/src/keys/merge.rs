//! Combining `list-access-keys` (key ids, status) with the credential report
//! (last use, the root user's keys, but no key ids) into [`AccessKey`]s.
//!
//! A report slot and a listed key are the same key when they belong to the
//! same user and the slot's `last_rotated` is the key's `CreateDate` (to the
//! second: both come from the same IAM record). When dates do not line up but
//! exactly one key and one slot are left for the user, they are paired. The
//! listed status wins (the report can be four hours old). Keys only the
//! report knows keep an empty `access_key_id` (see [`super::id_known`]).

use std::collections::BTreeMap;

use super::credential_report::{ReportKeySlot, ReportRow};
use super::saved::{ListedKey, SavedKeys};
use crate::snapshot::{AccessKey, KeyLastUsed, KeyStatus};

/// All keys from everything read, sorted by user then creation date.
#[must_use]
pub fn combine(saved: &SavedKeys) -> Vec<AccessKey> {
    let mut listed: BTreeMap<&str, Vec<&ListedKey>> = BTreeMap::new();
    for k in &saved.listed {
        let user = listed.entry(k.user_name.as_str()).or_default();
        if !user.iter().any(|o| o.access_key_id == k.access_key_id) {
            user.push(k);
        }
    }
    // A later report row for the same user replaces an earlier one.
    let mut report: BTreeMap<&str, &ReportRow> = BTreeMap::new();
    for row in &saved.report {
        report.insert(row.user.as_str(), row);
    }

    let mut out = Vec::new();
    for (user, keys) in &listed {
        let slots: Vec<&ReportKeySlot> = report
            .get(user)
            .map(|r| r.keys.iter().collect())
            .unwrap_or_default();
        let mut used = vec![false; slots.len()];
        let mut matched: Vec<Option<usize>> = vec![None; keys.len()];
        for (i, k) in keys.iter().enumerate() {
            if let Some(j) = (0..slots.len()).find(|&j| {
                !used[j]
                    && slots[j]
                        .last_rotated
                        .is_some_and(|t| (t.as_second() - k.created.as_second()).abs() <= 1)
            }) {
                used[j] = true;
                matched[i] = Some(j);
            }
        }
        let free_keys: Vec<usize> = (0..keys.len()).filter(|&i| matched[i].is_none()).collect();
        let free_slots: Vec<usize> = (0..slots.len()).filter(|&j| !used[j]).collect();
        if let ([i], [j]) = (free_keys.as_slice(), free_slots.as_slice()) {
            matched[*i] = Some(*j);
        }
        for (i, k) in keys.iter().enumerate() {
            let slot = matched[i].map(|j| slots[j]);
            out.push(AccessKey {
                user_name: (*user).to_owned(),
                access_key_id: k.access_key_id.clone(),
                status: k.status,
                created: k.created,
                last_used: slot.and_then(last_used),
                last_used_known: slot.is_some(),
            });
        }
    }
    for (user, row) in &report {
        if listed.contains_key(user) {
            continue;
        }
        for slot in &row.keys {
            let Some(created) = slot.last_rotated.or(row.user_creation_time) else {
                continue;
            };
            out.push(AccessKey {
                user_name: (*user).to_owned(),
                access_key_id: String::new(),
                status: if slot.active {
                    KeyStatus::Active
                } else {
                    KeyStatus::Inactive
                },
                created,
                last_used: last_used(slot),
                last_used_known: true,
            });
        }
    }
    out.sort_by(|a, b| {
        a.user_name
            .cmp(&b.user_name)
            .then(a.created.cmp(&b.created))
            .then(a.access_key_id.cmp(&b.access_key_id))
    });
    out
}

fn last_used(slot: &ReportKeySlot) -> Option<KeyLastUsed> {
    slot.last_used.map(|date| KeyLastUsed {
        date,
        service: slot.last_used_service.clone(),
        region: slot.last_used_region.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::credential_report::parse_csv;
    use crate::keys::saved::read;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    fn report() -> Vec<ReportRow> {
        parse_csv(&format!(
            "{HEADER}\n\
<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,N/A,not_supported,not_supported,true,true,2021-05-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
marymajor,arn:aws:iam::111122223333:user/marymajor,2023-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,2025-10-20T08:00:00+00:00,N/A,N/A,N/A,true,2024-03-02T10:11:12+00:00,2026-11-20T09:00:00+00:00,us-east-1,s3,false,N/A,false,N/A\n"
        ))
        .unwrap()
    }

    #[test]
    fn matches_slots_by_creation_date() {
        let mut saved = read(include_str!(
            "../../../../tests/fixtures/examples/list-access-keys.json"
        ))
        .unwrap();
        saved.report = report();
        let keys = combine(&saved);
        assert_eq!(keys.len(), 3);
        assert_eq!(keys[0].user_name, "<root_account>");
        assert_eq!(keys[0].access_key_id, "");
        assert!(keys[0].last_used_known);
        let mary_active = &keys[1];
        assert_eq!(mary_active.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert!(mary_active.last_used_known);
        let lu = mary_active.last_used.as_ref().unwrap();
        assert_eq!(lu.service.as_deref(), Some("s3"));
        assert_eq!(keys[2].access_key_id, "AKIAI44QH8DHBEXAMPLE");
        assert!(keys[2].last_used_known);
        assert!(keys[2].last_used.is_none());
    }

    #[test]
    fn listed_only_has_no_last_use() {
        let saved = read(include_str!(
            "../../../../tests/fixtures/examples/list-access-keys.json"
        ))
        .unwrap();
        let keys = combine(&saved);
        assert!(keys.iter().all(|k| !k.last_used_known));
    }
}
