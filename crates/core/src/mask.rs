//! Secret masking: the one mechanism every output passes through.
//!
//! eksdoctor never prints, logs or stores a secret access key or a session
//! token, whatever the input held. The binary and the dashboard hand every
//! string they are about to show to [`Redactor::redact`]. Detection is by
//! shape, so it needs no knowledge of where the text came from:
//!
//! * a 40-character run of the base64 alphabet with the character mix of a
//!   real secret (see [`looks_like_secret`]) becomes `****`;
//! * a base64 run of 100 characters or more that carries `/` or `+` (session
//!   tokens, `IQoJb3JpZ2lu...`, `FwoGZXIvYXdz...`) becomes
//!   `<session-token redacted>`;
//! * access key ids that arrived paired with a secret ([`Redactor::taint`])
//!   are masked everywhere, commands included; anything else tainted (a
//!   secret whose shape the rules above would miss) becomes `****`, even
//!   inside a longer token.
//!
//! * an EKS bearer token, `k8s-aws-v1.` + base64url, becomes
//!   [`EKS_TOKEN_MASK`].
//!
//! One exception keeps fixes pasteable: the blob after `Encoded
//! authorization failure message:` or `--encoded-message` is an STS-encoded
//! evaluation, not a credential, and only `aws sts decode-authorization-message`
//! can use it, so it is left intact.
//!
//! Key ids on their own are not secrets; tables show them through
//! [`mask_key_id`] (`AKIA************MPLE`).

use std::borrow::Cow;
use std::collections::BTreeSet;

/// What replaces a secret access key.
pub const SECRET_MASK: &str = "****";
/// What replaces a session token.
pub const TOKEN_MASK: &str = "<session-token redacted>";

/// What replaces the body of an EKS bearer token (`k8s-aws-v1.` + base64url).
pub const EKS_TOKEN_MASK: &str = "k8s-aws-v1.<eks-token redacted>";

/// Every `k8s-aws-v1.<base64url>` EKS token masked, if there is one.
fn mask_eks_tokens(text: &str) -> Option<String> {
    const PREFIX: &str = "k8s-aws-v1.";
    if !text.contains(PREFIX) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(PREFIX) {
        out.push_str(&rest[..at]);
        out.push_str(EKS_TOKEN_MASK);
        let body = &rest[at + PREFIX.len()..];
        let len = body
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
            .count();
        rest = &body[len..];
    }
    out.push_str(rest);
    Some(out)
}

/// `AKIAIOSFODNN7EXAMPLE` → `AKIA************MPLE`.
#[must_use]
pub fn mask_key_id(id: &str) -> String {
    let n = id.chars().count();
    if n <= 8 {
        return "*".repeat(n);
    }
    let head: String = id.chars().take(4).collect();
    let tail: String = id.chars().skip(n - 4).collect();
    format!("{head}{}{tail}", "*".repeat(n - 8))
}

/// [`mask_key_id`], with as many more of the last characters shown as tell
/// `id` apart from every one of `others` (keys of the same user):
/// `AKIAIOSFODNN7EXAMPLE` next to `AKIAI44QH8DHBEXAMPLE` becomes
/// `AKIA*********7EXAMPLE`. The first four and at least eight characters stay hidden
/// past what is needed; if only the hidden part differs, the shown end grows
/// until it does not (the whole id minus its prefix at most).
#[must_use]
pub fn mask_key_id_among(id: &str, others: &[&str]) -> String {
    let chars: Vec<char> = id.chars().collect();
    let n = chars.len();
    if n <= 8 {
        return mask_key_id(id);
    }
    let masked_with = |tail: usize| -> String {
        let head: String = chars[..4].iter().collect();
        let end: String = chars[n - tail..].iter().collect();
        format!("{head}{}{end}", "*".repeat(n - 4 - tail))
    };
    let mut tail = 4;
    while tail < n - 4 {
        let mine = masked_with(tail);
        let clash = others.iter().any(|o| {
            *o != id && o.chars().count() == n && {
                let oc: Vec<char> = o.chars().collect();
                oc[..4] == chars[..4] && oc[n - tail..] == chars[n - tail..]
            }
        });
        if !clash {
            return mine;
        }
        tail += 1;
    }
    masked_with(n - 4)
}

/// Whether `s` is a placeholder of a fix (`ACCESS_KEY_ID_1`, `ROLE_NAME`):
/// capitals, digits and at least one `_`, which no key id or secret has.
#[must_use]
pub fn is_placeholder(s: &str) -> bool {
    s.contains('_')
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether `s` is shaped like an access key id (`AKIA`/`ASIA`/... + 16).
#[must_use]
pub fn is_access_key_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && matches!(
            &b[..4],
            b"AKIA" | b"ASIA" | b"AIDA" | b"AROA" | b"ABIA" | b"ACCA"
        )
        && b[4..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'/' || b == b'+'
}

/// Whether a 40-character base64 run looks like a secret access key rather
/// than, say, a hex digest or a path: it must mix cases and digits or carry
/// `/` or `+`, and not be all hex.
#[must_use]
pub fn looks_like_secret(run: &[u8]) -> bool {
    if run.len() != 40 || !run.iter().all(|&b| is_b64(b)) {
        return false;
    }
    if run.iter().all(u8::is_ascii_hexdigit) {
        return false;
    }
    let upper = run.iter().any(u8::is_ascii_uppercase);
    let lower = run.iter().any(u8::is_ascii_lowercase);
    let digit = run.iter().any(u8::is_ascii_digit);
    let symbol = run.iter().any(|&b| b == b'/' || b == b'+');
    // No limit on `/`: a real secret may carry many, and masking a
    // 40-character path by mistake costs far less than showing a secret.
    lower && ((upper && (digit || symbol)) || (symbol && digit))
}

/// A run of base64 characters (`=` padding excluded) long enough to be a session token.
fn is_token_run(run: &[u8]) -> bool {
    run.len() >= 100 && run.iter().any(|&b| b == b'/' || b == b'+')
}

/// The markers after which an STS-encoded authorization message follows.
const ENCODED_MARKERS: &[&[u8]] = &[
    b"Encoded authorization failure message: ",
    b"Encoded authorization failure message:",
    b"--encoded-message ",
];

/// If an encoded authorization message starts at `i`, where it ends.
fn encoded_blob_end(bytes: &[u8], i: usize) -> Option<usize> {
    let before = &bytes[..i];
    if !ENCODED_MARKERS.iter().any(|m| before.ends_with(m)) {
        return None;
    }
    let len = bytes[i..]
        .iter()
        .take_while(|&&b| is_b64(b) || b == b'-' || b == b'_' || b == b'=')
        .count();
    Some(i + len)
}

/// Masks secrets in text about to be shown. Cheap to clone; shared by all outputs.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    tainted: BTreeSet<String>,
}

impl Redactor {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Mask this key id everywhere from now on (it arrived with its secret).
    /// A tainted string that is not a key id (a secret) is masked as `****`.
    ///
    /// Placeholders (`ACCESS_KEY_ID`, `ACCESS_KEY_ID_2`: capitals, digits and
    /// `_`) and strings under 16 characters (no key id or secret is so
    /// short) are never tainted, so a fix's placeholder is never masked.
    pub fn taint(&mut self, key_id: &str) {
        if key_id.chars().count() >= 16 && !is_placeholder(key_id) {
            self.tainted.insert(key_id.to_owned());
        }
    }

    fn mask_tainted(s: &str) -> String {
        if is_access_key_id(s) {
            mask_key_id(s)
        } else {
            SECRET_MASK.to_owned()
        }
    }

    /// Key ids tainted so far.
    pub fn tainted(&self) -> impl Iterator<Item = &str> {
        self.tainted.iter().map(String::as_str)
    }

    /// The text with every secret, session token and tainted key id masked.
    #[must_use]
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match mask_eks_tokens(text) {
            Some(masked) => Cow::Owned(self.redact_secrets(&masked).into_owned()),
            None => self.redact_secrets(text),
        }
    }

    fn redact_secrets<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let bytes = text.as_bytes();
        let mut out = String::new();
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            if !is_b64(bytes[i]) {
                i += 1;
                continue;
            }
            if let Some(end) = encoded_blob_end(bytes, i) {
                i = end;
                continue;
            }
            let start = i;
            while i < bytes.len() && is_b64(bytes[i]) {
                i += 1;
            }
            let run = &bytes[start..i];
            if is_token_run(run) {
                out.push_str(&text[copied..start]);
                out.push_str(TOKEN_MASK);
                copied = i;
                continue;
            }
            let (a, b) = (start, i);
            let core = &text[a..b];
            let masked = if looks_like_secret(core.as_bytes()) {
                Some(SECRET_MASK.to_owned())
            } else if self.tainted.contains(core) {
                Some(Self::mask_tainted(core))
            } else {
                None
            };
            if let Some(m) = masked {
                out.push_str(&text[copied..a]);
                out.push_str(&m);
                copied = b;
            }
        }
        let mut result = if copied == 0 {
            Cow::Borrowed(text)
        } else {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        };
        // Tainted strings inside longer tokens (`AKIA...:secret`, URL-ish text).
        for t in &self.tainted {
            if result.contains(t.as_str()) {
                result = Cow::Owned(result.replace(t.as_str(), &Self::mask_tainted(t)));
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 18: two keys masked alike, and placeholders masked by the redactor.
    #[test]
    fn look_alike_ids_are_told_apart_and_placeholders_kept() {
        let (a, b) = ("AKIAIOSFODNN7EXAMPLE", "AKIAI44QH8DHBEXAMPLE");
        assert_eq!(mask_key_id(a), mask_key_id(b));
        let (ma, mb) = (mask_key_id_among(a, &[b]), mask_key_id_among(b, &[a]));
        assert_ne!(ma, mb);
        assert_eq!(ma, "AKIA********7EXAMPLE");
        assert_eq!(mask_key_id_among(a, &[a]), mask_key_id(a));
        assert_eq!(
            mask_key_id_among(a, &["AKIAZZZZZZZZZZZZZZZZ"]),
            mask_key_id(a)
        );
        // Differing only in the fifth character: all but the prefix shown.
        let c = "AKIAJOSFODNN7EXAMPLE";
        assert_eq!(mask_key_id_among(a, &[c]), a);
        let mut r = Redactor::new();
        for t in ["ACCESS_KEY_ID", "ACCESS_KEY_ID_1", "KEY", "ID"] {
            r.taint(t);
        }
        let text = "--access-key-id ACCESS_KEY_ID_1 and ACCESS_KEY_ID_2 and ACCESS_KEY_ID";
        assert_eq!(r.redact(text), text);
        assert!(is_placeholder("ACCESS_KEY_ID_2") && !is_placeholder(a));
    }
    use proptest::prelude::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn masks_key_ids() {
        assert_eq!(mask_key_id("AKIAIOSFODNN7EXAMPLE"), "AKIA************MPLE");
        assert!(is_access_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(!is_access_key_id("AKIAIOSFODNN7EXAMPL"));
    }

    #[test]
    fn redacts_secret_in_ini_and_json() {
        let r = Redactor::new();
        let ini = format!("aws_secret_access_key={SECRET}\n");
        assert_eq!(r.redact(&ini), "aws_secret_access_key=****\n");
        let json = format!("{{\"SecretAccessKey\": \"{SECRET}\"}}");
        assert_eq!(r.redact(&json), "{\"SecretAccessKey\": \"****\"}");
    }

    #[test]
    fn secrets_with_many_slashes_are_masked() {
        let r = Redactor::new();
        for secret in [
            "a/aaa/a/aa0aAA+A/A/A+AaA/a+Aa0aAA/Aaa+A0",
            "+0a+0a0//AA0a000a+0aa/A0+A/a+/a0a/a00//A",
        ] {
            assert_eq!(
                r.redact(&format!("AKIA0000AA0AAAAA000A,{secret}")),
                "AKIA0000AA0AAAAA000A,****"
            );
        }
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let r = Redactor::new();
        for s in [
            "arn:aws:iam::111122223333:role/team/developers/eks-admin",
            "0123456789abcdef0123456789abcdef01234567",
            "docs/rules/authz/no-identity-policy/docs/rules/x",
            "AKIAIOSFODNN7EXAMPLE",
        ] {
            assert_eq!(r.redact(s), s);
        }
    }

    #[test]
    fn redacts_session_tokens_and_tainted_ids() {
        let token = format!(
            "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH{}",
            "A1b+".repeat(30)
        );
        let mut r = Redactor::new();
        assert_eq!(
            r.redact(&format!("token={token} end")),
            format!("token={TOKEN_MASK} end")
        );
        r.taint("AKIAIOSFODNN7EXAMPLE");
        assert_eq!(
            r.redact("aws iam delete-access-key --access-key-id AKIAIOSFODNN7EXAMPLE"),
            "aws iam delete-access-key --access-key-id AKIA************MPLE"
        );
    }

    #[test]
    fn tainted_secrets_are_masked_whole_and_inside_tokens() {
        let mut r = Redactor::new();
        let odd = "abcdefghijabcdefghijabcdefghijabcdefghij";
        r.taint(odd);
        r.taint("AKIAZ3EXAMPLEABCDEFG");
        assert_eq!(r.redact(&format!("k={odd}")), "k=****");
        assert_eq!(
            r.redact(&format!("AKIAZ3EXAMPLEABCDEFG:{odd}x")),
            "AKIA************DEFG:****x"
        );
    }

    #[test]
    fn encoded_authorization_messages_stay_pasteable() {
        let blob = format!(
            "{}-{}_{}",
            "A1b2C3d4/E5f6G7h8+".repeat(8),
            SECRET,
            "x".repeat(10)
        );
        let r = Redactor::new();
        let text = format!("Encoded authorization failure message: {blob}");
        assert_eq!(r.redact(&text), text);
        let cmd =
            format!("aws sts decode-authorization-message --encoded-message {blob} --query x");
        assert_eq!(r.redact(&cmd), cmd);
        // Elsewhere the same secret is masked.
        assert_eq!(r.redact(&format!("secret {SECRET}")), "secret ****");
    }

    #[test]
    fn eks_tokens_are_masked() {
        let r = Redactor::new();
        let token = "k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtZWFzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eQ";
        assert_eq!(
            r.redact(&format!(
                "Authorization: Bearer {token}\n{{\"token\":\"{token}\"}}"
            )),
            format!("Authorization: Bearer {EKS_TOKEN_MASK}\n{{\"token\":\"{EKS_TOKEN_MASK}\"}}")
        );
    }

    proptest! {
        #[test]
        fn never_lets_an_eks_token_through(
            body in "[A-Za-z0-9_-]{20,200}",
            before in "[ -~]{0,30}",
        ) {
            let token = format!("k8s-aws-v1.{body}");
            let red = Redactor::new().redact(&format!("{before}{token}")).into_owned();
            prop_assert!(!red.contains(&body));
        }

        #[test]
        fn never_lets_a_tainted_secret_through(
            secret in "[A-Za-z0-9/+]{40}",
            before in "[ -~]{0,30}",
            after in "[ -~]{0,30}",
        ) {
            let mut r = Redactor::new();
            r.taint(&secret);
            let text = format!("{before}{secret}{after}");
            let red = r.redact(&text).into_owned();
            prop_assert!(!red.contains(&secret));
        }

        #[test]
        fn never_lets_a_secret_after_a_label_through(
            secret in "[A-Za-z0-9/+]{40}",
            label in "(aws_secret_access_key ?= ?|AWS_SECRET_ACCESS_KEY=|\"SecretAccessKey\": \")",
        ) {
            prop_assume!(looks_like_secret(secret.as_bytes()));
            let text = format!("{label}{secret}\"");
            let red = Redactor::new().redact(&text).into_owned();
            prop_assert!(!red.contains(&secret));
        }

        #[test]
        fn never_lets_a_generated_secret_through(
            secret in "[A-Za-z0-9/+]{40}",
            before in "[ -~]{0,30}",
            after in "[ -~]{0,30}",
        ) {
            prop_assume!(looks_like_secret(secret.as_bytes()));
            let sep_before = if before.bytes().last().is_some_and(is_b64) { " " } else { "" };
            let sep_after = if after.bytes().next().is_some_and(is_b64) { " " } else { "" };
            let text = format!("{before}{sep_before}{secret}{sep_after}{after}");
            let red = Redactor::new().redact(&text).into_owned();
            prop_assert!(!red.contains(&secret));
        }

        #[test]
        fn redact_never_panics(s in "\\PC{0,300}") {
            let _ = Redactor::new().redact(&s);
        }
    }
}
