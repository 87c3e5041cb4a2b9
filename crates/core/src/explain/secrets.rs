//! Secret access keys pasted into the input (keys/secret-in-input) and AWS's
//! documentation placeholders used as credentials (keys/example-key).
//!
//! A secret is a 40-character base64 run that follows a secret-key label
//! (`aws_secret_access_key`, `AWS_SECRET_ACCESS_KEY`, `"SecretAccessKey"`,
//! ...) or that stands on the same line as an access key id (CSV credential
//! files, `AKIA... wJalr...`). Its key id is the one on the same line, else
//! the nearest one within [`PAIR_WINDOW`] lines before or after: that id is
//! then tainted so every output masks it, commands included.

use memchr::memmem;

use crate::mask::{is_access_key_id, looks_like_secret};

/// AWS's documentation placeholders.
pub const EXAMPLE_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
pub const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// Every placeholder key id of AWS's documentation.
pub const EXAMPLE_KEY_IDS: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "AKIAI44QH8DHBEXAMPLE",
    "ASIAIOSFODNN7EXAMPLE",
];

/// AWS's documentation secrets all end so (`wJalr...EXAMPLEKEY`, `je7Mt...EXAMPLEKEY`).
#[must_use]
pub fn is_example_secret(s: &str) -> bool {
    s.ends_with("EXAMPLEKEY")
}

/// How many lines apart a key id and its secret may stand.
pub const PAIR_WINDOW: u64 = 8;

const SECRET_LABELS: &[&str] = &[
    "secret_access_key",
    "secretaccesskey",
    "secret access key",
    "secret-access-key",
    "aws_secret_key",
    "secret_key",
    "secretkey",
];

const KEY_ID_LABELS: &[&str] = &[
    "access_key_id",
    "accesskeyid",
    "access key id",
    "access-key-id",
];

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'/' || b == b'+'
}

/// A secret (or the example placeholder) seen in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSighting {
    /// The line it was on (1-based).
    pub line: u64,
    /// The secret itself: kept only to mask it, never shown.
    pub secret: String,
    /// Its key id, once paired.
    pub key_id: Option<String>,
    /// The documentation placeholder rather than a real secret.
    pub example: bool,
}

/// What one line told the scanner.
#[derive(Debug, Default)]
pub struct LineSecrets {
    /// Sightings completed by this line (paired, or given up on).
    pub done: Vec<SecretSighting>,
    /// The example key id used as a credential, on this line.
    pub example_key_id: bool,
    /// The line holds an access key id (so a repeat of it is not counted blind).
    pub key_ids: bool,
}

/// Streaming state: recent key ids and secrets waiting for their key id.
#[derive(Debug, Default)]
pub struct SecretScanner {
    recent_ids: Vec<(u64, String)>,
    pending: Vec<SecretSighting>,
}

fn id_finders() -> &'static (memmem::Finder<'static>, memmem::Finder<'static>) {
    static F: std::sync::OnceLock<(memmem::Finder<'static>, memmem::Finder<'static>)> =
        std::sync::OnceLock::new();
    F.get_or_init(|| (memmem::Finder::new(b"AKIA"), memmem::Finder::new(b"ASIA")))
}

fn secret_finder() -> &'static memmem::Finder<'static> {
    static F: std::sync::OnceLock<memmem::Finder<'static>> = std::sync::OnceLock::new();
    F.get_or_init(|| memmem::Finder::new(b"secret"))
}

/// Access key ids (AKIA/ASIA + 16) standing as whole words in `line`.
#[must_use]
pub fn key_ids(line: &str) -> Vec<&str> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let (akia, asia) = id_finders();
    for finder in [akia, asia] {
        for i in finder.find_iter(b) {
            let end = i + 20;
            if end > b.len() {
                continue;
            }
            let before_ok = i == 0 || !b[i - 1].is_ascii_alphanumeric();
            let after_ok = end == b.len() || !b[end].is_ascii_alphanumeric();
            // Check the bytes before slicing: `end` may fall inside a
            // multi-byte character (found by fuzzing).
            let ascii = b[i..end].iter().all(u8::is_ascii_alphanumeric);
            if before_ok && after_ok && ascii && is_access_key_id(&line[i..end]) {
                out.push(&line[i..end]);
            }
        }
    }
    out
}

/// 40-character secrets on the line: after a label (any shape), or anywhere
/// when shaped like a secret and `anywhere` is set.
fn secrets_in(line: &str, lower: &str, anywhere: bool) -> Vec<String> {
    let b = line.as_bytes();
    let mut out: Vec<String> = Vec::new();
    for label in SECRET_LABELS {
        for i in memmem::find_iter(lower.as_bytes(), label.as_bytes()) {
            let mut j = i + label.len();
            // `= "`, `: `, `":"`, `=\"`, `\t`.
            while j < b.len()
                && matches!(
                    b[j],
                    b' ' | b'\t' | b'"' | b'\'' | b':' | b'=' | b',' | b'\\'
                )
            {
                j += 1;
            }
            let start = j;
            while j < b.len() && is_b64(b[j]) {
                j += 1;
            }
            if j - start == 40 {
                let s = &line[start..j];
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_owned());
                }
            }
        }
    }
    if anywhere {
        let mut i = 0;
        while i < b.len() {
            if !is_b64(b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && is_b64(b[i]) {
                i += 1;
            }
            let run = &b[start..i];
            // Next to a key id any 40-character run counts unless it is
            // plainly not random (all hex, or letters only): a real secret
            // may, rarely, miss the shape rules the redactor uses elsewhere.
            let plausible = run.len() == 40
                && !run.iter().all(u8::is_ascii_hexdigit)
                && !run.iter().all(u8::is_ascii_alphabetic);
            if looks_like_secret(run) || plausible {
                let s = &line[start..i];
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_owned());
                }
            }
        }
    }
    out
}

impl SecretScanner {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Scan one line (1-based `line_no`); `lower` is its ASCII-lowercase copy.
    pub fn scan(&mut self, line_no: u64, line: &str, lower: &str) -> LineSecrets {
        let ids = key_ids(line);
        let mut out = LineSecrets {
            key_ids: !ids.is_empty(),
            ..LineSecrets::default()
        };
        let labelled = secret_finder().find(lower.as_bytes()).is_some()
            && SECRET_LABELS.iter().any(|l| lower.contains(l));
        let secrets = if ids.is_empty() && !labelled {
            Vec::new()
        } else {
            secrets_in(line, lower, !ids.is_empty() || labelled)
        };
        if ids.iter().any(|i| EXAMPLE_KEY_IDS.contains(i))
            && (KEY_ID_LABELS.iter().any(|l| lower.contains(l))
                || lower.contains("aws_access_key")
                || !secrets.is_empty())
        {
            out.example_key_id = true;
        }
        // Secrets waiting for a key id take the first one that shows up.
        if let Some(id) = ids.first() {
            for mut p in self.pending.drain(..) {
                p.key_id = Some((*id).to_owned());
                out.done.push(p);
            }
        }
        for secret in secrets {
            let example = is_example_secret(&secret);
            let key_id = ids.first().map(|s| (*s).to_owned()).or_else(|| {
                self.recent_ids
                    .iter()
                    .rev()
                    .find(|(l, _)| line_no.saturating_sub(*l) <= PAIR_WINDOW)
                    .map(|(_, id)| id.clone())
            });
            let sighting = SecretSighting {
                line: line_no,
                secret,
                key_id,
                example,
            };
            if sighting.key_id.is_some() {
                out.done.push(sighting);
            } else {
                self.pending.push(sighting);
            }
        }
        for id in ids {
            self.recent_ids.retain(|(_, i)| i != id);
            self.recent_ids.push((line_no, id.to_owned()));
        }
        self.recent_ids
            .retain(|(l, _)| line_no.saturating_sub(*l) <= PAIR_WINDOW);
        // Secrets that waited too long stand alone.
        let (expired, keep): (Vec<_>, Vec<_>) = self
            .pending
            .drain(..)
            .partition(|p| line_no.saturating_sub(p.line) > PAIR_WINDOW);
        self.pending = keep;
        out.done.extend(expired);
        out
    }

    /// Whether nothing is pending (lets callers skip unflagged lines).
    #[must_use]
    pub fn idle(&self) -> bool {
        self.pending.is_empty()
    }

    /// The end of the input: secrets still waiting stand alone.
    pub fn finish(&mut self) -> Vec<SecretSighting> {
        self.recent_ids.clear();
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(text: &str) -> (Vec<SecretSighting>, bool) {
        let mut s = SecretScanner::new();
        let mut done = Vec::new();
        let mut example = false;
        for (n, line) in text.lines().enumerate() {
            let r = s.scan(n as u64 + 1, line, &line.to_ascii_lowercase());
            done.extend(r.done);
            example |= r.example_key_id;
        }
        done.extend(s.finish());
        (done, example)
    }

    const REAL: &str = "Zq3v9Kx2LmN8pR4tW6yB1cD5fG7hJ0kQ2sU4vX6z";

    #[test]
    fn credentials_file_pairs_id_and_secret() {
        let (v, _) = scan_all(&format!(
            "[default]\naws_access_key_id = AKIAZ3EXAMPLEABCDEFG\naws_secret_access_key = {REAL}\n"
        ));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].key_id.as_deref(), Some("AKIAZ3EXAMPLEABCDEFG"));
        assert_eq!(v[0].line, 3);
        assert!(!v[0].example);
    }

    #[test]
    fn secret_before_its_id_and_alone() {
        let (v, _) = scan_all(&format!(
            "export AWS_SECRET_ACCESS_KEY={REAL}\nexport AWS_ACCESS_KEY_ID=ASIAZ3EXAMPLEABCDEFG\n"
        ));
        assert_eq!(v[0].key_id.as_deref(), Some("ASIAZ3EXAMPLEABCDEFG"));
        let (v, _) = scan_all(&format!("secret_key: {REAL}\n"));
        assert_eq!(v.len(), 1);
        assert!(v[0].key_id.is_none());
    }

    #[test]
    fn csv_and_json_and_example() {
        let (v, _) = scan_all(&format!(
            "Access key ID,Secret access key\nAKIAZ3EXAMPLEABCDEFG,{REAL}\n"
        ));
        assert_eq!(v.len(), 1);
        let (v, ex) = scan_all(&format!(
            "{{\"AccessKey\": {{\"AccessKeyId\": \"{EXAMPLE_KEY_ID}\", \"SecretAccessKey\": \"{EXAMPLE_SECRET}\"}}}}"
        ));
        assert!(v[0].example);
        assert!(ex);
    }

    #[test]
    fn key_id_prefix_before_multibyte_text_does_not_panic() {
        // The fuzzer's crash: an AKIA prefix whose 20th byte is inside a character.
        let line = "User: arn:aws:iam::AKIAZ3EXAMPL\u{fffd}\u{fffd}\u{fffd}etSecretValue action";
        assert!(key_ids(line).is_empty());
        let mut s = SecretScanner::new();
        let _ = s.scan(1, line, &line.to_ascii_lowercase());
    }

    #[test]
    fn ordinary_text_has_no_secret() {
        let (v, ex) = scan_all(
            "AKIAIOSFODNN7EXAMPLE is the documentation example\nsha1 0123456789abcdef0123456789abcdef01234567\n",
        );
        assert!(v.is_empty());
        assert!(!ex);
    }
}
