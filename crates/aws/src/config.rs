//! One `SdkConfig` for the whole run, and the guarded clients built from it.
//!
//! [`LiveConfig`] is built from the global flags (`--profile`, `--region`,
//! `--endpoint-url`) and the probe options; [`LiveConfig::connect`] loads the
//! default chain once (env, shared config and credentials files, SSO,
//! credential_process, web identity, container and IMDS), resolves the
//! credentials once (so a missing or expired login is reported before any
//! probe runs) and returns a [`Live`] that hands out clients. Every client
//! carries the [`ReadOnlyGuard`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_http_client::tls;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use eksdoctor_core::snapshot::CredentialKind;

use crate::error::ProbeError;
use crate::guard::ReadOnlyGuard;
use crate::source::CredentialSource;

/// How to reach AWS: the global flags plus probe tuning.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Each probe's own deadline (all SDK retries included).
    pub probe_timeout: Duration,
    /// Attempts per call, the first included (standard retry mode, with backoff).
    pub max_attempts: u32,
    /// Static credentials instead of the default chain (embedding, tests).
    static_credentials: Option<(String, String, Option<String>)>,
    /// Adaptive retry (client-side rate limiting on throttles) instead of standard.
    pub adaptive_retry: bool,
    /// The HTTP client to use instead of a new one (the fleet run shares one,
    /// paced per account).
    http_client: Option<aws_smithy_runtime_api::client::http::SharedHttpClient>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            profile: None,
            region: None,
            endpoint_url: None,
            connect_timeout: Duration::from_millis(3100),
            probe_timeout: Duration::from_secs(20),
            max_attempts: 4,
            static_credentials: None,
            adaptive_retry: false,
            http_client: None,
        }
    }
}

impl LiveConfig {
    /// From the global flags (`--profile`, `--region`, `--endpoint-url`). Empty
    /// strings count as unset.
    #[must_use]
    pub fn new(profile: Option<&str>, region: Option<&str>, endpoint_url: Option<&str>) -> Self {
        let keep = |s: Option<&str>| {
            s.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Self {
            profile: keep(profile),
            region: keep(region),
            endpoint_url: keep(endpoint_url),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Use these credentials instead of the default chain.
    #[must_use]
    pub fn static_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        self.static_credentials = Some((
            access_key_id.into(),
            secret_access_key.into(),
            session_token,
        ));
        self
    }

    /// Send every request through this HTTP client.
    #[must_use]
    pub fn http_client(
        mut self,
        client: aws_smithy_runtime_api::client::http::SharedHttpClient,
    ) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Load the shared config and resolve the credentials once.
    ///
    /// # Errors
    /// [`ProbeError::NoRegion`] when no region is configured anywhere;
    /// `NoCredentials` / `Expired` / `Unreachable` when the credential chain
    /// yields nothing.
    pub async fn connect(&self) -> Result<Live, ProbeError> {
        let sdk = self.load().await;
        let Some(region) = sdk.region().map(ToString::to_string) else {
            return Err(ProbeError::NoRegion);
        };
        let provider = sdk
            .credentials_provider()
            .ok_or_else(|| ProbeError::NoCredentials("no credential provider".to_owned()))?;
        let creds = tokio::time::timeout(self.probe_timeout, provider.provide_credentials())
            .await
            .map_err(|_| {
                ProbeError::Unreachable("the credential provider did not answer in time".to_owned())
            })?
            .map_err(|e| ProbeError::from_credentials_error(&e))?;
        let credential_kind = CredentialKind::from_key_id(creds.access_key_id());
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&sdk)
                .interceptor(ReadOnlyGuard)
                .build(),
        );
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&sdk)
                .interceptor(ReadOnlyGuard)
                .build(),
        );
        Ok(Live {
            sdk,
            sts,
            iam,
            eks: Arc::new(Mutex::new(HashMap::new())),
            region,
            credential_kind,
            access_key_id: creds.access_key_id().to_owned(),
            account_id: creds.account_id().map(|a| a.as_str().to_owned()),
            credential_source: self.credential_source().await,
            probe_timeout: self.probe_timeout,
        })
    }

    /// What the credential chain will try (for messages and fixes).
    pub async fn credential_source(&self) -> CredentialSource {
        crate::source::detect(self.profile.as_deref(), self.static_credentials.is_some()).await
    }

    /// The shared config without resolving credentials.
    pub async fn load(&self) -> SdkConfig {
        // One HTTPS client for every service (rustls with ring: the lean TLS stack).
        let http = self.http_client.clone().unwrap_or_else(https_client);
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout)
            .operation_timeout(self.probe_timeout)
            .build();
        let retry = if self.adaptive_retry {
            RetryConfig::adaptive()
        } else {
            RetryConfig::standard()
        };
        let retry = retry
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(5));
        let mut loader = aws_config::defaults(BehaviorVersion::v2026_01_12())
            .http_client(http)
            .timeout_config(timeouts)
            .retry_config(retry);
        if let Some(p) = &self.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &self.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(e) = &self.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        if let Some((id, secret, token)) = &self.static_credentials {
            loader = loader.credentials_provider(Credentials::new(
                id,
                secret,
                token.clone(),
                None,
                "eksdoctor-static",
            ));
        }
        loader.load().await
    }
}

/// One HTTPS client (rustls with ring: the lean TLS stack).
#[must_use]
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// A connected run: the shared config and the caller's credential facts
/// (never the secret).
#[derive(Debug, Clone)]
pub struct Live {
    sdk: SdkConfig,
    // Clients are built once (per region for EKS) and shared by every probe.
    sts: aws_sdk_sts::Client,
    iam: aws_sdk_iam::Client,
    eks: Arc<Mutex<HashMap<String, aws_sdk_eks::Client>>>,
    region: String,
    credential_kind: Option<CredentialKind>,
    access_key_id: String,
    /// The account the credentials belong to, when the SDK's provider says
    /// (IAM Identity Center, an assumed role, `aws_account_id` in the
    /// profile, `AWS_ACCOUNT_ID`).
    account_id: Option<String>,
    credential_source: CredentialSource,
    probe_timeout: Duration,
}

impl Live {
    /// The loaded shared config (for clients this type does not hand out).
    #[must_use]
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    /// The run's home region (STS and IAM calls go here).
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Long-term (AKIA) or temporary (ASIA) credentials.
    #[must_use]
    pub fn credential_kind(&self) -> Option<CredentialKind> {
        self.credential_kind
    }

    /// The access key id in use (not a secret; shown masked).
    #[must_use]
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The credentials' account as their provider gives it, without a call
    /// (`None`: ask GetCallerIdentity).
    #[must_use]
    pub fn account_id(&self) -> Option<&str> {
        self.account_id.as_deref()
    }

    /// Where the credentials came from, as far as the configuration tells.
    #[must_use]
    pub fn credential_source(&self) -> &CredentialSource {
        &self.credential_source
    }

    #[must_use]
    pub fn probe_timeout(&self) -> Duration {
        self.probe_timeout
    }

    /// The shared config: its credentials sign the EKS token, and other
    /// modules build their clients from it (each with the [`ReadOnlyGuard`]).
    #[must_use]
    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// STS, guarded.
    #[must_use]
    pub fn sts(&self) -> aws_sdk_sts::Client {
        self.sts.clone()
    }

    /// IAM, guarded.
    #[must_use]
    pub fn iam(&self) -> aws_sdk_iam::Client {
        self.iam.clone()
    }

    /// EKS in `region` (the home region when `None`), guarded.
    #[must_use]
    pub fn eks(&self, region: Option<&str>) -> aws_sdk_eks::Client {
        let region = region.unwrap_or(&self.region).to_owned();
        let build = || {
            aws_sdk_eks::Client::from_conf(
                aws_sdk_eks::config::Builder::from(&self.sdk)
                    .interceptor(ReadOnlyGuard)
                    .region(Region::new(region.clone()))
                    .build(),
            )
        };
        match self.eks.lock() {
            Ok(mut cache) => cache.entry(region.clone()).or_insert_with(build).clone(),
            Err(_) => build(),
        }
    }
}
