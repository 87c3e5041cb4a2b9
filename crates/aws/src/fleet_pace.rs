//! Pacing for the fleet run: an HTTP client wrapper that spaces each
//! account's calls per service and region (a token bucket, so short bursts
//! pass) and counts the throttling answers AWS sends back.
//!
//! The global bound on calls in flight is the round's semaphore, shared by
//! every account ([`crate::stream_probes_limited`]); this layer adds the
//! per-service rates, keyed on the SigV4 credential scope of the signed
//! request (`.../us-east-1/eks/aws4_request`), so it needs no per-operation
//! code and works the same behind `--endpoint-url`. The SDK's adaptive
//! retry slows a client down further once it sees throttling.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use tokio::time::Instant;

/// Calls per second and burst for one service, per account (and region for
/// regional services). eksdoctor's own conservative defaults, well under the
/// request rates AWS documents or that its APIs are known to absorb.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

/// The rate for a SigV4 service name.
#[must_use]
pub fn default_rate(service: &str) -> Rate {
    match service {
        "eks" => Rate {
            per_second: 10.0,
            burst: 20,
        },
        "iam" => Rate {
            per_second: 10.0,
            burst: 15,
        },
        "sts" => Rate {
            per_second: 50.0,
            burst: 50,
        },
        "organizations" => Rate {
            per_second: 5.0,
            burst: 5,
        },
        _ => Rate {
            per_second: 10.0,
            burst: 10,
        },
    }
}

/// Throttling answers seen, by service; shared by every account's pacer.
#[derive(Debug, Default)]
pub struct ThrottleCounter {
    by_service: Mutex<BTreeMap<String, u64>>,
}

impl ThrottleCounter {
    fn add(&self, service: &str) {
        if let Ok(mut m) = self.by_service.lock() {
            *m.entry(service.to_owned()).or_default() += 1;
        }
    }

    /// service → throttled attempts so far.
    #[must_use]
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.by_service
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }
}

/// One account's schedule: per (service, region), the earliest time the next
/// call may start.
#[derive(Debug, Default)]
struct Schedule {
    next: Mutex<HashMap<(String, String), Instant>>,
}

impl Schedule {
    /// Reserve a slot; how long to wait for it.
    fn reserve(&self, service: &str, region: &str) -> Duration {
        let rate = default_rate(service);
        let interval = Duration::from_secs_f64(1.0 / rate.per_second.max(0.001));
        let now = Instant::now();
        let Ok(mut next) = self.next.lock() else {
            return Duration::ZERO;
        };
        // GCRA: `tat` is when the bucket would be empty again; a call may
        // start once it is at most `burst - 1` intervals ahead of now.
        let tat = next
            .entry((service.to_owned(), region.to_owned()))
            .or_insert(now);
        let base = (*tat).max(now);
        let start = base
            .checked_sub(interval * rate.burst.saturating_sub(1))
            .map_or(now, |s| s.max(now));
        *tat = base + interval;
        start.saturating_duration_since(now)
    }
}

/// The SigV4 (service, region) of a signed request.
fn scope(request: &HttpRequest) -> (String, String) {
    let cred = request
        .headers()
        .get("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split(',').next())
        .unwrap_or("");
    let mut parts = cred.split('/');
    let region = parts.nth(2).unwrap_or("").to_owned();
    let service = parts.next().unwrap_or("").to_owned();
    (service, region)
}

/// Whether an error answer is AWS throttling. JSON protocols (EKS,
/// Organizations) name the error in a header; the query protocol (IAM, STS)
/// only in the body's `<Code>`.
fn is_throttle(status: u16, error_type: Option<&str>, body: &[u8]) -> bool {
    const CODES: [&str; 5] = [
        "Throttling",
        "TooManyRequests",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
    ];
    if status == 429 {
        return true;
    }
    if let Some(t) = error_type
        && CODES.iter().any(|c| t.contains(c))
    {
        return true;
    }
    let text = String::from_utf8_lossy(body);
    CODES
        .iter()
        .any(|c| text.contains(&format!("<Code>{c}")) || text.contains(&format!("\"{c}")))
}

/// Wraps an HTTP client with one account's pacing and the shared counter.
#[derive(Debug, Clone)]
pub struct PacedClient {
    inner: SharedHttpClient,
    schedule: Arc<Schedule>,
    throttles: Arc<ThrottleCounter>,
}

impl PacedClient {
    /// A pacer of its own (one per account) over the shared `inner` client.
    #[must_use]
    pub fn wrap(inner: SharedHttpClient, throttles: Arc<ThrottleCounter>) -> SharedHttpClient {
        SharedHttpClient::new(Self {
            inner,
            schedule: Arc::new(Schedule::default()),
            throttles,
        })
    }
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            schedule: self.schedule.clone(),
            throttles: self.throttles.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    schedule: Arc<Schedule>,
    throttles: Arc<ThrottleCounter>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (service, region) = scope(&request);
        let wait = self.schedule.reserve(&service, &region);
        let inner = self.inner.clone();
        let throttles = self.throttles.clone();
        HttpConnectorFuture::new(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let mut response = inner.call(request).await?;
            let status = response.status().as_u16();
            if status < 400 {
                return Ok(response);
            }
            let error_type = response
                .headers()
                .get("x-amzn-errortype")
                .map(str::to_owned);
            // Error answers are small: read the body to find the code, then
            // hand the SDK the same bytes.
            let body = std::mem::replace(response.body_mut(), SdkBody::taken());
            let bytes = ByteStream::new(body)
                .collect()
                .await
                .map_err(|e| ConnectorError::io(Box::new(e)))?
                .into_bytes();
            if is_throttle(status, error_type.as_deref(), &bytes) {
                throttles.add(&service);
            }
            *response.body_mut() = SdkBody::from(bytes);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_recognised_in_every_protocol() {
        // Table from the protocols' error shapes (query XML <Code>, JSON
        // __type, restJson header, HTTP 429).
        let cases: &[(u16, Option<&str>, &str, bool)] = &[
            (
                400,
                None,
                "<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>",
                true,
            ),
            (429, Some("ThrottlingException"), "{}", true),
            (
                400,
                None,
                r#"{"__type":"TooManyRequestsException","Message":"slow"}"#,
                true,
            ),
            (
                400,
                Some("TooManyRequestsException:http://internal"),
                "{}",
                true,
            ),
            (
                403,
                None,
                "<Error><Code>AccessDenied</Code><Message>Throttling is not it</Message></Error>",
                false,
            ),
            (404, Some("ResourceNotFoundException"), "{}", false),
        ];
        for (status, header, body, want) in cases {
            assert_eq!(
                is_throttle(*status, *header, body.as_bytes()),
                *want,
                "{status} {header:?} {body}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_then_calls_are_spaced_at_the_rate() {
        let s = Schedule::default();
        // eks: 20 at once, then one every 100 ms.
        let waits: Vec<Duration> = (0..22).map(|_| s.reserve("eks", "us-east-1")).collect();
        assert!(waits[..20].iter().all(Duration::is_zero), "{waits:?}");
        assert_eq!(waits[20], Duration::from_millis(100));
        assert_eq!(waits[21], Duration::from_millis(200));
        // Another region has its own bucket.
        assert!(s.reserve("eks", "eu-west-1").is_zero());
    }
}
