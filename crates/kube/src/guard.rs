//! Read-only by construction, as for AWS (`eksdoctor_aws::guard`).
//!
//! Every Kubernetes client this crate builds carries [`ReadOnlyLayer`] at
//! the bottom of its tower stack: each HTTP request is checked by
//! [`allowed`] before it reaches the connection, and anything else fails
//! with [`Refused`] without a byte leaving the process. Allowed:
//!
//! * `GET` (get, list and watch are all GETs) and `HEAD`;
//! * `POST` of the three self-review kinds, which create nothing:
//!   SelfSubjectReview (authentication.k8s.io v1, v1beta1, v1alpha1),
//!   SelfSubjectAccessReview and SelfSubjectRulesReview (authorization.k8s.io/v1).
//!
//! The minimal RBAC for that is docs/eksdoctor-readonly-clusterrole.yaml.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Method, Request};

/// The request paths eksdoctor may POST to (the query string aside).
pub const SELF_REVIEWS: &[&str] = &[
    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews",
    "/apis/authentication.k8s.io/v1alpha1/selfsubjectreviews",
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
];

/// Whether a request may leave the process.
#[must_use]
pub fn allowed(method: &Method, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    match *method {
        Method::GET | Method::HEAD => true,
        Method::POST => SELF_REVIEWS.contains(&path.trim_end_matches('/')),
        _ => false,
    }
}

/// A request the guard refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("eksdoctor is read-only: refused {method} {path} before sending it")]
pub struct Refused {
    pub method: String,
    pub path: String,
}

/// The tower layer that puts [`ReadOnlyService`] around a client's stack.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOnlyLayer;

impl<S> tower_layer::Layer<S> for ReadOnlyLayer {
    type Service = ReadOnlyService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ReadOnlyService { inner }
    }
}

/// Refuses every request [`allowed`] does not allow; passes the rest on.
#[derive(Debug, Clone)]
pub struct ReadOnlyService<S> {
    inner: S,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, B> tower_service::Service<Request<B>> for ReadOnlyService<S>
where
    S: tower_service::Service<Request<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if !allowed(req.method(), req.uri().path()) {
            let refused = Refused {
                method: req.method().to_string(),
                path: req.uri().path().to_owned(),
            };
            return Box::pin(async move { Err(Box::new(refused) as BoxError) });
        }
        let fut = self.inner.call(req);
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_and_self_reviews_pass() {
        let cases = [
            (
                Method::GET,
                "/api/v1/namespaces/kube-system/configmaps/aws-auth",
                true,
            ),
            (Method::GET, "/api/v1/pods?watch=true", true),
            (
                Method::POST,
                "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                true,
            ),
            (
                Method::POST,
                "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews?dryRun=All",
                true,
            ),
            (
                Method::POST,
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                true,
            ),
            (
                Method::POST,
                "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                true,
            ),
            (
                Method::POST,
                "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                false,
            ),
            (
                Method::POST,
                "/api/v1/namespaces/kube-system/configmaps",
                false,
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/kube-system/configmaps/aws-auth",
                false,
            ),
            (
                Method::PATCH,
                "/api/v1/namespaces/kube-system/configmaps/aws-auth",
                false,
            ),
            (Method::DELETE, "/api/v1/namespaces/default/pods/x", false),
            (
                Method::POST,
                "/api/v1/namespaces/default/pods/x/exec",
                false,
            ),
            (
                Method::POST,
                "/apis/authentication.k8s.io/v1/tokenreviews",
                false,
            ),
        ];
        for (m, p, want) in cases {
            assert_eq!(allowed(&m, p), want, "{m} {p}");
        }
    }
}
