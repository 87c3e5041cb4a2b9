//! The other error texts `explain` recognises: the EKS console's "no access to
//! Kubernetes objects", kubectl's Unauthorized and Forbidden, the access-entry
//! principal error, STS's region-scope signature error, expired and invalid
//! credentials, the access-key quota, IRSA's web-identity denial, and
//! operators asking how to get a lost secret access key back.

/// One recognised non-IAM error text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextForm {
    /// The EKS console cannot show Kubernetes objects; `iam_principal` is the
    /// newer wording ("Your current IAM principal doesn't have access ...").
    ConsoleNoK8sAccess { iam_principal: bool },
    /// `error: You must be logged in to the server (Unauthorized)`.
    Unauthorized,
    /// `pods is forbidden: User "..." cannot list resource "pods" in API group "" in the namespace "default"`.
    Forbidden(Forbidden),
    /// `The specified principalArn is invalid: invalid principal`.
    AccessEntryPath { principal_arn: Option<String> },
    /// `SignatureDoesNotMatch: Credential should be scoped to a valid region`.
    StsGlobalEndpoint { region: Option<String> },
    /// ExpiredToken, an expired SSO session, an expired web identity token;
    /// `action` is the call that failed, when the text names it.
    Expired {
        kind: ExpiredKind,
        code: &'static str,
        action: Option<String>,
    },
    /// InvalidClientTokenId, SignatureDoesNotMatch (not the region case), an unknown key id.
    Invalid {
        code: &'static str,
        action: Option<String>,
    },
    /// `Cannot exceed quota for AccessKeysPerUser: 2`.
    KeysLimit,
    /// `Not authorized to perform sts:AssumeRoleWithWebIdentity`: who presented
    /// the token, and the role when the text (or an earlier line) names it.
    WebIdentityDenied {
        provider: OidcProvider,
        role: Option<String>,
    },
    /// `User "system:anonymous" cannot ...`: no credentials reached the cluster.
    Anonymous(Forbidden),
    /// "I lost my secret access key, how do I retrieve it?"
    LostSecret,
}

/// Whose credentials expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiredKind {
    /// An IAM Identity Center (SSO) session: `aws sso login`.
    Sso,
    /// A projected service-account (web identity) token: the pod's token, not a login.
    WebIdentity,
    /// Temporary credentials (AssumeRole, a credential process, exported variables).
    Session,
}

/// Who presented a web identity token to STS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcProvider {
    GitHubActions,
    GitLab,
    /// IAM roles for service accounts (a pod's projected token).
    Irsa,
    /// The text does not say.
    Unknown,
}

/// What earlier lines of the same input said: a CI job's provider, the role it assumes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub provider: Option<OidcProvider>,
    pub role: Option<String>,
}

impl Context {
    /// Learn from one line (`lower` is its ASCII-lowercase copy).
    pub fn update(&mut self, line: &str, lower: &str) {
        // The common line names none of these: one pass rules it out.
        if !context_gate().is_some_and(|g| g.is_match(lower)) {
            return;
        }
        if lower.contains("configure-aws-credentials")
            || lower.contains("token.actions.githubusercontent.com")
        {
            self.provider = Some(OidcProvider::GitHubActions);
        } else if lower.contains("gitlab") {
            self.provider = Some(OidcProvider::GitLab);
        }
        for marker in ["role-to-assume:", "--role-arn "] {
            if let Some(i) = lower.find(marker) {
                let rest = line[i + marker.len()..].trim_start();
                let arn = rest
                    .split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                    .next()
                    .unwrap_or("");
                let arn = super::denial::trim_token(arn);
                if arn.starts_with("arn:") && arn.contains(":role/") {
                    self.role = Some(arn.to_owned());
                }
            }
        }
    }
}

/// What [`Context::update`] looks for (lowercase).
pub(crate) const CONTEXT_MARKS: &[&str] = &[
    "configure-aws-credentials",
    "token.actions.githubusercontent.com",
    "gitlab",
    "role-to-assume:",
    "--role-arn ",
];

fn context_gate() -> Option<&'static aho_corasick::AhoCorasick> {
    static AC: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> = std::sync::OnceLock::new();
    AC.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(CONTEXT_MARKS)
            .ok()
    })
    .as_ref()
}

/// The parts of a Kubernetes RBAC denial.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Forbidden {
    /// The Kubernetes username (for EKS often an ARN).
    pub user: String,
    pub verb: String,
    /// The resource, `pods/exec` for subresources; or the non-resource path.
    pub resource: String,
    pub api_group: String,
    /// `None` at the cluster scope.
    pub namespace: Option<String>,
    /// A non-resource URL (`cannot get path "/metrics"`).
    pub path: bool,
}

fn quoted_after<'a>(s: &'a str, marker: &str) -> Option<(&'a str, &'a str)> {
    let i = s.find(marker)?;
    let rest = &s[i + marker.len()..];
    let end = rest.find('"')?;
    Some((&rest[..end], &rest[end + 1..]))
}

/// Parse kubectl's RBAC denial, in the current form (`cannot list resource
/// "pods" in API group "" in the namespace "web"`) and the older one (`cannot
/// list pods in the namespace "web"`, `cannot list nodes at the cluster
/// scope`). Quotes may be JSON-escaped in structured logs.
#[must_use]
pub fn parse_forbidden(line: &str) -> Option<Forbidden> {
    let owned;
    let line = if line.contains("\\\"") {
        owned = line.replace("\\\"", "\"");
        owned.as_str()
    } else {
        line
    };
    let i = line.find("forbidden: User \"")?;
    let s = &line[i + "forbidden: ".len()..];
    let (user, rest) = quoted_after(s, "User \"")?;
    let rest = rest.trim_start().strip_prefix("cannot ")?;
    let verb_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
    let verb = &rest[..verb_len];
    if verb.is_empty() {
        return None;
    }
    let rest = rest[verb_len..].trim_start();
    let mut f = Forbidden {
        user: user.to_owned(),
        verb: verb.to_owned(),
        ..Forbidden::default()
    };
    if let Some(r) = rest.strip_prefix("path \"") {
        let end = r.find('"')?;
        f.resource = r[..end].to_owned();
        f.path = true;
        return Some(f);
    }
    let rest = if let Some((resource, rest)) = rest
        .strip_prefix("resource \"")
        .and_then(|r| r.find('"').map(|e| (&r[..e], &r[e + 1..])))
    {
        f.resource = resource.to_owned();
        if let Some((group, rest)) = quoted_after(rest, "in API group \"") {
            f.api_group = group.to_owned();
            rest
        } else {
            rest
        }
    } else {
        // Older form: the resource is the next word, `deployments.apps` with its group.
        let word_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/' | b'-'))
            .count();
        let word = &rest[..word_len];
        if word.is_empty() {
            return None;
        }
        match word.split_once('.') {
            Some((r, g)) => {
                f.resource = r.to_owned();
                f.api_group = g.to_owned();
            }
            None => f.resource = word.to_owned(),
        }
        &rest[word_len..]
    };
    if let Some((ns, _)) = quoted_after(rest, "in the namespace \"") {
        f.namespace = Some(ns.to_owned());
    }
    Some(f)
}

/// Phrases of an operator asking for a secret they no longer have.
const LOST_VERBS: &[&str] = &[
    "lost",
    "forgot",
    "retrieve",
    "recover",
    "can't find",
    "cannot find",
    "can not find",
    "where is my",
    "where can i find",
    "where do i find",
    "view my",
    "see my",
    "show my",
    "get my",
    "find my",
    "misplaced",
    "get back",
    "no longer have",
    "don't have my",
];

/// Words at least one of which every form below contains (lowercase): one
/// SIMD pass rules out the common line (an IAM denial) before the checks.
pub(crate) const GATE: &[&str] = &[
    "kubernetes objects",
    "logged in to the server",
    "unauthorized",
    "provide credentials",
    // Not bare "sso": Identity Center role names (AWSReservedSSO_...) carry it.
    "sso session",
    "sso token",
    "sso access",
    "ssotoken",
    "forbidden",
    "principalarn",
    "should be scoped",
    "expired",
    "invalid",
    "signature",
    "accesskeysperuser",
    "assumerolewithwebidentity",
    "secret",
];

fn gate() -> Option<&'static aho_corasick::AhoCorasick> {
    static AC: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> = std::sync::OnceLock::new();
    AC.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(GATE)
            .ok()
    })
    .as_ref()
}

/// Every recognised form in one (logical) line. `lower` is its ASCII-lowercase copy.
#[must_use]
pub fn parse_text_forms(line: &str, lower: &str) -> Vec<TextForm> {
    parse_text_forms_in(line, lower, &Context::default())
}

/// `kubectl` and other clients' way of saying the cluster refused the credentials.
fn unauthorized(lower: &str) -> bool {
    if lower.contains("must be logged in to the server")
        || lower.contains("asked for the client to provide credentials")
    {
        return true;
    }
    let end = lower
        .trim_end()
        .trim_end_matches(['.', '"', '\'', ')', ']', '}', ','])
        .trim_end();
    end.ends_with(": unauthorized") || end.ends_with("error: unauthorized")
}

/// As [`parse_text_forms`], with what earlier lines said.
#[must_use]
pub fn parse_text_forms_in(line: &str, lower: &str, ctx: &Context) -> Vec<TextForm> {
    let mut out = Vec::new();
    if gate().is_some_and(|g| !g.is_match(lower)) {
        return out;
    }
    if lower.contains("access to kubernetes objects") {
        out.push(TextForm::ConsoleNoK8sAccess {
            iam_principal: lower.contains("iam principal"),
        });
    }
    if unauthorized(lower) {
        out.push(TextForm::Unauthorized);
    }
    if (line.contains("forbidden: User ") || line.contains("forbidden: User \\\""))
        && let Some(f) = parse_forbidden(line)
    {
        if f.user == "system:anonymous" {
            out.push(TextForm::Anonymous(f));
        } else {
            out.push(TextForm::Forbidden(f));
        }
    }
    if lower.contains("principalarn is invalid") {
        let principal_arn = line
            .find("arn:")
            .map(|i| {
                let t = &line[i..];
                let end = t
                    .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                    .unwrap_or(t.len());
                t[..end].trim_end_matches(['.', ',']).to_owned()
            })
            .filter(|a| a.contains(":role/") || a.contains(":user/"));
        out.push(TextForm::AccessEntryPath { principal_arn });
    }
    let region_scope = lower.contains("credential should be scoped to a valid region");
    if region_scope {
        // "..., not 'us-east-1'." names the region the credential was scoped to.
        let region = line.find("not '").and_then(|i| {
            let r = &line[i + 5..];
            let end = r.find('\'')?;
            let reg = &r[..end];
            (!reg.is_empty() && reg.len() < 32).then(|| reg.to_owned())
        });
        out.push(TextForm::StsGlobalEndpoint { region });
    }
    let sso_expired = [
        "token has expired and refresh failed",
        "sso session associated with this profile",
        "error loading sso token",
        "sso access token has either expired",
        "sso session token associated with",
        "refresh cached sso token failed",
        "unable to refresh sso token",
        "unauthorizedssotokenerror",
    ]
    .iter()
    .any(|p| lower.contains(p));
    let web_identity = lower.contains("webidentityerr")
        || lower.contains("token expired: current date/time")
        || lower.contains("assumerolewithwebidentity operation")
        || lower.contains("web identity token");
    // The failed call, looked up only for the forms that name it.
    let action = || super::wild::action_of_call(line, None);
    if sso_expired {
        out.push(TextForm::Expired {
            kind: ExpiredKind::Sso,
            code: "ExpiredToken",
            action: action(),
        });
    } else if line.contains("ExpiredToken")
        || lower.contains("security token included in the request is expired")
        || lower.contains("token expired: current date/time")
    {
        let kind = if web_identity {
            ExpiredKind::WebIdentity
        } else {
            ExpiredKind::Session
        };
        out.push(TextForm::Expired {
            kind,
            code: "ExpiredToken",
            action: action().or_else(|| {
                (kind == ExpiredKind::WebIdentity)
                    .then(|| "sts:AssumeRoleWithWebIdentity".to_owned())
            }),
        });
    }
    if !region_scope {
        let code = if line.contains("InvalidClientTokenId")
            || lower.contains("security token included in the request is invalid")
        {
            Some(if line.contains("UnrecognizedClientException") {
                "UnrecognizedClientException"
            } else {
                "InvalidClientTokenId"
            })
        } else if line.contains("SignatureDoesNotMatch")
            || lower.contains("signature we calculated does not match")
        {
            Some("SignatureDoesNotMatch")
        } else if line.contains("InvalidAccessKeyId")
            || lower.contains("access key id you provided does not exist")
        {
            Some("InvalidAccessKeyId")
        } else {
            None
        };
        if let Some(code) = code {
            out.push(TextForm::Invalid {
                code,
                action: super::wild::action_of_call(line, None),
            });
        }
    }
    if lower.contains("cannot exceed quota for accesskeysperuser") {
        out.push(TextForm::KeysLimit);
    }
    if line.contains("Not authorized to perform sts:AssumeRoleWithWebIdentity")
        || (lower.contains("not authorized to perform sts:assumerolewithwebidentity")
            && !line.contains("User: "))
    {
        let provider = if lower.contains("could not assume role with oidc")
            || lower.contains("githubusercontent")
        {
            OidcProvider::GitHubActions
        } else if lower.contains("gitlab") {
            OidcProvider::GitLab
        } else if lower.contains("webidentityerr")
            || lower.contains("aws_web_identity_token_file")
            || lower.contains("serviceaccount")
            || lower.contains("eks.amazonaws.com")
        {
            OidcProvider::Irsa
        } else {
            ctx.provider.unwrap_or(OidcProvider::Unknown)
        };
        out.push(TextForm::WebIdentityDenied {
            provider,
            role: ctx.role.clone(),
        });
    }
    if (lower.contains("secret access key") || lower.contains("secret key"))
        && LOST_VERBS.iter().any(|v| lower.contains(v))
    {
        out.push(TextForm::LostSecret);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms(s: &str) -> Vec<TextForm> {
        parse_text_forms(s, &s.to_ascii_lowercase())
    }

    #[test]
    fn console_both_wordings() {
        assert_eq!(
            forms(
                "Your current user or role does not have access to Kubernetes objects on this EKS cluster"
            ),
            vec![TextForm::ConsoleNoK8sAccess {
                iam_principal: false
            }]
        );
        assert_eq!(
            forms(
                "Your current IAM principal doesn't have access to Kubernetes objects on this cluster."
            ),
            vec![TextForm::ConsoleNoK8sAccess {
                iam_principal: true
            }]
        );
    }

    #[test]
    fn kubectl_unauthorized_and_forbidden() {
        assert_eq!(
            forms("error: You must be logged in to the server (Unauthorized)"),
            vec![TextForm::Unauthorized]
        );
        let f = parse_forbidden(
            "Error from server (Forbidden): pods is forbidden: User \"arn:aws:sts::111122223333:assumed-role/dev/alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"",
        )
        .unwrap();
        assert_eq!(f.user, "arn:aws:sts::111122223333:assumed-role/dev/alice");
        assert_eq!(f.verb, "list");
        assert_eq!(f.resource, "pods");
        assert_eq!(f.api_group, "");
        assert_eq!(f.namespace.as_deref(), Some("default"));
        let f = parse_forbidden(
            "Error from server (Forbidden): nodes is forbidden: User \"bob\" cannot list resource \"nodes\" in API group \"\" at the cluster scope",
        )
        .unwrap();
        assert_eq!(f.namespace, None);
        let f = parse_forbidden(
            "Error from server (Forbidden): deployments.apps \"web\" is forbidden: User \"system:serviceaccount:ci:deployer\" cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"prod\"",
        )
        .unwrap();
        assert_eq!(f.api_group, "apps");
        assert_eq!(f.verb, "patch");
        let f = parse_forbidden(
            "Error from server (Forbidden): pods \"web-0\" is forbidden: User \"alice\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"prod\"",
        )
        .unwrap();
        assert_eq!(f.resource, "pods/exec");
    }

    #[test]
    fn credentials_errors() {
        assert_eq!(
            forms(
                "An error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity operation: Credential should be scoped to a valid region."
            ),
            vec![TextForm::StsGlobalEndpoint { region: None }]
        );
        assert_eq!(
            forms(
                "An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The security token included in the request is expired"
            ),
            vec![TextForm::Expired {
                kind: ExpiredKind::Session,
                code: "ExpiredToken",
                action: Some("sts:GetCallerIdentity".into())
            }]
        );
        assert_eq!(
            forms("Error when retrieving token from sso: Token has expired and refresh failed"),
            vec![TextForm::Expired {
                kind: ExpiredKind::Sso,
                code: "ExpiredToken",
                action: None
            }]
        );
        assert_eq!(
            forms(
                "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid."
            ),
            vec![TextForm::Invalid {
                code: "InvalidClientTokenId",
                action: Some("sts:GetCallerIdentity".into())
            }]
        );
        assert_eq!(
            forms(
                "An error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity operation: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
            ),
            vec![TextForm::Invalid {
                code: "SignatureDoesNotMatch",
                action: Some("sts:GetCallerIdentity".into())
            }]
        );
    }

    #[test]
    fn keys_irsa_access_entry_lost_secret() {
        assert_eq!(
            forms(
                "An error occurred (LimitExceeded) when calling the CreateAccessKey operation: Cannot exceed quota for AccessKeysPerUser: 2"
            ),
            vec![TextForm::KeysLimit]
        );
        assert_eq!(
            forms(
                "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity"
            ),
            vec![TextForm::WebIdentityDenied {
                provider: OidcProvider::Unknown,
                role: None
            }]
        );
        assert_eq!(
            forms(
                "An error occurred (InvalidParameterException) when calling the CreateAccessEntry operation: The specified principalArn is invalid: invalid principal"
            ),
            vec![TextForm::AccessEntryPath {
                principal_arn: None
            }]
        );
        assert_eq!(
            forms("I lost my secret access key, how can I retrieve it?"),
            vec![TextForm::LostSecret]
        );
        assert!(forms("rotate the secret access key every 90 days").is_empty());
    }
}
