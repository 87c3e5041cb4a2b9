//! The EKS bearer token, built exactly as `aws eks get-token` and
//! aws-iam-authenticator's `pkg/token` build it:
//!
//! * an STS `GetCallerIdentity` request, `GET
//!   https://sts.<region>.<dns-suffix>/?Action=GetCallerIdentity&Version=2011-06-15`,
//!   carrying the header `x-k8s-aws-id: <cluster name or id>`;
//! * SigV4-presigned in the query string (`X-Amz-Expires=60`, the header
//!   signed: `X-Amz-SignedHeaders=host;x-k8s-aws-id`) by the SDK's own
//!   signer (`aws-sigv4`);
//! * `k8s-aws-v1.` + the URL in unpadded base64url.
//!
//! STS honours a presigned GetCallerIdentity for 15 minutes after
//! `X-Amz-Date` whatever `X-Amz-Expires` says (the authenticator checks that
//! window), so the token is reported to expire after 14 minutes, one minute
//! of cushion, as both reference tools do; client-go then asks for a new one.
//!
//! The token is a bearer credential for the cluster: [`EksToken`] never
//! prints it in `Debug`, and only [`EksToken::exec_credential`] hands it out.
//! `eksdoctor_core::mask` masks the `k8s-aws-v1.` shape in every other output.

use std::time::{Duration, SystemTime};

use aws_config::Region;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine as _;

use crate::config::LiveConfig;
use crate::error::ProbeError;

/// What every EKS token starts with.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The signed header that binds the token to one cluster.
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// `X-Amz-Expires` of the presigned URL (both reference tools use 60).
pub const PRESIGN_EXPIRES: Duration = Duration::from_secs(60);
/// How long the token is announced to last (STS accepts it for 15 minutes).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 60);
/// The session name `aws eks get-token --role-arn` uses.
pub const ASSUME_ROLE_SESSION_NAME: &str = "EKSGetTokenAuth";
/// The ExecCredential version kubectl gets when it does not say which it wants.
pub const DEFAULT_EXEC_API_VERSION: &str = "client.authentication.k8s.io/v1beta1";

/// A bearer token for one cluster. `Debug` never shows it.
#[derive(Clone)]
pub struct EksToken {
    token: String,
    expiration: SystemTime,
}

impl std::fmt::Debug for EksToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EksToken")
            .field("token", &"<redacted>")
            .field("expiration", &self.expiration)
            .finish()
    }
}

impl EksToken {
    /// The token itself: only for an `Authorization: Bearer` header or the
    /// ExecCredential on stdout.
    #[must_use]
    pub fn secret(&self) -> &str {
        &self.token
    }

    /// When kubectl should ask for a new token.
    #[must_use]
    pub fn expiration(&self) -> SystemTime {
        self.expiration
    }

    /// `expirationTimestamp` as client-go expects it: RFC 3339, whole seconds, UTC.
    #[must_use]
    pub fn expiration_rfc3339(&self) -> String {
        jiff::Timestamp::try_from(self.expiration)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    }

    /// The ExecCredential kubectl reads from an exec plugin's stdout.
    #[must_use]
    pub fn exec_credential(&self, api_version: &str) -> serde_json::Value {
        serde_json::json!({
            "kind": "ExecCredential",
            "apiVersion": api_version,
            "spec": {},
            "status": {
                "expirationTimestamp": self.expiration_rfc3339(),
                "token": self.token,
            }
        })
    }
}

/// The ExecCredential apiVersion to answer with: the one kubectl announces in
/// `KUBERNETES_EXEC_INFO` when it is a version we speak, else v1beta1 (as
/// `aws eks get-token` does).
#[must_use]
pub fn exec_api_version(kubernetes_exec_info: Option<&str>) -> &'static str {
    const KNOWN: &[&str] = &[
        "client.authentication.k8s.io/v1",
        "client.authentication.k8s.io/v1beta1",
    ];
    kubernetes_exec_info
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .and_then(|v| {
            let asked = v.get("apiVersion")?.as_str()?.to_owned();
            KNOWN.iter().copied().find(|k| *k == asked)
        })
        .unwrap_or(DEFAULT_EXEC_API_VERSION)
}

/// The regional STS host the token is presigned for (the authenticator only
/// accepts `sts.<region>.<partition suffix>`).
#[must_use]
pub fn sts_host(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else if region.starts_with("us-isob-") {
        "sc2s.sgov.gov"
    } else if region.starts_with("us-iso-") {
        "c2s.ic.gov"
    } else {
        "amazonaws.com"
    };
    format!("sts.{region}.{suffix}")
}

/// Presign GetCallerIdentity for `cluster_id` with `creds` at `now`.
///
/// # Errors
/// An empty cluster id or region, or a signing failure.
pub fn presign(
    cluster_id: &str,
    region: &str,
    creds: &Credentials,
    now: SystemTime,
) -> Result<EksToken, ProbeError> {
    if cluster_id.trim().is_empty() {
        return Err(ProbeError::Other("the cluster name is empty".to_owned()));
    }
    if region.is_empty() {
        return Err(ProbeError::NoRegion);
    }
    let identity: Identity = creds.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(PRESIGN_EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| ProbeError::Other(format!("cannot sign the token request: {e}")))?;
    let base = format!(
        "https://{}/?Action=GetCallerIdentity&Version=2011-06-15",
        sts_host(region)
    );
    let request = SignableRequest::new(
        "GET",
        base.as_str(),
        std::iter::once((CLUSTER_ID_HEADER, cluster_id)),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| ProbeError::Other(format!("cannot sign the token request: {e}")))?;
    let (instructions, _signature) = sign(request, &params.into())
        .map_err(|e| ProbeError::Other(format!("cannot sign the token request: {e}")))?
        .into_parts();
    let mut url = base;
    for (name, value) in instructions.params() {
        url.push('&');
        url.push_str(name);
        url.push('=');
        url.extend(percent_encoding::utf8_percent_encode(value, QUERY_VALUE));
    }
    Ok(EksToken {
        token: format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url.as_bytes())
        ),
        expiration: now + TOKEN_LIFETIME,
    })
}

/// RFC 3986 unreserved characters stay; everything else is percent-encoded
/// (SigV4's query encoding).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The token for `cluster_id` with the default chain's credentials (the
/// global `--profile`/`--region`), or after assuming `role_arn` (session name
/// `EKSGetTokenAuth`, as `aws eks get-token --role-arn`). With no region
/// anywhere, us-east-1, as aws-iam-authenticator does.
///
/// # Errors
/// No credentials, a failed AssumeRole, a signing failure.
pub async fn token(
    config: &LiveConfig,
    cluster_id: &str,
    role_arn: Option<&str>,
) -> Result<EksToken, ProbeError> {
    let mut sdk = config.load().await;
    if sdk.region().is_none() {
        sdk = sdk.into_builder().region(Region::new("us-east-1")).build();
    }
    let region = sdk
        .region()
        .map(ToString::to_string)
        .unwrap_or_else(|| "us-east-1".to_owned());
    let creds = match role_arn.map(str::trim).filter(|r| !r.is_empty()) {
        Some(role) => {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name(ASSUME_ROLE_SESSION_NAME)
                .configure(&sdk)
                .build()
                .await;
            resolve(config, &provider).await?
        }
        None => {
            let provider = sdk
                .credentials_provider()
                .ok_or_else(|| ProbeError::NoCredentials("no credential provider".to_owned()))?;
            resolve(config, &provider).await?
        }
    };
    presign(cluster_id, &region, &creds, SystemTime::now())
}

async fn resolve(
    config: &LiveConfig,
    provider: &impl ProvideCredentials,
) -> Result<Credentials, ProbeError> {
    tokio::time::timeout(config.probe_timeout, provider.provide_credentials())
        .await
        .map_err(|_| {
            ProbeError::Unreachable("the credential provider did not answer in time".to_owned())
        })?
        .map_err(|e| ProbeError::from_credentials_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_owned),
            None,
            "test",
        )
    }

    fn decode(token: &EksToken) -> String {
        let b64 = token.secret().strip_prefix(TOKEN_PREFIX).unwrap();
        assert!(!b64.contains('='), "unpadded");
        String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(b64)
                .unwrap(),
        )
        .unwrap()
    }

    fn at(rfc3339: &str) -> SystemTime {
        SystemTime::from(rfc3339.parse::<jiff::Timestamp>().unwrap())
    }

    #[test]
    fn url_has_the_shape_the_authenticator_verifies() {
        let t = presign(
            "my-cluster",
            "eu-west-1",
            &creds(None),
            at("2026-01-02T03:04:05Z"),
        )
        .unwrap();
        let url = decode(&t);
        assert!(
            url.starts_with(
                "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&"
            ),
            "{url}"
        );
        for want in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20260102%2Feu-west-1%2Fsts%2Faws4_request",
            "X-Amz-Date=20260102T030405Z",
            "X-Amz-Expires=60",
            "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id",
            "X-Amz-Signature=",
        ] {
            assert!(url.contains(want), "{want} missing from {url}");
        }
        assert!(!url.contains("X-Amz-Security-Token"));
        assert_eq!(t.expiration_rfc3339(), "2026-01-02T03:18:05Z");
    }

    #[test]
    fn signature_is_stable_and_binds_the_cluster() {
        let now = at("2026-01-02T03:04:05Z");
        let a = presign("a", "us-east-1", &creds(None), now).unwrap();
        let a2 = presign("a", "us-east-1", &creds(None), now).unwrap();
        let b = presign("b", "us-east-1", &creds(None), now).unwrap();
        assert_eq!(a.secret(), a2.secret());
        assert_ne!(a.secret(), b.secret());
    }

    #[test]
    fn session_token_is_carried_and_encoded() {
        let t = presign(
            "c",
            "us-east-1",
            &creds(Some("FQoG/ab+c=")),
            at("2026-01-02T03:04:05Z"),
        )
        .unwrap();
        assert!(decode(&t).contains("X-Amz-Security-Token=FQoG%2Fab%2Bc%3D"));
    }

    #[test]
    fn partition_hosts() {
        assert_eq!(sts_host("us-east-1"), "sts.us-east-1.amazonaws.com");
        assert_eq!(sts_host("cn-north-1"), "sts.cn-north-1.amazonaws.com.cn");
        assert_eq!(sts_host("us-gov-west-1"), "sts.us-gov-west-1.amazonaws.com");
        assert_eq!(sts_host("us-iso-east-1"), "sts.us-iso-east-1.c2s.ic.gov");
    }

    #[test]
    fn exec_credential_shape_and_version() {
        let t = presign("c", "us-east-1", &creds(None), at("2026-01-02T03:04:05Z")).unwrap();
        let v = t.exec_credential(exec_api_version(None));
        assert_eq!(v["kind"], "ExecCredential");
        assert_eq!(v["apiVersion"], "client.authentication.k8s.io/v1beta1");
        assert_eq!(v["status"]["expirationTimestamp"], "2026-01-02T03:18:05Z");
        assert!(
            v["status"]["token"]
                .as_str()
                .unwrap()
                .starts_with(TOKEN_PREFIX)
        );
        let info = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#;
        assert_eq!(
            exec_api_version(Some(info)),
            "client.authentication.k8s.io/v1"
        );
        assert_eq!(
            exec_api_version(Some(
                r#"{"apiVersion":"client.authentication.k8s.io/v1alpha1"}"#
            )),
            DEFAULT_EXEC_API_VERSION
        );
        assert_eq!(exec_api_version(Some("not json")), DEFAULT_EXEC_API_VERSION);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = presign("c", "us-east-1", &creds(None), SystemTime::now()).unwrap();
        assert!(!format!("{t:?}").contains(TOKEN_PREFIX));
    }

    #[test]
    fn empty_cluster_is_refused() {
        assert!(presign(" ", "us-east-1", &creds(None), SystemTime::now()).is_err());
    }
}
