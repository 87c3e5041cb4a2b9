//! The aws-auth/ rules: small checks over a read ConfigMap.
//!
//! Adding a rule: write a `fn check_x(auth: &AwsAuth, out: &mut Vec<Finding>)`,
//! call it from [`check`], add `docs/rules/aws-auth/x.md` and a fixture under
//! `tests/fixtures/aws-auth/`.

use std::collections::HashMap;

use super::arns::{MappedArn, classify, path_free_role_arn, valid_account};
use super::mapper::unknown_templates;
use super::migrate::{self, MigrateOptions};
use super::reader::{AwsAuth, DataValue, Field, Groups, MapEntry, Section, ValueForm};
use crate::arn::PrincipalKind;
use crate::finding::{Finding, Fix, Location, Severity};
use crate::rules;

/// The node username EKS writes for EC2 node roles.
pub const NODE_USERNAME: &str = "system:node:{{EC2PrivateDNSName}}";
/// The node username EKS writes for Fargate pod execution roles.
pub const FARGATE_USERNAME: &str = "system:node:{{SessionName}}";
/// Username prefixes Kubernetes and EKS keep for themselves.
pub const RESERVED_PREFIXES: &[&str] = &["system:", "eks:", "aws:", "amazon:", "iam:"];

/// Run every aws-auth rule.
#[must_use]
pub fn check(auth: &AwsAuth, opts: &MigrateOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(ns) = auth.namespace.as_deref()
        && ns != "kube-system"
    {
        out.push(
            Finding::new(
                rules::AWS_AUTH_MALFORMED_ENTRY,
                format!("the ConfigMap is in namespace {ns:?}; the authenticator reads aws-auth from kube-system only"),
            )
            .detail("EKS watches exactly one ConfigMap: kube-system/aws-auth. A ConfigMap named aws-auth in any other namespace is ignored, so none of these mappings apply.")
            .evidence("namespace", ns.to_owned())
            .at(&auth.file, auth.namespace_line)
            .fix(Fix::new("put the ConfigMap in kube-system").replacement("  namespace: kube-system")),
        );
    }
    let mut seen: Vec<&str> = Vec::new();
    for v in &auth.values {
        if v.exact {
            if seen.contains(&v.key.as_str()) {
                out.push(
                    Finding::new(rules::AWS_AUTH_MALFORMED_ENTRY, format!("data key {} is given twice", v.key))
                        .detail("A YAML mapping key given twice: kubectl refuses the manifest (\"mapping key already defined\"), and decoders that accept it keep only the last value, silently dropping every entry of the first. Merge the two lists under one key.")
                        .evidence("key", v.key.clone())
                        .at(&auth.file, v.key_line),
                );
            }
            seen.push(v.key.as_str());
        }
        check_value(auth, v, &mut out);
        for e in &v.entries {
            check_entry(auth, e, opts, &mut out);
        }
        for a in &v.accounts {
            if !a.scalar || !valid_account(&a.value) {
                out.push(
                    Finding::new(
                        rules::AWS_AUTH_INVALID_ARN,
                        format!("{} lists {:?}, which is not a 12-digit account id", v.key, a.value),
                    )
                    .detail("mapAccounts is a list of 12-digit AWS account ids (quote them: \"111122223333\"). The authenticator compares the caller's account id with each item exactly, so this item never matches.")
                    .evidence("value", a.value.clone())
                    .at(&auth.file, a.line),
                );
            }
        }
    }
    check_duplicates(auth, &mut out);
    if let Some(f) = migrate::finding(auth, opts) {
        out.push(f);
    }
    out
}

fn at(f: Finding, file: &str, line: usize, column: Option<usize>) -> Finding {
    let mut f = f;
    f.location = Some(Location {
        file: file.to_owned(),
        line,
        column,
    });
    f
}

fn check_value(auth: &AwsAuth, v: &DataValue, out: &mut Vec<Finding>) {
    if !v.exact {
        let (message, fix) = match v.section {
            Some(s) => (
                format!(
                    "data key {:?} is not {:?}: keys are case-sensitive and the authenticator ignores it",
                    v.key,
                    s.key()
                ),
                Some(
                    Fix::new(format!("rename the key to {}", s.key()))
                        .replacement(format!("{}:", s.key())),
                ),
            ),
            None => {
                let suggestion = Section::ALL
                    .iter()
                    .map(|s| {
                        (
                            edit_distance(
                                &v.key.to_ascii_lowercase(),
                                &s.key().to_ascii_lowercase(),
                            ),
                            s,
                        )
                    })
                    .filter(|(d, _)| *d <= 3)
                    .min_by_key(|(d, _)| *d)
                    .map(|(_, s)| s.key());
                (
                    match suggestion {
                        Some(s) => format!(
                            "unknown data key {:?} (did you mean {s}?): the authenticator ignores it",
                            v.key
                        ),
                        None => {
                            format!("unknown data key {:?}: the authenticator ignores it", v.key)
                        }
                    },
                    suggestion.map(|s| {
                        Fix::new(format!("rename the key to {s}")).replacement(format!("{s}:"))
                    }),
                )
            }
        };
        let mut f = Finding::new(rules::AWS_AUTH_UNKNOWN_KEY, message)
            .detail("The authenticator reads exactly three data keys, case-sensitively: mapRoles, mapUsers and mapAccounts. Anything else is silently ignored, so the mappings under this key grant nothing.")
            .evidence("key", v.key.clone())
            .at(&auth.file, v.key_line);
        if let Some(fix) = fix {
            f = f.fix(fix);
        }
        out.push(f);
    }
    let Some(section) = v.section else { return };
    if let ValueForm::NotString { what } = v.form {
        out.push(
            Finding::new(
                rules::AWS_AUTH_MALFORMED_ENTRY,
                format!("{} is {what}, not a YAML string: the `|` after `{}:` is missing", v.key, v.key),
            )
            .detail("ConfigMap data values must be strings; the entries are YAML inside that string. The API server rejects a ConfigMap whose data value is a list or mapping, so this manifest cannot be applied as written: the cluster keeps its previous aws-auth, and nothing in this file maps anyone, not even its valid sections. Write the key as `mapRoles: |` and indent the entries under it.")
            .evidence("key", v.key.clone())
            .at(&auth.file, v.key_line)
            .fix(Fix::new("make the value a literal block string").replacement(format!("{}: |", v.key))),
        );
    }
    if let Some(e) = &v.parse_error {
        out.push(at(
            Finding::new(
                rules::AWS_AUTH_INVALID_YAML,
                format!("{} does not parse as YAML: {}", v.key, e.message),
            )
            .detail(format!(
                "The value of {} is YAML inside a string. When it does not parse, the authenticator logs an error and drops every mapping of {}: none of its entries grant access.",
                v.key, v.key
            ))
            .evidence("error", e.message.clone()),
            &auth.file,
            e.line,
            Some(e.column),
        ));
    }
    if let Some(what) = v.not_a_list {
        let shape = match section {
            Section::Accounts => "a list of account ids (- \"111122223333\")",
            Section::Roles => "a list of entries (- rolearn: ...)",
            Section::Users => "a list of entries (- userarn: ...)",
        };
        out.push(
            Finding::new(
                rules::AWS_AUTH_MALFORMED_ENTRY,
                format!("{} holds {what}, not {shape}", v.key),
            )
            .detail(format!("The authenticator decodes {} as a list; anything else fails to decode and the whole section is dropped.", v.key))
            .at(&auth.file, v.key_line),
        );
    }
}

fn check_entry(auth: &AwsAuth, e: &MapEntry, opts: &MigrateOptions, out: &mut Vec<Finding>) {
    let file = &auth.file;
    let sec = e.section.key();
    let own = e.section.arn_key();
    if let Some(what) = e.not_a_mapping {
        out.push(
            Finding::new(
                rules::AWS_AUTH_MALFORMED_ENTRY,
                format!("entry {} of {sec} is {what}, not a mapping with {own}, username and groups", e.index + 1),
            )
            .detail("Each item must be a mapping. The authenticator cannot decode this item and the entry is dropped.")
            .at(file, e.line)
            .fix(Fix::new("write the entry as a mapping").replacement(format!("- {own}: arn:aws:iam::111122223333:{}/NAME\n  username: NAME\n  groups:\n    - GROUP", if e.section == Section::Roles { "role" } else { "user" }))),
        );
        return;
    }
    match (&e.arn, &e.foreign_arn) {
        (None, Some(f)) => {
            out.push(
                Finding::new(
                    rules::AWS_AUTH_WRONG_SECTION,
                    format!("{sec} entry uses {}: the authenticator reads only {own} here and drops the entry", f.key),
                )
                .detail(format!("Entries of {sec} are decoded with the key {own}; without it the entry fails validation (\"{own} must be supplied\") and is ignored. Move the entry to {} or rename the key.", e.section.other().key()))
                .evidence("arn", f.value.clone())
                .at(file, f.line)
                .fix(Fix::new(format!("move the entry to {}", e.section.other().key())).replacement(entry_fragment(e, e.section.other(), &f.value))),
            );
        }
        (None, None) if !e.sso => out.push(
            Finding::new(
                rules::AWS_AUTH_MALFORMED_ENTRY,
                format!("{sec} entry has no {own}"),
            )
            .detail(format!(
                "The authenticator drops entries without {own} (\"{}\"): this entry maps nobody.",
                if e.section == Section::Roles {
                    "one of rolearn or SSO must be supplied"
                } else {
                    "value for userarn must be supplied"
                }
            ))
            .at(file, e.line)
            .fix(
                Fix::new(format!("add the {own} of the principal"))
                    .replacement(entry_fragment(e, e.section, "ARN")),
            ),
        ),
        (Some(a), foreign) => {
            if e.arn_and_sso() {
                out.push(
                    Finding::new(
                        rules::AWS_AUTH_MALFORMED_ENTRY,
                        format!("{sec} entry has both {} and sso: the authenticator rejects it and it maps nobody", a.key),
                    )
                    .detail("The authenticator validates each mapRoles entry and drops one that names both a role ARN and an sso matcher (\"only one of rolearn or SSO can be supplied\"), so neither the role nor the permission set is mapped by it. Keep one of the two.")
                    .evidence("arn", a.value.clone())
                    .at(file, a.line)
                    .fix(Fix::new("keep either rolearn or sso, not both")),
                );
            }
            if let Some(f) = foreign {
                out.push(
                    Finding::new(
                        rules::AWS_AUTH_MALFORMED_ENTRY,
                        format!(
                            "{sec} entry has both {} and {}; {} is ignored",
                            a.key, f.key, f.key
                        ),
                    )
                    .detail(format!("Entries of {sec} are matched by {own} only."))
                    .at(file, f.line),
                );
            }
            check_arn(file, e, a, out);
        }
        (None, None) => {}
    }
    for s in &e.shadowed_keys {
        out.push(
            Finding::new(rules::AWS_AUTH_MALFORMED_ENTRY, format!("key {} is given more than once in this entry; this one is ignored", s.key))
                .detail("Entry keys are matched case-insensitively (Go's encoding/json): rolearn, RoleArn and ROLEARN are the same key. When an entry holds several, one silently overrides the others (an exact repeat: the last; case variants: the one that sorts last).")
                .severity(Severity::Warning)
                .evidence("value", s.value.clone())
                .at(file, s.line),
        );
    }
    for k in &e.unknown_keys {
        let known: &[&str] = if e.section == Section::Roles {
            &["rolearn", "username", "groups"]
        } else {
            &["userarn", "username", "groups"]
        };
        let lower = k.key.to_ascii_lowercase();
        let suggestion = known
            .iter()
            .map(|s| (edit_distance(&lower, s), *s))
            .filter(|(d, _)| *d <= 3)
            .min_by_key(|(d, _)| *d)
            .map(|(_, s)| s);
        let mut f = Finding::new(
            rules::AWS_AUTH_UNKNOWN_KEY,
            match suggestion {
                Some(s) => format!("unknown entry key {:?} (did you mean {s}?): the authenticator ignores it", k.key),
                None => format!("unknown entry key {:?}: the authenticator ignores it", k.key),
            },
        )
        .detail("The authenticator knows rolearn/userarn, username and groups (case-insensitively); other keys are ignored without a word.")
        .evidence("key", k.key.clone())
        .at(file, k.line);
        if let Some(s) = suggestion {
            f = f.fix(Fix::new(format!("rename the key to {s}")).replacement(format!("{s}:")));
        }
        out.push(f);
    }
    check_groups(file, e, opts, out);
    check_username(file, e, out);
}

fn check_arn(file: &str, e: &MapEntry, a: &Field, out: &mut Vec<Finding>) {
    if a.value.is_empty() {
        out.push(
            Finding::new(
                rules::AWS_AUTH_MALFORMED_ENTRY,
                format!("{} is empty", a.key),
            )
            .detail("The authenticator drops entries with an empty ARN.")
            .at(file, a.line),
        );
        return;
    }
    let p = match classify(&a.value) {
        MappedArn::Invalid(why) => {
            out.push(
                Finding::new(rules::AWS_AUTH_INVALID_ARN, format!("{} {:?} is not a valid IAM ARN: {why}", a.key, a.value))
                    .detail("The authenticator compares this text with the caller's canonical ARN (arn:PARTITION:iam::ACCOUNT:role/NAME or user/NAME). As written it can never be equal, so the entry maps nobody.")
                    .evidence("arn", a.value.clone())
                    .at(file, a.line),
            );
            return;
        }
        MappedArn::Principal(p) => p,
    };
    match p.kind {
        PrincipalKind::AssumedRole => {
            let fixed = path_free_role_arn(&p).unwrap_or_default();
            out.push(
                Finding::new(rules::AWS_AUTH_ASSUMED_ROLE_ARN, format!("{} is an sts assumed-role ARN; map the role {fixed} instead", a.key))
                    .detail("An assumed-role ARN names one session. The authenticator turns every caller's session into the role's ARN (arn:PARTITION:iam::ACCOUNT:role/NAME) before it looks it up, and does not do the same to entries, so this entry never matches anyone.")
                    .evidence("arn", a.value.clone())
                    .evidence("canonical_arn", fixed.clone())
                    .at(file, a.line)
                    .fix(Fix::new("map the role ARN").replacement(format!("{}: {fixed}", if e.section == Section::Roles { a.key.as_str() } else { "rolearn" }))),
            );
            if e.section == Section::Users {
                out.push(wrong_section(file, e, a, "an sts assumed-role ARN"));
            }
        }
        PrincipalKind::Role => {
            if p.path != "/" {
                let fixed = path_free_role_arn(&p).unwrap_or_default();
                let sso = p.is_sso_role();
                out.push(
                    Finding::new(
                        rules::AWS_AUTH_ROLE_PATH,
                        format!("{} has the path {}; the authenticator compares against {fixed}", a.key, p.path),
                    )
                    .detail(if sso {
                        "IAM Identity Center (SSO) permission-set roles live under aws-reserved/sso.amazonaws.com/[REGION/]. STS reports the session as arn:...:assumed-role/NAME/SESSION without the path, and the authenticator matches arn:PARTITION:iam::ACCOUNT:role/NAME; entries are not normalised, so one with the path never matches. Map the role without its path (access entries, by contrast, need the full ARN with path).".to_owned()
                    } else {
                        "STS reports a role session without the role's path, so the authenticator matches the caller as arn:PARTITION:iam::ACCOUNT:role/NAME. Entries are compared as written (case-insensitively), so an entry with a path never matches. Remove the path (access entries, by contrast, need the full ARN with path).".to_owned()
                    })
                    .evidence("arn", a.value.clone())
                    .evidence("path", p.path.clone())
                    .evidence("canonical_arn", fixed.clone())
                    .at(file, a.line)
                    .fix(Fix::new("the same ARN without the path").replacement(format!("{}: {fixed}", a.key))),
                );
            }
            if e.section == Section::Users {
                out.push(wrong_section(file, e, a, "a role ARN"));
            }
        }
        PrincipalKind::User | PrincipalKind::Root | PrincipalKind::FederatedUser => {
            if e.section == Section::Roles {
                out.push(wrong_section(file, e, a, "a user ARN"));
            }
        }
        PrincipalKind::Service => {}
    }
}

fn wrong_section(file: &str, e: &MapEntry, a: &Field, what: &str) -> Finding {
    let target = e.section.other();
    Finding::new(
        rules::AWS_AUTH_WRONG_SECTION,
        format!("{what} under {}; it belongs in {}", e.section.key(), target.key()),
    )
    .detail(format!(
        "mapRoles is for IAM roles and mapUsers for IAM users. The open-source authenticator looks a caller up in both by ARN alone, so this entry may still match today, which is why this is a warning; but tools that manage aws-auth (eksctl, the EKS console, access-entry migration) read the sections by kind. Move it to {}.",
        target.key()
    ))
    .severity(Severity::Warning)
    .evidence("arn", a.value.clone())
    .at(file, a.line)
    .fix(Fix::new(format!("move the entry to {}", target.key())).replacement(entry_fragment(e, target, &a.value)))
}

/// The entry rewritten for `section` with `arn`.
fn entry_fragment(e: &MapEntry, section: Section, arn: &str) -> String {
    let mut s = format!("- {}: {arn}\n", section.arn_key());
    if let Some(u) = &e.username {
        s.push_str(&format!("  username: {}\n", u.value));
    }
    let groups = e.groups.names();
    if !groups.is_empty() {
        s.push_str("  groups:\n");
        for g in groups {
            s.push_str(&format!("    - {g}\n"));
        }
    }
    s
}

fn check_groups(file: &str, e: &MapEntry, opts: &MigrateOptions, out: &mut Vec<Finding>) {
    match &e.groups {
        Groups::NotList { field, what } => {
            let items: Vec<&str> = field
                .value
                .split_whitespace()
                .filter(|w| *w != "-")
                .collect();
            out.push(
                Finding::new(rules::AWS_AUTH_MALFORMED_ENTRY, format!("groups is {what}, not a list"))
                    .detail("groups must be a YAML list. The authenticator fails to decode it, keeps the entry and maps it with no groups at all.")
                    .evidence("groups", field.value.clone())
                    .at(file, field.line)
                    .fix(Fix::new("make groups a list").replacement(format!(
                        "groups:\n{}",
                        items.iter().map(|g| format!("  - {g}\n")).collect::<String>()
                    ))),
            );
        }
        Groups::List(items) => {
            for g in items {
                if let Some(parts) = swallowed_dash(&g.value) {
                    out.push(
                        Finding::new(
                            rules::AWS_AUTH_MALFORMED_ENTRY,
                            format!("group {:?} swallowed a YAML list dash: it is one group, not {}", g.value, parts.len()),
                        )
                        .detail("A list item indented deeper than the one before it continues the previous item's text instead of starting a new item, so YAML reads one group whose name contains \" - \". Kubernetes then grants neither group.")
                        .evidence("group", g.value.clone())
                        .at(file, g.line)
                        .fix(Fix::new("one list item per group, at the same indentation").replacement(format!(
                            "groups:\n{}",
                            parts.iter().map(|p| format!("  - {p}\n")).collect::<String>()
                        ))),
                    );
                }
                for t in unknown_templates(&g.value) {
                    out.push(
                        Finding::new(rules::AWS_AUTH_RESERVED_USERNAME, format!("group {:?} uses the unknown template {t}", g.value))
                            .detail("The authenticator renders {{AccountID}}, {{SessionName}}, {{SessionNameRaw}}, {{AccessKeyID}} and {{EC2PrivateDNSName}}; anything else stays literally in the group name.")
                            .at(file, g.line),
                    );
                }
            }
        }
        Groups::Missing => {}
    }
    let names = e.groups.names();
    if names.iter().any(|g| g == "system:masters") {
        let line = match &e.groups {
            Groups::List(items) => items
                .iter()
                .find(|g| g.value == "system:masters")
                .map_or(e.line, |g| g.line),
            _ => e.line,
        };
        let arn = e.arn.as_ref().map_or("ARN", |a| a.value.as_str());
        out.push(
            Finding::new(rules::AWS_AUTH_SYSTEM_MASTERS, format!("{arn} is mapped into system:masters"))
                .detail("system:masters bypasses RBAC entirely and cannot be limited or audited by a binding. Grant cluster-admin through an access entry with the AmazonEKSClusterAdminPolicy access policy instead (or a ClusterRoleBinding to a group of your own), then remove system:masters from this entry.")
                .evidence("arn", arn.to_owned())
                .at(file, line)
                .fix(masters_fix(e, arn, opts)),
        );
    }
}

/// The access entry that replaces a system:masters mapping.
fn masters_fix(e: &MapEntry, arn: &str, opts: &MigrateOptions) -> Fix {
    let cluster = migrate::shell_quote(
        opts.cluster
            .as_deref()
            .unwrap_or(migrate::CLUSTER_PLACEHOLDER),
    );
    let (principal, known) = match migrate::plan(e, opts) {
        Some(p) => (p.principal_arn, p.path_known),
        None => (arn.to_owned(), false),
    };
    let summary = if known {
        "an access entry with AmazonEKSClusterAdminPolicy instead, then remove system:masters from the entry".to_owned()
    } else {
        format!(
            "an access entry with AmazonEKSClusterAdminPolicy instead (the role's path is unknown: if it has one, put it in the principal ARN, e.g. from `aws iam get-role --role-name {} --query Role.Arn`), then remove system:masters from the entry",
            principal.rsplit('/').next().unwrap_or("NAME")
        )
    };
    Fix::new(summary)
        .command(format!("aws eks create-access-entry --cluster-name {cluster} --principal-arn {principal} --type STANDARD"))
        .command(format!(
            "aws eks associate-access-policy --cluster-name {cluster} --principal-arn {principal} --policy-arn {} --access-scope type=cluster",
            migrate::CLUSTER_ADMIN_POLICY
        ))
}

/// "system:bootstrappers - system:nodes" → ["system:bootstrappers", "system:nodes"].
#[must_use]
pub fn swallowed_dash(group: &str) -> Option<Vec<String>> {
    if !group.contains(" - ") && !group.contains(" -\t") {
        return None;
    }
    let parts: Vec<String> = group
        .split(" - ")
        .map(|p| p.trim().trim_start_matches("- ").trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    (parts.len() > 1).then_some(parts)
}

fn check_username(file: &str, e: &MapEntry, out: &mut Vec<Finding>) {
    let Some(u) = &e.username else { return };
    let name = u.value.as_str();
    let is_node = name == NODE_USERNAME || name == FARGATE_USERNAME;
    if is_node {
        let groups = e.groups.names();
        let missing: Vec<&str> = ["system:bootstrappers", "system:nodes"]
            .into_iter()
            .filter(|g| !groups.iter().any(|x| x == g))
            .collect();
        if !missing.is_empty() {
            let mut all = groups.clone();
            for m in &missing {
                all.push((*m).to_owned());
            }
            out.push(
                Finding::new(
                    rules::AWS_AUTH_NODE_ROLE_GROUPS,
                    format!("node role mapping lacks {}", missing.join(" and ")),
                )
                .detail("Nodes authenticate with the username system:node:{{EC2PrivateDNSName}} and need both system:bootstrappers (to get their kubelet certificate) and system:nodes (the Node authorizer). Without them nodes fail to join or turn NotReady.")
                .evidence("missing", missing.iter().map(|m| serde_json::Value::from(*m)).collect::<Vec<_>>())
                .at(file, u.line)
                .fix(Fix::new("both node groups").replacement(format!(
                    "groups:\n{}",
                    all.iter().map(|g| format!("  - {g}\n")).collect::<String>()
                ))),
            );
        }
    } else if let Some(prefix) = RESERVED_PREFIXES
        .iter()
        .find(|p| name.to_ascii_lowercase().starts_with(*p))
    {
        out.push(
            Finding::new(rules::AWS_AUTH_RESERVED_USERNAME, format!("username {name:?} uses the reserved prefix {prefix}"))
                .detail("Kubernetes reserves system: for its own components, and EKS reserves eks:, aws:, amazon: and iam: (access entries refuse such usernames). A mapped principal with such a name can collide with a component's identity or its RBAC bindings. The only system: usernames to map are the node patterns system:node:{{EC2PrivateDNSName}} (EC2) and system:node:{{SessionName}} (Fargate).")
                .evidence("username", name.to_owned())
                .at(file, u.line),
        );
    }
    for t in unknown_templates(name) {
        out.push(
            Finding::new(rules::AWS_AUTH_RESERVED_USERNAME, format!("username {name:?} uses the unknown template {t}"))
                .detail("The authenticator renders {{AccountID}}, {{SessionName}} (with @ replaced by -), {{SessionNameRaw}}, {{AccessKeyID}} and {{EC2PrivateDNSName}}; an unknown placeholder stays in the username literally, so every session gets the same odd name.")
                .evidence("username", name.to_owned())
                .at(file, u.line),
        );
    }
}

fn check_duplicates(auth: &AwsAuth, out: &mut Vec<Finding>) {
    // Roles: a map keyed by the lower-cased ARN, the later entry wins.
    let mut winners: HashMap<String, &MapEntry> = HashMap::new();
    let mut all_roles: Vec<(String, &MapEntry)> = Vec::new();
    for e in auth.entries(Section::Roles) {
        if e.ignored() {
            continue;
        }
        if let Some(a) = &e.arn {
            let k = a.value.to_lowercase();
            winners.insert(k.clone(), e);
            all_roles.push((k, e));
        }
    }
    for (k, e) in &all_roles {
        let Some(w) = winners.get(k) else { continue };
        if std::ptr::eq(*w, *e) {
            continue;
        }
        out.push(duplicate(
            auth,
            e,
            w,
            "mapRoles keeps the later entry for the same ARN (compared case-insensitively)",
        ));
    }
    // Users: keyed by the ARN as written; the lookup is case-insensitive over
    // a Go map, so among case variants the winner is not defined.
    let mut by_exact: HashMap<&str, &MapEntry> = HashMap::new();
    let mut users: Vec<&MapEntry> = Vec::new();
    for e in auth.entries(Section::Users) {
        if e.ignored() {
            continue;
        }
        if let Some(a) = &e.arn {
            by_exact.insert(a.value.as_str(), e);
            users.push(e);
        }
    }
    let mut lower_groups: HashMap<String, Vec<&MapEntry>> = HashMap::new();
    for e in &users {
        let Some(a) = &e.arn else { continue };
        let Some(w) = by_exact.get(a.value.as_str()) else {
            continue;
        };
        if !std::ptr::eq(*w, *e) {
            out.push(duplicate(
                auth,
                e,
                w,
                "mapUsers keeps the later of two entries with the same ARN",
            ));
            continue;
        }
        lower_groups
            .entry(a.value.to_lowercase())
            .or_default()
            .push(e);
    }
    for group in lower_groups.values().filter(|g| g.len() > 1) {
        let Some(last) = group.last() else { continue };
        for e in &group[..group.len() - 1] {
            out.push(duplicate(auth, e, last, "mapUsers entries differing only in case are both kept, and which one the authenticator finds is not defined (Go map order): keep one"));
        }
    }
    // Across sections: mapRoles is looked up before mapUsers.
    for e in &users {
        let Some(a) = &e.arn else { continue };
        if let Some(w) = winners.get(&a.value.to_lowercase()) {
            out.push(duplicate(
                auth,
                e,
                w,
                "mapRoles is looked up before mapUsers, so the mapRoles entry wins",
            ));
        }
    }
}

fn duplicate(auth: &AwsAuth, loser: &MapEntry, winner: &MapEntry, why: &str) -> Finding {
    let arn = loser.arn.as_ref().map_or("", |a| a.value.as_str());
    let line = loser.arn.as_ref().map_or(loser.line, |a| a.line);
    let wline = winner.arn.as_ref().map_or(winner.line, |a| a.line);
    Finding::new(
        rules::AWS_AUTH_DUPLICATE,
        format!("{arn} is mapped again on line {wline}; this entry (line {line}) is ignored"),
    )
    .detail(format!(
        "{why}. Remove the entry that does not win so the ConfigMap says what the cluster does."
    ))
    .evidence("arn", arn.to_owned())
    .evidence("winner_line", wline)
    .evidence("winner_username", winner.username().to_owned())
    .evidence("winner_groups", winner.groups.names())
    .at(&auth.file, line)
    .fix(Fix::new(format!(
        "remove the entry on line {line} (the entry on line {wline} is the one in effect)"
    )))
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::awsauth::reader::{Read, read};

    fn findings(data: &str) -> Vec<Finding> {
        let text = format!(
            "kind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n{data}"
        );
        match read(&text, "f").unwrap() {
            Read::ConfigMaps(v) => check(&v[0], &MigrateOptions::default())
                .into_iter()
                .filter(|f| f.rule != "aws-auth/migrate")
                .collect(),
            Read::Invalid(e) => panic!("{e}"),
        }
    }

    #[test]
    fn user_duplicates_in_case_are_undefined_and_roles_beat_users() {
        let f = findings(
            "  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/Bob\n    - userarn: arn:aws:iam::111122223333:user/bob\n",
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].detail.contains("not defined"), "{}", f[0].detail);
        let f = findings(
            "  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/x\n  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:role/x\n",
        );
        assert!(f.iter().any(|f| f.rule == "aws-auth/duplicate"
            && f.detail.contains("mapRoles is looked up before mapUsers")));
    }

    #[test]
    fn repeated_entry_keys_in_other_case() {
        let f = findings(
            "  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/a\n      RoleArn: arn:aws:iam::111122223333:role/b\n",
        );
        let shadow = f
            .iter()
            .find(|f| f.rule == "aws-auth/malformed-entry")
            .unwrap();
        // \"rolearn\" sorts after \"RoleArn\": it wins, RoleArn is ignored.
        assert_eq!(shadow.evidence["value"], "arn:aws:iam::111122223333:role/b");
    }

    #[test]
    fn fargate_pattern_is_a_node_username() {
        let f = findings(
            "  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/pod-exec\n      username: system:node:{{SessionName}}\n      groups: [system:bootstrappers, system:nodes, system:node-proxier]\n",
        );
        assert!(f.is_empty(), "{f:?}");
        let f = findings(
            "  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/a\n      username: eks:admin\n",
        );
        assert_eq!(f[0].rule, "aws-auth/reserved-username");
    }

    #[test]
    fn dashes_and_distance() {
        assert_eq!(
            swallowed_dash("system:bootstrappers - system:nodes").unwrap(),
            vec!["system:bootstrappers", "system:nodes"]
        );
        assert!(swallowed_dash("system:nodes").is_none());
        assert!(swallowed_dash("a-b").is_none());
        assert_eq!(edit_distance("maproles", "maprole"), 1);
        assert_eq!(edit_distance("group", "groups"), 1);
    }
}
