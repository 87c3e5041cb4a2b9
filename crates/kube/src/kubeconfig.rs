//! kubeconfig files read and merged by kube-rs's own types
//! (`kube::config::Kubeconfig`, merged as kubectl merges `$KUBECONFIG`),
//! then reduced to the facts `eksdoctor_core::kubeconfig` lints.

use std::path::{Path, PathBuf};

use eksdoctor_core::kubeconfig as core;
use kube::config::Kubeconfig;

/// Why a kubeconfig could not be read (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ReadError {
    pub path: String,
    pub message: String,
}

/// The files kubectl would read: `$KUBECONFIG` (split like PATH, empty
/// entries skipped), else `~/.kube/config`.
#[must_use]
pub fn default_paths(
    kubeconfig_env: Option<&std::ffi::OsStr>,
    home: Option<&Path>,
) -> Vec<PathBuf> {
    if let Some(v) = kubeconfig_env.filter(|v| !v.is_empty()) {
        return std::env::split_paths(v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
    }
    home.map(|h| vec![h.join(".kube").join("config")])
        .unwrap_or_default()
}

/// Read one kubeconfig from text.
///
/// # Errors
/// Text that is not a kubeconfig.
pub fn from_text(text: &str, path: &str) -> Result<Kubeconfig, ReadError> {
    Kubeconfig::from_yaml(text).map_err(|e| ReadError {
        path: path.to_owned(),
        message: one_line(&e),
    })
}

/// Read and merge `paths` (first file wins for each name, as kubectl does).
/// Files in `$KUBECONFIG` that do not exist are skipped, as kubectl skips them.
///
/// # Errors
/// No file could be read, or one does not parse.
pub fn read_merged(paths: &[PathBuf], skip_missing: bool) -> Result<Kubeconfig, ReadError> {
    let mut merged: Option<Kubeconfig> = None;
    for p in paths {
        let shown = p.display().to_string();
        let text = match std::fs::read_to_string(p) {
            Ok(t) => t,
            Err(e) if skip_missing && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(ReadError {
                    path: shown,
                    message: e.to_string(),
                });
            }
        };
        let kc = from_text(&text, &shown)?;
        merged = Some(match merged {
            None => kc,
            Some(m) => m.merge(kc).map_err(|e| ReadError {
                path: shown,
                message: one_line(&e),
            })?,
        });
    }
    merged.ok_or_else(|| ReadError {
        path: paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":"),
        message: "no kubeconfig file found".to_owned(),
    })
}

fn one_line(e: &dyn std::error::Error) -> String {
    // The YAML errors carry a multi-line source excerpt: keep each message's first line.
    let first = |t: String| t.lines().next().unwrap_or_default().trim().to_owned();
    let mut s = first(e.to_string());
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = first(c.to_string());
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// The facts the lint reads.
#[must_use]
pub fn facts(kc: &Kubeconfig) -> core::Kubeconfig {
    core::Kubeconfig {
        current_context: kc.current_context.clone().filter(|c| !c.is_empty()),
        contexts: kc
            .contexts
            .iter()
            .map(|c| core::Context {
                name: c.name.clone(),
                cluster: c
                    .context
                    .as_ref()
                    .map(|x| x.cluster.clone())
                    .filter(|s| !s.is_empty()),
                user: c
                    .context
                    .as_ref()
                    .and_then(|x| x.user.clone())
                    .filter(|s| !s.is_empty()),
            })
            .collect(),
        clusters: kc
            .clusters
            .iter()
            .map(|c| core::Cluster {
                name: c.name.clone(),
                server: c.cluster.as_ref().and_then(|x| x.server.clone()),
            })
            .collect(),
        users: kc
            .auth_infos
            .iter()
            .map(|u| core::User {
                name: u.name.clone(),
                auth: u.auth_info.as_ref().map_or(core::UserAuth::Other, auth),
            })
            .collect(),
    }
}

/// Each context as the cluster model holds it: its cluster entry's server
/// and CA, and what its user's exec plugin says about EKS. Contexts whose
/// entries are missing keep what is there (kubeconfig/missing-entry is the
/// offline lint's).
#[must_use]
pub fn contexts(kc: &Kubeconfig) -> Vec<eksdoctor_core::snapshot::KubeContext> {
    let current = kc.current_context.as_deref().unwrap_or_default();
    kc.contexts
        .iter()
        .map(|c| {
            let ctx = c.context.as_ref();
            let cluster = ctx.and_then(|x| {
                kc.clusters
                    .iter()
                    .find(|n| n.name == x.cluster)
                    .and_then(|n| n.cluster.as_ref())
            });
            let user = ctx
                .and_then(|x| x.user.as_deref())
                .and_then(|u| kc.auth_infos.iter().find(|a| a.name == u))
                .and_then(|a| a.auth_info.as_ref());
            let exec = match user.map(auth) {
                Some(core::UserAuth::Exec(e)) => core::EksExec::from_exec(&e),
                _ => None,
            };
            eksdoctor_core::snapshot::KubeContext {
                name: c.name.clone(),
                current: !current.is_empty() && c.name == current,
                server: cluster.and_then(|x| x.server.clone()),
                ca_data: cluster.and_then(|x| x.certificate_authority_data.clone()),
                exec,
            }
        })
        .collect()
}

/// The contexts of the kubeconfig kubectl would read here (`$KUBECONFIG`,
/// else `~/.kube/config`); none when there is no readable kubeconfig (the
/// live probes do not need one: `lint kubeconfig` reports a broken one).
#[must_use]
pub fn default_contexts() -> Vec<eksdoctor_core::snapshot::KubeContext> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let paths = default_paths(std::env::var_os("KUBECONFIG").as_deref(), home.as_deref());
    read_merged(&paths, true)
        .map(|kc| contexts(&kc))
        .unwrap_or_default()
}

fn auth(a: &kube::config::AuthInfo) -> core::UserAuth {
    if let Some(e) = &a.exec {
        return core::UserAuth::Exec(core::Exec {
            api_version: e.api_version.clone(),
            command: e.command.clone().unwrap_or_default(),
            args: e.args.clone().unwrap_or_default(),
            env: e
                .env
                .iter()
                .flatten()
                .filter_map(|m| {
                    Some((
                        m.get("name")?.clone(),
                        m.get("value").cloned().unwrap_or_default(),
                    ))
                })
                .collect(),
        });
    }
    if let Some(p) = &a.auth_provider {
        return core::UserAuth::AuthProvider(p.name.clone());
    }
    if a.token.is_some() || a.token_file.is_some() {
        return core::UserAuth::Token;
    }
    if a.client_certificate.is_some() || a.client_certificate_data.is_some() {
        return core::UserAuth::ClientCertificate;
    }
    core::UserAuth::Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn contexts_carry_server_ca_and_the_exec_facts() {
        let kc = from_text(AWS_WRITTEN, "k").unwrap();
        let c = contexts(&kc);
        assert_eq!(c.len(), 1);
        assert!(c[0].current);
        assert_eq!(
            c[0].server.as_deref(),
            Some("https://ABCD.gr7.eu-west-1.eks.amazonaws.com")
        );
        assert_eq!(c[0].ca_data.as_deref(), Some("LS0tLS1CRUdJTg=="));
        let exec = c[0].exec.as_ref().unwrap();
        assert_eq!(exec.cluster.as_deref(), Some("prod"));
        assert_eq!(exec.profile.as_deref(), Some("ops"));
    }

    const AWS_WRITTEN: &str = r#"
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTg==
    server: https://ABCD.gr7.eu-west-1.eks.amazonaws.com
  name: arn:aws:eks:eu-west-1:111122223333:cluster/prod
contexts:
- context:
    cluster: arn:aws:eks:eu-west-1:111122223333:cluster/prod
    user: arn:aws:eks:eu-west-1:111122223333:cluster/prod
  name: arn:aws:eks:eu-west-1:111122223333:cluster/prod
current-context: arn:aws:eks:eu-west-1:111122223333:cluster/prod
users:
- name: arn:aws:eks:eu-west-1:111122223333:cluster/prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1alpha1
      args: [--region, eu-west-1, eks, get-token, --cluster-name, prod]
      command: aws
      env:
      - name: AWS_PROFILE
        value: ops
"#;

    #[test]
    fn reads_what_update_kubeconfig_writes() {
        let kc = from_text(AWS_WRITTEN, "config").unwrap();
        let f = facts(&kc);
        let core::UserAuth::Exec(e) = &f.users[0].auth else {
            panic!()
        };
        assert_eq!(e.env, [("AWS_PROFILE".to_owned(), "ops".to_owned())]);
        let opts = core::Options {
            context: None,
            profile: Some("dev"),
            source: "config",
        };
        let ids: Vec<_> = core::lint(&f, &opts, &|_| true)
            .iter()
            .map(|f| f.rule)
            .collect();
        assert_eq!(
            ids,
            [
                "kubeconfig/exec-api-version",
                "kubeconfig/identity-mismatch"
            ]
        );
    }

    #[test]
    fn merge_keeps_the_first_files_entries() {
        let dir = std::env::temp_dir().join(format!("eksdoctor-kc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a");
        let b = dir.join("b");
        std::fs::write(&a, AWS_WRITTEN).unwrap();
        std::fs::write(
            &b,
            AWS_WRITTEN
                .replace(
                    "current-context: arn:aws:eks:eu-west-1:111122223333:cluster/prod",
                    "current-context: other",
                )
                .replace("ops", "other"),
        )
        .unwrap();
        let kc = read_merged(&[a.clone(), dir.join("missing"), b.clone()], true).unwrap();
        assert_eq!(
            kc.current_context.as_deref(),
            Some("arn:aws:eks:eu-west-1:111122223333:cluster/prod")
        );
        let f = facts(&kc);
        let core::UserAuth::Exec(e) = &f.users[0].auth else {
            panic!()
        };
        assert_eq!(e.env[0].1, "ops");
        assert!(read_merged(&[dir.join("missing")], false).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn default_paths_follow_kubectl() {
        let home = Path::new("/home/u");
        assert_eq!(default_paths(None, Some(home)), [home.join(".kube/config")]);
        let joined = std::env::join_paths(["/a", "/b"]).unwrap();
        assert_eq!(
            default_paths(Some(&joined), Some(home)),
            [PathBuf::from("/a"), PathBuf::from("/b")]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn reader_and_lint_never_panic(text in "\\PC{0,400}") {
            if let Ok(kc) = from_text(&text, "x") {
                let _ = core::lint(&facts(&kc), &core::Options::default(), &|_| false);
            }
        }

        #[test]
        fn mutated_kubeconfigs_never_panic(cut in 0usize..1200, junk in "[ -~\n]{0,20}") {
            let mut t = AWS_WRITTEN.to_owned();
            let at = cut.min(t.len());
            t.insert_str(at, &junk);
            if let Ok(kc) = from_text(&t, "x") {
                let _ = core::lint(&facts(&kc), &core::Options::default(), &|_| true);
            }
        }
    }
}
