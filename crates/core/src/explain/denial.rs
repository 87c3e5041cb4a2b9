//! AWS access-denied messages: `User: ARN is not authorized to perform: ACTION
//! [on resource: RES] [because no TYPE allows the ACTION action | with an
//! explicit deny in a TYPE][: POLICY-ARN]`, as the IAM User Guide
//! ("Troubleshoot access denied error messages") documents them, wrapped or
//! not in the CLI's `An error occurred (CODE) when calling the OP operation:`,
//! with the optional Access Troubleshooter authorization id and the optional
//! `Encoded authorization failure message: ...`.

use serde::Serialize;

use crate::arn::{Principal, PrincipalKind};

/// The phrase every denial carries (`is not authorized to perform`, and STS's
/// `Not authorized to perform`).
pub(crate) const PERFORM: &str = "ot authorized to perform";

/// Explicit (a Deny statement matched), implicit (no Allow matched), or the
/// message does not say (old-style messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DenialKind {
    Explicit,
    Implicit,
    Unspecified,
}

impl DenialKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Explicit => "explicit",
            Self::Implicit => "implicit",
            Self::Unspecified => "unspecified",
        }
    }
}

/// The policy type a denial names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyType {
    IdentityBased,
    ResourceBased,
    ServiceControl,
    ResourceControl,
    PermissionsBoundary,
    Session,
    VpcEndpoint,
    RoleTrust,
}

impl PolicyType {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdentityBased => "identity-based",
            Self::ResourceBased => "resource-based",
            Self::ServiceControl => "service-control",
            Self::ResourceControl => "resource-control",
            Self::PermissionsBoundary => "permissions-boundary",
            Self::Session => "session",
            Self::VpcEndpoint => "vpc-endpoint",
            Self::RoleTrust => "role-trust",
        }
    }

    /// How an operator calls it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::IdentityBased => "identity-based policy",
            Self::ResourceBased => "resource-based policy",
            Self::ServiceControl => "service control policy (SCP)",
            Self::ResourceControl => "resource control policy (RCP)",
            Self::PermissionsBoundary => "permissions boundary",
            Self::Session => "session policy",
            Self::VpcEndpoint => "VPC endpoint policy",
            Self::RoleTrust => "role trust policy",
        }
    }
}

/// The policy-type phrases of AWS's messages, longest first so that
/// "permissions boundary policy" wins over "permissions boundary". Matched
/// case-insensitively ("Service Control Policy" appears too).
const TYPE_PHRASES: &[(&str, PolicyType)] = &[
    ("identity-based policy", PolicyType::IdentityBased),
    ("identity based policy", PolicyType::IdentityBased),
    ("resource-based policy", PolicyType::ResourceBased),
    ("resource based policy", PolicyType::ResourceBased),
    ("service control policy", PolicyType::ServiceControl),
    ("resource control policy", PolicyType::ResourceControl),
    (
        "permissions boundary policy",
        PolicyType::PermissionsBoundary,
    ),
    ("permissions boundary", PolicyType::PermissionsBoundary),
    ("permission boundary", PolicyType::PermissionsBoundary),
    // AWS documents both spellings.
    ("sessions policy", PolicyType::Session),
    ("session policy", PolicyType::Session),
    ("vpc endpoint policy", PolicyType::VpcEndpoint),
    ("role trust policy", PolicyType::RoleTrust),
    ("trust policy", PolicyType::RoleTrust),
];

/// What the message says was denied on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResourceRef {
    /// An ARN (also when AWS quoted it).
    Arn(String),
    /// A bare name such as `role TestReadOnly` or `my-example-widget`.
    Named(String),
    /// `on this resource`: the message does not say which.
    This,
}

impl ResourceRef {
    /// The text for `evidence.parsed.resource`.
    #[must_use]
    pub fn text(&self) -> &str {
        match self {
            Self::Arn(a) | Self::Named(a) => a,
            Self::This => "this resource",
        }
    }
}

/// One parsed access-denied message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Denial {
    /// The principal as written after `User:` (an ARN, a service such as
    /// `eks.amazonaws.com`, or `anonymous`).
    pub principal_text: Option<String>,
    /// The parsed principal, when the text is an IAM/STS principal or a service.
    pub principal: Option<Principal>,
    pub action: Option<String>,
    pub resource: Option<ResourceRef>,
    pub kind: Option<DenialKind>,
    pub policy_type: Option<PolicyType>,
    pub policy_arn: Option<String>,
    /// "... in a VPC endpoint policy transitively through a service control policy".
    pub transitive_scp: bool,
    /// The CLI wrapper's error code (`AccessDeniedException`) and operation (`DescribeCluster`).
    pub error_code: Option<String>,
    pub operation: Option<String>,
    /// The Access Troubleshooter authorization id, and the region of its console link.
    pub authorization_id: Option<String>,
    pub authorization_region: Option<String>,
    pub encoded_message: Option<String>,
    /// The region a CloudTrail record carried.
    pub region: Option<String>,
    /// The launch template the message names (`lt-...`), for launch-template denials.
    pub launch_template: Option<String>,
    /// What the message form says beyond the grammar (`ec2-style`, `cloudformation`,
    /// `launch-template`, `missing-permissions`): decides the wording of the finding.
    pub form: Option<&'static str>,
    /// The tool the text came from, when it can be told (`terraform`, `cloudformation`).
    pub tool: Option<&'static str>,
    /// Fields that look cut short or unsure (`principal`, `action`, `resource`):
    /// the finding says so and leaves the commands out.
    pub uncertain: Vec<&'static str>,
    /// Why, one sentence per doubt (filled by [`super::check::check`]).
    pub doubts: Vec<String>,
    /// The field the message text stops on (`action`, `resource`): a value
    /// there may have been cut by a terminal, a logger or a copy.
    pub ends_on: Option<&'static str>,
    /// A truncation mark (`...`, `…`, `[truncated]`) follows that field.
    pub cut_mark: bool,
    /// A longer name elsewhere in the text that the value the message ends
    /// on is a strict prefix of (Terraform's `(prod-cluster)` before an ARN
    /// cut to `cluster/prod-clu`).
    pub longer_elsewhere: Option<String>,
}

impl Denial {
    #[must_use]
    pub fn denial_kind(&self) -> DenialKind {
        self.kind.unwrap_or(DenialKind::Unspecified)
    }

    /// The partition to write ARNs in: the principal's, the resource's, else `aws`.
    #[must_use]
    pub fn partition(&self) -> String {
        if let Some(a) = self.principal.as_ref().and_then(|p| p.arn.as_ref()) {
            return a.partition.clone();
        }
        for text in [self.principal_text.as_deref(), self.resource_arn()]
            .into_iter()
            .flatten()
        {
            if let Some(p) = text
                .strip_prefix("arn:")
                .and_then(|r| r.split(':').next())
                .filter(|p| !p.is_empty())
            {
                return p.to_owned();
            }
        }
        "aws".to_owned()
    }

    /// The account the principal belongs to (else the resource's).
    #[must_use]
    pub fn account(&self) -> Option<String> {
        if let Some(a) = self.principal.as_ref().and_then(Principal::account) {
            return Some(a.to_owned());
        }
        let arn_account = |t: &str| {
            t.strip_prefix("arn:")
                .and_then(|r| r.split(':').nth(3))
                .filter(|a| crate::arn::is_account_id(a))
                .map(str::to_owned)
        };
        self.principal_text
            .as_deref()
            .and_then(arn_account)
            .or_else(|| self.resource_arn().and_then(arn_account))
    }

    #[must_use]
    pub fn resource_arn(&self) -> Option<&str> {
        match &self.resource {
            Some(ResourceRef::Arn(a)) => Some(a),
            _ => None,
        }
    }

    /// `iam:PassRole`, case-insensitively.
    #[must_use]
    pub fn is_pass_role(&self) -> bool {
        self.action
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case("iam:PassRole"))
    }

    /// `sts:AssumeRole`, `sts:AssumeRoleWithSAML`, `sts:AssumeRoleWithWebIdentity`.
    #[must_use]
    pub fn is_assume_role(&self) -> bool {
        self.action
            .as_deref()
            // Byte-wise: a CloudTrail eventName may hold any characters.
            .is_some_and(|a| {
                a.as_bytes()
                    .get(..14)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"sts:AssumeRole"))
            })
    }

    /// The principal's kind, if known.
    #[must_use]
    pub fn principal_kind(&self) -> Option<PrincipalKind> {
        self.principal.as_ref().map(|p| p.kind)
    }
}

/// `hay.find(needle)` with the needle's searcher built once (SIMD, and no
/// per-call setup: these run on every denial line).
macro_rules! find_static {
    ($hay:expr, $needle:literal) => {{
        static F: std::sync::OnceLock<memchr::memmem::Finder<'static>> = std::sync::OnceLock::new();
        F.get_or_init(|| memchr::memmem::Finder::new($needle))
            .find($hay.as_bytes())
    }};
}

/// `hay.rfind(needle)`, as [`find_static`].
macro_rules! rfind_static {
    ($hay:expr, $needle:literal) => {{
        static F: std::sync::OnceLock<memchr::memmem::FinderRev<'static>> =
            std::sync::OnceLock::new();
        F.get_or_init(|| memchr::memmem::FinderRev::new($needle))
            .rfind($hay.as_bytes())
    }};
}

/// How common a byte is in log text (higher: more common), to pick the
/// byte [`find_ci`] scans for.
fn commonness(b: u8) -> u8 {
    match b.to_ascii_lowercase() {
        b' ' => 255,
        b'e' => 200,
        b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 180,
        b'-' | b':' | b'/' | b'.' => 170,
        b'h' | b'l' | b'd' | b'c' | b'u' => 150,
        b'm' | b'f' | b'p' | b'g' | b'w' | b'y' | b'b' => 120,
        b'0'..=b'9' => 110,
        b'v' | b'k' => 80,
        b'x' | b'j' | b'q' | b'z' => 40,
        _ => 60,
    }
}

/// Case-insensitive find of an ASCII needle: SIMD search for its first
/// byte in either case, then a compare (lines are parsed often; this stays
/// linear and cheap).
pub(crate) fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    if n.is_empty() || n.len() > h.len() {
        return None;
    }
    // Scan for the needle's least common byte, in either case, then compare
    // the window around it.
    let (k, &rare) = n.iter().enumerate().min_by_key(|(_, b)| commonness(**b))?;
    let mut from = k;
    while let Some(off) = memchr::memchr2(
        rare.to_ascii_lowercase(),
        rare.to_ascii_uppercase(),
        h.get(from..h.len() - (n.len() - 1 - k))?,
    ) {
        let i = from + off - k;
        if h[i..i + n.len()].eq_ignore_ascii_case(n) {
            return Some(i);
        }
        from += off + 1;
    }
    None
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// The longest prefix of `s` whose bytes satisfy `ok` (ASCII only, so the cut
/// is a char boundary).
pub(crate) fn take_while(s: &str, ok: impl Fn(u8) -> bool) -> &str {
    let n = s.bytes().take_while(|&b| b.is_ascii() && ok(b)).count();
    &s[..n]
}

fn is_action_service_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'
}

fn is_action_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'*' || b == b'_' || b == b'-'
}

/// `eks:DescribeCluster` at the start of `s`.
pub(crate) fn leading_action(s: &str) -> Option<&str> {
    let service = take_while(s, is_action_service_byte);
    if service.is_empty() || !s[service.len()..].starts_with(':') {
        return None;
    }
    let name = take_while(&s[service.len() + 1..], is_action_name_byte);
    if name.is_empty()
        || !name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'*')
    {
        return None;
    }
    Some(&s[..service.len() + 1 + name.len()])
}

/// Strip sentence punctuation AWS, Terraform or a logger put after an ARN or
/// a name (`.`, `,`, `):`, quotes, brackets); a `)` stays when the token opened it.
pub(crate) fn trim_token(t: &str) -> &str {
    let mut t = t;
    loop {
        let before = t.len();
        t = t.trim_end_matches([
            '.', ',', ';', '"', '\'', '`', ']', '}', '\\', ':', '\u{2026}',
        ]);
        if t.ends_with(')') && t.matches('(').count() < t.matches(')').count() {
            t = &t[..t.len() - 1];
        }
        if t.len() == before {
            return t;
        }
    }
}

/// An ARN token at the start of `s` (up to whitespace or a quote).
fn leading_arn(s: &str) -> Option<&str> {
    if !s.starts_with("arn:") {
        return None;
    }
    // The token ends at whitespace or a quote, or where a logger's cut mark
    // glued to it starts (`role/eks-no...(truncated)`). One byte pass: ARNs
    // are on the hot path.
    let b = s.as_bytes();
    let mut end = s.len();
    for (i, &c) in b.iter().enumerate() {
        let stop = match c {
            b'"' | b'\'' | b'`' | b'\\' => true,
            c if c.is_ascii_whitespace() || c == 0x0b => true,
            b'.' | b'[' | b'(' | b'<' => CUT_MARKS.iter().any(|m| starts_with_ci(&s[i..], m)),
            c if c >= 0x80 && s.is_char_boundary(i) => {
                s[i..].chars().next().is_some_and(char::is_whitespace)
                    || CUT_MARKS.iter().any(|m| s[i..].starts_with(m))
            }
            _ => false,
        };
        if stop {
            end = i;
            break;
        }
    }
    let t = trim_token(&s[..end]);
    (t.len() > 4).then_some(t)
}

/// Where a bare resource name ends: before the reason, the next sentence or an SDK suffix.
const RESOURCE_STOPS: &[&str] = &[
    " because ",
    " with an explicit",
    " due to ",
    ". ",
    " (Service:",
    " (Request ID",
    ", ",
    "\"",
];

/// What the message says was denied on, borrowed from the line (the parse
/// allocates nothing; [`ResourceRef`] is made only for what is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResourceSlice<'a> {
    Arn(&'a str),
    Named(&'a str),
    This,
}

impl<'a> ResourceSlice<'a> {
    fn text(self) -> &'a str {
        match self {
            Self::Arn(a) | Self::Named(a) => a,
            Self::This => "this resource",
        }
    }

    fn to_ref(self) -> ResourceRef {
        match self {
            Self::Arn(a) => ResourceRef::Arn(a.to_owned()),
            Self::Named(n) => ResourceRef::Named(n.to_owned()),
            Self::This => ResourceRef::This,
        }
    }
}

fn parse_resource(rest: &str) -> (Option<ResourceSlice<'_>>, &str) {
    let r = rest.trim_start();
    if let Some(after) = r.strip_prefix("on this resource") {
        return (Some(ResourceSlice::This), after);
    }
    let Some(after) = r
        .strip_prefix("on resource:")
        .or_else(|| r.strip_prefix("on resource"))
    else {
        return (None, rest);
    };
    let after = after.trim_start();
    // AWS quotes some resources (S3): `on resource: "arn:aws:s3:::b/k"`.
    for quote in ['"', '`'] {
        if let Some(q) = after.strip_prefix(quote) {
            // A JSON-escaped quote (`\"`) ends it too.
            let end = q.find(quote).unwrap_or(q.len());
            let inner = q[..end].trim_end_matches('\\').trim();
            let tail = q.get(end + 1..).unwrap_or("");
            if inner.is_empty() {
                return (None, tail);
            }
            return (Some(classify_resource(inner)), tail);
        }
    }
    if let Some(q) = after.strip_prefix("\\\"") {
        let end = q.find("\\\"").unwrap_or(q.len());
        let inner = q[..end].trim();
        let tail = q.get(end + 2..).unwrap_or("");
        if !inner.is_empty() {
            return (Some(classify_resource(inner)), tail);
        }
    }
    if let Some(arn) = leading_arn(after) {
        return (Some(ResourceSlice::Arn(arn)), &after[arn.len()..]);
    }
    let end = RESOURCE_STOPS
        .iter()
        .filter_map(|s| after.find(s))
        .min()
        .unwrap_or(after.len());
    let name = trim_token(after[..end].trim());
    if name.is_empty() {
        return (None, &after[end..]);
    }
    (Some(ResourceSlice::Named(name)), &after[end..])
}

fn classify_resource(text: &str) -> ResourceSlice<'_> {
    if text.starts_with("arn:") {
        ResourceSlice::Arn(text)
    } else {
        ResourceSlice::Named(text)
    }
}

/// `identity-based policy` ... at the start of `s` (articles skipped).
fn leading_policy_type(s: &str) -> Option<(PolicyType, &str)> {
    let mut s = s.trim_start();
    for article in ["a ", "an ", "the "] {
        if starts_with_ci(s, article) {
            s = &s[article.len()..];
            break;
        }
    }
    TYPE_PHRASES
        .iter()
        .find(|(phrase, _)| starts_with_ci(s, phrase))
        .map(|(phrase, t)| (*t, &s[phrase.len()..]))
}

/// `: arn:aws:...` (or ` arn:...`) right after the reason.
fn trailing_policy_arn(s: &str) -> Option<&str> {
    let s = s.trim_start();
    let s = s.strip_prefix(':').unwrap_or(s).trim_start();
    leading_arn(s)
}

struct Reason<'a> {
    kind: DenialKind,
    policy_type: Option<PolicyType>,
    policy_arn: Option<&'a str>,
    transitive_scp: bool,
}

fn parse_reason(rest: &str) -> Reason<'_> {
    let mut reason = Reason {
        kind: DenialKind::Unspecified,
        policy_type: None,
        policy_arn: None,
        transitive_scp: false,
    };
    if let Some(i) = find_ci(rest, "explicit deny") {
        reason.kind = DenialKind::Explicit;
        let after = &rest[i + "explicit deny".len()..];
        let after_in = after.trim_start();
        if let Some(in_rest) = after_in.strip_prefix("in ")
            && let Some((t, tail)) = leading_policy_type(in_rest)
        {
            reason.policy_type = Some(t);
            let mut tail = tail;
            let transit = "transitively through a service control policy";
            if starts_with_ci(tail.trim_start(), transit) {
                reason.transitive_scp = true;
                tail = &tail.trim_start()[transit.len()..];
            }
            reason.policy_arn = trailing_policy_arn(tail);
        }
        return reason;
    }
    for lead in ["because no ", "because the "] {
        if let Some(i) = find_ci(rest, lead)
            && let Some((t, tail)) = leading_policy_type(&rest[i + lead.len()..])
        {
            reason.kind = DenialKind::Implicit;
            reason.policy_type = Some(t);
            // "... allows the eks:DescribeCluster action[: POLICY-ARN]"
            let tail = match find_ci(tail, " action") {
                Some(j) if j < 200 => &tail[j + " action".len()..],
                _ => tail,
            };
            reason.policy_arn = trailing_policy_arn(tail);
            return reason;
        }
    }
    reason
}

/// The authorization id of AWS's Access Troubleshooter, and its console region.
fn parse_authorization_id(seg: &str) -> (Option<String>, Option<String>) {
    let id_ok = |t: &str| t.len() >= 8 && t.bytes().all(|b| b.is_ascii_alphanumeric());
    let mut id = None;
    if let Some(i) = find_ci(seg, "authorization id:") {
        let t = take_while(seg[i + "authorization id:".len()..].trim_start(), |b| {
            b.is_ascii_alphanumeric()
        });
        if id_ok(t) {
            id = Some(t.to_owned());
        }
    }
    if id.is_none()
        && let Some(i) = find_static!(seg, "authorization-details/")
    {
        let t = take_while(&seg[i + "authorization-details/".len()..], |b| {
            b.is_ascii_alphanumeric()
        });
        if id_ok(t) {
            id = Some(t.to_owned());
        }
    }
    let region = id.as_ref().and_then(|_| {
        let i = seg.find("/iam/home?region=")?;
        let r = take_while(&seg[i + "/iam/home?region=".len()..], |b| {
            b.is_ascii_alphanumeric() || b == b'-'
        });
        (!r.is_empty()).then(|| r.to_owned())
    });
    (id, region)
}

pub(crate) const ENCODED: &str = "Encoded authorization failure message:";

/// The blob after `Encoded authorization failure message:`.
#[must_use]
pub fn parse_encoded_message(seg: &str) -> Option<String> {
    let i = find_ci(seg, ENCODED)?;
    let blob = take_while(seg[i + ENCODED.len()..].trim_start(), |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'=')
    });
    (blob.len() >= 16).then(|| blob.to_owned())
}

/// `An error occurred (CODE) when calling the OP operation` (AWS CLI),
/// `operation error EKS: DescribeCluster, ... AccessDeniedException:` (Go SDK),
/// `(Service: Eks, Status Code: 403, Error Code: AccessDeniedException` (Java SDK).
pub(crate) fn parse_wrapper(prefix: &str, suffix: &str) -> (Option<String>, Option<String>) {
    let mut code = None;
    let mut op = None;
    if let Some(i) = rfind_static!(prefix, "An error occurred (") {
        let rest = &prefix[i + "An error occurred (".len()..];
        if let Some(end) = rest.find(')') {
            let c = &rest[..end];
            if !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') {
                code = Some(c.to_owned());
            }
            let after = &rest[end..];
            if let Some(j) = after.find("when calling the ") {
                let o = take_while(&after[j + "when calling the ".len()..], |b| {
                    b.is_ascii_alphanumeric()
                });
                if !o.is_empty() {
                    op = Some(o.to_owned());
                }
            }
        }
    } else if let Some(i) = rfind_static!(prefix, "operation error ") {
        // operation error EKS: DescribeCluster, https response error StatusCode: 403, RequestID: x, AccessDeniedException: User: ...
        let rest = &prefix[i + "operation error ".len()..];
        if let Some(j) = rest.find(": ") {
            let o = take_while(&rest[j + 2..], |b| b.is_ascii_alphanumeric());
            if !o.is_empty() {
                op = Some(o.to_owned());
            }
        }
        let trimmed = prefix.trim_end().trim_end_matches(':');
        let last = trimmed.rsplit([' ', ',']).next().unwrap_or("");
        if last.ends_with("Exception") || last == "AccessDenied" || last.ends_with("Operation") {
            code = Some(last.to_owned());
        }
    }
    if code.is_none()
        && let Some(i) = find_static!(suffix, "Error Code: ")
    {
        let c = take_while(&suffix[i + "Error Code: ".len()..], |b| {
            b.is_ascii_alphanumeric() || b == b'.'
        });
        if !c.is_empty() {
            code = Some(c.to_owned());
        }
    }
    (code, op)
}

/// Nothing of the message follows: only whitespace and the closing quotes or
/// brackets of whatever held it (a JSON log field, a Terraform diagnostic).
fn stops_here(rest: &str) -> bool {
    rest.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '}' | ']' | ')' | '\\' | '│')
    })
    .is_empty()
}

/// Marks loggers and people put where they cut a value.
const CUT_MARKS: &[&str] = &[
    "...",
    "\u{2026}",
    "[truncated",
    "(truncated",
    "<truncated",
    "[...]",
    "<...>",
];

/// A truncation mark right after a value.
fn cut_mark(rest: &str) -> bool {
    let r = rest.trim_start();
    CUT_MARKS.iter().any(|m| starts_with_ci(r, m))
}

/// A longer name elsewhere in `text` that the last name of `arn` is a strict
/// prefix of: the ARN was cut (`cluster/prod-clu` beside `(prod-cluster)`).
fn longer_elsewhere(text: &str, arn: &str) -> Option<String> {
    let name = arn.rsplit(['/', ':']).next()?;
    if name.len() < 2 || name.contains('*') {
        return None;
    }
    let is_name = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(off) = text.get(from..).and_then(|t| t.find(name)) {
        let i = from + off;
        let end = i + name.len();
        from = end;
        let starts_word = i == 0 || !is_name(b[i - 1]);
        if !starts_word || !b.get(end).is_some_and(|&c| is_name(c)) {
            continue;
        }
        let longer = take_while(&text[i..], is_name);
        let longer = longer.trim_end_matches('.');
        if longer.len() > name.len() {
            return Some(longer.to_owned());
        }
    }
    None
}

/// Every access-denied message in `text` (a line, or a few lines joined).
#[must_use]
pub fn parse_denials(text: &str) -> Vec<Denial> {
    parse_denials_with(text)
}

/// A denial's head, borrowed from the text it was parsed from: principal
/// text, action, resource and reason. Enough to count a denial past the kept
/// limit, and made without allocating.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DenialHead<'a> {
    pub(crate) principal_text: Option<&'a str>,
    pub(crate) action: Option<&'a str>,
    resource: Option<ResourceSlice<'a>>,
    pub(crate) kind: Option<DenialKind>,
    pub(crate) policy_type: Option<PolicyType>,
    policy_arn: Option<&'a str>,
    transitive_scp: bool,
    ends_on: Option<&'static str>,
    cut_mark: bool,
}

impl<'a> DenialHead<'a> {
    /// As [`ResourceRef::text`]; empty without a resource.
    pub(crate) fn resource_text(&self) -> &'a str {
        self.resource.map_or("", ResourceSlice::text)
    }

    /// The owned [`Denial`] with these fields (the rest default).
    fn to_denial(self) -> Denial {
        Denial {
            principal_text: self.principal_text.map(str::to_owned),
            action: self.action.map(str::to_owned),
            resource: self.resource.map(ResourceSlice::to_ref),
            kind: self.kind,
            policy_type: self.policy_type,
            policy_arn: self.policy_arn.map(str::to_owned),
            transitive_scp: self.transitive_scp,
            ends_on: self.ends_on,
            cut_mark: self.cut_mark,
            ..Denial::default()
        }
    }
}

/// [`parse_denials`] without what only a diagnosis needs (the parsed
/// principal, the CLI wrapper, the encoded message, the authorization id):
/// principal text, action, resource and reason, borrowed from `text`, for
/// counting denials past the kept limit. A message without an action comes
/// back without one (the caller then parses in full). Calls `each` per
/// message; false when there is none.
pub(crate) fn for_each_denial_head<'a>(text: &'a str, mut each: impl FnMut(DenialHead<'a>)) {
    segments(text, |_, principal_at, hit, seg_end| {
        if let Some(h) = parse_head(text, principal_at, hit, seg_end) {
            each(h);
        }
    });
}

/// `s.contains(char::is_whitespace)`, byte-wise for ASCII text (the usual
/// principal) instead of decoding every character.
fn has_whitespace(s: &str) -> bool {
    if s.is_ascii() {
        // char::is_whitespace on ASCII: space and U+0009..=U+000D.
        s.bytes().any(|b| b == b' ' || (b'\t'..=b'\r').contains(&b))
    } else {
        s.contains(char::is_whitespace)
    }
}

/// The last `User: ` in `hay`: a SIMD scan back for its `U`, then a compare
/// (the reverse substring searcher has no SIMD path, and the `User: ` of a
/// denial stands a principal's length before its [`PERFORM`]).
fn rfind_user(hay: &str) -> Option<usize> {
    let b = hay.as_bytes();
    let mut end = b.len();
    while let Some(i) = memchr::memrchr(b'U', &b[..end]) {
        if b[i..].starts_with(b"User: ") {
            return Some(i);
        }
        end = i;
    }
    None
}

/// The messages in `text`: for each, where its segment starts, where its
/// `User: ` is, where its [`PERFORM`] is and where its segment ends.
fn segments(text: &str, mut each: impl FnMut(usize, Option<usize>, usize, usize)) {
    static F: std::sync::OnceLock<memchr::memmem::Finder<'static>> = std::sync::OnceLock::new();
    let finder = F.get_or_init(|| memchr::memmem::Finder::new(PERFORM));
    let mut hits = finder.find_iter(text.as_bytes()).peekable();
    let mut seg_start = 0;
    while let Some(hit) = hits.next() {
        // The segment of this message runs to the start of the next one.
        let next = hits.peek().copied();
        let principal_at = rfind_user(&text[seg_start..hit]).map(|i| seg_start + i);
        let seg_end = match next {
            Some(h) => rfind_user(&text[hit..h]).map_or(h, |i| hit + i).max(hit),
            None => text.len(),
        };
        each(seg_start, principal_at, hit, seg_end);
        seg_start = seg_end;
    }
}

fn parse_denials_with(text: &str) -> Vec<Denial> {
    let mut out = Vec::new();
    segments(text, |seg_start, principal_at, hit, seg_end| {
        if let Some(d) = parse_one(text, seg_start, principal_at, hit, seg_end) {
            out.push(d);
        }
    });
    out
}

/// The head of the message whose [`PERFORM`] is at `hit`.
fn parse_head(
    text: &str,
    principal_at: Option<usize>,
    hit: usize,
    seg_end: usize,
) -> Option<DenialHead<'_>> {
    // hit points at "ot authorized to perform"; the 'n'/'N' is one byte before.
    let not_at = hit.checked_sub(1)?;
    // Only "not"/"Not": anything else before "ot" (possibly the tail of a
    // multi-byte character) is not a denial.
    if !matches!(text.as_bytes().get(not_at), Some(b'n' | b'N')) {
        return None;
    }
    let mut d = DenialHead::default();
    if let Some(u) = principal_at {
        let p = text[u + "User: ".len()..not_at].trim_end();
        let p = p.strip_suffix("is").unwrap_or(p).trim();
        let p = trim_token(p.trim_matches(['"', '\'', '(']));
        if !p.is_empty() && !has_whitespace(p) && p.len() <= 2048 {
            d.principal_text = Some(p);
        }
    }
    let after = &text[hit + PERFORM.len()..seg_end];
    let colon = after.starts_with(':');
    let after = after.strip_prefix(':').unwrap_or(after).trim_start();
    let mut action = leading_action(after);
    if action.is_none() {
        // `perform: eks:` or `perform: eks` where the text stops: a cut action,
        // kept as written so the finding can say so.
        let frag = take_while(after, |b| is_action_service_byte(b) || b == b':');
        let frag = frag.trim_end_matches('.');
        if (colon || frag.contains(':'))
            && !frag.is_empty()
            && (stops_here(&after[frag.len()..]) || cut_mark(&after[frag.len()..]))
        {
            action = Some(frag);
        }
    }
    d.action = action;
    let rest = action.map_or(after, |a| &after[a.len()..]);
    if action.is_some() {
        if stops_here(rest) {
            d.ends_on = Some("action");
        } else if cut_mark(rest) {
            d.ends_on = Some("action");
            d.cut_mark = true;
        }
    }
    let (resource, rest) = parse_resource(rest);
    if let Some(ResourceSlice::Arn(_)) = resource
        && d.ends_on.is_none()
    {
        if stops_here(rest) {
            d.ends_on = Some("resource");
        } else if cut_mark(rest) {
            d.ends_on = Some("resource");
            d.cut_mark = true;
        }
    }
    d.resource = resource;
    let reason = parse_reason(rest);
    if action.is_some() {
        d.kind = Some(reason.kind);
        d.policy_type = reason.policy_type;
        d.policy_arn = reason.policy_arn;
        d.transitive_scp = reason.transitive_scp;
    }
    Some(d)
}

fn parse_one(
    text: &str,
    seg_start: usize,
    principal_at: Option<usize>,
    hit: usize,
    seg_end: usize,
) -> Option<Denial> {
    let head = parse_head(text, principal_at, hit, seg_end)?;
    let mut d = head.to_denial();
    if let Some(p) = head.principal_text {
        d.principal = Principal::parse(p).ok();
    }
    if let Some(ResourceSlice::Arn(a)) = head.resource
        && head.ends_on == Some("resource")
    {
        d.longer_elsewhere = longer_elsewhere(text, a);
    }
    let not_at = hit - 1;
    let seg = &text[seg_start..seg_end];
    let (id, region) = parse_authorization_id(seg);
    d.authorization_id = id;
    d.authorization_region = region;
    d.encoded_message = parse_encoded_message(seg);
    let prefix_start = principal_at.unwrap_or(not_at).min(not_at);
    let (code, op) = parse_wrapper(&text[..prefix_start], seg);
    d.error_code = code;
    d.operation = op;
    if d.action.is_none() && d.encoded_message.is_none() {
        return None;
    }
    if d.action.is_none() && d.principal_text.is_none() && d.encoded_message.is_none() {
        return None;
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Denial {
        let v = parse_denials(s);
        assert_eq!(v.len(), 1, "{s}: {v:?}");
        v.into_iter().next().unwrap()
    }

    #[test]
    fn cli_wrapped_eks_describe_cluster() {
        let d = one(
            "An error occurred (AccessDeniedException) when calling the DescribeCluster operation: User: arn:aws:iam::111122223333:user/user_name is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:region:111122223333:cluster/my-cluster",
        );
        assert_eq!(d.error_code.as_deref(), Some("AccessDeniedException"));
        assert_eq!(d.operation.as_deref(), Some("DescribeCluster"));
        assert_eq!(d.principal_kind(), Some(PrincipalKind::User));
        assert_eq!(d.action.as_deref(), Some("eks:DescribeCluster"));
        assert_eq!(
            d.resource,
            Some(ResourceRef::Arn(
                "arn:aws:eks:region:111122223333:cluster/my-cluster".into()
            ))
        );
        assert_eq!(d.denial_kind(), DenialKind::Unspecified);
        assert_eq!(d.policy_type, None);
    }

    #[test]
    fn every_documented_reason() {
        let cases: &[(&str, DenialKind, Option<PolicyType>)] = &[
            (
                "codecommit:ListRepositories because no service control policy allows the codecommit:ListRespositories action",
                DenialKind::Implicit,
                Some(PolicyType::ServiceControl),
            ),
            (
                "codecommit:ListRepositories with an explicit deny in a service control policy",
                DenialKind::Explicit,
                Some(PolicyType::ServiceControl),
            ),
            (
                "secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:* with an explicit deny in a resource control policy",
                DenialKind::Explicit,
                Some(PolicyType::ResourceControl),
            ),
            (
                "codecommit:ListRepositories because no VPC endpoint policy allows the codecommit:ListRepositories action",
                DenialKind::Implicit,
                Some(PolicyType::VpcEndpoint),
            ),
            (
                "codedeploy:ListDeployments on resource: arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:* with an explicit deny in a VPC endpoint policy",
                DenialKind::Explicit,
                Some(PolicyType::VpcEndpoint),
            ),
            (
                "codedeploy:ListDeployments on resource: arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:* because no permissions boundary allows the codedeploy:ListDeployments action",
                DenialKind::Implicit,
                Some(PolicyType::PermissionsBoundary),
            ),
            (
                "sagemaker:ListModels with an explicit deny in a permissions boundary",
                DenialKind::Explicit,
                Some(PolicyType::PermissionsBoundary),
            ),
            (
                "codecommit:ListRepositories because no session policy allows the codecommit:ListRepositories action",
                DenialKind::Implicit,
                Some(PolicyType::Session),
            ),
            (
                "codedeploy:ListDeployments on resource: arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:* with an explicit deny in a sessions policy",
                DenialKind::Explicit,
                Some(PolicyType::Session),
            ),
            (
                "secretsmanager:GetSecretValue because no resource-based policy allows the secretsmanager:GetSecretValue action",
                DenialKind::Implicit,
                Some(PolicyType::ResourceBased),
            ),
            (
                "secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:* with an explicit deny in a resource-based policy",
                DenialKind::Explicit,
                Some(PolicyType::ResourceBased),
            ),
            (
                "sts:AssumeRole because no role trust policy allows the sts:AssumeRole action",
                DenialKind::Implicit,
                Some(PolicyType::RoleTrust),
            ),
            // The IAM User Guide's own (typo'd) example.
            (
                "sts:AssumeRole because the role trust policy allows the sts:AssumeRole action",
                DenialKind::Implicit,
                Some(PolicyType::RoleTrust),
            ),
            (
                "sts:AssumeRole with an explicit deny in the role trust policy",
                DenialKind::Explicit,
                Some(PolicyType::RoleTrust),
            ),
            (
                "codecommit:ListRepositories because no identity-based policy allows the codecommit:ListRepositories action",
                DenialKind::Implicit,
                Some(PolicyType::IdentityBased),
            ),
            (
                "codedeploy:ListDeployments on resource: arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:* with an explicit deny in an identity-based policy",
                DenialKind::Explicit,
                Some(PolicyType::IdentityBased),
            ),
            (
                "ec2:RunInstances on resource: arn:aws:ec2:us-east-1:444455556666:volume/* with an explicit deny",
                DenialKind::Explicit,
                None,
            ),
            (
                "codecommit:ListRepositories due to an explicit deny in a Service Control Policy",
                DenialKind::Explicit,
                Some(PolicyType::ServiceControl),
            ),
        ];
        for (tail, kind, t) in cases {
            let d = one(&format!(
                "User: arn:aws:iam::777788889999:user/John is not authorized to perform: {tail}"
            ));
            assert_eq!(d.denial_kind(), *kind, "{tail}");
            assert_eq!(d.policy_type, *t, "{tail}");
        }
    }

    #[test]
    fn transitive_scp_and_policy_arn() {
        let d = one(
            "User: arn:aws:sts::111122223333:assumed-role/role-name/role-session-name is not authorized to perform: SNS:Publish on resource: arn:aws:sns:us-east-1:444455556666:role-name-2 with an explicit deny in a VPC endpoint policy transitively through a service control policy",
        );
        assert!(d.transitive_scp);
        assert_eq!(d.policy_type, Some(PolicyType::VpcEndpoint));
        assert_eq!(d.action.as_deref(), Some("SNS:Publish"));
        let d = one(
            "An error occurred (AccessDenied) when calling the ListRoles operation: User: arn:aws:iam::123456789012:user/Matt is not authorized to perform: iam:ListRoles on resource: arn:aws:iam::123456789012:role/* with an explicit deny in a service control policy: arn:aws:organizations::987654321098:policy/o-qv5af4abcd/service_control_policy/p-2kgnabcd",
        );
        assert_eq!(
            d.policy_arn.as_deref(),
            Some(
                "arn:aws:organizations::987654321098:policy/o-qv5af4abcd/service_control_policy/p-2kgnabcd"
            )
        );
        assert_eq!(d.resource_arn(), Some("arn:aws:iam::123456789012:role/*"));
    }

    #[test]
    fn authorization_id_and_console_link() {
        let d = one(
            "User: arn:aws:iam::123456789012:user/janedoe is not authorized to perform: iam:CreateInstanceProfile on resource: arn:aws:iam::123456789012:instance-profile/my-instance-profile with an explicit deny in an identity-based policy: arn:aws:iam::123456789012:policy/ExampleDenyPolicy. Go to https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#/authorization-details/EXAMPLE1a2b3c4d5e6f7g8h9i0j for complete details, or call the GetRequestAuthorizationDetails API with the following authorization id: EXAMPLE1a2b3c4d5e6f7g8h9i0j",
        );
        assert_eq!(
            d.policy_arn.as_deref(),
            Some("arn:aws:iam::123456789012:policy/ExampleDenyPolicy")
        );
        assert_eq!(
            d.authorization_id.as_deref(),
            Some("EXAMPLE1a2b3c4d5e6f7g8h9i0j")
        );
        assert_eq!(d.authorization_region.as_deref(), Some("us-east-1"));
    }

    #[test]
    fn quoted_bare_and_this_resources() {
        let d = one(
            "User: arn:aws:iam::123456789012:user/build-bot is not authorized to perform: s3:GetObject on resource: \"arn:aws:s3:::prod-artifacts/release.tar.gz\" because no identity-based policy allows the s3:GetObject action",
        );
        assert_eq!(
            d.resource_arn(),
            Some("arn:aws:s3:::prod-artifacts/release.tar.gz")
        );
        assert_eq!(d.denial_kind(), DenialKind::Implicit);
        let d = one(
            "User: arn:aws:iam::123456789012:user/tester is not authorized to perform: iam:PassRole on resource: role TestReadOnly with an explicit deny",
        );
        assert_eq!(
            d.resource,
            Some(ResourceRef::Named("role TestReadOnly".into()))
        );
        assert_eq!(d.denial_kind(), DenialKind::Explicit);
        let d = one(
            "User: arn:aws:iam::123456789012:user/x is not authorized to perform: kms:Decrypt on this resource because no resource-based policy allows the kms:Decrypt action",
        );
        assert_eq!(d.resource, Some(ResourceRef::This));
        assert_eq!(d.policy_type, Some(PolicyType::ResourceBased));
    }

    #[test]
    fn service_anonymous_and_encoded() {
        let d = one(
            "User: eks.amazonaws.com is not authorized to perform: kms:CreateGrant on resource: arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        );
        assert_eq!(d.principal_kind(), Some(PrincipalKind::Service));
        let d = one(
            "User: anonymous is not authorized to perform: s3:ListBucket on resource: arn:aws:s3:::bucket",
        );
        assert_eq!(d.principal_text.as_deref(), Some("anonymous"));
        assert!(d.principal.is_none());
        let d = one(
            "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized to perform this operation. User: arn:aws:sts::999888777666:assumed-role/ReadOnly/Tom is not authorized to perform: ec2:RunInstances on resource: arn:aws:ec2:us-east-1:999888777666:instance/* with an explicit deny in a service control policy. Encoded authorization failure message: XQ_jqde5rHje6j9P-qke7-HNpHWzSWvxYobhcCPSpfOmLTkOylRBKd0eE4Xx4U",
        );
        assert_eq!(d.error_code.as_deref(), Some("UnauthorizedOperation"));
        assert_eq!(d.policy_type, Some(PolicyType::ServiceControl));
        assert!(d.encoded_message.as_deref().unwrap().starts_with("XQ_jq"));
        let only = one(
            "You are not authorized to perform this operation. Encoded authorization failure message: 4Mvb-example_blob-0123456789abcdef",
        );
        assert!(only.action.is_none());
        assert!(only.encoded_message.is_some());
    }

    #[test]
    fn several_messages_on_one_line_and_go_sdk() {
        let v = parse_denials(
            "User: arn:aws:iam::111122223333:user/a is not authorized to perform: eks:ListClusters; User: arn:aws:iam::111122223333:user/b is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-east-1:111122223333:cluster/c",
        );
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].principal.as_ref().unwrap().name, "a");
        assert_eq!(
            v[1].resource_arn(),
            Some("arn:aws:eks:us-east-1:111122223333:cluster/c")
        );
        let d = one(
            "operation error EKS: DescribeCluster, https response error StatusCode: 403, RequestID: 0b8e, AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/dev/alice is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:eu-west-1:111122223333:cluster/prod",
        );
        assert_eq!(d.operation.as_deref(), Some("DescribeCluster"));
        assert_eq!(d.error_code.as_deref(), Some("AccessDeniedException"));
    }

    proptest::proptest! {
        #[test]
        fn find_ci_finds_what_a_lowercase_search_finds(
            hay in "[a-zA-Z :/.-]{0,60}",
            needle in "[a-zA-Z :]{1,6}",
        ) {
            let want = hay.to_ascii_lowercase().find(&needle.to_ascii_lowercase());
            proptest::prop_assert_eq!(find_ci(&hay, &needle), want);
        }
    }

    proptest::proptest! {
        #[test]
        fn has_whitespace_is_contains_whitespace(s in "[a-z:/ \t\u{b}\u{c}\r\n\u{85}\u{a0}\u{2028}]{0,20}") {
            proptest::prop_assert_eq!(has_whitespace(&s), s.contains(char::is_whitespace));
        }
    }

    #[test]
    fn not_a_denial() {
        assert!(
            parse_denials("the user is not authorized to perform this kind of thing").is_empty()
        );
        assert!(parse_denials("ot authorized to perform").is_empty());
        assert!(parse_denials("").is_empty());
        assert!(parse_denials("User: x \u{e9}ot authorized to perform: eks:X").is_empty());
    }
}
