//! Where the credentials come from, as far as the environment and the shared
//! config tell: to say what was tried, and which command fixes a missing or
//! expired login (`aws sso login --profile P` for SSO profiles).
//!
//! The shared files are read with aws-config's own profile parser, so the
//! answer matches what the credential chain itself sees.

use std::borrow::Cow;

use aws_types::os_shim_internal::{Env, Fs};

/// The kind of source the default chain will use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
    Environment,
    /// Keys in the shared credentials/config file.
    SharedKeys,
    /// IAM Identity Center (SSO).
    Sso,
    /// `credential_process`.
    Process,
    /// A role assumed from another profile (`role_arn` + `source_profile`).
    AssumeRole,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` or `web_identity_token_file` (IRSA pods).
    WebIdentity,
    /// ECS / EKS Pod Identity container credentials.
    Container,
    /// Static credentials given to the library.
    Static,
    /// Nothing configured: the chain falls through to the instance metadata service.
    Imds,
}

/// What the chain will try, for messages and fixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSource {
    pub kind: SourceKind,
    /// The selected profile (`--profile`, AWS_PROFILE, else `default`).
    pub profile: String,
    /// Whether the profile was named explicitly (flag or AWS_PROFILE).
    pub profile_explicit: bool,
    /// The providers of the default chain that were really consulted, in order.
    pub tried: Vec<String>,
    /// The providers the chain skipped, each with why (IMDS disabled, no
    /// web identity token configured, ...).
    pub skipped: Vec<String>,
}

impl CredentialSource {
    /// One line: `SSO (profile dev)`, `environment variables`, ...
    #[must_use]
    pub fn describe(&self) -> String {
        let p = &self.profile;
        match self.kind {
            SourceKind::Environment => "environment variables (AWS_ACCESS_KEY_ID)".to_owned(),
            SourceKind::SharedKeys => format!("access keys in the shared files (profile {p})"),
            SourceKind::Sso => format!("IAM Identity Center / SSO (profile {p})"),
            SourceKind::Process => format!("credential_process (profile {p})"),
            SourceKind::AssumeRole => format!("assumed role (profile {p})"),
            SourceKind::WebIdentity => "web identity token (IRSA)".to_owned(),
            SourceKind::Container => "container credentials (ECS / EKS Pod Identity)".to_owned(),
            SourceKind::Static => "static credentials".to_owned(),
            SourceKind::Imds => "instance metadata (IMDS), nothing else configured".to_owned(),
        }
    }

    /// `--profile P` when a profile was chosen, else empty.
    fn profile_flag(&self) -> String {
        if self.profile_explicit || self.profile != "default" {
            format!(" --profile {}", self.profile)
        } else {
            String::new()
        }
    }

    /// The commands that get fresh credentials from this source.
    #[must_use]
    pub fn login_commands(&self) -> Vec<String> {
        let pf = self.profile_flag();
        match self.kind {
            SourceKind::Sso => vec![format!("aws sso login{pf}")],
            SourceKind::Environment => vec![
                "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN".to_owned(),
                format!("aws configure{pf}"),
            ],
            SourceKind::SharedKeys | SourceKind::Imds | SourceKind::Static => {
                vec![
                    format!("aws configure{pf}"),
                    format!("aws configure sso{pf}"),
                ]
            }
            SourceKind::AssumeRole => vec![format!("aws configure list{pf}")],
            SourceKind::Process => vec![format!("aws configure get credential_process{pf}")],
            SourceKind::WebIdentity => vec![
                "kubectl describe serviceaccount -n NAMESPACE NAME   # eks.amazonaws.com/role-arn"
                    .to_owned(),
            ],
            SourceKind::Container => vec![
                "env | grep AWS_CONTAINER_CREDENTIALS   # the pod identity agent must be reachable"
                    .to_owned(),
            ],
        }
    }
}

/// Inspect the environment and the shared files.
pub async fn detect(profile_override: Option<&str>, static_credentials: bool) -> CredentialSource {
    let env = Env::real();
    let var = |k: &str| env.get(k).ok().filter(|v| !v.is_empty());
    let profile_explicit = profile_override.is_some() || var("AWS_PROFILE").is_some();
    let profile = profile_override
        .map(str::to_owned)
        .or_else(|| var("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_owned());
    let kind = if static_credentials {
        SourceKind::Static
    } else if profile_override.is_none() && var("AWS_ACCESS_KEY_ID").is_some() {
        SourceKind::Environment
    } else {
        let from_files = profile_kind(&env, &profile).await;
        match from_files {
            Some(k) => k,
            None if var("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() => SourceKind::WebIdentity,
            None if var("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
                || var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some() =>
            {
                SourceKind::Container
            }
            None => SourceKind::Imds,
        }
    };
    let (tried, skipped) = chain_steps(&var, &profile, static_credentials);
    CredentialSource {
        kind,
        profile,
        profile_explicit,
        tried,
        skipped,
    }
}

/// The default chain's providers in aws-config's order (environment, shared
/// files, web identity, container, IMDS), split into those it consults and
/// those it skips for lack of configuration.
fn chain_steps(
    var: &impl Fn(&str) -> Option<String>,
    profile: &str,
    static_credentials: bool,
) -> (Vec<String>, Vec<String>) {
    let (mut tried, mut skipped) = (Vec::new(), Vec::new());
    if static_credentials {
        tried.push("static credentials".to_owned());
        return (tried, skipped);
    }
    tried.push(match var("AWS_ACCESS_KEY_ID") {
        Some(_) => "environment variables (AWS_ACCESS_KEY_ID is set)".to_owned(),
        None => "environment variables (AWS_ACCESS_KEY_ID not set)".to_owned(),
    });
    tried.push(format!(
        "the shared config and credentials files (profile {profile}: {}, {})",
        var("AWS_CONFIG_FILE").unwrap_or_else(|| "~/.aws/config".to_owned()),
        var("AWS_SHARED_CREDENTIALS_FILE").unwrap_or_else(|| "~/.aws/credentials".to_owned())
    ));
    if var("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
        tried.push("a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".to_owned());
    } else {
        skipped.push("web identity (AWS_WEB_IDENTITY_TOKEN_FILE not set)".to_owned());
    }
    if var("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
        || var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
    {
        tried.push("container credentials (AWS_CONTAINER_CREDENTIALS_*)".to_owned());
    } else {
        skipped.push("container credentials (AWS_CONTAINER_CREDENTIALS_* not set)".to_owned());
    }
    if var("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        skipped.push("the instance metadata service (AWS_EC2_METADATA_DISABLED=true)".to_owned());
    } else {
        tried.push("the instance metadata service (IMDS)".to_owned());
    }
    (tried, skipped)
}

// aws-config re-exports the file list under a deprecated alias; its new home
// (aws-runtime) is not a dependency of ours.
#[allow(deprecated)]
fn profile_files() -> aws_config::profile::profile_file::ProfileFiles {
    aws_config::profile::profile_file::ProfileFiles::default()
}

async fn profile_kind(env: &Env, profile: &str) -> Option<SourceKind> {
    let set = aws_config::profile::load(
        &Fs::real(),
        env,
        &profile_files(),
        Some(Cow::Owned(profile.to_owned())),
    )
    .await
    .ok()?;
    let p = set.get_profile(profile)?;
    let has = |k: &str| p.get(k).is_some_and(|v| !v.trim().is_empty());
    Some(if has("sso_session") || has("sso_start_url") {
        SourceKind::Sso
    } else if has("role_arn") && has("web_identity_token_file") {
        SourceKind::WebIdentity
    } else if has("role_arn") {
        SourceKind::AssumeRole
    } else if has("credential_process") {
        SourceKind::Process
    } else if has("aws_access_key_id") {
        SourceKind::SharedKeys
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sso_fix_names_the_profile() {
        let s = CredentialSource {
            kind: SourceKind::Sso,
            profile: "dev".to_owned(),
            profile_explicit: true,
            tried: Vec::new(),
            skipped: Vec::new(),
        };
        assert_eq!(s.login_commands(), vec!["aws sso login --profile dev"]);
        assert!(s.describe().contains("profile dev"));
        let d = CredentialSource {
            kind: SourceKind::Imds,
            profile: "default".to_owned(),
            profile_explicit: false,
            tried: Vec::new(),
            skipped: Vec::new(),
        };
        assert_eq!(d.login_commands()[0], "aws configure");
    }

    /// Issue 18: with AWS_EC2_METADATA_DISABLED=true the finding said IMDS was tried.
    #[test]
    fn only_the_providers_really_tried() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let (tried, skipped) = chain_steps(
            &env(&[("AWS_EC2_METADATA_DISABLED", "TRUE")]),
            "default",
            false,
        );
        assert!(tried.iter().all(|t| !t.contains("metadata")), "{tried:?}");
        assert!(
            skipped
                .iter()
                .any(|t| t.contains("AWS_EC2_METADATA_DISABLED=true"))
        );
        assert!(tried.iter().all(|t| !t.contains("web identity")));
        let (tried, _) = chain_steps(
            &env(&[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://x"),
            ]),
            "dev",
            false,
        );
        assert_eq!(tried.len(), 5, "{tried:?}");
        assert!(tried[1].contains("profile dev"));
        assert!(tried[4].contains("IMDS"));
    }

    #[tokio::test]
    async fn profile_kinds_from_files() {
        let fs_env = Env::from_slice(&[]);
        // No files at all: nothing from the files.
        assert_eq!(profile_kind(&fs_env, "nope").await, None);
    }
}
