//! `explain`: AWS and Kubernetes authorization error text, parsed and diagnosed.
//!
//! Give it what the operator saw (a pasted CLI error, a log file, CloudTrail
//! JSON) and get back [`Finding`]s: which rule (authz/no-identity-policy,
//! authz/service-control-policy, cluster/forbidden, creds/expired, ...),
//! the parsed message in `evidence.parsed` (principal, action, resource,
//! denial kind, policy type, policy ARN, count, as `cli.md` specifies), an
//! explanation, and a fix to paste: a least-privilege policy scoped to the
//! resource in the message and the command that attaches it to the principal.
//!
//! # Using it
//!
//! * [`explain_text`]: one call for pasted text (the dashboard's Explain
//!   panel, tests). Several messages in the text are all diagnosed; a message
//!   wrapped over lines is stitched back together.
//! * [`Explainer`]: streaming. [`Explainer::read`] takes any [`std::io::Read`]
//!   (a file, stdin, a socket) of any size with flat memory: gzip by its
//!   magic bytes, CloudTrail JSON (`{"Records":[...]}`, lookup-events
//!   `{"Events":[...]}`, one record a line) record by record, text line by
//!   line. [`Explainer::feed_line`] and [`Explainer::feed_json`] take one
//!   line or one record at a time. [`Explainer::finish`] returns the findings.
//!
//! ```
//! use eksdoctor_core::explain::{explain_text, Explainer};
//!
//! let findings = explain_text(
//!     "User: arn:aws:iam::111122223333:user/ci is not authorized to perform: \
//!      eks:DescribeCluster on resource: arn:aws:eks:us-west-2:111122223333:cluster/prod",
//! );
//! assert_eq!(findings[0].rule, "authz/no-identity-policy");
//! assert_eq!(findings[0].evidence["parsed"]["principal"]["name"], "ci");
//!
//! let mut ex = Explainer::new();
//! let log = "INFO ok\nerror: You must be logged in to the server (Unauthorized)\n";
//! let _stats = ex.read(Some("kubectl.log"), log.as_bytes());
//! let findings = ex.finish();
//! assert_eq!(findings[0].rule, "cluster/unauthorized");
//! assert_eq!(findings[0].location.as_ref().unwrap().line, 2);
//! ```
//!
//! Identical denials (same principal, action, resource and reason) are
//! grouped into one finding whose `evidence.parsed.count` says how often it
//! was seen; findings come back most frequent first (a [`crate::report::Report`]
//! then sorts them by severity, stably).
//!
//! # Secrets
//!
//! A secret access key in the input becomes a keys/secret-in-input finding;
//! the secret is never stored in a finding, and the key id that came with it
//! is masked in every string of every finding. [`Explainer::tainted`] lists
//! what the caller's own [`crate::mask::Redactor`] must also mask (the binary
//! passes it to `Output::taint`).
//!
//! # Adding a message form
//!
//! A new AWS wording of a denial goes into [`denial`] (a phrase table or the
//! reason parser); a new kind of error text into [`forms`] (a [`forms::TextForm`]
//! variant) with its finding in [`others`]. If its lines contain none of the
//! trigger phrases of [`stream`], add one there. Then a test beside the
//! parser and a line in `tests/fixtures/explain/`.

pub mod authz;
pub mod check;
pub mod denial;
pub mod fix;
pub mod forms;
mod iam_actions;
pub mod others;
pub mod podid;
pub mod secrets;
pub mod stream;
pub mod tools;
pub mod wild;

use std::collections::BTreeSet;

/// The maps below are looked up once or twice per input line with whole
/// lines as keys: foldhash (seeded per process) instead of SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::io::Read;

use serde_json::{Value, json};

use crate::finding::{Finding, Location};
use crate::mask::Redactor;

pub use denial::{Denial, DenialKind, PolicyType, ResourceRef, parse_denials};
pub use forms::TextForm;
pub use stream::{ReadError, ReadStats};

/// Distinct findings kept; further distinct ones are counted in [`Explainer::dropped`].
pub const MAX_GROUPS: usize = 2_000;
/// The longest input line quoted in `evidence.line`.
pub const EVIDENCE_LINE_MAX: usize = 1000;

/// A finding and the key that groups identical ones.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub(crate) key: String,
    pub(crate) finding: Finding,
}

#[derive(Debug)]
struct Group {
    finding: Finding,
    count: u64,
}

/// Streaming explainer: feed it input, then [`Explainer::finish`].
#[derive(Debug, Default)]
pub struct Explainer {
    groups: Vec<Group>,
    index: HashMap<String, usize>,
    /// Observation signature → the groups it produced, so a denial seen
    /// before costs a hash lookup instead of a new diagnosis.
    seen: HashMap<String, Vec<usize>>,
    /// Hashes of the principal, action and resource of every denial in
    /// `seen`, so a denial past the kept limit that cannot be a repeat skips
    /// the full parse.
    seen_denials: std::collections::HashSet<u64, foldhash::fast::RandomState>,
    /// Whole lines (timestamp prefix stripped) already diagnosed → the groups
    /// they counted in: a repeated log line costs one hash lookup.
    lines_seen: HashMap<String, Vec<usize>>,
    lines_seen_bytes: usize,
    /// Groups the current line counted in, and whether any was dropped.
    touched: Vec<usize>,
    touched_dropped: bool,
    secrets: secrets::SecretScanner,
    redactor: Redactor,
    tainted: BTreeSet<String>,
    dropped: u64,
    /// Denials beyond [`MAX_GROUPS`], grouped by rule, action and resource pattern.
    overflow: HashMap<String, (Finding, u64)>,
    /// What earlier lines said about where the text comes from (a CI job, a role).
    context: forms::Context,
    /// Lines longer than [`stream::MAX_LINE`], read in pieces.
    long_lines: u64,
    /// Line counter for [`Explainer::feed_text`].
    text_lines: u64,
    /// Reused buffers: the current line in ASCII lowercase, and the key of
    /// an overflow group being looked up (one allocation per run, not per line).
    lower_buf: String,
    overflow_key: String,
}

/// The hash [`Explainer::maybe_seen`] compares.
fn denial_head_hash(principal: &str, action: &str, resource: &str) -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    // Fixed seed: the hashes are compared within one run only.
    let mut h = foldhash::quality::FixedState::with_seed(0x5eed).build_hasher();
    for part in [principal, action, resource] {
        h.write(part.as_bytes());
        h.write_u8(0x1f);
    }
    h.finish()
}

/// Every phrase (lowercase) that [`forms::Context::update`], the secret
/// scanner, [`forms::parse_text_forms_in`] and [`podid::diagnose_line`]
/// need one of, but Pod Identity's `/i-` (which [`find_static_i`] looks
/// for: in an automaton it stops the SIMD prefilter on every ARN's `/`).
fn line_gate() -> Option<&'static aho_corasick::AhoCorasick> {
    static AC: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> = std::sync::OnceLock::new();
    AC.get_or_init(|| {
        let phrases = forms::GATE
            .iter()
            .chain(forms::CONTEXT_MARKS)
            .chain(podid::GATE.iter().filter(|p| **p != "/i-"))
            .chain(&["secret", "akia", "asia"]);
        aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(phrases)
            .ok()
    })
    .as_ref()
}

/// `/i-` (an instance session, for [`podid::diagnose_line`]) in `lower`.
fn find_static_i(lower: &str) -> bool {
    static F: std::sync::OnceLock<memchr::memmem::Finder<'static>> = std::sync::OnceLock::new();
    F.get_or_init(|| memchr::memmem::Finder::new("/i-"))
        .find(lower.as_bytes())
        .is_some()
}

/// Diagnose pasted text (any number of messages, any number of lines).
#[must_use]
pub fn explain_text(text: &str) -> Vec<Finding> {
    let mut ex = Explainer::new();
    ex.feed_text(text);
    ex.finish()
}

/// Longest line remembered whole, and the memory all remembered lines may take.
const LINE_MEMO_MAX: usize = 4096;
const LINE_MEMO_BYTES: usize = 8 << 20;

/// A log line without its leading timestamp (`2026-11-28T10:00:00.123Z `,
/// `[12:00:01] `): characters that never start or hold a message.
pub(crate) fn strip_log_prefix(s: &str) -> &str {
    // Only ASCII bytes are stripped, so the cut is a char boundary.
    let n = s.len() - strip_log_prefix_bytes(s.as_bytes()).len();
    &s[n..]
}

/// [`strip_log_prefix`] on bytes (the reader's lines before decoding).
pub(crate) fn strip_log_prefix_bytes(b: &[u8]) -> &[u8] {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let stamp = c.is_ascii_digit()
            || matches!(c, b'-' | b':' | b'.' | b'+' | b' ' | b'\t' | b'[' | b']' | b',' | b'/')
            // `T` and `Z` only inside a timestamp (after a digit).
            || (matches!(c, b'T' | b'Z') && i > 0 && b[i - 1].is_ascii_digit());
        if !stamp {
            break;
        }
        i += 1;
    }
    &b[i..]
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// CloudTrail error codes that mean "denied".
fn is_denied_code(code: &str) -> bool {
    code.contains("AccessDenied") || code.contains("UnauthorizedOperation") || code == "Forbidden"
}

impl Explainer {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Pasted text: no file locations.
    pub fn feed_text(&mut self, text: &str) {
        let start = self.text_lines;
        let mut r = stream::Reader::new(self, None);
        r.set_first_line(start);
        let (stats, _) = r.run(text.as_bytes());
        self.text_lines = stats.lines;
    }

    /// Read a whole source (`name` is the file name for locations, `None`
    /// for pasted text). Findings up to an error are kept.
    ///
    /// # Errors
    /// A read error, or gzip data that is truncated or corrupt.
    pub fn read(
        &mut self,
        name: Option<&str>,
        reader: impl Read + Send,
    ) -> Result<ReadStats, (ReadStats, ReadError)> {
        let (stats, result) = stream::Reader::new(self, name).run(reader);
        match result {
            Ok(()) => Ok(stats),
            Err(e) => Err((stats, e)),
        }
    }

    /// One (logical) line of text, `line` 1-based.
    pub fn feed_line(&mut self, text: &str, line: u64, source: Option<&str>) {
        let key = strip_log_prefix(text);
        let memo = key.len() <= LINE_MEMO_MAX;
        if memo && let Some(groups) = self.lines_seen.get(key) {
            for &i in groups {
                if let Some(g) = self.groups.get_mut(i) {
                    g.count += 1;
                }
            }
            return;
        }
        self.touched.clear();
        self.touched_dropped = false;
        let secret_free = self.feed_line_fresh(text, line, source);
        if memo
            && secret_free
            && !self.touched_dropped
            && self.lines_seen_bytes + key.len() <= LINE_MEMO_BYTES
        {
            self.lines_seen_bytes += key.len();
            let touched = std::mem::take(&mut self.touched);
            self.lines_seen.insert(key.to_owned(), touched);
        }
    }

    /// [`Explainer::feed_line`] without the repeat shortcut; true when the
    /// line held nothing secret-like (so a repeat of it may be counted blind).
    fn feed_line_fresh(&mut self, text: &str, line: u64, source: Option<&str>) -> bool {
        // Logs that escape line breaks (`...is not\nauthorized...`): one line.
        let unescaped;
        let text = if memchr::memchr(b'\\', text.as_bytes()).is_some()
            && (text.contains("\\n") || text.contains("\\t"))
        {
            unescaped = text
                .replace("\\r\\n", " ")
                .replace("\\n", " ")
                .replace("\\t", " ");
            unescaped.as_str()
        } else {
            text
        };
        let mut lower = std::mem::take(&mut self.lower_buf);
        lower.clear();
        lower.push_str(text);
        lower.make_ascii_lowercase();
        let secret_free = self.feed_line_lowered(text, &lower, line, source);
        self.lower_buf = lower;
        secret_free
    }

    /// [`Explainer::feed_line_fresh`] once the line is unescaped and lowercased.
    fn feed_line_lowered(
        &mut self,
        text: &str,
        lower: &str,
        line: u64,
        source: Option<&str>,
    ) -> bool {
        // One pass tells whether the line may hold anything but a denial
        // (the common dense-log line holds none): else the context, secret,
        // text-form and Pod Identity checks below have nothing to find.
        let marked = line_gate().is_none_or(|g| g.is_match(lower));
        if marked {
            self.context.update(text, lower);
        }
        let at = source.map(|s| (s, line));
        // Secrets first, so this line's evidence is already masked. An
        // unmarked line has no key id and no secret; the scanner still sees
        // it while a secret waits for its key id (its window counts lines).
        let seen = if marked || !self.secrets.idle() {
            self.secrets.scan(line, text, lower)
        } else {
            secrets::LineSecrets::default()
        };
        let secret_free = !(seen.key_ids || (marked && lower.contains("secret")));
        for s in seen.done {
            self.sighting(&s, source);
        }
        if seen.example_key_id {
            let _ = self.add(others::example_key(false), at, None);
        }
        let forms = if marked {
            forms::parse_text_forms_in(text, lower, &self.context)
        } else {
            Vec::new()
        };
        let web_identity = forms
            .iter()
            .any(|f| matches!(f, TextForm::WebIdentityDenied { .. }));
        let has_perform = {
            static F: std::sync::OnceLock<memchr::memmem::Finder<'static>> =
                std::sync::OnceLock::new();
            F.get_or_init(|| memchr::memmem::Finder::new(denial::PERFORM))
                .find(text.as_bytes())
                .is_some()
        };
        let mut recognised = false;
        // Past the kept limit a new denial is only counted by rule, action and
        // resource pattern: parse just that much, unless it may repeat a kept
        // finding (then the full path counts it there).
        let mut counted = false;
        if has_perform && self.groups.len() >= MAX_GROUPS {
            // Borrowed heads, no allocation for the usual one message a line.
            let mut first = None;
            let mut more = Vec::new();
            denial::for_each_denial_head(text, |h| {
                if first.is_none() {
                    first = Some(h);
                } else {
                    more.push(h);
                }
            });
            let heads = || first.iter().chain(more.iter());
            if first.is_some()
                && heads().all(|d| {
                    d.action.is_some()
                        && !self.maybe_seen(
                            d.principal_text.unwrap_or(""),
                            d.action.unwrap_or(""),
                            d.resource_text(),
                        )
                })
            {
                for d in heads() {
                    if web_identity && d.principal_text.is_none() {
                        continue;
                    }
                    recognised = true;
                    let rule = authz::rule_of(
                        d.action,
                        d.policy_type,
                        d.kind.unwrap_or(DenialKind::Unspecified),
                    );
                    self.overflow_denial(rule, d.action, d.resource_text());
                }
                counted = true;
            }
        }
        let mut denials = if has_perform && !counted {
            parse_denials(text)
        } else {
            Vec::new()
        };
        if !counted && !denials.iter().any(|d| d.action.is_some()) {
            let wild = wild::parse(text, lower);
            if !wild.is_empty() {
                denials.retain(|d| d.principal_text.is_some());
                denials.extend(wild);
            }
        }
        let tool = if counted && forms.is_empty() {
            None
        } else {
            wild::tool_of(text)
        };
        for d in &mut denials {
            if d.tool.is_none() {
                d.tool = tool;
            }
            check::check(d);
        }
        if denials.is_empty()
            && !counted
            && let Some(blob) = denial::parse_encoded_message(text)
        {
            denials.push(Denial {
                encoded_message: Some(blob),
                ..Denial::default()
            });
        }
        let pod_identity = if marked || find_static_i(lower) {
            podid::diagnose_line(text, lower)
        } else {
            None
        };
        if pod_identity.is_some() {
            denials.retain(|d| !podid::owns_denial(d));
        }
        let mut observations: Vec<(String, Vec<Diagnosis>)> = Vec::new();
        for d in &denials {
            if web_identity && d.principal_text.is_none() {
                continue;
            }
            recognised = true;
            let sig = format!("D{}", authz::signature(d));
            if !self.repeat(&sig) {
                if self.groups.len() >= MAX_GROUPS {
                    self.overflow_denial(
                        authz::rule_for(d),
                        d.action.as_deref(),
                        d.resource.as_ref().map_or("", ResourceRef::text),
                    );
                    continue;
                }
                observations.push((sig, authz::diagnose(d)));
            }
        }
        for f in &forms {
            recognised = true;
            let sig = format!("F{f:?}{tool:?}");
            if !self.repeat(&sig) {
                observations.push((sig, vec![others::diagnose_form_from(f, tool)]));
            }
        }
        if let Some(d) = pod_identity {
            recognised = true;
            observations.push((format!("P{}", d.key), vec![d]));
        }
        if !recognised
            && text.trim_start().starts_with('{')
            && text.contains("\"errorCode\"")
            && let Ok(v) = serde_json::from_str::<Value>(text)
        {
            self.feed_json(&v, line, source);
            return false;
        }
        for (sig, ds) in observations {
            self.add_all(sig, ds, at, Some(text), None);
        }
        secret_free
    }

    /// A denial past [`MAX_GROUPS`]: counted in a group of its rule, action
    /// and resource pattern (a bounded number of them), not diagnosed one by one.
    fn overflow_denial(&mut self, rule: crate::rules::Rule, action: Option<&str>, resource: &str) {
        const MAX_OVERFLOW_GROUPS: usize = 1000;
        self.touched_dropped = true;
        let action = action.unwrap_or("*");
        let prefix = check::resource_pattern_prefix(resource);
        // The pattern is the prefix plus `*` when a name was cut off.
        let star = prefix != "*" && prefix.len() < resource.len();
        // Built in a reused buffer: a repeat (the common case) allocates nothing.
        let key = &mut self.overflow_key;
        key.clear();
        key.push_str(rule.id);
        key.push('\u{1f}');
        key.push_str(action);
        key.push('\u{1f}');
        key.push_str(prefix);
        if star {
            key.push('*');
        }
        if !self.overflow.contains_key(key.as_str()) && self.overflow.len() >= MAX_OVERFLOW_GROUPS {
            key.clear();
            key.push_str(rule.id);
            key.push_str("\u{1f}*\u{1f}*");
        }
        if let Some(e) = self.overflow.get_mut(key.as_str()) {
            e.1 += 1;
            return;
        }
        let key = key.clone();
        let (a, p) =
            key.split('\u{1f}')
                .skip(1)
                .fold((String::new(), String::new()), |(a, _), x| {
                    if a.is_empty() {
                        (x.to_owned(), String::new())
                    } else {
                        (a, x.to_owned())
                    }
                });
        let f = Finding::new(
            rule,
            format!(
                "Further denials of {a} on {p}, not diagnosed one by one (more than {MAX_GROUPS} distinct findings in the input)"
            ),
        )
        .detail(format!(
            "The input holds more distinct denials than eksdoctor keeps one by one ({MAX_GROUPS}); the rest are counted here, grouped by rule, action and resource pattern, so the totals stay true. Explain a narrower part of the input (for example the lines with {a}) to get each principal's fix."
        ))
        .evidence(
            "parsed",
            json!({
                "principal": Value::Null,
                "action": (a != "*").then_some(a.as_str()),
                "resource": (p != "*").then_some(p.as_str()),
                "denial": {"kind": "unspecified", "policy_type": Value::Null, "policy_arn": Value::Null},
                "count": 1,
            }),
        )
        .evidence("grouped_beyond_limit", json!(true))
        .fix(crate::finding::Fix::new(format!(
            "Run explain on the lines with {a} alone to get the fix for each principal"
        )));
        self.overflow.insert(key, (f, 1));
    }

    /// Whether a denial may repeat one diagnosed before: its principal,
    /// action and resource lead the signature of a kept observation.
    fn maybe_seen(&self, principal: &str, action: &str, resource: &str) -> bool {
        self.seen_denials
            .contains(&denial_head_hash(principal, action, resource))
    }

    /// Count a repeat of an observation already diagnosed; false if new.
    fn repeat(&mut self, sig: &str) -> bool {
        let Some(groups) = self.seen.get(sig) else {
            return false;
        };
        for &i in groups {
            if let Some(g) = self.groups.get_mut(i) {
                g.count += 1;
            }
        }
        self.touched.extend_from_slice(groups);
        true
    }

    /// Add one observation's findings and remember which groups they went to.
    fn add_all(
        &mut self,
        sig: String,
        diags: Vec<Diagnosis>,
        at: Option<(&str, u64)>,
        line: Option<&str>,
        extra: Option<(&str, &Value)>,
    ) {
        let mut groups = Vec::new();
        let mut complete = true;
        for mut d in diags {
            if let Some((k, v)) = extra {
                d.finding.evidence.insert(k.to_owned(), v.clone());
            }
            match self.add(d, at, line) {
                Some(i) => groups.push(i),
                None => complete = false,
            }
        }
        if complete && self.seen.len() < 4 * MAX_GROUPS {
            // `D` + principal, action, resource, each ended by \u{1f}: the head
            // [`Explainer::maybe_seen`] looks up.
            if let Some(rest) = sig.strip_prefix('D') {
                let mut parts = rest.splitn(4, '\u{1f}');
                if let (Some(p), Some(a), Some(r), Some(_)) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                {
                    self.seen_denials.insert(denial_head_hash(p, a, r));
                }
            }
            self.seen.insert(sig, groups);
        }
    }

    /// One JSON value: a CloudTrail record, `{"Records": [...]}`,
    /// `{"Events": [...]}` (lookup-events) or an array of those. Returns
    /// false when it is none of these (the caller may scan it as text).
    pub fn feed_json(&mut self, v: &Value, line: u64, source: Option<&str>) -> bool {
        match v {
            Value::Array(items) => {
                let mut any = false;
                for item in items {
                    any |= self.feed_json(item, line, source);
                }
                any
            }
            Value::Object(o) => {
                if let Some(Value::Array(recs)) = o.get("Records") {
                    for r in recs {
                        self.feed_json(r, line, source);
                    }
                    return true;
                }
                if let Some(Value::Array(events)) = o.get("Events") {
                    for e in events {
                        match e.get("CloudTrailEvent").and_then(Value::as_str) {
                            Some(s) => {
                                if let Ok(inner) = serde_json::from_str::<Value>(s) {
                                    self.record(&inner, line, source);
                                }
                            }
                            None => {
                                self.feed_json(e, line, source);
                            }
                        }
                    }
                    return true;
                }
                if o.contains_key("eventSource")
                    || o.contains_key("errorCode")
                    || o.contains_key("eventName")
                {
                    self.record(v, line, source);
                    return true;
                }
                false
            }
            _ => false,
        }
    }

    /// One CloudTrail record.
    fn record(&mut self, rec: &Value, line: u64, source: Option<&str>) {
        let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let Some(code) = s(rec.get("errorCode")) else {
            return;
        };
        let message = s(rec.get("errorMessage")).unwrap_or_default();
        let ident = rec.get("userIdentity");
        let ident_type = s(ident.and_then(|i| i.get("type"))).unwrap_or_default();
        let principal_text = match ident_type.as_str() {
            "AWSService" => s(ident.and_then(|i| i.get("invokedBy"))),
            _ => s(ident.and_then(|i| i.get("arn"))),
        };
        let event_source = s(rec.get("eventSource")).unwrap_or_default();
        let event_name = s(rec.get("eventName"));
        let service = event_source
            .strip_suffix(".amazonaws.com")
            .unwrap_or(&event_source)
            .to_owned();
        let action = event_name
            .as_ref()
            .filter(|_| !service.is_empty())
            .map(|n| format!("{service}:{n}"));
        let region = s(rec.get("awsRegion"));
        let resource = record_resource(rec, &service);
        let text = format!("{code}: {message}");
        let lower = text.to_ascii_lowercase();
        let at = source.map(|src| (src, line));
        let mut denials = parse_denials(&message);
        if denials.is_empty() && is_denied_code(&code) {
            denials.push(Denial {
                kind: Some(DenialKind::Unspecified),
                resource: resource.map(ResourceRef::Arn),
                ..Denial::default()
            });
        }
        let evidence = json!({
            "eventTime": rec.get("eventTime"),
            "eventSource": event_source,
            "eventName": event_name,
            "awsRegion": region,
            "errorCode": code,
            "userIdentity": {"type": ident_type, "arn": principal_text},
        });
        let shown = (!message.is_empty()).then_some(message.as_str());
        for mut d in denials {
            if d.principal_text.is_none() {
                d.principal = principal_text
                    .as_deref()
                    .and_then(|p| crate::arn::Principal::parse(p).ok());
                d.principal_text.clone_from(&principal_text);
            }
            if d.action.is_none() && d.encoded_message.is_none() {
                d.action.clone_from(&action);
            }
            if d.kind.is_none() && d.action.is_some() {
                d.kind = Some(DenialKind::Unspecified);
            }
            d.error_code.get_or_insert_with(|| code.clone());
            if d.operation.is_none() {
                d.operation.clone_from(&event_name);
            }
            d.region.clone_from(&region);
            let sig = format!("D{}", authz::signature(&d));
            if !self.repeat(&sig) {
                let diags = authz::diagnose(&d);
                self.add_all(sig, diags, at, shown, Some(("cloudtrail", &evidence)));
            }
        }
        for f in forms::parse_text_forms(&text, &lower) {
            let sig = format!("F{f:?}");
            if !self.repeat(&sig) {
                let diags = vec![others::diagnose_form(&f)];
                self.add_all(sig, diags, at, shown, Some(("cloudtrail", &evidence)));
            }
        }
    }

    fn sighting(&mut self, s: &secrets::SecretSighting, source: Option<&str>) {
        if let Some(id) = &s.key_id {
            self.taint(id);
        }
        self.taint(&s.secret);
        let d = others::diagnose_secret(s);
        let _ = self.add(d, source.map(|src| (src, s.line)), None);
    }

    fn taint(&mut self, s: &str) {
        if self.tainted.insert(s.to_owned()) {
            self.redactor.taint(s);
        }
    }

    /// Add a finding to its group (new or existing); its group's index, or
    /// `None` when [`MAX_GROUPS`] is reached.
    fn add(&mut self, d: Diagnosis, at: Option<(&str, u64)>, line: Option<&str>) -> Option<usize> {
        if let Some(&i) = self.index.get(&d.key) {
            if let Some(g) = self.groups.get_mut(i) {
                g.count += 1;
            }
            self.touched.push(i);
            return Some(i);
        }
        if self.groups.len() >= MAX_GROUPS {
            self.dropped += 1;
            self.touched_dropped = true;
            return None;
        }
        let mut f = d.finding;
        if let Some((file, n)) = at {
            f.location = Some(Location {
                file: file.to_owned(),
                line: usize::try_from(n).unwrap_or(usize::MAX),
                column: None,
            });
        }
        if let Some(l) = line {
            let shown = truncate(l.trim(), EVIDENCE_LINE_MAX);
            let shown = self.redactor.redact(&shown).into_owned();
            f.evidence.insert("line".into(), Value::String(shown));
        }
        let i = self.groups.len();
        self.touched.push(i);
        self.index.insert(d.key, i);
        self.groups.push(Group {
            finding: f,
            count: 1,
        });
        Some(i)
    }

    /// The end of one source: secrets still waiting for a key id stand alone.
    pub fn end_source(&mut self, source: Option<&str>) {
        for s in self.secrets.finish() {
            self.sighting(&s, source);
        }
    }

    /// Key ids (and secrets) to mask in every output.
    pub fn tainted(&self) -> impl Iterator<Item = &str> {
        self.tainted.iter().map(String::as_str)
    }

    /// Denials beyond [`MAX_GROUPS`], counted in grouped findings.
    #[must_use]
    pub fn grouped_beyond_limit(&self) -> u64 {
        self.overflow.values().map(|(_, n)| n).sum()
    }

    /// Lines longer than [`stream::MAX_LINE`]: read whole, in pieces.
    #[must_use]
    pub fn long_lines(&self) -> u64 {
        self.long_lines
    }

    /// Distinct findings not kept because [`MAX_GROUPS`] was reached.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The findings, grouped, most frequent first, every string masked.
    #[must_use]
    pub fn finish(mut self) -> Vec<Finding> {
        self.end_source(None);
        let mut memo = RedactMemo::new(&self.redactor);
        let mut groups = std::mem::take(&mut self.groups);
        let mut overflow: Vec<_> = std::mem::take(&mut self.overflow).into_values().collect();
        overflow.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.message.cmp(&b.0.message)));
        groups.sort_by_key(|g| std::cmp::Reverse(g.count));
        groups.extend(
            overflow
                .into_iter()
                .map(|(finding, count)| Group { finding, count }),
        );
        groups
            .into_iter()
            .map(|g| {
                let mut f = g.finding;
                if let Some(p) = f.evidence.get_mut("parsed")
                    && let Some(o) = p.as_object_mut()
                {
                    o.insert("count".into(), json!(g.count));
                }
                memo.redact_finding(&mut f);
                f
            })
            .collect()
    }
}

/// The resource a CloudTrail record names: the object before the bucket for
/// S3 (`resources` lists both), else the first; for S3 records without
/// `resources`, the bucket and key of `requestParameters`.
fn record_resource(rec: &Value, service: &str) -> Option<String> {
    let resources = rec.get("resources").and_then(Value::as_array);
    let arn_of = |r: &Value| r.get("ARN").and_then(Value::as_str).map(str::to_owned);
    if let Some(rs) = resources {
        if let Some(o) = rs
            .iter()
            .find(|r| r.get("type").and_then(Value::as_str) == Some("AWS::S3::Object"))
            .and_then(arn_of)
        {
            return Some(o);
        }
        if let Some(first) = rs.first().and_then(arn_of)
            && (service != "s3" || first.contains('/'))
        {
            return Some(first);
        }
    }
    if service == "s3" {
        let params = rec.get("requestParameters")?;
        let bucket = params.get("bucketName").and_then(Value::as_str)?;
        let partition = rec
            .get("userIdentity")
            .and_then(|i| i.get("arn"))
            .and_then(Value::as_str)
            .and_then(|a| a.strip_prefix("arn:"))
            .and_then(|a| a.split(':').next())
            .unwrap_or("aws");
        return Some(match params.get("key").and_then(Value::as_str) {
            Some(k) if !k.is_empty() => format!("arn:{partition}:s3:::{bucket}/{k}"),
            _ => format!("arn:{partition}:s3:::{bucket}"),
        });
    }
    resources.and_then(|rs| rs.first()).and_then(arn_of)
}

/// [`redact_finding`] over many findings, each distinct string masked once:
/// the findings of one input repeat the same details, summaries and policy
/// strings many times, and masking scans every byte.
struct RedactMemo<'r> {
    redactor: &'r Redactor,
    /// String → its masked form (`None`: unchanged).
    seen: HashMap<String, Option<String>>,
    bytes: usize,
}

impl<'r> RedactMemo<'r> {
    /// The memory the remembered strings may take.
    const MAX_BYTES: usize = 4 << 20;

    fn new(redactor: &'r Redactor) -> Self {
        Self {
            redactor,
            seen: HashMap::default(),
            bytes: 0,
        }
    }

    fn string(&mut self, s: &mut String) {
        if let Some(masked) = self.seen.get(s.as_str()) {
            if let Some(m) = masked {
                s.clone_from(m);
            }
            return;
        }
        let masked = match self.redactor.redact(s) {
            std::borrow::Cow::Owned(o) => Some(o),
            std::borrow::Cow::Borrowed(_) => None,
        };
        if self.bytes + s.len() <= Self::MAX_BYTES {
            self.bytes += s.len() + masked.as_ref().map_or(0, String::len);
            self.seen.insert(s.clone(), masked.clone());
        }
        if let Some(m) = masked {
            *s = m;
        }
    }

    fn value(&mut self, v: &mut Value) {
        match v {
            Value::String(s) => self.string(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x)),
            Value::Object(o) => o.values_mut().for_each(|x| self.value(x)),
            _ => {}
        }
    }

    /// As [`redact_finding`].
    fn redact_finding(&mut self, f: &mut Finding) {
        self.string(&mut f.message);
        self.string(&mut f.detail);
        f.evidence.values_mut().for_each(|v| self.value(v));
        if let Some(fix) = f.fix.as_mut() {
            self.string(&mut fix.summary);
            fix.commands.iter_mut().for_each(|c| self.string(c));
            if let Some(p) = fix.policy.as_mut() {
                self.value(p);
            }
            if let Some(rep) = fix.replacement.as_mut() {
                self.string(rep);
            }
        }
    }
}

fn redact_value(r: &Redactor, v: &mut Value) {
    match v {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(o) = r.redact(s) {
                *s = o;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| redact_value(r, x)),
        Value::Object(o) => o.values_mut().for_each(|x| redact_value(r, x)),
        _ => {}
    }
}

fn redact_string(r: &Redactor, s: &mut String) {
    if let std::borrow::Cow::Owned(o) = r.redact(s) {
        *s = o;
    }
}

/// Mask secrets and tainted key ids in every string of a finding.
pub fn redact_finding(r: &Redactor, f: &mut Finding) {
    redact_string(r, &mut f.message);
    redact_string(r, &mut f.detail);
    f.evidence.values_mut().for_each(|v| redact_value(r, v));
    if let Some(fix) = f.fix.as_mut() {
        redact_string(r, &mut fix.summary);
        fix.commands.iter_mut().for_each(|c| redact_string(r, c));
        if let Some(p) = fix.policy.as_mut() {
            redact_value(r, p);
        }
        if let Some(rep) = fix.replacement.as_mut() {
            redact_string(r, rep);
        }
    }
}

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod safety_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tool_tests;
#[cfg(test)]
mod truncation_tests;

#[cfg(test)]
mod gate_tests {
    /// The one-pass gate matches the lowercase copy of a line: every phrase
    /// it holds must be lowercase, and each one marks a line that holds it.
    #[test]
    fn line_gate_phrases_are_lowercase_and_match() {
        let phrases = super::forms::GATE
            .iter()
            .chain(super::forms::CONTEXT_MARKS)
            .chain(super::podid::GATE.iter().filter(|p| **p != "/i-"));
        let gate = super::line_gate().expect("the gate builds");
        for p in phrases {
            assert_eq!(*p, p.to_ascii_lowercase(), "{p}");
            let line = format!("2026-11-28T10:00:00Z ERROR x {p} y").to_ascii_lowercase();
            assert!(gate.is_match(&line), "{p}");
        }
        assert!(super::find_static_i("assumed-role/node/i-0abc"));
        assert!(!gate.is_match(
            "error user: arn:aws:iam::1:user/a is not authorized to perform: eks:describecluster"
        ));
    }
}
