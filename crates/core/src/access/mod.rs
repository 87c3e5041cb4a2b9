//! Cluster access: who the caller is to Kubernetes, across access entries and
//! the aws-auth ConfigMap, by the cluster's authentication mode.
//!
//! As EKS does it:
//! * `CONFIG_MAP`: aws-auth only (access entries cannot be used);
//! * `API_AND_CONFIG_MAP`: access entries first; aws-auth only for a
//!   principal without an access entry ("access entries take precedence over
//!   ConfigMap entries for the same IAM principal");
//! * `API`: access entries only; aws-auth is ignored.
//!
//! Without a known mode, every source given is consulted, access entries
//! first. An access entry names the principal's full ARN (role path
//! included); the caller's canonical ARN has no path, so roles are matched by
//! account and name. Used by `lint aws-auth --principal`, `check` and the
//! dashboard.

mod saved;

use serde::Serialize;

use crate::arn::PrincipalKind;
use crate::awsauth::arns::{MappedArn, classify, path_free_role_arn};
pub use crate::awsauth::mapper::Caller;
use crate::awsauth::mapper::{self, Outcome, Rendered};
use crate::awsauth::reader::AwsAuth;
use crate::finding::{Finding, Fix};
use crate::rules;
use crate::snapshot::{AccessEntry, AuthenticationMode, Mapping};
pub use saved::{RolePaths, SavedError, parse_access_entries};

/// The answer: the mapping when there is one, and findings either way.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resolution {
    pub mapping: Option<Mapping>,
    /// The aws-auth line of the mapping entry, when it came from aws-auth.
    pub line: Option<usize>,
    /// When not mapped: the line of the aws-auth entry that looks meant for the caller.
    pub hint_line: Option<usize>,
    /// Template placeholders that cannot be known offline (`EC2PrivateDNSName`...).
    pub unresolved: Vec<&'static str>,
    /// Context: which source won, what was not consulted.
    pub notes: Vec<String>,
    pub findings: Vec<Finding>,
}

/// The JSON `mapping` member of `lint aws-auth --principal` (cli.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingReport<'a> {
    pub source: &'static str,
    pub username: &'a str,
    pub groups: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub access_policies: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "<[&str]>::is_empty")]
    pub unresolved: &'a [&'static str],
}

impl Resolution {
    /// The `mapping` JSON, when mapped.
    #[must_use]
    pub fn mapping_json(&self) -> Option<serde_json::Value> {
        let m = self.mapping.as_ref()?;
        serde_json::to_value(MappingReport {
            source: m.source,
            username: &m.username,
            groups: &m.groups,
            access_policies: &m.access_policies,
            line: self.line,
            unresolved: &self.unresolved,
        })
        .ok()
    }
}

/// Whether an access entry's principal is this caller.
#[must_use]
pub fn entry_matches(entry: &AccessEntry, caller: &Caller) -> bool {
    let lower = caller.canonical_arn.to_lowercase();
    match classify(&entry.principal_arn) {
        MappedArn::Principal(p) if p.kind == PrincipalKind::Role => {
            path_free_role_arn(&p).is_some_and(|a| a.to_lowercase() == lower)
        }
        MappedArn::Principal(_) => entry.principal_arn.to_lowercase() == lower,
        MappedArn::Invalid(_) => false,
    }
}

/// The username EKS gives an access entry created without one.
#[must_use]
pub fn default_username(entry: &AccessEntry) -> String {
    match entry.entry_type.as_deref() {
        Some("EC2_LINUX" | "EC2_WINDOWS" | "EC2" | "HYBRID_LINUX") => {
            "system:node:{{EC2PrivateDNSName}}".to_owned()
        }
        Some("FARGATE_LINUX") => "system:node:{{SessionName}}".to_owned(),
        _ => match classify(&entry.principal_arn) {
            MappedArn::Principal(p) if p.kind == PrincipalKind::Role => {
                let arn = p.arn.as_ref();
                format!(
                    "arn:{}:sts::{}:assumed-role/{}/{{{{SessionName}}}}",
                    arn.map_or("aws", |a| a.partition.as_str()),
                    arn.map_or("", |a| a.account.as_str()),
                    p.name
                )
            }
            _ => entry.principal_arn.clone(),
        },
    }
}

fn from_entry(entry: &AccessEntry, caller: &Caller) -> (Mapping, Vec<&'static str>) {
    let template = entry
        .username
        .clone()
        .unwrap_or_else(|| default_username(entry));
    let node = matches!(
        entry.entry_type.as_deref(),
        Some("EC2_LINUX" | "EC2_WINDOWS" | "FARGATE_LINUX" | "HYBRID_LINUX" | "EC2")
    );
    let rendered = mapper::render(&template, caller).unwrap_or(Rendered {
        text: template.clone(),
        unresolved: Vec::new(),
    });
    let mut groups = entry.kubernetes_groups.clone();
    if node && groups.is_empty() {
        groups.push("system:nodes".to_owned());
    }
    (
        Mapping {
            source: "access-entry",
            username: rendered.text,
            groups,
            access_policies: entry
                .access_policies
                .iter()
                .map(|p| p.policy_arn.clone())
                .collect(),
        },
        rendered.unresolved,
    )
}

/// What makes the fix commands exact: the cluster's name and the roles' paths.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    pub cluster: Option<String>,
    pub role_paths: RolePaths,
}

/// Who the caller is to Kubernetes.
#[must_use]
pub fn resolve(
    caller: &Caller,
    mode: Option<AuthenticationMode>,
    aws_auth: Option<&AwsAuth>,
    entries: Option<&[AccessEntry]>,
) -> Resolution {
    resolve_with(caller, mode, aws_auth, entries, &Hints::default())
}

/// [`resolve`], with the cluster name and role paths for the fix commands.
#[must_use]
pub fn resolve_with(
    caller: &Caller,
    mode: Option<AuthenticationMode>,
    aws_auth: Option<&AwsAuth>,
    entries: Option<&[AccessEntry]>,
    hints: &Hints,
) -> Resolution {
    let mut r = Resolution::default();
    let use_entries = entries.is_some() && mode.is_none_or(AuthenticationMode::uses_access_entries);
    let use_cm = aws_auth.is_some() && mode.is_none_or(AuthenticationMode::uses_config_map);
    let entry = entries
        .unwrap_or(&[])
        .iter()
        .find(|e| entry_matches(e, caller));
    let lookup = aws_auth.map(|a| mapper::lookup(a, caller));

    if mode == Some(AuthenticationMode::ConfigMap) {
        r.findings.push(config_map_only_for(
            hints.cluster.as_deref(),
            entry.is_some(),
        ));
    }

    if use_entries && let Some(e) = entry {
        let (mapping, unresolved) = from_entry(e, caller);
        r.mapping = Some(mapping);
        r.unresolved = unresolved;
        if let Some(Lookup { line: Some(l), .. }) = lookup.as_ref().map(summarize) {
            r.notes.push(format!(
                "aws-auth also maps this principal (line {l}); the access entry takes precedence"
            ));
        }
        return r;
    }
    if !use_entries && entry.is_some() {
        r.notes.push(
            "an access entry exists for this principal, but the CONFIG_MAP authentication mode does not consult access entries".to_owned(),
        );
    }

    let mut reasons: Vec<String> = Vec::new();
    if use_cm && let Some(l) = &lookup {
        match &l.outcome {
            Outcome::Entry {
                line,
                username,
                groups,
                ..
            } => {
                let mut unresolved = username.unresolved.clone();
                for g in groups {
                    unresolved.extend(g.unresolved.iter().copied());
                }
                unresolved.dedup();
                r.mapping = Some(Mapping {
                    source: "aws-auth",
                    username: username.text.clone(),
                    groups: groups.iter().map(|g| g.text.clone()).collect(),
                    access_policies: Vec::new(),
                });
                r.line = Some(*line);
                r.unresolved = unresolved;
                return r;
            }
            Outcome::Account { line, username } => {
                r.mapping = Some(Mapping {
                    source: "aws-auth",
                    username: username.clone(),
                    groups: Vec::new(),
                    access_policies: Vec::new(),
                });
                r.line = Some(*line);
                r.notes.push(format!(
                    "mapped by mapAccounts (line {line}): username = the canonical ARN, no groups"
                ));
                return r;
            }
            Outcome::Refused { line, reason } => {
                reasons.push(format!("the entry on line {line} matches, but {reason}"));
            }
            Outcome::NotMapped => {}
        }
        reasons.extend(l.reasons.iter().cloned());
        r.hint_line = l.hint_line;
    }
    if !use_cm && let Some(Lookup { line: Some(l), .. }) = lookup.as_ref().map(summarize) {
        reasons.push(format!(
            "aws-auth maps this principal on line {l}, but the API authentication mode ignores aws-auth: create an access entry"
        ));
    }
    if entries.is_none() && mode != Some(AuthenticationMode::ConfigMap) {
        reasons.push("access entries were not given (--access-entries): an access entry could still map this principal".to_owned());
    }
    r.findings
        .push(not_mapped(caller, mode, &reasons, hints, aws_auth));
    r
}

/// The role's full ARN (with its path) and where it was learnt: saved
/// `aws iam list-roles`/`get-role` output (or a live GetRole), the principal
/// as given, or an aws-auth entry that carries the path.
fn full_role_arn(
    caller: &Caller,
    hints: &Hints,
    aws_auth: Option<&AwsAuth>,
) -> Option<(String, String)> {
    let role_name = caller.canonical_arn.rsplit('/').next().unwrap_or("");
    if let Some(full) = hints.role_paths.full_arn(&caller.account, role_name) {
        return Some((full.to_owned(), "from the role's IAM record".to_owned()));
    }
    if caller.kind == PrincipalKind::Role
        && let MappedArn::Principal(p) = classify(&caller.arn)
        && p.path != "/"
    {
        return Some((caller.arn.clone(), "as given".to_owned()));
    }
    let lower = caller.canonical_arn.to_lowercase();
    aws_auth?.all_entries().find_map(|(_, e)| {
        let a = e.arn.as_ref().or(e.foreign_arn.as_ref())?;
        let MappedArn::Principal(p) = classify(&a.value) else {
            return None;
        };
        (p.kind == PrincipalKind::Role
            && p.path != "/"
            && path_free_role_arn(&p).is_some_and(|f| f.to_lowercase() == lower))
        .then(|| {
            (
                a.value.clone(),
                format!("the path of the aws-auth entry on line {}", a.line),
            )
        })
    })
}

struct Lookup {
    line: Option<usize>,
}

fn summarize(l: &mapper::Lookup) -> Lookup {
    Lookup {
        line: match &l.outcome {
            Outcome::Entry { line, .. } | Outcome::Account { line, .. } => Some(*line),
            Outcome::Refused { .. } | Outcome::NotMapped => None,
        },
    }
}

fn not_mapped(
    caller: &Caller,
    mode: Option<AuthenticationMode>,
    reasons: &[String],
    hints: &Hints,
    aws_auth: Option<&AwsAuth>,
) -> Finding {
    let base = match mode {
        Some(AuthenticationMode::Api) => format!("{} has no access entry", caller.canonical_arn),
        Some(AuthenticationMode::ConfigMap) => {
            format!("{} is not mapped in aws-auth", caller.canonical_arn)
        }
        _ => format!(
            "{} is in neither the access entries nor aws-auth",
            caller.canonical_arn
        ),
    };
    let message = match reasons.first() {
        Some(r) => format!("{base}: {r}"),
        None => base,
    };
    let arn = &caller.canonical_arn;
    let mut detail = format!(
        "EKS matches the caller by its canonical ARN {arn} (an assumed role becomes its role ARN, without path). "
    );
    for reason in reasons {
        let mut c = reason.chars();
        if let Some(first) = c.next() {
            detail.push(first.to_ascii_uppercase());
            detail.push_str(c.as_str());
            detail.push_str(". ");
        }
    }
    detail.push_str("Without a mapping kubectl gets \"You must be logged in to the server (Unauthorized)\" and the console \"does not have access to Kubernetes objects\".");
    let is_role = caller.kind == PrincipalKind::AssumedRole || caller.kind == PrincipalKind::Role;
    let role_name = arn.rsplit('/').next().unwrap_or("");
    let full = if is_role {
        full_role_arn(caller, hints, aws_auth)
    } else {
        None
    };
    let cluster = crate::awsauth::migrate::shell_quote(
        hints
            .cluster
            .as_deref()
            .unwrap_or(crate::awsauth::migrate::CLUSTER_PLACEHOLDER),
    );
    // The fix fits the mode: API reads only access entries, CONFIG_MAP only
    // aws-auth; with both (or unknown) an access entry is the way forward.
    let want_entry = mode != Some(AuthenticationMode::ConfigMap);
    let want_cm = mode != Some(AuthenticationMode::Api);
    let aws_auth_fragment = format!(
        "- {}: {arn}\n  username: NAME\n  groups:\n    - GROUP",
        if arn.contains(":user/") || arn.contains(":root") {
            "userarn"
        } else {
            "rolearn"
        }
    );
    let fix = if want_entry {
        let path_note = match (is_role, &full) {
            (false, _) => String::new(),
            (true, Some((f, source))) => format!(
                " (an access entry names the role's full ARN, path included: {f}, {source}{})",
                if want_cm {
                    "; aws-auth names it without the path"
                } else {
                    ""
                }
            ),
            (true, None) => format!(
                " (an access entry names the role's full ARN, path included, which is unknown here: check `aws iam get-role --role-name {role_name} --query Role.Arn` or pass --role-paths{})",
                if want_cm {
                    "; aws-auth names it without the path"
                } else {
                    ""
                }
            ),
        };
        let principal = crate::awsauth::migrate::shell_quote(
            full.as_ref().map_or(arn.as_str(), |(f, _)| f.as_str()),
        );
        let mut fix = Fix::new(format!("create an access entry for the principal{path_note}"))
            .command(format!(
                "aws eks create-access-entry --cluster-name {cluster} --principal-arn {principal} --type STANDARD"
            ))
            .command(format!(
                "aws eks associate-access-policy --cluster-name {cluster} --principal-arn {principal} --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy --access-scope type=cluster"
            ));
        if want_cm {
            fix = fix.replacement(format!(
                "# or, in aws-auth mapRoles/mapUsers (the ARN without path):\n{aws_auth_fragment}"
            ));
        }
        fix
    } else {
        Fix::new(if is_role {
            "map the principal in aws-auth (the role ARN without its path; the CONFIG_MAP mode ignores access entries)"
        } else {
            "map the principal in aws-auth (the CONFIG_MAP mode ignores access entries)"
        })
        .replacement(aws_auth_fragment)
    };
    Finding::new(rules::CLUSTER_NOT_MAPPED, message)
        .detail(detail)
        .evidence("canonical_arn", arn.clone())
        .evidence("principal", caller.arn.clone())
        .evidence(
            "reasons",
            reasons
                .iter()
                .map(|r| serde_json::Value::from(r.clone()))
                .collect::<Vec<_>>(),
        )
        .fix(fix)
}

/// cluster/config-map-only; `has_entry`: the caller has an access entry that this mode ignores.
#[must_use]
pub fn config_map_only(has_entry: bool) -> Finding {
    config_map_only_for(None, has_entry)
}

/// [`config_map_only`] with the cluster's name in the command.
#[must_use]
pub fn config_map_only_for(cluster: Option<&str>, has_entry: bool) -> Finding {
    let mut detail = String::from(
        "In the CONFIG_MAP authentication mode EKS reads only the aws-auth ConfigMap: access entries cannot be created or used. Move to API_AND_CONFIG_MAP (both sources, access entries first), create access entries for the aws-auth mappings (lint aws-auth lists the commands under aws-auth/migrate), then move to API. The change is one-way: a cluster cannot go back to CONFIG_MAP.",
    );
    if has_entry {
        detail.push_str(
            " The saved access entries include this principal, but this mode ignores them.",
        );
    }
    Finding::new(
        rules::CLUSTER_CONFIG_MAP_ONLY,
        "the cluster authenticates from aws-auth only (CONFIG_MAP)",
    )
    .detail(detail)
    .fix(Fix::new("enable access entries").command(format!(
        "aws eks update-cluster-config --name {} --access-config authenticationMode=API_AND_CONFIG_MAP",
        crate::awsauth::migrate::shell_quote(cluster.unwrap_or(crate::awsauth::migrate::CLUSTER_PLACEHOLDER))
    )))
}

/// cluster/access-entry-path: access entries for roles given without the path
/// that the role has (known from saved `aws iam list-roles`).
#[must_use]
pub fn check_entry_paths(entries: &[AccessEntry], roles: &RolePaths) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in entries {
        let MappedArn::Principal(p) = classify(&e.principal_arn) else {
            continue;
        };
        if p.kind != PrincipalKind::Role {
            continue;
        }
        let Some(full) = roles.full_arn(p.account().unwrap_or(""), &p.name) else {
            continue;
        };
        if full.eq_ignore_ascii_case(&e.principal_arn) {
            continue;
        }
        let full_p = crate::arn::Principal::parse(full).ok();
        let path = full_p.map_or_else(|| "/".to_owned(), |f| f.path);
        out.push(
            Finding::new(
                rules::CLUSTER_ACCESS_ENTRY_PATH,
                format!("the access entry for {} lacks the role's path {path}", e.principal_arn),
            )
            .detail("Access entries need the role's full ARN, path included (EKS answers \"The specified principalArn is invalid: invalid principal\" otherwise): the opposite of aws-auth, where the path must be left out. An entry that names a different ARN does not map the role.")
            .evidence("principal_arn", e.principal_arn.clone())
            .evidence("role_arn", full.to_owned())
            .fix(
                Fix::new("recreate the access entry with the full ARN")
                    .command(format!("aws eks delete-access-entry --cluster-name CLUSTER_NAME --principal-arn {}", e.principal_arn))
                    .command(format!("aws eks create-access-entry --cluster-name CLUSTER_NAME --principal-arn {full} --type {}", e.entry_type.as_deref().unwrap_or("STANDARD"))),
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::awsauth::reader::{Read, read};

    fn auth(text: &str) -> AwsAuth {
        match read(text, "f").unwrap() {
            Read::ConfigMaps(mut v) => v.remove(0),
            Read::Invalid(e) => panic!("{e}"),
        }
    }

    const CM: &str = "kind: ConfigMap\nmetadata: {name: aws-auth}\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/dev\n      username: cm-{{SessionName}}\n      groups: [cm]\n";

    fn entries() -> Vec<AccessEntry> {
        parse_access_entries(r#"{"accessEntry": {"principalArn": "arn:aws:iam::111122223333:role/team/dev", "kubernetesGroups": ["ae"]}}"#).unwrap()
    }

    #[test]
    fn modes_decide_the_source() {
        let a = auth(CM);
        let e = entries();
        let c = Caller::from_arn("arn:aws:sts::111122223333:assumed-role/dev/bob@x").unwrap();
        let both = resolve(
            &c,
            Some(AuthenticationMode::ApiAndConfigMap),
            Some(&a),
            Some(&e),
        );
        let m = both.mapping.unwrap();
        assert_eq!(m.source, "access-entry");
        assert_eq!(
            m.username,
            "arn:aws:sts::111122223333:assumed-role/dev/bob-x"
        );
        assert!(both.notes[0].contains("precedence"));
        let cm = resolve(&c, Some(AuthenticationMode::ConfigMap), Some(&a), Some(&e));
        assert_eq!(cm.mapping.as_ref().unwrap().username, "cm-bob-x");
        assert_eq!(cm.findings[0].rule, "cluster/config-map-only");
        let api = resolve(&c, Some(AuthenticationMode::Api), Some(&a), Some(&[]));
        assert!(api.mapping.is_none());
        assert_eq!(api.findings[0].rule, "cluster/not-mapped");
        assert!(api.findings[0].detail.contains("ignores aws-auth"));
    }

    #[test]
    fn entry_path_check() {
        let mut rp = RolePaths::default();
        rp.insert("arn:aws:iam::111122223333:role/team/dev");
        let e = parse_access_entries(r#"["arn:aws:iam::111122223333:role/dev"]"#).unwrap();
        let f = check_entry_paths(&e, &rp);
        assert_eq!(f[0].rule, "cluster/access-entry-path");
        assert!(check_entry_paths(&entries(), &rp).is_empty());
    }
}
