//! Who maps to what: the authenticator's answer for every principal an
//! aws-auth ConfigMap names, so that a change to the ConfigMap (a `--fix`, a
//! migration) can be checked principal by principal against what is in
//! effect today.

use std::collections::{BTreeMap, HashMap};

use super::arns::{MappedArn, classify, path_free_role_arn};
use super::mapper::{Caller, Outcome, lookup};
use super::reader::{AwsAuth, MapEntry, Section};
use crate::arn::PrincipalKind;

/// One principal's mapping, as the authenticator would answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effective {
    NotMapped,
    /// mapAccounts: username = the canonical ARN, no groups.
    Account,
    /// A mapRoles/mapUsers entry (templates left as written when not known).
    Entry {
        username: String,
        groups: Vec<String>,
    },
    /// An entry matches but its templates cannot render: the caller is refused.
    Refused,
}

impl Effective {
    /// `username "x", groups [a, b]`, `not mapped`, ...
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::NotMapped => "not mapped".to_owned(),
            Self::Account => "mapped by mapAccounts (username = its ARN, no groups)".to_owned(),
            Self::Entry {
                username, groups, ..
            } => format!("username {username:?}, groups [{}]", groups.join(", ")),
            Self::Refused => "refused (its username template cannot render)".to_owned(),
        }
    }

    /// Whether this grants anything.
    #[must_use]
    pub fn is_mapped(&self) -> bool {
        matches!(self, Self::Account | Self::Entry { .. })
    }
}

/// A principal's answer and the line of the entry that gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub effective: Effective,
    /// The line of the ARN of the entry in effect (mapRoles/mapUsers), if any.
    pub line: Option<usize>,
    /// The entry in effect: its section and index there.
    pub entry: Option<(Section, usize)>,
}

/// The canonical caller ARN that an aws-auth ARN is meant for: the role
/// without path for roles and assumed roles, the ARN itself otherwise.
#[must_use]
pub fn caller_arn_for(mapped: &str) -> Option<String> {
    let MappedArn::Principal(p) = classify(mapped) else {
        return None;
    };
    match p.kind {
        PrincipalKind::Role | PrincipalKind::AssumedRole => path_free_role_arn(&p),
        PrincipalKind::User | PrincipalKind::Root | PrincipalKind::FederatedUser => {
            Some(mapped.to_owned())
        }
        PrincipalKind::Service => None,
    }
}

/// Every caller an aws-auth ConfigMap names (its entries' ARNs, canonical),
/// keyed by the lower-cased ARN.
#[must_use]
pub fn principals(auth: &AwsAuth) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, e) in auth.all_entries() {
        for f in [&e.arn, &e.foreign_arn].into_iter().flatten() {
            if let Some(c) = caller_arn_for(&f.value) {
                out.entry(c.to_lowercase()).or_insert(c);
            }
        }
    }
    out
}

/// The authenticator's answer for one canonical caller ARN.
#[must_use]
pub fn answer(auth: &AwsAuth, canonical: &str) -> Answer {
    let Ok(caller) = Caller::from_arn(canonical) else {
        return Answer {
            effective: Effective::NotMapped,
            line: None,
            entry: None,
        };
    };
    match lookup(auth, &caller).outcome {
        Outcome::Entry {
            section,
            index,
            line,
            username,
            groups,
        } => Answer {
            entry: Some((section, index)),
            effective: Effective::Entry {
                username: username.text,
                groups: groups.into_iter().map(|g| g.text).collect(),
            },
            line: Some(line),
        },
        Outcome::Account { .. } => Answer {
            effective: Effective::Account,
            line: None,
            entry: None,
        },
        Outcome::Refused { line, .. } => Answer {
            effective: Effective::Refused,
            line: Some(line),
            entry: None,
        },
        Outcome::NotMapped => Answer {
            effective: Effective::NotMapped,
            line: None,
            entry: None,
        },
    }
}

/// Which entry the authenticator uses for each ARN, for every entry at once
/// (what [`answer`] finds for one caller, without a lookup per entry).
#[derive(Debug, Default)]
pub struct Winners<'a> {
    /// mapRoles: lower-cased ARN → the last entry for it.
    roles: HashMap<String, &'a MapEntry>,
    /// mapUsers: lower-cased ARN → every entry for it, in order.
    users: HashMap<String, Vec<&'a MapEntry>>,
}

impl<'a> Winners<'a> {
    #[must_use]
    pub fn new(auth: &'a AwsAuth) -> Self {
        let mut w = Self::default();
        if auth.rejected().is_some()
            || auth
                .namespace
                .as_deref()
                .is_some_and(|ns| ns != "kube-system")
        {
            return w;
        }
        for e in auth.entries(Section::Roles).filter(|e| !e.ignored()) {
            if let Some(a) = &e.arn {
                w.roles.insert(a.value.to_lowercase(), e);
            }
        }
        for e in auth.entries(Section::Users).filter(|e| !e.ignored()) {
            if let Some(a) = &e.arn {
                w.users.entry(a.value.to_lowercase()).or_default().push(e);
            }
        }
        w
    }

    /// The entry in effect for an ARN (compared case-insensitively).
    #[must_use]
    pub fn winner(&self, arn: &str) -> Option<&'a MapEntry> {
        let k = arn.to_lowercase();
        self.roles
            .get(&k)
            .copied()
            .or_else(|| self.users.get(&k).and_then(|v| v.last().copied()))
    }

    /// Other mapUsers entries for the same ARN written in another case.
    #[must_use]
    pub fn case_variants(&self, e: &MapEntry) -> Vec<&'a MapEntry> {
        let Some(a) = &e.arn else {
            return Vec::new();
        };
        self.users
            .get(&a.value.to_lowercase())
            .map(|v| {
                v.iter()
                    .filter(|o| o.arn.as_ref().is_some_and(|x| x.value != a.value))
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the authenticator uses this entry for the caller it names.
    #[must_use]
    pub fn in_effect(&self, e: &MapEntry) -> bool {
        let Some(a) = &e.arn else { return false };
        !e.ignored()
            && caller_arn_for(&a.value).is_some_and(|c| c.eq_ignore_ascii_case(&a.value))
            && self.winner(&a.value).is_some_and(|w| std::ptr::eq(w, e))
    }
}

/// The answers for a set of principals (lower-cased key → (ARN, answer)).
#[must_use]
pub fn table(auth: &AwsAuth, who: &BTreeMap<String, String>) -> BTreeMap<String, (String, Answer)> {
    who.iter()
        .map(|(k, arn)| (k.clone(), (arn.clone(), answer(auth, arn))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::awsauth::reader::{Read, read};

    #[test]
    fn principals_are_canonical() {
        let text = "kind: ConfigMap\nmetadata: {name: aws-auth}\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/ci/build\n    - rolearn: arn:aws:sts::111122223333:assumed-role/dev/s\n    - rolearn: arn:aws:iam::111122223333:user/bob\n      username: bob\n";
        let Ok(Read::ConfigMaps(v)) = read(text, "f") else {
            panic!()
        };
        let p = principals(&v[0]);
        assert_eq!(
            p.values().cloned().collect::<Vec<_>>(),
            vec![
                "arn:aws:iam::111122223333:role/build",
                "arn:aws:iam::111122223333:role/dev",
                "arn:aws:iam::111122223333:user/bob"
            ]
        );
        let a = answer(&v[0], "arn:aws:iam::111122223333:user/bob");
        assert_eq!(a.line, Some(7));
        assert!(a.effective.is_mapped());
        assert_eq!(
            answer(&v[0], "arn:aws:iam::111122223333:role/build").effective,
            Effective::NotMapped
        );
    }
}
