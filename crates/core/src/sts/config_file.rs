//! AWS shared config files (`~/.aws/config`): each profile's
//! `sts_regional_endpoints` (`legacy` or `regional`) and `region`.

/// One profile's STS-relevant settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSettings {
    /// `default`, or the name after `[profile ...]`.
    pub name: String,
    /// Line of the section header.
    pub line: usize,
    /// `sts_regional_endpoints` value and its line.
    pub sts_regional_endpoints: Option<(String, usize)>,
    pub region: Option<String>,
}

/// Whether the text looks like an AWS config or credentials file: an INI
/// section header `[default]`, `[profile x]`, `[sso-session x]` or `[services x]`.
#[must_use]
pub fn looks_like_aws_config(text: &str) -> bool {
    text.lines().any(|l| section_name(l).is_some())
}

fn section_name(line: &str) -> Option<&str> {
    let t = line.trim();
    let inner = t.strip_prefix('[')?.strip_suffix(']')?.trim();
    if inner == "default"
        || inner.starts_with("profile ")
        || inner.starts_with("sso-session ")
        || inner.starts_with("services ")
    {
        Some(inner)
    } else {
        None
    }
}

/// The profiles of a config file. Lenient like the SDKs: unknown lines are ignored.
#[must_use]
pub fn read_profiles(text: &str) -> Vec<ProfileSettings> {
    let mut out: Vec<ProfileSettings> = Vec::new();
    let mut in_profile = false;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.trim();
        if line.starts_with('[') {
            in_profile = false;
            if let Some(name) = section_name(line) {
                let profile = if name == "default" {
                    Some("default")
                } else {
                    name.strip_prefix("profile ").map(str::trim)
                };
                if let Some(p) = profile {
                    in_profile = true;
                    out.push(ProfileSettings {
                        name: p.to_owned(),
                        line: line_no,
                        sts_regional_endpoints: None,
                        region: None,
                    });
                }
            }
            continue;
        }
        if !in_profile || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        // Nested sub-sections (`s3 =` then indented keys) belong to a service, not the profile.
        if raw.starts_with(' ') || raw.starts_with('\t') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let value = v.split(['#', ';']).next().unwrap_or_default().trim();
        if let Some(p) = out.last_mut() {
            match k.trim() {
                "sts_regional_endpoints" => {
                    p.sts_regional_endpoints = Some((value.to_owned(), line_no));
                }
                "region" => p.region = Some(value.to_owned()),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_profiles() {
        let cfg = "[default]\nregion = us-east-1\nsts_regional_endpoints = legacy\n\n[profile dev]\nregion=eu-west-1 # comment\nsts_regional_endpoints=regional\ns3 =\n  sts_regional_endpoints = x\n[sso-session corp]\nsso_region = us-east-1\n";
        assert!(looks_like_aws_config(cfg));
        let p = read_profiles(cfg);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].sts_regional_endpoints, Some(("legacy".into(), 3)));
        assert_eq!(p[1].name, "dev");
        assert_eq!(p[1].region.as_deref(), Some("eu-west-1"));
        assert_eq!(p[1].sts_regional_endpoints, Some(("regional".into(), 7)));
        assert!(!looks_like_aws_config("kind: Pod\n"));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = read_profiles(&s);
            let _ = read_profiles(&format!("[default]\n{s}"));
        }
    }
}
