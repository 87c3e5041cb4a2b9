//! STS probes: who the caller is, and decoding encoded authorization messages.

use eksdoctor_core::snapshot::CallerIdentity;

use crate::config::Live;
use crate::error::ProbeError;
use crate::timed;

/// GetCallerIdentity, as core's [`CallerIdentity`] (canonical ARN, credential kind, region).
///
/// # Errors
/// The classified failure.
pub async fn caller_identity(live: &Live) -> Result<CallerIdentity, ProbeError> {
    const PERM: &str = "sts:GetCallerIdentity";
    let out = timed(live, PERM, async {
        live.sts()
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| ProbeError::from_sdk(&e, PERM))
    })
    .await?;
    let arn = out.arn().unwrap_or_default();
    let mut id = CallerIdentity::from_sts(
        arn,
        out.account().unwrap_or_default(),
        out.user_id().unwrap_or_default(),
        Some(live.access_key_id()),
    )
    .map_err(|e| ProbeError::Other(format!("GetCallerIdentity returned {arn:?}: {e}")))?;
    id.credential_source = Some(live.credential_source().describe());
    id.region = Some(live.region().to_owned());
    Ok(id)
}

/// sts:DecodeAuthorizationMessage: the decoded JSON document (for `explain`
/// when credentials exist).
///
/// # Errors
/// The classified failure (`Denied` names `sts:DecodeAuthorizationMessage`).
pub async fn decode_authorization_message(
    live: &Live,
    encoded: &str,
) -> Result<serde_json::Value, ProbeError> {
    const PERM: &str = "sts:DecodeAuthorizationMessage";
    let out = timed(live, PERM, async {
        live.sts()
            .decode_authorization_message()
            .encoded_message(encoded.trim())
            .send()
            .await
            .map_err(|e| ProbeError::from_sdk(&e, PERM))
    })
    .await?;
    let text = out.decoded_message().unwrap_or_default();
    Ok(serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned())))
}
