//! Saved AWS CLI output that `keys --input` reads: `aws iam list-access-keys`
//! JSON (one or several users, several outputs concatenated or in an array),
//! `aws iam create-access-key` output, and the credential report (JSON with
//! base64 `Content`, or the decoded CSV). The format is recognised from the
//! content, not the file name.

use serde_json::Value;

use super::KeysInputError;
use super::credential_report::{self, ReportRow};
use crate::snapshot::KeyStatus;

/// One key as `list-access-keys` lists it (no last-use data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedKey {
    pub user_name: String,
    pub access_key_id: String,
    pub status: KeyStatus,
    pub created: jiff::Timestamp,
}

/// Everything read from the inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedKeys {
    pub listed: Vec<ListedKey>,
    pub report: Vec<ReportRow>,
    /// Key ids that arrived next to their secret (`create-access-key` output):
    /// the output layer masks them everywhere, commands included.
    pub paired_with_secret: Vec<String>,
}

impl SavedKeys {
    /// Add what another input held.
    pub fn extend(&mut self, other: SavedKeys) {
        self.listed.extend(other.listed);
        self.report.extend(other.report);
        self.paired_with_secret.extend(other.paired_with_secret);
    }
}

/// Read one input's text.
///
/// # Errors
/// Malformed JSON or CSV (with the line), or JSON of another shape.
pub fn read(text: &str) -> Result<SavedKeys, KeysInputError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return Err(KeysInputError::new(None, "empty input"));
    }
    if credential_report::looks_like_csv(trimmed) {
        return Ok(SavedKeys {
            report: credential_report::parse_csv(text)?,
            ..SavedKeys::default()
        });
    }
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return Err(KeysInputError::new(
            Some(1),
            "neither JSON (`aws iam list-access-keys`, `aws iam get-credential-report`) nor the credential report CSV",
        ));
    }
    let mut saved = SavedKeys::default();
    let stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    for value in stream {
        let value = value.map_err(|e| {
            KeysInputError::new(
                Some(e.line()),
                format!("malformed JSON: {}", json_message(&e)),
            )
        })?;
        read_value(&value, &mut saved, 0)?;
    }
    Ok(saved)
}

/// serde_json's message without its own " at line L column C" suffix.
fn json_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

fn read_value(v: &Value, saved: &mut SavedKeys, depth: usize) -> Result<(), KeysInputError> {
    if depth > 4 {
        return Err(KeysInputError::new(None, "JSON nested too deeply"));
    }
    match v {
        Value::Array(items) => {
            for item in items {
                read_value(item, saved, depth + 1)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            if let Some(list) = map.get("AccessKeyMetadata") {
                let Value::Array(items) = list else {
                    return Err(KeysInputError::new(None, "AccessKeyMetadata is not a list"));
                };
                for item in items {
                    push_listed(item, saved)?;
                }
                Ok(())
            } else if let Some(key) = map.get("AccessKey") {
                push_listed(key, saved)?;
                Ok(())
            } else if let Some(content) = map.get("Content") {
                let Some(content) = content.as_str() else {
                    return Err(KeysInputError::new(
                        None,
                        "credential report Content is not a string",
                    ));
                };
                let csv = credential_report::decode_content(content)?;
                let rows = credential_report::parse_csv(&csv).map_err(|e| {
                    KeysInputError::new(
                        None,
                        match e.line {
                            Some(l) => {
                                format!("decoded credential report, line {l}: {}", e.message)
                            }
                            None => format!("decoded credential report: {}", e.message),
                        },
                    )
                })?;
                saved.report.extend(rows);
                Ok(())
            } else if map.contains_key("AccessKeyId") {
                push_listed(v, saved)?;
                Ok(())
            } else {
                Err(KeysInputError::new(
                    None,
                    "JSON without AccessKeyMetadata, AccessKey or Content: not `aws iam list-access-keys` or `aws iam get-credential-report` output",
                ))
            }
        }
        _ => Err(KeysInputError::new(
            None,
            "expected a JSON object from `aws iam list-access-keys`",
        )),
    }
}

fn push_listed(v: &Value, saved: &mut SavedKeys) -> Result<(), KeysInputError> {
    let field = |name: &str| v.get(name).and_then(Value::as_str);
    let Some(id) = field("AccessKeyId") else {
        return Err(KeysInputError::new(
            None,
            "an access key without AccessKeyId",
        ));
    };
    if v.get("SecretAccessKey").is_some() {
        saved.paired_with_secret.push(id.to_owned());
    }
    let status = match field("Status") {
        Some(s) if s.eq_ignore_ascii_case("Active") => KeyStatus::Active,
        Some(s) if s.eq_ignore_ascii_case("Inactive") => KeyStatus::Inactive,
        other => {
            return Err(KeysInputError::new(
                None,
                format!(
                    "access key {}: Status is {}, expected Active or Inactive",
                    crate::mask::mask_key_id(id),
                    other.map_or_else(|| "missing".to_owned(), |s| format!("{s:?}"))
                ),
            ));
        }
    };
    let created = field("CreateDate")
        .ok_or_else(|| {
            KeysInputError::new(
                None,
                format!("access key {}: no CreateDate", crate::mask::mask_key_id(id)),
            )
        })
        .and_then(|d| {
            credential_report::parse_timestamp(d).map_err(|m| {
                KeysInputError::new(
                    None,
                    format!(
                        "access key {}: CreateDate {m}",
                        crate::mask::mask_key_id(id)
                    ),
                )
            })
        })?;
    saved.listed.push(ListedKey {
        user_name: field("UserName").unwrap_or_default().to_owned(),
        access_key_id: id.to_owned(),
        status,
        created,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EXAMPLE: &str = include_str!("../../../../tests/fixtures/examples/list-access-keys.json");

    #[test]
    fn reads_the_example() {
        let s = read(EXAMPLE).unwrap();
        assert_eq!(s.listed.len(), 2);
        assert_eq!(s.listed[0].user_name, "marymajor");
        assert_eq!(s.listed[1].status, KeyStatus::Inactive);
        assert!(s.paired_with_secret.is_empty());
    }

    #[test]
    fn reads_concatenated_and_arrays() {
        let one = r#"{"AccessKeyMetadata":[{"UserName":"a","AccessKeyId":"AKIAAAAAAAAAAAAAAAAA","Status":"Active","CreateDate":"2025-01-01T00:00:00Z"}]}"#;
        let two = r#"{"AccessKeyMetadata":[{"UserName":"b","AccessKeyId":"AKIABBBBBBBBBBBBBBBB","Status":"Inactive","CreateDate":"2025-01-01T00:00:00+00:00"}],"IsTruncated":false}"#;
        assert_eq!(read(&format!("{one}\n{two}")).unwrap().listed.len(), 2);
        assert_eq!(read(&format!("{one}{two}")).unwrap().listed.len(), 2);
        assert_eq!(read(&format!("[{one},{two}]")).unwrap().listed.len(), 2);
    }

    #[test]
    fn create_access_key_output_taints_the_id() {
        let text = r#"{"AccessKey":{"UserName":"a","AccessKeyId":"AKIAAAAAAAAAAAAAAAAA","Status":"Active","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","CreateDate":"2025-01-01T00:00:00Z"}}"#;
        let s = read(text).unwrap();
        assert_eq!(s.paired_with_secret, vec!["AKIAAAAAAAAAAAAAAAAA"]);
    }

    #[test]
    fn malformed_json_names_the_line() {
        let e = read("{\n  \"AccessKeyMetadata\": [\n    {,\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.to_string().starts_with("line 3: malformed JSON"), "{e}");
        assert!(read(r#"{"Users": []}"#).is_err());
        assert!(read("hello").is_err());
        assert!(read("").is_err());
        let e = read(r#"{"AccessKeyMetadata":[{"AccessKeyId":"AKIAAAAAAAAAAAAAAAAA","Status":"On","CreateDate":"x"}]}"#).unwrap_err();
        assert!(e.message.contains("Status"), "{e}");
    }

    proptest! {
        #[test]
        fn read_never_panics(s in "\\PC{0,300}") {
            let _ = read(&s);
        }

        #[test]
        fn read_never_panics_on_jsonish(s in "[\\[\\]{}\",:a-zA-Z0-9 ]{0,200}") {
            let _ = read(&format!("{{\"AccessKeyMetadata\": [{s}"));
            let _ = read(&s);
        }
    }
}
