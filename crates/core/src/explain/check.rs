//! How far a parsed denial can be trusted: placeholders the operator typed
//! (`<ACCOUNT_ID>`, `xxx`, `***`, `{accountid}`, `<CLUSTER-NAME>`) stay as they
//! are and are named; fields that look cut short (an ARN whose account has 11
//! digits, an ECR ARN ending in `reposit`) make the finding say so and leave
//! the commands out.

use super::denial::{Denial, ResourceRef};

/// Every placeholder in `s`, in order, once each.
#[must_use]
pub fn placeholders(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |p: &str| {
        if !p.is_empty() && !out.iter().any(|o| o == p) {
            out.push(p.to_owned());
        }
    };
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let close = match c {
            b'<' => Some(b'>'),
            b'{' => Some(b'}'),
            _ => None,
        };
        if let Some(close) = close
            && let Some(len) = b[i + 1..].iter().take(64).position(|&x| x == close)
        {
            let inner = &s[i + 1..i + 1 + len];
            if !inner.is_empty()
                && inner
                    .bytes()
                    .all(|x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'-' | b' ' | b'.'))
            {
                let start = if i > 0 && b[i - 1] == b'$' { i - 1 } else { i };
                push(&s[start..i + len + 2]);
                i += len + 2;
                continue;
            }
        }
        if c == b'*' && b[i..].starts_with(b"***") {
            let n = b[i..].iter().take_while(|&&x| x == b'*').count();
            push(&s[i..i + n]);
            i += n;
            continue;
        }
        if c.is_ascii_alphanumeric() {
            // A word of x/X runs (`xxx`, `xxxxxxxxxxxx`, `123XXXXXXXXX`).
            let n = b[i..]
                .iter()
                .take_while(|x| x.is_ascii_alphanumeric())
                .count();
            let w = &s[i..i + n];
            let xs = w.bytes().filter(|x| *x == b'x' || *x == b'X').count();
            if (w.contains("xxx") || w.contains("XXX"))
                && w.bytes()
                    .all(|x| x.is_ascii_digit() || x == b'x' || x == b'X')
                && xs >= 3
            {
                push(w);
            }
            i += n;
            continue;
        }
        i += 1;
    }
    out
}

/// Resource types each service's ARNs start with (a cut-short ARN ends before them).
const RESOURCE_TYPES: &[(&str, &[&str])] = &[
    ("ecr", &["repository/"]),
    (
        "eks",
        &[
            "cluster/",
            "nodegroup/",
            "addon/",
            "fargateprofile/",
            "access-entry/",
            "podidentityassociation/",
            "identityproviderconfig/",
        ],
    ),
    (
        "iam",
        &[
            "role/",
            "user/",
            "policy/",
            "instance-profile/",
            "group/",
            "oidc-provider/",
            "saml-provider/",
            "server-certificate/",
            "mfa/",
            "root",
        ],
    ),
    ("sts", &["assumed-role/", "federated-user/"]),
    ("dynamodb", &["table/"]),
    (
        "cloudformation",
        &["stack/", "stackset/", "changeSet/", "type/"],
    ),
    ("kms", &["key/", "alias/"]),
    ("lambda", &["function:", "layer:", "event-source-mapping:"]),
    ("logs", &["log-group:", "destination:"]),
    ("secretsmanager", &["secret:"]),
    ("athena", &["workgroup/", "datacatalog/"]),
];

/// Why an ARN looks cut short, if it does.
#[must_use]
pub fn arn_doubt(arn: &str) -> Option<String> {
    let mut it = arn.splitn(6, ':');
    let parts: [&str; 6] = std::array::from_fn(|_| it.next().unwrap_or(""));
    if parts[0] != "arn" || parts[2].is_empty() || parts[5].is_empty() {
        return Some(format!("{arn} is not a whole ARN"));
    }
    if parts[5].ends_with('/') {
        return Some(format!("{arn} ends with /: the name after it is missing"));
    }
    let account = parts[4];
    let digits = account.bytes().all(|b| b.is_ascii_digit());
    if digits && !account.is_empty() && account.len() != 12 {
        return Some(format!(
            "the account id in {arn} has {} digits, not 12",
            account.len()
        ));
    }
    let service = parts[2];
    let resource = parts[5];
    if let Some((_, types)) = RESOURCE_TYPES.iter().find(|(s, _)| *s == service)
        && !types.iter().any(|t| resource.starts_with(t))
        && resource != "*"
        && !resource.starts_with('*')
        && placeholders(resource).is_empty()
    {
        return Some(format!(
            "{arn} does not name a {service} resource the way {service} ARNs do ({}...)",
            types[0]
        ));
    }
    None
}

/// The actions of a service in the catalog ([`super::iam_actions`], generated
/// from the AWS Service Authorization Reference), sorted by their lowercase
/// spelling; `None` for a service the catalog does not cover (its actions
/// are then not judged).
fn catalog(service: &str) -> Option<&'static [&'static str]> {
    super::iam_actions::IAM_ACTIONS
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(service))
        .map(|(_, names)| *names)
}

fn cmp_ci(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// Whether `service:name` is an action the catalog lists; `None` when the
/// catalog does not cover the service.
#[must_use]
pub fn known_action(service: &str, name: &str) -> Option<bool> {
    let names = catalog(service)?;
    Some(names.binary_search_by(|n| cmp_ci(n, name)).is_ok())
}

/// Catalogued actions of `service` that are longer than `start` and begin with it.
fn completions(service: &str, start: &str) -> impl Iterator<Item = &'static str> {
    let names = catalog(service).unwrap_or_default();
    let from = names.partition_point(|n| cmp_ci(n, start).is_lt());
    names[from..]
        .iter()
        .copied()
        .take_while(move |n| {
            n.len() >= start.len()
                && n.as_bytes()[..start.len()].eq_ignore_ascii_case(start.as_bytes())
        })
        .filter(move |n| n.len() > start.len())
}

/// Why an action the message stops on looks cut, if it does.
fn action_doubt(d: &Denial) -> Option<String> {
    let action = d.action.as_deref()?;
    let (svc, name) = action.split_once(':').unwrap_or((action, ""));
    if svc.is_empty() || name.is_empty() {
        return Some(format!(
            "the action \"{action}\" is not whole (service:Action); the message stops there"
        ));
    }
    if d.ends_on != Some("action") {
        return None;
    }
    if d.cut_mark {
        return Some(format!(
            "the text is marked as cut right after the action {action}"
        ));
    }
    if known_action(svc, name) == Some(true) {
        return None;
    }
    let longer = |full: &str| {
        full.len() > name.len()
            && full.as_bytes()[..name.len()].eq_ignore_ascii_case(name.as_bytes())
    };
    // S3 operations are not named like the actions they need
    // (GetObjectAttributes needs s3:GetObject): only the catalog judges there.
    if let Some(op) = d
        .operation
        .as_deref()
        .filter(|op| longer(op) && !svc.eq_ignore_ascii_case("s3"))
    {
        return Some(format!(
            "the action {action} stops where the message stops and is the start of the operation {op} the error names"
        ));
    }
    // The shortest completions first: the nearest whole actions.
    let mut completions: Vec<&str> = completions(svc, name).collect();
    completions.sort_by_key(|n| (n.len(), *n));
    completions.truncate(3);
    (!completions.is_empty()).then(|| {
        format!(
            "the action {action} stops where the message stops and is no whole {svc} action (the start of {svc}:{}?)",
            completions.join(&format!(", {svc}:"))
        )
    })
}

/// Why a resource ARN the message stops on looks cut, if it does.
fn resource_end_doubt(d: &Denial) -> Option<String> {
    let arn = d.resource_arn()?;
    if d.ends_on != Some("resource") {
        return None;
    }
    if d.cut_mark {
        return Some(format!(
            "the text is marked as cut right after the ARN {arn}"
        ));
    }
    d.longer_elsewhere.as_ref().map(|l| {
        format!(
            "the ARN {arn} stops where the message stops, and the text names {l} elsewhere: the ARN looks cut"
        )
    })
}

/// Mark the fields of a denial that look cut short, with the reason.
pub fn check(d: &mut Denial) {
    if let Some(t) = d.principal_text.as_deref()
        && t.starts_with("arn:")
    {
        let doubt = arn_doubt(t);
        if d.principal.is_none() || doubt.is_some() {
            let why = doubt.unwrap_or_else(|| {
                "the principal ARN is not a whole IAM or STS principal".to_owned()
            });
            d.uncertain.push("principal");
            d.doubts.push(why);
        }
    }
    if let Some(why) = action_doubt(d) {
        d.uncertain.push("action");
        d.doubts.push(why);
    }
    if let Some(ResourceRef::Arn(a)) = &d.resource
        && let Some(why) = arn_doubt(a).or_else(|| resource_end_doubt(d))
    {
        d.uncertain.push("resource");
        d.doubts.push(why);
    }
}

/// The doubts about a denial, as sentences.
#[must_use]
pub fn doubts(d: &Denial) -> Vec<String> {
    if !d.doubts.is_empty() {
        return d.doubts.clone();
    }
    d.uncertain
        .iter()
        .map(|f| format!("the {f} looks cut short"))
        .collect()
}

/// An ARN with its last name replaced by `*`: the pattern over-limit denials group by.
#[must_use]
pub fn resource_pattern(r: &str) -> String {
    let p = resource_pattern_prefix(r);
    if p != "*" && p.len() < r.len() {
        format!("{p}*")
    } else {
        p.to_owned()
    }
}

/// [`resource_pattern`] without its `*`: the ARN up to its last name (or
/// the whole ARN when it ends in `/` or `:`), `*` when it is no ARN.
#[must_use]
pub fn resource_pattern_prefix(r: &str) -> &str {
    if !r.starts_with("arn:") {
        return "*";
    }
    match r.rfind(['/', ':']) {
        Some(i) if i + 1 < r.len() => &r[..=i],
        _ => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_once_each() {
        assert_eq!(
            placeholders("arn:aws:eks:us-east-1:<ACCOUNT_ID>:cluster/<CLUSTER-NAME> <ACCOUNT_ID>"),
            ["<ACCOUNT_ID>", "<CLUSTER-NAME>"]
        );
        assert_eq!(placeholders("arn:aws:iam::***:user/b"), ["***"]);
        assert_eq!(
            placeholders("arn:aws:iam::{accountid}:user/b"),
            ["{accountid}"]
        );
        assert_eq!(
            placeholders("assumed-role/deployer/xxx 123XXXXXXXXX"),
            ["xxx", "123XXXXXXXXX"]
        );
        assert!(placeholders("arn:aws:iam::210987654321:user/maxx").is_empty());
    }

    #[test]
    fn cut_short_arns() {
        assert!(arn_doubt("arn:aws:ecr:us-east-1:345678901234:reposit").is_some());
        assert!(arn_doubt("arn:aws:sts::21098765432").is_some());
        assert!(arn_doubt("arn:aws:ecr:us-east-1:345678901234:repository/team/api").is_none());
        assert!(arn_doubt("arn:aws:s3:::bucket/key").is_none());
        assert_eq!(
            resource_pattern("arn:aws:eks:us-west-2:210987654321:cluster/prod-3"),
            "arn:aws:eks:us-west-2:210987654321:cluster/*"
        );
    }
}
