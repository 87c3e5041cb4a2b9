//! The rotation plan: replace a user's access key without ever asking IAM
//! for a third key. IAM allows two keys per user, active or inactive; a
//! `create-access-key` while two exist fails with `LimitExceeded`.
//!
//! With two keys the plan first removes one, chosen in this order: inactive
//! before active, never used before used, older before newer (an active key is
//! deactivated first, so a forgotten user shows up before the key is gone).
//! Then it creates the new key, switches applications to it, deactivates the
//! remaining old key and finally deletes it. The account root user gets a
//! delete-only plan: root should hold no access keys at all.

use serde::Serialize;

use super::ROOT_USER;
use crate::snapshot::{AccessKey, KeyStatus};

/// What one step does to the user's key count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    Deactivate,
    Delete,
    Create,
    SwitchApplications,
}

/// One step of a plan, with the commands to paste.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationStep {
    pub kind: StepKind,
    /// The key the step acts on (full id; empty when only the credential report knew it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    pub summary: String,
    pub commands: Vec<String>,
}

/// A user's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationPlan {
    pub user: String,
    pub steps: Vec<RotationStep>,
}

impl RotationPlan {
    /// The key count after each step, starting from `start`.
    #[must_use]
    pub fn counts(&self, start: usize) -> Vec<usize> {
        let mut n = start;
        self.steps
            .iter()
            .map(|s| {
                match s.kind {
                    StepKind::Delete => n = n.saturating_sub(1),
                    StepKind::Create => n += 1,
                    StepKind::Deactivate | StepKind::SwitchApplications => {}
                }
                n
            })
            .collect()
    }

    /// Every command, in order.
    #[must_use]
    pub fn commands(&self) -> Vec<String> {
        self.steps
            .iter()
            .flat_map(|s| s.commands.iter().cloned())
            .collect()
    }

    /// The steps as numbered lines, for a finding's detail.
    #[must_use]
    pub fn describe(&self) -> String {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {}", i + 1, s.summary))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The reminder every plan that creates a key carries.
pub const SECRET_SHOWN_ONCE: &str = "The new secret access key is shown only once, in the create-access-key output: store it in your secret manager or credentials file right away (it cannot be retrieved later).";

/// The order in which keys are given up to make room: inactive before
/// active, never used before used, older before newer.
fn removal_rank(k: &AccessKey) -> (u8, u8, jiff::Timestamp) {
    let active = u8::from(k.status == KeyStatus::Active);
    // Unknown last use counts as used: never delete on a guess.
    let used = u8::from(k.last_used.is_some() || !k.last_used_known);
    (active, used, k.created)
}

/// The key to delete first when a user holds two.
#[must_use]
pub fn first_to_delete(keys: &[AccessKey]) -> Option<&AccessKey> {
    keys.iter().min_by_key(|k| removal_rank(k))
}

/// The plan for one user's keys (all of `keys` must belong to `user`).
#[must_use]
pub fn rotation_plan(user: &str, keys: &[AccessKey]) -> RotationPlan {
    let cli = Cli { user, keys };
    let mut steps = Vec::new();
    let mut remaining: Vec<&AccessKey> = keys.iter().collect();
    remaining.sort_by_key(|k| removal_rank(k));
    if user == ROOT_USER {
        for k in remaining {
            push_retire(
                &mut steps,
                &cli,
                k,
                "the root user should hold no access keys",
            );
        }
        return RotationPlan {
            user: user.to_owned(),
            steps,
        };
    }
    while remaining.len() >= 2 {
        let k = remaining.remove(0);
        push_retire(
            &mut steps,
            &cli,
            k,
            "make room: IAM allows two keys per user, inactive ones included",
        );
    }
    let old = remaining.first().copied();
    steps.push(RotationStep {
        kind: StepKind::Create,
        access_key_id: None,
        summary: format!("Create the new key. {SECRET_SHOWN_ONCE}"),
        commands: vec![cli.cmd("create-access-key", None)],
    });
    if let Some(old) = old {
        let id = cli.id(old);
        steps.push(RotationStep {
            kind: StepKind::SwitchApplications,
            access_key_id: Some(old.access_key_id.clone()),
            summary: format!(
                "Switch every application, CI secret and credentials file from {} to the new key; then confirm the old key's last use stops advancing",
                cli.label(old)
            ),
            commands: vec![format!("aws iam get-access-key-last-used --access-key-id {id}")],
        });
        if old.status == KeyStatus::Active {
            steps.push(deactivate(&cli, old));
        }
        steps.push(delete(&cli, old, "delete the old key once nothing broke"));
    }
    RotationPlan {
        user: user.to_owned(),
        steps,
    }
}

fn push_retire(steps: &mut Vec<RotationStep>, cli: &Cli<'_>, k: &AccessKey, why: &str) {
    if k.status == KeyStatus::Active {
        steps.push(deactivate(cli, k));
    }
    steps.push(delete(cli, k, why));
}

fn deactivate(cli: &Cli<'_>, k: &AccessKey) -> RotationStep {
    let id = cli.id(k);
    RotationStep {
        kind: StepKind::Deactivate,
        access_key_id: Some(k.access_key_id.clone()),
        summary: format!(
            "Deactivate {} and wait: if something breaks, reactivate it (update-access-key --status Active) and find the user",
            cli.label(k)
        ),
        commands: vec![cli.cmd(
            "update-access-key",
            Some(&format!("--access-key-id {id} --status Inactive")),
        )],
    }
}

fn delete(cli: &Cli<'_>, k: &AccessKey, why: &str) -> RotationStep {
    let id = cli.id(k);
    RotationStep {
        kind: StepKind::Delete,
        access_key_id: Some(k.access_key_id.clone()),
        summary: format!("Delete {} ({why})", cli.label(k)),
        commands: vec![cli.cmd("delete-access-key", Some(&format!("--access-key-id {id}")))],
    }
}

/// Builds `aws iam` commands for one user.
struct Cli<'a> {
    user: &'a str,
    /// The user's keys, to tell them apart in summaries and placeholders.
    keys: &'a [AccessKey],
}

impl Cli<'_> {
    /// The key id for a command; a placeholder when only the report knew the key.
    fn id(&self, k: &AccessKey) -> String {
        super::id_or_placeholder(k, self.keys)
    }

    /// How the key is named in a step's summary (never a masked placeholder).
    fn label(&self, k: &AccessKey) -> String {
        super::label_in(k, self.keys)
    }

    fn cmd(&self, op: &str, args: Option<&str>) -> String {
        let mut s = format!("aws iam {op}");
        // The root user manages its own keys: no --user-name (run with root credentials).
        if self.user != ROOT_USER {
            s.push_str(" --user-name ");
            s.push_str(&shell_word(self.user));
        }
        if let Some(a) = args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// IAM user names are `[\w+=,.@-]+`; quote anything else for the shell.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::KeyLastUsed;
    use proptest::prelude::*;

    fn key(id: &str, status: KeyStatus, day: i64, used: Option<i64>) -> AccessKey {
        AccessKey {
            user_name: "mary".into(),
            access_key_id: id.into(),
            status,
            created: jiff::Timestamp::from_second(1_700_000_000 + day * 86_400).unwrap(),
            last_used: used.map(|d| KeyLastUsed {
                date: jiff::Timestamp::from_second(1_700_000_000 + d * 86_400).unwrap(),
                service: Some("s3".into()),
                region: Some("us-east-1".into()),
            }),
            last_used_known: true,
        }
    }

    #[test]
    fn two_keys_delete_inactive_first_then_create() {
        let keys = [
            key("AKIAAAAAAAAAAAAAAAAA", KeyStatus::Active, 0, Some(10)),
            key("AKIABBBBBBBBBBBBBBBB", KeyStatus::Inactive, 5, None),
        ];
        let plan = rotation_plan("mary", &keys);
        let kinds: Vec<_> = plan.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StepKind::Delete,
                StepKind::Create,
                StepKind::SwitchApplications,
                StepKind::Deactivate,
                StepKind::Delete
            ]
        );
        assert_eq!(
            plan.steps[0].commands[0],
            "aws iam delete-access-key --user-name mary --access-key-id AKIABBBBBBBBBBBBBBBB"
        );
        assert_eq!(
            plan.steps[1].commands[0],
            "aws iam create-access-key --user-name mary"
        );
        assert!(plan.steps[1].summary.contains("shown only once"));
        assert!(plan.steps.last().unwrap().commands[0].ends_with("AKIAAAAAAAAAAAAAAAAA"));
    }

    #[test]
    fn never_used_before_used_then_older() {
        let a = key("AKIAAAAAAAAAAAAAAAAA", KeyStatus::Active, 0, Some(10));
        let b = key("AKIABBBBBBBBBBBBBBBB", KeyStatus::Active, 5, None);
        assert_eq!(
            first_to_delete(&[a.clone(), b.clone()])
                .unwrap()
                .access_key_id,
            b.access_key_id
        );
        let c = key("AKIACCCCCCCCCCCCCCCC", KeyStatus::Active, 3, Some(9));
        assert_eq!(
            first_to_delete(&[c.clone(), a.clone()])
                .unwrap()
                .access_key_id,
            a.access_key_id
        );
        // An active key is deactivated before it is deleted.
        let plan = rotation_plan("mary", &[a, c]);
        assert_eq!(plan.steps[0].kind, StepKind::Deactivate);
        assert_eq!(plan.steps[1].kind, StepKind::Delete);
    }

    #[test]
    fn root_gets_delete_only() {
        let mut k = key("", KeyStatus::Active, 0, None);
        k.user_name = ROOT_USER.into();
        let plan = rotation_plan(ROOT_USER, &[k]);
        assert!(plan.steps.iter().all(|s| s.kind != StepKind::Create));
        assert_eq!(
            plan.steps[1].commands[0],
            "aws iam delete-access-key --access-key-id ACCESS_KEY_ID"
        );
    }

    #[test]
    fn odd_user_names_are_quoted() {
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("dev.ops@x"), "dev.ops@x");
    }

    fn arb_key() -> impl Strategy<Value = AccessKey> {
        (
            "AKIA[A-Z0-9]{16}",
            proptest::bool::ANY,
            0i64..2000,
            proptest::option::of(0i64..2000),
            proptest::bool::ANY,
        )
            .prop_map(|(id, active, day, used, known)| {
                let mut k = key(
                    &id,
                    if active {
                        KeyStatus::Active
                    } else {
                        KeyStatus::Inactive
                    },
                    day,
                    used,
                );
                k.last_used_known = known;
                k
            })
    }

    proptest! {
        #[test]
        fn never_creates_while_two_exist(keys in proptest::collection::vec(arb_key(), 0..5)) {
            let plan = rotation_plan("mary", &keys);
            let mut n = keys.len();
            for s in &plan.steps {
                if s.kind == StepKind::Create {
                    prop_assert!(n < 2, "create with {} keys: {:?}", n, plan);
                }
                match s.kind {
                    StepKind::Delete => n -= 1,
                    StepKind::Create => n += 1,
                    _ => {}
                }
            }
            prop_assert!(n <= 2);
            // Starting within IAM's limit, no step ever goes over it.
            if keys.len() <= 2 {
                prop_assert!(plan.counts(keys.len()).iter().all(|&c| c <= 2));
            }
            prop_assert_eq!(plan.steps.iter().filter(|s| s.kind == StepKind::Create).count(), 1);
        }

        #[test]
        fn deletes_follow_removal_order(keys in proptest::collection::vec(arb_key(), 2..3)) {
            let plan = rotation_plan("mary", &keys);
            let first_delete = plan.steps.iter().find(|s| s.kind == StepKind::Delete).unwrap();
            let expected = first_to_delete(&keys).unwrap();
            prop_assert_eq!(first_delete.access_key_id.as_deref(), Some(expected.access_key_id.as_str()));
            // Every active key is deactivated before it is deleted.
            for (i, s) in plan.steps.iter().enumerate() {
                if s.kind == StepKind::Delete {
                    let k = keys.iter().find(|k| Some(k.access_key_id.as_str()) == s.access_key_id.as_deref()).unwrap();
                    if k.status == KeyStatus::Active {
                        prop_assert!(plan.steps[..i].iter().any(|p| p.kind == StepKind::Deactivate && p.access_key_id == s.access_key_id));
                    }
                }
            }
        }
    }
}
