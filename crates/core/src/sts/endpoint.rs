//! STS endpoint hosts: the regional endpoint for a region (partition-aware)
//! and finding hard-coded calls to the global endpoint in any text.

use crate::arn::{partition_dns_suffix, partition_of_region};

/// The global endpoint host (commercial partition only).
pub const GLOBAL_HOST: &str = "sts.amazonaws.com";

/// `https://sts.REGION.amazonaws.com` for the region, in its partition
/// (`sts.cn-north-1.amazonaws.com.cn`, `sts.us-gov-west-1.amazonaws.com`).
#[must_use]
pub fn regional_url(region: &str) -> String {
    let suffix = partition_dns_suffix(partition_of_region(region));
    format!("https://sts.{region}.{suffix}")
}

/// Whether the region's partition has a global STS endpoint at all: only the
/// commercial `aws` partition does; elsewhere every call is regional.
#[must_use]
pub fn partition_has_global_endpoint(region: &str) -> bool {
    partition_of_region(region) == "aws"
}

/// Where a line of text calls the global endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalEndpointUse {
    /// 1-based.
    pub line: usize,
    /// 1-based byte column of the host.
    pub column: usize,
    /// The line, trimmed.
    pub text: String,
}

fn is_host_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_'
}

/// Words that put a bare host on a line in endpoint position.
const ENDPOINT_WORDS: &[&str] = &["endpoint", "url", "host", "uri"];

/// Every hard-coded use of the global endpoint: the host `sts.amazonaws.com`
/// exactly (not `sts.us-east-1.amazonaws.com`, not `sts.amazonaws.com.cn`),
/// either in a URL (`https://sts.amazonaws.com`) or on a line that sets an
/// endpoint, URL or host (SDK client constructors, config keys). The bare
/// host as an OIDC audience (`aud`, `audience`) or a service principal is
/// not an endpoint and is left alone.
#[must_use]
pub fn find_global_endpoint(text: &str) -> Vec<GlobalEndpointUse> {
    let finder = memchr::memmem::Finder::new(GLOBAL_HOST);
    let mut out = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        for pos in finder.find_iter(bytes) {
            let end = pos + GLOBAL_HOST.len();
            if pos > 0 && is_host_char(bytes[pos - 1]) {
                continue;
            }
            if end < bytes.len() && is_host_char(bytes[end]) {
                // `sts.amazonaws.com.cn` and the like, or a longer name.
                continue;
            }
            let in_url = line[..pos].ends_with("://");
            let lower = line.to_ascii_lowercase();
            let audience = lower.contains("aud") || lower.contains("principal");
            let endpoint_context = ENDPOINT_WORDS.iter().any(|w| lower.contains(w));
            if in_url || (endpoint_context && !audience) {
                out.push(GlobalEndpointUse {
                    line: idx + 1,
                    column: pos + 1,
                    text: line.trim().to_owned(),
                });
                break;
            }
        }
    }
    out
}

/// The error AWS returns when a request signed for one region reaches the
/// global endpoint (or the reverse).
pub const SCOPE_ERROR: &str = "Credential should be scoped to a valid region";

/// Lines carrying [`SCOPE_ERROR`] (logs given to `lint sts`).
#[must_use]
pub fn find_scope_errors(text: &str) -> Vec<GlobalEndpointUse> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            l.find(SCOPE_ERROR).map(|c| GlobalEndpointUse {
                line: i + 1,
                column: c + 1,
                text: l.trim().to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn regional_urls_by_partition() {
        assert_eq!(
            regional_url("eu-west-1"),
            "https://sts.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            regional_url("cn-north-1"),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            regional_url("us-gov-west-1"),
            "https://sts.us-gov-west-1.amazonaws.com"
        );
        assert!(partition_has_global_endpoint("us-east-1"));
        assert!(!partition_has_global_endpoint("cn-northwest-1"));
    }

    #[test]
    fn finds_urls_and_constructors() {
        let src = r#"
sts = boto3.client("sts", endpoint_url="https://sts.amazonaws.com")
cfg := aws.NewConfig().WithEndpoint("sts.amazonaws.com")
StsClient.builder().endpointOverride(URI.create("https://sts.amazonaws.com:443/"))
ok = boto3.client("sts", endpoint_url="https://sts.us-east-1.amazonaws.com")
china = "https://sts.amazonaws.com.cn"
aud: sts.amazonaws.com
"oidc.eks.us-west-2.amazonaws.com/id/X:aud": "sts.amazonaws.com"
"Service": "sts.amazonaws.com"
curl https://mysts.amazonaws.com/
"#;
        let hits = find_global_endpoint(src);
        let lines: Vec<usize> = hits.iter().map(|h| h.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert_eq!(hits[0].column, 49);
    }

    #[test]
    fn scope_errors() {
        let log = "ok\nAn error occurred (SignatureDoesNotMatch) when calling the AssumeRoleWithWebIdentity operation: Credential should be scoped to a valid region.\n";
        assert_eq!(find_scope_errors(log)[0].line, 2);
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = find_global_endpoint(&s);
            let _ = find_global_endpoint(&format!("endpoint {s}sts.amazonaws.com{s}"));
        }

        #[test]
        fn regional_hosts_never_match(region in "[a-z]{2}-[a-z]{4,9}-[1-9]") {
            let line = format!("endpoint_url = https://sts.{region}.amazonaws.com");
            prop_assert!(find_global_endpoint(&line).is_empty());
        }
    }
}
