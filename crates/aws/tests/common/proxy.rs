//! A small fault-injecting HTTP proxy in front of moto, std only (the bench in
//! xtask includes this file too).
//!
//! It reads each request, works out the AWS service (from the SigV4
//! credential scope) and operation (query `Action=` for IAM/STS, method and
//! path for EKS), then: sleeps the injected latency; answers `Throttling`
//! (IAM/STS: HTTP 400 XML) or `ThrottlingException` (EKS: JSON) while the
//! operation's throttle budget lasts; never answers "hung" operations; answers
//! what moto does not implement itself (EKS access entries and access
//! policies, IAM SimulatePrincipalPolicy) from the stub world; patches EKS
//! DescribeCluster answers with an authentication mode (moto has none);
//! rewrites moto's `<Errors><Error>` wrapper to AWS's bare `<Error>`; and
//! forwards everything else to moto. Toward the client: connections kept
//! alive as AWS's endpoints keep them, one thread per connection. Toward moto:
//! kept-alive connections, pooled per shard, each answer read by its
//! `Content-Length` (or chunks): a new connection per call, read to its
//! close, cost moto a thread and ~10 ms of idle per call (werkzeug closes
//! well after it answers), which the benches counted as moto's service time.
//!
//! moto serves one request at a time (one Python process), so the benches
//! put several moto processes ("shards") behind one proxy ([`Upstreams`]):
//! either identical shards taking requests in turn (read-only runs), or
//! accounts spread over shards, each request routed by the SigV4 access key
//! id it is signed with (an AssumeRole goes to the shard owning the role's
//! account, and the AccessKeyId it answers is routed there from then on).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One EKS access entry in the stub world.
#[derive(Debug, Clone, Default)]
pub struct StubEntry {
    pub principal_arn: String,
    pub username: String,
    pub groups: Vec<String>,
    /// (policy ARN, "cluster" | "namespace", namespaces)
    pub policies: Vec<(String, String, Vec<String>)>,
}

/// What the proxy does to traffic; change it at any time.
#[derive(Debug, Default)]
pub struct Faults {
    /// Added before every answer.
    pub latency: Duration,
    /// Operation name (or "*") → how many more requests to throttle.
    pub throttle: HashMap<String, usize>,
    /// Operations that never get an answer.
    pub hang: HashSet<String>,
    /// cluster → access entries (absent: none).
    pub access_entries: HashMap<String, Vec<StubEntry>>,
    /// cluster → authenticationMode patched into DescribeCluster.
    pub auth_mode: HashMap<String, String>,
    /// Actions SimulatePrincipalPolicy reports as implicitly denied.
    pub simulate_denied: HashSet<String>,
    /// SimulatePrincipalPolicy itself answers AccessDenied.
    pub simulate_access_denied: bool,
    /// The PolicySourceArn of every SimulatePrincipalPolicy call (recorded).
    pub simulated_principals: Vec<String>,
    /// "METHOD /path" (query aside) → (status line, JSON body): canned EKS
    /// answers for operations moto lacks (Pod Identity associations, add-ons).
    pub canned: HashMap<String, (&'static str, String)>,
    /// Role ARNs sts:AssumeRole answers AccessDenied for, as AWS does for a
    /// role that does not exist (moto lets any role ARN be assumed).
    pub assume_denied: HashSet<String>,
}

/// Where the proxy forwards: one moto, or several shards.
#[derive(Debug)]
pub struct Upstreams {
    shards: Vec<SocketAddr>,
    /// Every shard holds the same state: spread requests over them in turn.
    identical: bool,
    /// Account id → the shard holding it (sticky routing).
    accounts: HashMap<String, usize>,
    /// Access key id → shard, learnt from AssumeRole answers.
    keys: Mutex<HashMap<String, usize>>,
    next: AtomicUsize,
    /// Requests forwarded to each shard.
    pub per_shard: Vec<AtomicUsize>,
    /// Every answered request's times, for the benches' timelines.
    pub timeline: Mutex<Vec<CallSpan>>,
    /// Idle kept-alive connections to each shard.
    idle: Vec<Mutex<Vec<BufReader<TcpStream>>>>,
    /// Time zero of [`CallSpan`].
    pub epoch: Instant,
}

/// One answered request, in time since [`Upstreams::epoch`]: when it had
/// arrived, when the injected latency was over (and it went to moto, or to
/// the stub), and when its answer was written.
#[derive(Debug, Clone)]
pub struct CallSpan {
    pub op: String,
    /// The moto shard that answered; `None`: the proxy's stub.
    pub shard: Option<usize>,
    pub arrived: Duration,
    pub forwarded: Duration,
    pub done: Duration,
}

impl Upstreams {
    /// One moto.
    pub fn one(addr: SocketAddr) -> Self {
        Self::sticky(vec![addr], HashMap::new())
    }

    /// Shards seeded alike (same moto random seed, same calls): any of
    /// them can answer any request; they take turns.
    pub fn identical(shards: Vec<SocketAddr>) -> Self {
        let mut u = Self::sticky(shards, HashMap::new());
        u.identical = true;
        u
    }

    /// Accounts spread over shards (`accounts`: account id → shard index).
    /// A request goes to the shard of the key that signed it; keys not
    /// learnt from an AssumeRole (the management caller's) go to shard 0.
    pub fn sticky(shards: Vec<SocketAddr>, accounts: HashMap<String, usize>) -> Self {
        assert!(!shards.is_empty(), "no upstream");
        let per_shard = shards.iter().map(|_| AtomicUsize::new(0)).collect();
        let idle = shards.iter().map(|_| Mutex::new(Vec::new())).collect();
        Self {
            idle,
            shards,
            identical: false,
            accounts,
            keys: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(0),
            per_shard,
            timeline: Mutex::new(Vec::new()),
            epoch: Instant::now(),
        }
    }

    fn record(&self, op: &str, shard: Option<usize>, arrived: Duration, forwarded: Duration) {
        let span = CallSpan {
            op: op.to_owned(),
            shard,
            arrived,
            forwarded,
            done: self.epoch.elapsed(),
        };
        self.timeline.lock().unwrap().push(span);
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The shard for a request.
    fn route(&self, req: &Request, op: &str) -> usize {
        if self.shards.len() == 1 {
            return 0;
        }
        if self.identical {
            return self.next.fetch_add(1, Ordering::Relaxed) % self.shards.len();
        }
        if op == "AssumeRole"
            && let Some(account) = req
                .form()
                .get("RoleArn")
                .and_then(|arn| arn.split(':').nth(4).map(str::to_owned))
            && let Some(&shard) = self.accounts.get(&account)
        {
            return shard;
        }
        self.keys
            .lock()
            .unwrap()
            .get(&req.access_key_id())
            .copied()
            .unwrap_or(0)
    }

    /// Send one request to a shard and read its answer: (status line and
    /// header lines, body). A pooled connection that moto closed while it
    /// sat idle (the request could not be written, or no byte of an answer
    /// came back) is replaced by a new one, once; an answer that breaks off
    /// is an error, never a second send of the request.
    fn exchange(&self, shard: usize, request: &[u8]) -> std::io::Result<(String, Vec<u8>)> {
        let pooled = self.idle[shard].lock().unwrap().pop();
        if let Some(mut conn) = pooled
            && let Some(answer) = send_on(&mut conn, request)?
        {
            self.keep(shard, conn, &answer.0);
            return Ok(answer);
        }
        let stream = TcpStream::connect(self.shards[shard])?;
        stream.set_nodelay(true)?;
        let mut conn = BufReader::new(stream);
        let answer = send_on(&mut conn, request)?.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "moto closed the connection without answering",
            )
        })?;
        self.keep(shard, conn, &answer.0);
        Ok(answer)
    }

    /// Pool a connection again unless its answer closes it.
    fn keep(&self, shard: usize, conn: BufReader<TcpStream>, head: &str) {
        let closes = head.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("connection:") && l.contains("close")
        }) || head.starts_with("HTTP/1.0");
        if !closes {
            self.idle[shard].lock().unwrap().push(conn);
        }
    }

    /// Remember which shard issued the credentials in an AssumeRole answer.
    fn learn(&self, shard: usize, body: &[u8]) {
        if self.shards.len() == 1 || self.identical {
            return;
        }
        let text = String::from_utf8_lossy(body);
        if let Some(id) = text
            .split("<AccessKeyId>")
            .nth(1)
            .and_then(|r| r.split('<').next())
        {
            self.keys
                .lock()
                .unwrap()
                .insert(id.trim().to_owned(), shard);
        }
    }
}

/// One request as the proxy saw it (benches draw the in-flight timeline
/// from these).
#[derive(Debug, Clone)]
pub struct Span {
    pub op: String,
    /// The request read in full.
    pub start: Instant,
    /// The answer written.
    pub end: Instant,
    /// Time spent waiting on moto (after the injected latency).
    pub upstream: Duration,
}

pub struct Proxy {
    pub addr: SocketAddr,
    /// Every request answered, in the order they ended.
    pub timeline: Arc<Mutex<Vec<Span>>>,
    pub faults: Arc<Mutex<Faults>>,
    /// Requests seen, by operation.
    pub seen: Arc<Mutex<HashMap<String, usize>>>,
    /// Requests that reached moto.
    pub forwarded: Arc<AtomicUsize>,
    /// Connections clients opened to the proxy.
    pub connections: Arc<AtomicUsize>,
    /// The moto shards behind the proxy.
    pub upstreams: Arc<Upstreams>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr, faults: Faults) -> Self {
        Self::start_sharded(Upstreams::one(upstream), faults)
    }

    /// A proxy in front of several moto shards.
    pub fn start_sharded(upstreams: Upstreams, faults: Faults) -> Self {
        let upstreams = Arc::new(upstreams);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let faults = Arc::new(Mutex::new(faults));
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let timeline = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        {
            let (faults, seen, forwarded, stop, upstreams, timeline, connections) = (
                faults.clone(),
                seen.clone(),
                forwarded.clone(),
                stop.clone(),
                upstreams.clone(),
                timeline.clone(),
                connections.clone(),
            );
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    connections.fetch_add(1, Ordering::Relaxed);
                    let (faults, seen, forwarded, stop, upstreams, timeline) = (
                        faults.clone(),
                        seen.clone(),
                        forwarded.clone(),
                        stop.clone(),
                        upstreams.clone(),
                        timeline.clone(),
                    );
                    std::thread::spawn(move || {
                        // Answers go out in one write, but a kept-alive
                        // connection must not wait on Nagle either.
                        let _ = conn.set_nodelay(true);
                        let Ok(mut reader) = conn.try_clone().map(BufReader::new) else {
                            return;
                        };
                        let mut conn = conn;
                        // Requests one after the other on the connection
                        // (kept alive, as AWS's endpoints do) until the
                        // client closes it or an answer closes it.
                        loop {
                            let mut span = None;
                            let kept = handle(
                                &mut reader,
                                &mut conn,
                                &upstreams,
                                &faults,
                                &seen,
                                &forwarded,
                                &stop,
                                &mut span,
                            );
                            if let Some(mut span) = span {
                                span.end = Instant::now();
                                timeline.lock().unwrap().push(span);
                            }
                            if !matches!(kept, Ok(true)) || stop.load(Ordering::Relaxed) {
                                break;
                            }
                        }
                    });
                }
            });
        }
        Self {
            addr,
            timeline,
            faults,
            seen,
            forwarded,
            connections,
            upstreams,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn count(&self, op: &str) -> usize {
        self.seen.lock().unwrap().get(op).copied().unwrap_or(0)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
    }
}

pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `iam`, `sts`, `eks` from the SigV4 credential scope.
    pub fn service(&self) -> String {
        self.header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split(',').next())
            .and_then(|c| c.split('/').nth(3))
            .unwrap_or("")
            .to_owned()
    }

    /// The access key id of the SigV4 credential scope.
    pub fn access_key_id(&self) -> String {
        self.header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').next())
            .unwrap_or("")
            .to_owned()
    }

    fn form(&self) -> HashMap<String, String> {
        String::from_utf8_lossy(&self.body)
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect()
    }

    /// The operation name.
    pub fn operation(&self) -> String {
        if self.service() == "eks" {
            let segs: Vec<&str> = self
                .path
                .split('?')
                .next()
                .unwrap_or("")
                .trim_matches('/')
                .split('/')
                .collect();
            let get = self.method == "GET";
            return match (get, segs.as_slice()) {
                (true, ["clusters"]) => "ListClusters",
                (true, ["clusters", _]) => "DescribeCluster",
                (true, ["clusters", _, "access-entries"]) => "ListAccessEntries",
                (true, ["clusters", _, "access-entries", _]) => "DescribeAccessEntry",
                (true, ["clusters", _, "access-entries", _, "access-policies"]) => {
                    "ListAssociatedAccessPolicies"
                }
                (false, ["clusters", _, "access-entries"]) => "CreateAccessEntry",
                _ => "EksOther",
            }
            .to_owned();
        }
        // JSON protocols (Organizations, KMS, ECR, ...): `X-Amz-Target: Prefix.Operation`.
        if let Some((_, target)) = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
        {
            return target.rsplit('.').next().unwrap_or(target).to_owned();
        }
        self.form().get("Action").cloned().unwrap_or_default()
    }

    fn cluster(&self) -> String {
        self.path
            .trim_matches('/')
            .split('/')
            .nth(1)
            .map(decode)
            .unwrap_or_default()
    }
}

pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_request(stream: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if stream.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        stream.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0usize);
    let mut body = vec![0; len];
    stream.read_exact(&mut body)?;
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

fn respond(stream: &mut TcpStream, status: &str, content_type: &str, extra: &str, body: &str) {
    // One write: a kept-alive connection must not leave the body to Nagle.
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes());
    let _ = stream.flush();
}

/// Answer one request; `Ok(true)`: the connection stays open for the next.
#[allow(clippy::too_many_arguments)]
fn handle(
    reader: &mut BufReader<TcpStream>,
    conn: &mut TcpStream,
    upstreams: &Upstreams,
    faults: &Mutex<Faults>,
    seen: &Mutex<HashMap<String, usize>>,
    forwarded: &AtomicUsize,
    stop: &AtomicBool,
    span: &mut Option<Span>,
) -> std::io::Result<bool> {
    let Some(req) = read_request(reader)? else {
        return Ok(false);
    };
    let keep = !req
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close"));
    let arrived = upstreams.epoch.elapsed();
    let service = req.service();
    let op = req.operation();
    let started = Instant::now();
    *span = Some(Span {
        op: op.clone(),
        start: started,
        end: started,
        upstream: Duration::ZERO,
    });
    *seen.lock().unwrap().entry(op.clone()).or_default() += 1;

    let (latency, throttled, hung) = {
        let mut f = faults.lock().unwrap();
        let hung = f.hang.contains(&op) || f.hang.contains("*");
        let mut throttled = false;
        for key in [op.as_str(), "*"] {
            if let Some(n) = f.throttle.get_mut(key)
                && *n > 0
            {
                *n -= 1;
                throttled = true;
                break;
            }
        }
        (f.latency, throttled, hung)
    };
    if hung {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
        return Ok(false);
    }
    if !latency.is_zero() {
        std::thread::sleep(latency);
    }
    let forwarded_at = upstreams.epoch.elapsed();
    if throttled {
        if service == "eks" {
            respond(
                conn,
                "429 Too Many Requests",
                "application/json",
                "x-amzn-ErrorType: ThrottlingException\r\n",
                r#"{"message":"Rate exceeded"}"#,
            );
        } else {
            respond(
                conn,
                "400 Bad Request",
                "text/xml",
                "",
                "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
                 <Message>Rate exceeded</Message></Error><RequestId>eksdoctor-proxy</RequestId></ErrorResponse>",
            );
        }
        return Ok(keep);
    }
    if let Some((status, ctype, body)) = stub(&req, &op, faults) {
        respond(conn, status, ctype, "", &body);
        upstreams.record(&op, None, arrived, forwarded_at);
        return Ok(keep);
    }

    // Forward to moto.
    forwarded.fetch_add(1, Ordering::Relaxed);
    let shard = upstreams.route(&req, &op);
    upstreams.per_shard[shard].fetch_add(1, Ordering::Relaxed);
    let asked = Instant::now();
    let mut up = format!("{} {} HTTP/1.1\r\n", req.method, req.path);
    for (k, v) in &req.headers {
        // The request was read whole: no interim 100 Continue from moto.
        if !k.eq_ignore_ascii_case("connection") && !k.eq_ignore_ascii_case("expect") {
            up.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    up.push_str("\r\n");
    let mut request = up.into_bytes();
    request.extend_from_slice(&req.body);
    let (resp_head, resp_body) = upstreams.exchange(shard, &request)?;
    if let Some(s) = span.as_mut() {
        s.upstream = asked.elapsed();
    }
    let mut lines = resp_head.split("\r\n").filter(|l| !l.is_empty());
    let status_line = lines
        .next()
        .unwrap_or("HTTP/1.1 502 Bad Gateway")
        .to_owned();
    let mut body = resp_body;
    if op == "AssumeRole" {
        upstreams.learn(shard, &body);
    }
    // moto wraps query-protocol errors in <Errors>, as EC2 does; IAM and STS
    // (and the SDK's parser) have a bare <Error>. Normalise to AWS's format.
    if service != "eks" && body.windows(8).any(|w| w == b"<Errors>") {
        body = String::from_utf8_lossy(&body)
            .replace("<Errors>", "")
            .replace("</Errors>", "")
            .into_bytes();
    }
    if op == "DescribeCluster" {
        let mode = faults
            .lock()
            .unwrap()
            .auth_mode
            .get(&req.cluster())
            .cloned();
        if let Some(mode) = mode
            && let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body)
        {
            v["cluster"]["accessConfig"] = serde_json::json!({"authenticationMode": mode});
            body = serde_json::to_vec(&v).unwrap();
        }
    }
    let mut out = format!("{status_line}\r\n");
    for l in lines {
        let lower = l.to_ascii_lowercase();
        if lower.starts_with("connection:")
            || lower.starts_with("content-length:")
            || lower.starts_with("transfer-encoding:")
        {
            continue;
        }
        out.push_str(l);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {}\r\n{}\r\n",
        body.len(),
        if keep { "" } else { "Connection: close\r\n" }
    ));
    let mut answer = out.into_bytes();
    answer.extend_from_slice(&body);
    conn.write_all(&answer)?;
    conn.flush()?;
    upstreams.record(&op, Some(shard), arrived, forwarded_at);
    Ok(keep)
}

/// Answers for what moto does not implement.
fn stub(
    req: &Request,
    op: &str,
    faults: &Mutex<Faults>,
) -> Option<(&'static str, &'static str, String)> {
    let mut f = faults.lock().unwrap();
    let json = "application/json";
    let key = format!(
        "{} {}",
        req.method,
        req.path.split('?').next().unwrap_or("")
    );
    if let Some((status, body)) = f.canned.get(&key) {
        return Some((status, json, body.clone()));
    }
    match op {
        "ListAccessEntries" => {
            let entries: Vec<&str> = f
                .access_entries
                .get(&req.cluster())
                .map(|v| v.iter().map(|e| e.principal_arn.as_str()).collect())
                .unwrap_or_default();
            Some((
                "200 OK",
                json,
                serde_json::json!({"accessEntries": entries}).to_string(),
            ))
        }
        "DescribeAccessEntry" | "ListAssociatedAccessPolicies" => {
            let principal = decode(
                req.path
                    .split('?')
                    .next()?
                    .trim_matches('/')
                    .split('/')
                    .nth(3)?,
            );
            let cluster = req.cluster();
            let Some(e) = f
                .access_entries
                .get(&cluster)
                .and_then(|v| v.iter().find(|e| e.principal_arn == principal))
            else {
                return Some((
                    "404 Not Found",
                    json,
                    r#"{"__type":"ResourceNotFoundException","message":"no such access entry"}"#
                        .to_owned(),
                ));
            };
            if op == "DescribeAccessEntry" {
                Some(("200 OK", json, serde_json::json!({"accessEntry": {
                    "clusterName": cluster, "principalArn": e.principal_arn,
                    "kubernetesGroups": e.groups, "username": e.username, "type": "STANDARD",
                    "createdAt": 1_700_000_000, "modifiedAt": 1_700_000_000, "tags": {},
                    "accessEntryArn": format!("arn:aws:eks:us-west-2:123456789012:access-entry/{cluster}/x")
                }}).to_string()))
            } else {
                let list: Vec<_> = e
                    .policies
                    .iter()
                    .map(|(arn, scope, ns)| {
                        serde_json::json!({
                            "policyArn": arn, "accessScope": {"type": scope, "namespaces": ns},
                            "associatedAt": 1_700_000_000, "modifiedAt": 1_700_000_000
                        })
                    })
                    .collect();
                Some((
                    "200 OK",
                    json,
                    serde_json::json!({
                        "clusterName": cluster, "principalArn": e.principal_arn,
                        "associatedAccessPolicies": list
                    })
                    .to_string(),
                ))
            }
        }
        "DecodeAuthorizationMessage" => {
            let msg = r#"{"allowed":false,"explicitDeny":false,"matchedStatements":{"items":[]},"failures":{"items":[]},"context":{"principal":{"id":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/alice"},"action":"ec2:RunInstances","resource":"arn:aws:ec2:us-west-2:123456789012:instance/*","conditions":{"items":[]}}}"#;
            let escaped = msg
                .replace('&', "&amp;")
                .replace('"', "&quot;")
                .replace('<', "&lt;");
            Some((
                "200 OK",
                "text/xml",
                format!(
                    "<DecodeAuthorizationMessageResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <DecodeAuthorizationMessageResult><DecodedMessage>{escaped}</DecodedMessage>\
                 </DecodeAuthorizationMessageResult><ResponseMetadata><RequestId>eksdoctor-proxy</RequestId>\
                 </ResponseMetadata></DecodeAuthorizationMessageResponse>"
                ),
            ))
        }
        "AssumeRole" => {
            let role = req.form().get("RoleArn").cloned().unwrap_or_default();
            f.assume_denied.contains(&role).then(|| {
                (
                    "403 Forbidden",
                    "text/xml",
                    format!(
                        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: \
                         arn:aws:iam::123456789012:user/auditor is not authorized to perform: sts:AssumeRole \
                         on resource: {role}</Message></Error><RequestId>eksdoctor-proxy</RequestId></ErrorResponse>"
                    ),
                )
            })
        }
        "SimulatePrincipalPolicy" => {
            if f.simulate_access_denied {
                return Some((
                    "403 Forbidden",
                    "text/xml",
                    "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not \
                     authorized to perform: iam:SimulatePrincipalPolicy</Message></Error>\
                     <RequestId>eksdoctor-proxy</RequestId></ErrorResponse>"
                        .to_owned(),
                ));
            }
            let form = req.form();
            if let Some(p) = form.get("PolicySourceArn") {
                f.simulated_principals.push(p.clone());
            }
            let resource = form
                .get("ResourceArns.member.1")
                .cloned()
                .unwrap_or_default();
            let mut members = String::new();
            for i in 1.. {
                let Some(action) = form.get(&format!("ActionNames.member.{i}")) else {
                    break;
                };
                let decision = if f.simulate_denied.contains(action) {
                    "implicitDeny"
                } else {
                    "allowed"
                };
                members.push_str(&format!(
                    "<member><EvalActionName>{action}</EvalActionName><EvalResourceName>{resource}</EvalResourceName>\
                     <EvalDecision>{decision}</EvalDecision><MatchedStatements/><MissingContextValues/></member>"
                ));
            }
            Some((
                "200 OK",
                "text/xml",
                format!(
                    "<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
                 <SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated>\
                 <EvaluationResults>{members}</EvaluationResults></SimulatePrincipalPolicyResult>\
                 <ResponseMetadata><RequestId>eksdoctor-proxy</RequestId></ResponseMetadata>\
                 </SimulatePrincipalPolicyResponse>"
                ),
            ))
        }
        _ => None,
    }
}

/// Write one request on a kept-alive connection and read its answer.
/// `Ok(None)`: the connection was closed before any byte of an answer (a
/// stale pooled connection; the request can go again on a new one).
fn send_on(
    conn: &mut BufReader<TcpStream>,
    request: &[u8],
) -> std::io::Result<Option<(String, Vec<u8>)>> {
    if conn.get_mut().write_all(request).is_err() {
        return Ok(None);
    }
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match conn.read_line(&mut line) {
            Ok(0) | Err(_) if head.is_empty() && line.is_empty() => return Ok(None),
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "moto's answer ended inside its head",
                ));
            }
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        // Expect is not forwarded, so no interim 100 Continue comes first.
        if line == "\r\n" || line == "\n" {
            break;
        }
        head.push_str(&line);
    }
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let status = head.split_whitespace().nth(1).unwrap_or("");
    let mut body = Vec::new();
    if matches!(status, "204" | "304") || request.starts_with(b"HEAD ") {
        // No body, whatever the headers say.
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            conn.read_line(&mut size)?;
            let size = size.trim().split(';').next().unwrap_or("");
            let n = usize::from_str_radix(size, 16).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk size from moto")
            })?;
            if n == 0 {
                // Trailers, if any, up to the empty line.
                let mut line = String::new();
                while conn.read_line(&mut line)? > 0 && line.trim() != "" {
                    line.clear();
                }
                break;
            }
            let at = body.len();
            body.resize(at + n, 0);
            conn.read_exact(&mut body[at..])?;
            let mut crlf = [0u8; 2];
            conn.read_exact(&mut crlf)?;
        }
    } else if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(n, 0);
        conn.read_exact(&mut body)?;
    } else {
        // Neither: the body runs to the close (and the connection is not kept).
        conn.read_to_end(&mut body)?;
        head.push_str("Connection: close\r\n");
    }
    Ok(Some((head, body)))
}
