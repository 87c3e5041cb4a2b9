//! SDK errors, classified into what an operator can act on.
//!
//! Every probe turns the SDK's error into a [`ProbeError`]: the SDK's own types
//! never leave this crate. The classification keys on the AWS error code
//! (query, JSON and REST protocols spell them differently) and, for failures
//! before a response, on the error chain (credentials, timeouts, I/O).

use std::error::Error as StdError;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::guard::RefusedWrite;

/// Why a probe did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// No credentials anywhere in the chain (or the configured source failed to load).
    #[error("no AWS credentials: {0}")]
    NoCredentials(String),
    /// The token or SSO session has expired.
    #[error("the credentials have expired: {0}")]
    Expired(String),
    /// AWS does not recognise the key, or the signature does not match.
    #[error("the credentials are not valid: {0}")]
    Invalid(String),
    /// eksdoctor itself is not allowed to make this read-only call.
    #[error("denied {permission}: {message}")]
    Denied { permission: String, message: String },
    /// Still throttled after the SDK's retries.
    #[error("throttled calling {permission}")]
    Throttled { permission: String },
    /// The resource does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// No answer from the endpoint (DNS, connect, TLS, proxy).
    #[error("cannot reach AWS: {0}")]
    Unreachable(String),
    /// The probe's own deadline passed.
    #[error("timed out calling {permission}")]
    TimedOut { permission: String },
    /// The read-only guard refused a call outside its allowlist.
    #[error("{0}")]
    Refused(String),
    /// No region is configured.
    #[error("no AWS region: pass --region or set AWS_REGION")]
    NoRegion,
    /// Anything else the service said.
    #[error("{0}")]
    Other(String),
}

impl ProbeError {
    /// Whether live probing as a whole cannot run (exit status 3).
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::NoCredentials(_)
                | Self::Expired(_)
                | Self::Invalid(_)
                | Self::Unreachable(_)
                | Self::NoRegion
        )
    }

    /// Classify an SDK error from a call that needs `permission` (e.g. `eks:DescribeCluster`).
    pub fn from_sdk<E, R>(err: &SdkError<E, R>, permission: &str) -> Self
    where
        E: ProvideErrorMetadata + StdError + 'static,
        R: std::fmt::Debug + 'static,
    {
        if let SdkError::ServiceError(ctx) = err {
            let e = ctx.err();
            let code = e.code().unwrap_or_default();
            let mut message = e.message().unwrap_or_default().trim().to_owned();
            // No message from the service: say what the HTTP answer was.
            if message.is_empty() {
                message = http_answer(ctx.raw()).unwrap_or_else(|| chain_text(e));
            }
            return Self::from_code(code, &message, permission);
        }
        if let Some(refused) = find_in_chain::<RefusedWrite>(err) {
            return Self::Refused(refused.to_string());
        }
        if let Some(cred) = find_in_chain::<CredentialsError>(err) {
            return Self::from_credentials_error(cred);
        }
        match err {
            SdkError::TimeoutError(_) => Self::TimedOut {
                permission: permission.to_owned(),
            },
            SdkError::DispatchFailure(d) if d.is_timeout() => Self::TimedOut {
                permission: permission.to_owned(),
            },
            SdkError::DispatchFailure(_) => Self::Unreachable(chain_text(err)),
            SdkError::ResponseError(ctx) => Self::Other(match http_answer(ctx.raw()) {
                Some(answer) => format!(
                    "unexpected answer to {permission}: {answer} ({})",
                    chain_text(err)
                ),
                None => format!("unexpected answer to {permission}: {}", chain_text(err)),
            }),
            _ => {
                let text = chain_text(err);
                if text.contains("region") && text.to_ascii_lowercase().contains("no region") {
                    Self::NoRegion
                } else {
                    Self::Other(text)
                }
            }
        }
    }

    /// Classify an AWS error code.
    #[must_use]
    pub fn from_code(code: &str, message: &str, permission: &str) -> Self {
        match code {
            "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "AuthorizationError"
            | "AuthorizationErrorException" => Self::Denied {
                permission: permission.to_owned(),
                message: message.to_owned(),
            },
            "Throttling"
            | "ThrottlingException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "RequestThrottled"
            | "RequestThrottledException" => Self::Throttled {
                permission: permission.to_owned(),
            },
            "ExpiredToken"
            | "ExpiredTokenException"
            | "RequestExpired"
            | "TokenRefreshRequired" => Self::Expired(format!("{code}: {message}")),
            "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "IncompleteSignature"
            | "InvalidAccessKeyId"
            | "MissingAuthenticationToken" => Self::Invalid(format!("{code}: {message}")),
            "NoSuchEntity" | "ResourceNotFoundException" | "NotFoundException" => {
                Self::NotFound(if message.is_empty() {
                    code.to_owned()
                } else {
                    message.to_owned()
                })
            }
            _ => Self::Other(match (code.is_empty(), message.trim().is_empty()) {
                (true, true) => {
                    format!("{permission} failed: no error code or message in the answer")
                }
                (true, false) => format!("{permission} failed: {message}"),
                (false, true) => format!("{permission} failed: {code}"),
                (false, false) => format!("{permission} failed: {code}: {message}"),
            }),
        }
    }

    /// Classify a failure of the credential chain.
    #[must_use]
    pub fn from_credentials_error(e: &CredentialsError) -> Self {
        let text = error_chain(e);
        let lower = text.to_ascii_lowercase();
        if lower.contains("expired") || lower.contains("sso session") {
            return Self::Expired(text);
        }
        match e {
            CredentialsError::ProviderTimedOut(_) => Self::Unreachable(text),
            _ => Self::NoCredentials(text),
        }
    }
}

/// `HTTP 503: <first 200 characters of the body>` when the raw response is
/// an HTTP response (every SDK client's is).
fn http_answer<R: 'static>(raw: &R) -> Option<String> {
    let resp =
        (raw as &dyn std::any::Any).downcast_ref::<aws_smithy_runtime_api::http::Response>()?;
    let status = resp.status().as_u16();
    let body = resp
        .body()
        .bytes()
        .map(|b| {
            String::from_utf8_lossy(b)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let body: String = body.chars().take(200).collect();
    Some(if body.is_empty() {
        format!("HTTP {status} with an empty body")
    } else {
        format!("HTTP {status}: {body}")
    })
}

fn find_in_chain<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        cur = e.source();
    }
    None
}

fn chain_text(err: &(dyn StdError + 'static)) -> String {
    error_chain(err)
}

/// `outer: inner: innermost`, without repeating identical links.
pub(crate) fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_classify() {
        assert!(matches!(
            ProbeError::from_code("AccessDenied", "nope", "iam:ListAccessKeys"),
            ProbeError::Denied { permission, .. } if permission == "iam:ListAccessKeys"
        ));
        assert!(matches!(
            ProbeError::from_code("ThrottlingException", "", "eks:ListClusters"),
            ProbeError::Throttled { .. }
        ));
        assert!(matches!(
            ProbeError::from_code("ExpiredToken", "", "sts:GetCallerIdentity"),
            ProbeError::Expired(_)
        ));
        assert!(matches!(
            ProbeError::from_code("InvalidClientTokenId", "", "sts:GetCallerIdentity"),
            ProbeError::Invalid(_)
        ));
        assert!(matches!(
            ProbeError::from_code("NoSuchEntity", "", "iam:GetRole"),
            ProbeError::NotFound(_)
        ));
        assert!(ProbeError::NoRegion.is_fatal());
        assert!(
            !ProbeError::Denied {
                permission: String::new(),
                message: String::new()
            }
            .is_fatal()
        );
    }

    /// Issue 18: `sts:GetCallerIdentity failed: ` with nothing after the colon.
    #[test]
    fn a_failure_always_says_why() {
        for (code, message) in [("", ""), ("", "  "), ("InternalFailure", ""), ("", "boom")] {
            let e = ProbeError::from_code(code, message, "sts:GetCallerIdentity");
            let text = e.to_string();
            assert!(!text.trim_end().ends_with(':'), "{text:?}");
            assert!(
                text.len() > "sts:GetCallerIdentity failed: ".len(),
                "{text:?}"
            );
        }
        let raw = aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(503).unwrap(),
            aws_smithy_types::body::SdkBody::from("<html>\n  Service  Unavailable</html>"),
        );
        assert_eq!(
            http_answer(&raw).as_deref(),
            Some("HTTP 503: <html> Service Unavailable</html>")
        );
        let raw = aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        );
        assert_eq!(
            http_answer(&raw).as_deref(),
            Some("HTTP 403 with an empty body")
        );
        assert_eq!(http_answer(&42u8), None);
    }

    #[test]
    fn expired_sso_is_expired() {
        let e =
            CredentialsError::provider_error("the SSO token has expired and cannot be refreshed");
        assert!(matches!(
            ProbeError::from_credentials_error(&e),
            ProbeError::Expired(_)
        ));
        let e = CredentialsError::not_loaded_no_source();
        assert!(matches!(
            ProbeError::from_credentials_error(&e),
            ProbeError::NoCredentials(_)
        ));
    }
}
