//! A STAND-IN for an EKS cluster's Kubernetes API server, for tests only.
//!
//! No kube-apiserver can be installed here, so this small server plays one:
//! HTTPS with its own CA (rcgen) on 127.0.0.1, and an authenticator that
//! verifies `k8s-aws-v1.` tokens for real, the way aws-iam-authenticator's
//! `pkg/token` Verify does:
//!
//! * the prefix, unpadded base64url, an `https://sts.<region>.amazonaws.com/`
//!   URL with path `/`, only the whitelisted query parameters, each once,
//!   `Action=GetCallerIdentity`, `x-k8s-aws-id` among the signed headers,
//!   `X-Amz-Expires` in 0..=900 and `X-Amz-Date` no older than 15 minutes;
//! * then the presigned GetCallerIdentity is called, with the
//!   `x-k8s-aws-id: <this cluster>` header and `accept: application/json`,
//!   against the moto server the other live tests use (the URL's host is
//!   replaced by moto's address). moto does not read presigned query
//!   credentials, so the key id from `X-Amz-Credential` is also passed the way
//!   moto reads it (an `Authorization` header naming the key): moto then
//!   answers for the right principal. Neither moto nor this stand-in checks
//!   the signature itself; real STS does.
//!
//! The returned ARN is canonicalised (assumed-role → role, path-free, as
//! the authenticator does) and mapped with this server's own small table
//! (not eksdoctor-core's mapper). Unmapped → 401. Authorisation is a small
//! allow table of (group, verbs, resources); configmap reads of aws-auth and
//! self-access reviews consult it; anything not allowed → 403.
//!
//! Served: SelfSubjectReview (authentication.k8s.io/v1; v1beta1 answers 404
//! unless enabled), SelfSubjectAccessReview, SelfSubjectRulesReview, GET
//! kube-system/aws-auth, service accounts and pods lists, and the discovery
//! documents kubectl needs (`/api`, `/apis`, `/api/v1`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

/// One mapping of the stand-in's own table: canonical ARN → user and groups.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub arn: String,
    pub username: String,
    pub groups: Vec<String>,
}

/// One allow rule: members of `group` may `verbs` on `resources` ("*" = any).
#[derive(Debug, Clone)]
pub struct Allow {
    pub group: String,
    pub verbs: Vec<String>,
    pub resources: Vec<String>,
}

impl Allow {
    pub fn new(group: &str, verbs: &[&str], resources: &[&str]) -> Self {
        Self {
            group: group.to_owned(),
            verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
            resources: resources.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The cluster name the tokens must be for.
    pub cluster: String,
    /// moto's address: where the presigned GetCallerIdentity really goes.
    pub moto: SocketAddr,
    pub mappings: Vec<Mapping>,
    pub allow: Vec<Allow>,
    /// kube-system/aws-auth's `data`; `None` → 404.
    pub aws_auth: Option<Value>,
    pub service_accounts: Vec<Value>,
    pub pods: Vec<Value>,
    /// Serve SelfSubjectReview at v1 (else only v1beta1, like a 1.27 cluster).
    pub self_subject_review_v1: bool,
    /// Added before every answer (the round trip to a real cluster).
    pub latency: Duration,
    /// Verified tokens, as kube-apiserver caches webhook token reviews
    /// (`--authentication-token-webhook-cache-ttl`, 2 minutes): a token
    /// already verified is not sent to STS again. Successes only.
    pub verified: Arc<Mutex<HashMap<String, User>>>,
}

impl Config {
    pub fn new(cluster: &str, moto: SocketAddr) -> Self {
        Self {
            cluster: cluster.to_owned(),
            moto,
            mappings: Vec::new(),
            allow: vec![Allow::new("system:masters", &["*"], &["*"])],
            aws_auth: None,
            service_accounts: Vec::new(),
            pods: Vec::new(),
            self_subject_review_v1: true,
            latency: Duration::ZERO,
            verified: Arc::default(),
        }
    }
}

/// Who a verified token belongs to.
#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub groups: Vec<String>,
    pub arn: String,
    pub canonical_arn: String,
    pub session_name: String,
    pub access_key_id: String,
    pub uid: String,
}

/// The running stand-in; stops on drop.
pub struct ApiServer {
    pub addr: SocketAddr,
    /// The CA that signed the server's certificate (PEM).
    pub ca_pem: String,
    /// "METHOD PATH -> STATUS" of every request, in order.
    pub log: Arc<Mutex<Vec<String>>>,
    /// TLS connections accepted (each one a handshake).
    pub connections: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl ApiServer {
    pub fn start(config: Config) -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "eksdoctor test stand-in CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .unwrap()
                .signed_by(&leaf_key, &ca)
                .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone(), ca.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
            )
            .unwrap();
        let tls = Arc::new(tls);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let config = Arc::new(config);
        {
            let stop = stop.clone();
            let log = log.clone();
            let connections = connections.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    connections.fetch_add(1, Ordering::Relaxed);
                    let (tls, config, log) = (tls.clone(), config.clone(), log.clone());
                    std::thread::spawn(move || serve(conn, &tls, &config, &log));
                }
            });
        }
        Self {
            addr,
            ca_pem: ca.pem(),
            log,
            connections,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn serve(
    conn: TcpStream,
    tls: &Arc<rustls::ServerConfig>,
    config: &Config,
    log: &Mutex<Vec<String>>,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(session) = rustls::ServerConnection::new(tls.clone()) else {
        return;
    };
    let stream = rustls::StreamOwned::new(session, conn);
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader) {
        let (status, body) = handle(&req, config);
        if !config.latency.is_zero() {
            std::thread::sleep(config.latency);
        }
        log.lock()
            .unwrap()
            .push(format!("{} {} -> {status}", req.method, req.path));
        let body = body.to_string();
        let reason = match status {
            200 => "OK",
            201 => "Created",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            _ => "Error",
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = reader.get_mut();
        if stream.write_all(head.as_bytes()).is_err()
            || stream.write_all(body.as_bytes()).is_err()
            || stream.flush().is_err()
        {
            return;
        }
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

fn handle(req: &Request, config: &Config) -> (u16, Value) {
    let user = match req
        .headers
        .get("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
    {
        None => None,
        Some(token) => match cached(token, config).map_or_else(|| verify(token, config), Ok) {
            Ok(u) => {
                if let Ok(mut c) = config.verified.lock() {
                    c.insert(token.to_owned(), u.clone());
                }
                Some(u)
            }
            Err(why) => {
                eprintln!("stand-in apiserver: 401: {why}");
                return status(401, "Unauthorized", "Unauthorized");
            }
        },
    };
    let path = req.path.split('?').next().unwrap_or_default();
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let name = user
        .as_ref()
        .map_or("system:anonymous", |u| u.username.as_str());
    let allowed = |verb: &str, resource: &str| {
        user.as_ref()
            .is_some_and(|u| allows(config, &u.groups, verb, resource))
    };
    match (req.method.as_str(), path) {
        ("GET", "/api") => (
            200,
            json!({"kind": "APIVersions", "versions": ["v1"],
                   "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        ),
        ("GET", "/apis") => (
            200,
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}),
        ),
        ("GET", "/api/v1") => (
            200,
            json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": "configmaps", "singularName": "configmap", "namespaced": true, "kind": "ConfigMap",
                 "verbs": ["get", "list"], "shortNames": ["cm"]},
                {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod", "verbs": ["get", "list"]},
                {"name": "serviceaccounts", "singularName": "serviceaccount", "namespaced": true,
                 "kind": "ServiceAccount", "verbs": ["get", "list"], "shortNames": ["sa"]}
            ]}),
        ),
        ("GET", "/version") => (
            200,
            json!({"major": "1", "minor": "31", "gitVersion": "v1.31.0-eks-standin", "platform": "linux/amd64"}),
        ),
        ("POST", p) if p.ends_with("/selfsubjectreviews") => {
            let version = p
                .trim_start_matches("/apis/authentication.k8s.io/")
                .trim_end_matches("/selfsubjectreviews");
            let served = if config.self_subject_review_v1 {
                version == "v1"
            } else {
                version == "v1beta1"
            };
            if !served {
                return status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                );
            }
            let Some(u) = &user else {
                return status(
                    403,
                    "Forbidden",
                    "selfsubjectreviews is forbidden: User \"system:anonymous\" cannot create resource \"selfsubjectreviews\"",
                );
            };
            (
                201,
                json!({"kind": "SelfSubjectReview", "apiVersion": format!("authentication.k8s.io/{version}"),
                       "metadata": {"creationTimestamp": null},
                       "status": {"userInfo": {"username": u.username, "uid": u.uid, "groups": u.groups,
                           "extra": {"arn": [u.arn], "canonicalArn": [u.canonical_arn],
                                     "sessionName": [u.session_name], "accessKeyId": [u.access_key_id],
                                     "principalId": [u.uid.rsplit(':').next().unwrap_or_default()]}}}}),
            )
        }
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") => {
            let attrs = &body["spec"]["resourceAttributes"];
            let verb = attrs["verb"].as_str().unwrap_or_default();
            let resource = attrs["resource"].as_str().unwrap_or_default();
            let ok = allowed(verb, resource);
            (
                201,
                json!({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                       "metadata": {}, "spec": body["spec"],
                       "status": {"allowed": ok, "reason": if ok { "allowed by the stand-in's table" } else { "" }}}),
            )
        }
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews") => {
            let groups = user.as_ref().map(|u| u.groups.clone()).unwrap_or_default();
            let rules: Vec<Value> = config
                .allow
                .iter()
                .filter(|a| groups.contains(&a.group))
                .map(|a| json!({"verbs": a.verbs, "apiGroups": ["*"], "resources": a.resources}))
                .collect();
            (
                201,
                json!({"kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
                       "metadata": {}, "spec": body["spec"],
                       "status": {"resourceRules": rules, "nonResourceRules": [], "incomplete": false}}),
            )
        }
        ("GET", "/api/v1/namespaces/kube-system/configmaps/aws-auth") => {
            if !allowed("get", "configmaps") {
                return status(
                    403,
                    "Forbidden",
                    &format!(
                        "configmaps \"aws-auth\" is forbidden: User \"{name}\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"kube-system\""
                    ),
                );
            }
            match &config.aws_auth {
                None => status(404, "NotFound", "configmaps \"aws-auth\" not found"),
                Some(data) => (
                    200,
                    json!({"kind": "ConfigMap", "apiVersion": "v1",
                           "metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": data}),
                ),
            }
        }
        ("GET", "/api/v1/serviceaccounts" | "/api/v1/pods") => {
            let (resource, kind, items) = if path.ends_with("pods") {
                ("pods", "PodList", &config.pods)
            } else {
                (
                    "serviceaccounts",
                    "ServiceAccountList",
                    &config.service_accounts,
                )
            };
            if !allowed("list", resource) {
                return status(
                    403,
                    "Forbidden",
                    &format!(
                        "{resource} is forbidden: User \"{name}\" cannot list resource \"{resource}\" in API group \"\" at the cluster scope"
                    ),
                );
            }
            (
                200,
                json!({"kind": kind, "apiVersion": "v1", "metadata": {}, "items": items}),
            )
        }
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

fn allows(config: &Config, groups: &[String], verb: &str, resource: &str) -> bool {
    config.allow.iter().any(|a| {
        groups.contains(&a.group)
            && a.verbs.iter().any(|v| v == "*" || v == verb)
            && a.resources.iter().any(|r| r == "*" || r == resource)
    })
}

const WHITELIST: &[&str] = &[
    "action",
    "version",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-security-token",
    "x-amz-signature",
    "x-amz-signedheaders",
];

/// A token this server already verified.
fn cached(token: &str, config: &Config) -> Option<User> {
    config.verified.lock().ok()?.get(token).cloned()
}

/// The authenticator's Verify, then GetCallerIdentity at moto, then the table.
pub fn verify(token: &str, config: &Config) -> Result<User, String> {
    let b64 = token
        .strip_prefix("k8s-aws-v1.")
        .ok_or("token is missing the k8s-aws-v1. prefix")?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|e| format!("not base64url: {e}"))?;
    let url = String::from_utf8(raw).map_err(|_| "not UTF-8")?;
    let rest = url.strip_prefix("https://").ok_or("scheme is not https")?;
    let (host, path_query) = rest.split_once('/').ok_or("no path")?;
    let labels: Vec<&str> = host.split('.').collect();
    if !(labels.len() == 4 && labels[0] == "sts" && labels[2..] == ["amazonaws", "com"]) {
        return Err(format!("unexpected STS host {host:?}"));
    }
    let query = path_query
        .strip_prefix('?')
        .ok_or("unexpected path in pre-signed URL")?;
    let mut params = HashMap::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = k.to_ascii_lowercase();
        if !WHITELIST.contains(&k.as_str()) {
            return Err(format!("non-whitelisted query parameter {k:?}"));
        }
        let v = percent_encoding::percent_decode_str(v)
            .decode_utf8()
            .map_err(|_| "bad percent-encoding")?
            .into_owned();
        if params.insert(k.clone(), v).is_some() {
            return Err(format!("duplicate query parameter {k:?}"));
        }
    }
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    if get("action") != "GetCallerIdentity" {
        return Err("unexpected action".into());
    }
    if !get("x-amz-signedheaders")
        .split(';')
        .any(|h| h.eq_ignore_ascii_case("x-k8s-aws-id"))
    {
        return Err("client did not sign the x-k8s-aws-id header".into());
    }
    let expires: i64 = get("x-amz-expires")
        .parse()
        .map_err(|_| "bad X-Amz-Expires")?;
    if !(0..=900).contains(&expires) {
        return Err(format!("invalid X-Amz-Expires {expires}"));
    }
    let date = jiff::fmt::strtime::parse("%Y%m%dT%H%M%SZ", get("x-amz-date"))
        .and_then(|t| t.to_datetime())
        .map_err(|e| format!("bad X-Amz-Date: {e}"))?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| e.to_string())?
        .timestamp();
    if jiff::Timestamp::now() > date + jiff::SignedDuration::from_mins(15) {
        return Err("X-Amz-Date parameter is expired (15 minute expiration)".into());
    }
    let credential = get("x-amz-credential").to_owned();
    let access_key_id = credential.split('/').next().unwrap_or_default().to_owned();
    let body = get_caller_identity(config, &format!("/?{query}"), &credential)?;
    let arn = field(&body, "Arn").ok_or_else(|| format!("no Arn in STS answer: {body}"))?;
    let user_id = field(&body, "UserId").unwrap_or_default();
    let account = field(&body, "Account").unwrap_or_default();
    let (canonical_arn, session_name) = canonicalize(&arn)?;
    let mapping = config
        .mappings
        .iter()
        .find(|m| m.arn == canonical_arn)
        .ok_or_else(|| format!("ARN is not mapped: {canonical_arn}"))?;
    let principal = user_id.split(':').next().unwrap_or_default().to_owned();
    let username = mapping
        .username
        .replace("{{SessionName}}", &session_name)
        .replace("{{AccountID}}", &account);
    let mut groups = mapping.groups.clone();
    groups.push("system:authenticated".to_owned());
    Ok(User {
        username,
        groups,
        arn,
        canonical_arn,
        session_name,
        access_key_id,
        uid: format!("aws-iam-authenticator:{account}:{principal}"),
    })
}

/// GET the presigned URL at moto (plain HTTP/1.1: this is a test stand-in).
fn get_caller_identity(
    config: &Config,
    path_query: &str,
    credential: &str,
) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&config.moto, Duration::from_secs(5))
        .map_err(|e| format!("cannot reach STS (moto): {e}"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let req = format!(
        "GET {path_query} HTTP/1.1\r\nHost: {}\r\nx-k8s-aws-id: {}\r\naccept: application/json\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host;x-k8s-aws-id, Signature=presigned\r\n\
         Connection: close\r\n\r\n",
        config.moto, config.cluster
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
    let (head, body) = resp
        .split_once("\r\n\r\n")
        .ok_or("no HTTP answer from STS")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!(
            "STS answered {}: {body}",
            head.lines().next().unwrap_or_default()
        ));
    }
    Ok(body.to_owned())
}

/// A field of a GetCallerIdentity answer, JSON or XML.
fn field(body: &str, name: &str) -> Option<String> {
    fn find(v: &Value, name: &str) -> Option<String> {
        match v {
            Value::Object(m) => m
                .get(name)
                .and_then(|x| x.as_str().map(str::to_owned))
                .or_else(|| m.values().find_map(|x| find(x, name))),
            _ => None,
        }
    }
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        return find(&v, name);
    }
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{name}>"))? + start;
    Some(body[start..end].trim().to_owned())
}

/// The authenticator's canonical ARN: assumed-role → role (path-free), user
/// and root as they are. Returns (canonical ARN, session name).
fn canonicalize(arn: &str) -> Result<(String, String), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err(format!("not an ARN: {arn}"));
    }
    let (partition, service, account, resource) = (parts[1], parts[2], parts[4], parts[5]);
    match service {
        "sts" => {
            let rest = resource
                .strip_prefix("assumed-role/")
                .ok_or_else(|| format!("unsupported STS principal {arn}"))?;
            let (role, session) = rest
                .rsplit_once('/')
                .ok_or_else(|| format!("no session in {arn}"))?;
            let role = role.rsplit('/').next().unwrap_or(role);
            Ok((
                format!("arn:{partition}:iam::{account}:role/{role}"),
                session.to_owned(),
            ))
        }
        "iam" => Ok((arn.to_owned(), String::new())),
        _ => Err(format!("unsupported principal {arn}")),
    }
}
