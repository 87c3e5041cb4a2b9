//! The authenticator's lookup, simulated: which entry maps a caller, and the
//! username and groups it renders.
//!
//! As aws-iam-authenticator's ConfigMap mapper does it:
//! * the caller's canonical ARN (assumed-role → `arn:P:iam::ACCT:role/NAME`,
//!   no path) is lower-cased and compared with each mapped ARN lower-cased;
//!   nothing else is normalised, so a path or an sts ARN in an entry never
//!   matches;
//! * mapRoles is looked up first, then mapUsers (by ARN alone: a user ARN
//!   under mapRoles is still found), then mapAccounts (username = the
//!   canonical ARN, no groups);
//! * mapRoles entries are kept in a map keyed by the lower-cased ARN, so of
//!   two entries for the same role the later one wins; mapUsers keys keep
//!   their case, so of two entries differing only in case either may win;
//! * entries without an ARN are dropped; a section whose YAML does not parse
//!   is dropped whole;
//! * templates: `{{EC2PrivateDNSName}}` (needs the session name to be an EC2
//!   instance id, then an EC2 call: unknown offline), `{{AccountID}}`,
//!   `{{SessionName}}` (`@` → `-`), `{{SessionNameRaw}}`, `{{AccessKeyID}}`.

use serde::Serialize;

use super::arns::{MappedArn, classify, path_free_role_arn};
use super::reader::{AwsAuth, MapEntry, Section};
use crate::arn::{Principal, PrincipalError, PrincipalKind};
use crate::snapshot::CallerIdentity;

/// Why nobody maps through a ConfigMap the API server refuses.
pub const REJECTED: &str =
    "this ConfigMap would be rejected; the cluster keeps its previous aws-auth";

/// Templates the authenticator renders.
pub const KNOWN_TEMPLATES: &[&str] = &[
    "EC2PrivateDNSName",
    "AccountID",
    "SessionName",
    "SessionNameRaw",
    "AccessKeyID",
];

/// The `{{...}}` placeholders of a template that the authenticator does not know.
#[must_use]
pub fn unknown_templates(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            break;
        };
        let name = &after[..close];
        if !KNOWN_TEMPLATES.contains(&name) {
            out.push(format!("{{{{{name}}}}}"));
        }
        rest = &after[close + 2..];
    }
    out
}

/// Who is asking, as the authenticator sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub arn: String,
    pub canonical_arn: String,
    pub account: String,
    pub kind: PrincipalKind,
    /// The role session name (assumed roles); `None` when not known.
    pub session: Option<String>,
    pub access_key_id: Option<String>,
}

impl Caller {
    /// From a principal ARN (`--principal`).
    ///
    /// # Errors
    /// When the text is not a principal ARN (service principals included).
    pub fn from_arn(arn: &str) -> Result<Self, PrincipalError> {
        let trimmed = arn.trim();
        if let Some((_, rest)) = trimmed.split_once(":assumed-role/")
            && trimmed.starts_with("arn:")
            && !rest.trim_end_matches('/').contains('/')
        {
            return Err(PrincipalError::NoSession(trimmed.to_owned()));
        }
        let p = Principal::parse(arn)?;
        // arn.Canonicalize: an unknown partition is refused before any mapping.
        if let Some(a) = &p.arn
            && !a.known_partition()
        {
            return Err(PrincipalError::UnknownPartition {
                arn: trimmed.to_owned(),
                partition: a.partition.clone(),
            });
        }
        // A role ARN stands for its sessions, which STS reports without the
        // path: the authenticator sees arn:P:iam::ACCT:role/NAME.
        let canonical = match p.kind {
            PrincipalKind::Role => super::arns::path_free_role_arn(&p),
            _ => p.canonical_arn(),
        }
        .ok_or_else(|| PrincipalError::NotAPrincipal(arn.to_owned()))?;
        Ok(Self {
            arn: arn.trim().to_owned(),
            canonical_arn: canonical,
            account: p.account().unwrap_or("").to_owned(),
            kind: p.kind,
            session: p.session.clone(),
            access_key_id: None,
        })
    }

    /// From live GetCallerIdentity data.
    #[must_use]
    pub fn from_identity(id: &CallerIdentity) -> Self {
        let session = Principal::parse(&id.arn).ok().and_then(|p| p.session);
        Self {
            arn: id.arn.clone(),
            canonical_arn: id.canonical_arn.clone(),
            account: id.account.clone(),
            kind: id.kind,
            session,
            access_key_id: None,
        }
    }
}

/// A rendered template; placeholders that cannot be known offline stay as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub text: String,
    /// Placeholders left in `text` (e.g. `EC2PrivateDNSName`).
    pub unresolved: Vec<&'static str>,
}

/// Why a template cannot render for this caller (the authenticator then refuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError(pub String);

fn is_instance_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("i-") else {
        return false;
    };
    (rest.len() == 8 || rest.len() == 17)
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Render a username or group template as the authenticator does.
///
/// # Errors
/// `{{EC2PrivateDNSName}}` with a session name that is not an instance id.
pub fn render(template: &str, caller: &Caller) -> Result<Rendered, RenderError> {
    let mut unresolved = Vec::new();
    if template.contains("{{EC2PrivateDNSName}}") {
        let session = match caller.kind {
            PrincipalKind::User | PrincipalKind::Root | PrincipalKind::FederatedUser => Some(""),
            _ => caller.session.as_deref(),
        };
        match session {
            Some(s) if !is_instance_id(s) => {
                let this = if s.is_empty() {
                    "this caller has no session (an IAM user, root or federated user)".to_owned()
                } else {
                    format!("this session is {s:?}")
                };
                return Err(RenderError(format!(
                    "the username uses {{{{EC2PrivateDNSName}}}}, which the authenticator renders only for EC2 instances (session name an instance id such as i-0123456789abcdef0); {this}, so the authenticator refuses it"
                )));
            }
            _ => unresolved.push("EC2PrivateDNSName"),
        }
    }
    let mut text = template.replace("{{AccountID}}", &caller.account);
    // Callers without a session (IAM users, root, federated users) have an
    // empty session name: the authenticator renders "" for them. A role
    // given as a role ARN stands for its sessions, whose names are unknown.
    let no_session = matches!(
        caller.kind,
        PrincipalKind::User | PrincipalKind::Root | PrincipalKind::FederatedUser
    );
    let session = if no_session {
        Some(String::new())
    } else {
        caller.session.clone()
    };
    match &session {
        Some(s) => {
            text = text.replace("{{SessionName}}", &s.replace('@', "-"));
            text = text.replace("{{SessionNameRaw}}", s);
        }
        None => {
            if text.contains("{{SessionName}}") {
                unresolved.push("SessionName");
            }
            if text.contains("{{SessionNameRaw}}") {
                unresolved.push("SessionNameRaw");
            }
        }
    }
    match &caller.access_key_id {
        Some(k) => text = text.replace("{{AccessKeyID}}", k),
        None if text.contains("{{AccessKeyID}}") => unresolved.push("AccessKeyID"),
        None => {}
    }
    Ok(Rendered { text, unresolved })
}

/// How the ConfigMap maps a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An entry of mapRoles or mapUsers.
    Entry {
        section: Section,
        /// The entry's index in its section.
        index: usize,
        line: usize,
        username: Rendered,
        groups: Vec<Rendered>,
    },
    /// mapAccounts: username = the canonical ARN, no groups.
    Account {
        line: usize,
        username: String,
    },
    /// An entry matches, but its templates cannot render for this caller.
    Refused {
        line: usize,
        reason: String,
    },
    NotMapped,
}

/// The lookup's answer plus the near misses that explain a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub outcome: Outcome,
    /// "the entry on line 8 has a path; ..." — one per near miss.
    pub reasons: Vec<String>,
    /// The line of the first near miss.
    pub hint_line: Option<usize>,
}

fn matches(entry: &MapEntry, lower_canonical: &str) -> bool {
    !entry.ignored()
        && entry
            .arn
            .as_ref()
            .is_some_and(|a| a.value.to_lowercase() == lower_canonical)
}

/// Look the caller up in the ConfigMap.
#[must_use]
pub fn lookup(auth: &AwsAuth, caller: &Caller) -> Lookup {
    if let Some(ns) = auth.namespace.as_deref()
        && ns != "kube-system"
    {
        return Lookup {
            outcome: Outcome::NotMapped,
            reasons: vec![format!(
                "the ConfigMap on line {} is in namespace {ns:?}, and the authenticator reads only kube-system/aws-auth",
                auth.namespace_line
            )],
            hint_line: Some(auth.namespace_line),
        };
    }
    if let Some((line, why)) = auth.rejected() {
        return Lookup {
            outcome: Outcome::NotMapped,
            reasons: vec![format!("{REJECTED}: {why}")],
            hint_line: Some(line),
        };
    }
    let lower = caller.canonical_arn.to_lowercase();
    let hit = auth
        .entries(Section::Roles)
        .filter(|e| matches(e, &lower))
        .last()
        .or_else(|| {
            auth.entries(Section::Users)
                .filter(|e| matches(e, &lower))
                .last()
        });
    let outcome = if let Some(e) = hit {
        let line = e.arn.as_ref().map_or(e.line, |a| a.line);
        let rendered = render(e.username(), caller).and_then(|u| {
            let groups = e
                .groups
                .names()
                .iter()
                .map(|g| render(g, caller))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((u, groups))
        });
        match rendered {
            Ok((username, groups)) => Outcome::Entry {
                section: e.section,
                index: e.index,
                line,
                username,
                groups,
            },
            Err(RenderError(reason)) => Outcome::Refused { line, reason },
        }
    } else if let Some(a) = auth
        .effective(Section::Accounts)
        .filter(|v| v.parse_error.is_none())
        .and_then(|v| v.accounts.iter().find(|a| a.value == caller.account))
    {
        Outcome::Account {
            line: a.line,
            username: caller.canonical_arn.clone(),
        }
    } else {
        Outcome::NotMapped
    };
    let misses = if matches!(outcome, Outcome::NotMapped | Outcome::Refused { .. }) {
        near_misses(auth, caller)
    } else {
        Vec::new()
    };
    Lookup {
        outcome,
        hint_line: misses.first().map(|(l, _)| *l),
        reasons: misses.into_iter().map(|(_, r)| r).collect(),
    }
}

/// Entries that look meant for this caller but will not match: (line, why).
#[must_use]
pub fn near_misses(auth: &AwsAuth, caller: &Caller) -> Vec<(usize, String)> {
    let lower = caller.canonical_arn.to_lowercase();
    let canonical = &caller.canonical_arn;
    let mut out = Vec::new();
    for v in &auth.values {
        if let Some(section) = v.section {
            if let Some(e) = &v.parse_error
                && section != Section::Accounts
            {
                let name = caller.canonical_arn.rsplit('/').next().unwrap_or("");
                if let super::reader::ValueForm::String { text, .. } = &v.form
                    && text.to_lowercase().contains(&name.to_lowercase())
                {
                    out.push((e.line, format!(
                        "{} mentions this principal but its YAML does not parse (line {}), so the authenticator ignores every entry in it",
                        v.key, e.line
                    )));
                }
            }
            if section == Section::Accounts && !v.is_effective(section) {
                if v.accounts.iter().any(|a| a.value == caller.account) {
                    out.push((v.key_line, format!(
                        "the account is listed under {} on line {}, a key the authenticator ignores (it reads only mapAccounts, case-sensitive)",
                        v.key, v.key_line
                    )));
                }
                continue;
            }
        }
        for e in &v.entries {
            let candidates = [(&e.arn, false), (&e.foreign_arn, true)];
            for (field, foreign) in candidates {
                let Some(f) = field else { continue };
                let exact = f.value.to_lowercase() == lower;
                if exact {
                    if !v.is_effective(e.section) {
                        out.push((f.line, format!(
                            "the entry on line {} is under {}, a key the authenticator ignores (it reads only {}, case-sensitive)",
                            f.line,
                            v.key,
                            e.section.key()
                        )));
                    } else if v.parse_error.is_none() && foreign && e.arn.is_none() {
                        out.push((f.line, format!(
                            "the entry on line {} uses {} under {}, where the authenticator reads only {}; it drops the entry",
                            f.line,
                            f.key,
                            e.section.key(),
                            e.section.arn_key()
                        )));
                    }
                    continue;
                }
                if f.value.trim().to_lowercase() == lower {
                    out.push((f.line, format!(
                        "the entry on line {} has spaces around the ARN, which the authenticator compares too",
                        f.line
                    )));
                    continue;
                }
                if let MappedArn::Principal(p) = classify(&f.value)
                    && let Some(free) = path_free_role_arn(&p)
                    && free.to_lowercase() == lower
                {
                    let why = match p.kind {
                        PrincipalKind::AssumedRole => "is an sts assumed-role ARN",
                        _ if p.is_sso_role() => {
                            "has the IAM Identity Center path aws-reserved/sso.amazonaws.com/"
                        }
                        _ => "has a path",
                    };
                    out.push((f.line, format!(
                        "the entry on line {} {why}; the authenticator compares against {canonical}",
                        f.line
                    )));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::awsauth::reader::{Read, read};

    fn auth(map_roles: &str) -> AwsAuth {
        let text = format!(
            "kind: ConfigMap\nmetadata:\n  name: aws-auth\ndata:\n  mapRoles: |\n{}",
            map_roles
                .lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        );
        match read(&text, "f").unwrap() {
            Read::ConfigMaps(mut v) => v.remove(0),
            Read::Invalid(e) => panic!("{e}"),
        }
    }

    fn caller(arn: &str) -> Caller {
        Caller::from_arn(arn).unwrap()
    }

    #[test]
    fn renders_templates_like_the_authenticator() {
        let c = caller("arn:aws:sts::111122223333:assumed-role/dev/alice@example.com");
        let r = render("{{AccountID}}:{{SessionName}}:{{SessionNameRaw}}", &c).unwrap();
        assert_eq!(r.text, "111122223333:alice-example.com:alice@example.com");
        assert!(render("system:node:{{EC2PrivateDNSName}}", &c).is_err());
        let node = caller("arn:aws:sts::111122223333:assumed-role/node/i-0123456789abcdef0");
        let r = render("system:node:{{EC2PrivateDNSName}}", &node).unwrap();
        assert_eq!(r.unresolved, vec!["EC2PrivateDNSName"]);
        let role = caller("arn:aws:iam::111122223333:role/dev");
        assert_eq!(
            render("{{SessionName}}", &role).unwrap().unresolved,
            vec!["SessionName"]
        );
        assert_eq!(
            unknown_templates("a-{{SessionID}}-{{AccountID}}"),
            vec!["{{SessionID}}"]
        );
    }

    #[test]
    fn path_never_matches_and_says_why() {
        let a = auth("- rolearn: arn:aws:iam::111122223333:role/team/dev\n  username: dev\n");
        let l = lookup(&a, &caller("arn:aws:sts::111122223333:assumed-role/dev/s"));
        assert_eq!(l.outcome, Outcome::NotMapped);
        assert!(
            l.reasons[0].contains("line 6 has a path"),
            "{:?}",
            l.reasons
        );
        assert_eq!(l.hint_line, Some(6));
    }

    #[test]
    fn case_insensitive_and_last_role_wins() {
        let a = auth(
            "- rolearn: arn:aws:iam::111122223333:role/Dev\n  username: first\n- rolearn: ARN:AWS:IAM::111122223333:ROLE/DEV\n  username: second\n  groups: [g]\n",
        );
        let l = lookup(&a, &caller("arn:aws:sts::111122223333:assumed-role/dev/s"));
        match l.outcome {
            Outcome::Entry {
                username, groups, ..
            } => {
                assert_eq!(username.text, "second");
                assert_eq!(groups[0].text, "g");
            }
            other => panic!("{other:?}"),
        }
    }
}
