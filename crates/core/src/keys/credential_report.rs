//! The IAM credential report (`aws iam get-credential-report`): the decoded
//! CSV, or the CLI's JSON whose `Content` is the CSV in base64.
//!
//! The report lists every user (and the `<root_account>` row) with, per key
//! slot, whether the key is active, when it was created or last rotated, and
//! when, where and with which service it was last used. It carries no key ids;
//! [`super::merge`] matches its slots to `list-access-keys` output. AWS
//! regenerates it at most every four hours, so its status can lag.

use base64::Engine as _;

use super::KeysInputError;

/// The user name the report gives the account root user.
pub const ROOT_ACCOUNT: &str = "<root_account>";

/// One access-key slot (`access_key_1_*` or `access_key_2_*`) of a report row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportKeySlot {
    /// 1 or 2.
    pub slot: u8,
    pub active: bool,
    /// `access_key_N_last_rotated`: when the key was created (or last rotated).
    pub last_rotated: Option<jiff::Timestamp>,
    /// `None`: never used (`N/A`).
    pub last_used: Option<jiff::Timestamp>,
    pub last_used_region: Option<String>,
    pub last_used_service: Option<String>,
}

impl ReportKeySlot {
    /// Whether the slot holds a key at all: a key that exists is either
    /// active or has a creation date; an empty slot is `false` / `N/A`.
    #[must_use]
    pub fn has_key(&self) -> bool {
        self.active || self.last_rotated.is_some()
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub user: String,
    pub arn: String,
    pub user_creation_time: Option<jiff::Timestamp>,
    /// Slots that hold a key.
    pub keys: Vec<ReportKeySlot>,
    /// 1-based line in the CSV, for messages.
    pub line: usize,
}

impl ReportRow {
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.user == ROOT_ACCOUNT
    }
}

/// Whether `text` looks like the decoded CSV report (its header line).
#[must_use]
pub fn looks_like_csv(text: &str) -> bool {
    let first = text.trim_start_matches('\u{feff}').trim_start();
    first.starts_with("user,") || first.starts_with("\"user\",")
}

/// Decode the `Content` member of `aws iam get-credential-report` JSON.
///
/// # Errors
/// Content that is not base64 or not UTF-8.
pub fn decode_content(content: &str) -> Result<String, KeysInputError> {
    let compact: String = content.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| {
            KeysInputError::new(
                None,
                format!("credential report Content is not base64 ({e})"),
            )
        })?;
    String::from_utf8(bytes)
        .map_err(|_| KeysInputError::new(None, "credential report Content is not UTF-8 text"))
}

/// Parse the decoded CSV report.
///
/// # Errors
/// A missing `user` or key column, a row with the wrong number of fields, a
/// date that does not parse. Messages carry the CSV line.
pub fn parse_csv(text: &str) -> Result<Vec<ReportRow>, KeysInputError> {
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_idx, header_line)) = lines.next() else {
        return Err(KeysInputError::new(Some(1), "empty credential report"));
    };
    let header =
        split_csv_line(header_line).map_err(|m| KeysInputError::new(Some(header_idx + 1), m))?;
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let Some(user_col) = col("user") else {
        return Err(KeysInputError::new(
            Some(header_idx + 1),
            "not a credential report: no `user` column in the header",
        ));
    };
    let arn_col = col("arn");
    let created_col = col("user_creation_time");
    let slot_cols: Vec<(u8, [Option<usize>; 5])> = [1u8, 2]
        .iter()
        .map(|n| {
            let c = |suffix: &str| col(&format!("access_key_{n}_{suffix}"));
            (
                *n,
                [
                    c("active"),
                    c("last_rotated"),
                    c("last_used_date"),
                    c("last_used_region"),
                    c("last_used_service"),
                ],
            )
        })
        .collect();
    if slot_cols.iter().all(|(_, c)| c[0].is_none()) {
        return Err(KeysInputError::new(
            Some(header_idx + 1),
            "not a credential report: no access_key_1_active column in the header",
        ));
    }
    let mut rows = Vec::new();
    for (idx, line) in lines {
        let line_no = idx + 1;
        let fields = split_csv_line(line).map_err(|m| KeysInputError::new(Some(line_no), m))?;
        if fields.len() != header.len() {
            return Err(KeysInputError::new(
                Some(line_no),
                format!(
                    "{} fields where the header has {}",
                    fields.len(),
                    header.len()
                ),
            ));
        }
        let get = |c: Option<usize>| c.and_then(|c| fields.get(c)).map(|s| s.trim());
        let date = |c: Option<usize>, what: &str| -> Result<_, KeysInputError> {
            parse_report_date(get(c).unwrap_or("N/A"))
                .map_err(|m| KeysInputError::new(Some(line_no), format!("{what}: {m}")))
        };
        let mut keys = Vec::new();
        for (n, c) in &slot_cols {
            let Some(active_text) = get(c[0]) else {
                continue;
            };
            let active = match active_text.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" | "n/a" | "" => false,
                other => {
                    return Err(KeysInputError::new(
                        Some(line_no),
                        format!("access_key_{n}_active is {other:?}, expected true or false"),
                    ));
                }
            };
            let slot = ReportKeySlot {
                slot: *n,
                active,
                last_rotated: date(c[1], &format!("access_key_{n}_last_rotated"))?,
                last_used: date(c[2], &format!("access_key_{n}_last_used_date"))?,
                last_used_region: get(c[3]).and_then(not_na),
                last_used_service: get(c[4]).and_then(not_na),
            };
            if slot.has_key() {
                keys.push(slot);
            }
        }
        rows.push(ReportRow {
            user: get(Some(user_col)).unwrap_or_default().to_owned(),
            arn: get(arn_col).unwrap_or_default().to_owned(),
            user_creation_time: date(created_col, "user_creation_time")?,
            keys,
            line: line_no,
        });
    }
    Ok(rows)
}

/// `N/A`, `no_information`, `not_supported` and empty mean "no value".
fn not_na(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty()
        || t.eq_ignore_ascii_case("N/A")
        || t == "no_information"
        || t == "not_supported"
    {
        None
    } else {
        Some(t.to_owned())
    }
}

/// A report date (`2024-03-02T10:11:12+00:00`) or one of the "no value" markers.
fn parse_report_date(s: &str) -> Result<Option<jiff::Timestamp>, String> {
    match not_na(s) {
        None => Ok(None),
        Some(t) => parse_timestamp(&t).map(Some),
    }
}

/// An ISO 8601 timestamp as the AWS CLI prints it (offset or `Z`).
///
/// # Errors
/// Text that is not such a timestamp.
pub fn parse_timestamp(s: &str) -> Result<jiff::Timestamp, String> {
    s.trim()
        .parse::<jiff::Timestamp>()
        .map_err(|_| format!("{s:?} is not a date like 2024-03-02T10:11:12+00:00"))
}

/// Split one CSV line (RFC 4180 quoting; the report never needs multi-line fields).
fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    let mut in_quotes = false;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
        } else if c == ',' {
            fields.push(std::mem::take(&mut field));
            quoted = false;
        } else if c == '"' && field.is_empty() && !quoted {
            in_quotes = true;
            quoted = true;
        } else {
            field.push(c);
        }
    }
    if in_quotes {
        return Err("unterminated quoted field".to_owned());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    #[test]
    fn parses_rows_root_and_na() {
        let csv = format!(
            "{HEADER}\n\
<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,2026-11-01T00:00:00+00:00,not_supported,not_supported,true,true,2021-05-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
marymajor,arn:aws:iam::111122223333:user/marymajor,2023-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2024-03-02T10:11:12+00:00,2026-11-20T09:00:00+00:00,us-east-1,s3,false,2025-10-20T08:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n\
nokeys,arn:aws:iam::111122223333:user/nokeys,2023-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
        );
        let rows = parse_csv(&csv).unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows[0].is_root());
        assert_eq!(rows[0].keys.len(), 1);
        assert_eq!(rows[0].keys[0].last_used, None);
        let mary = &rows[1];
        assert_eq!(mary.keys.len(), 2);
        assert!(mary.keys[0].active);
        assert_eq!(mary.keys[0].last_used_service.as_deref(), Some("s3"));
        assert!(!mary.keys[1].active);
        assert_eq!(mary.line, 3);
        assert!(rows[2].keys.is_empty());
    }

    #[test]
    fn decodes_base64_content() {
        use base64::Engine as _;
        let csv = format!("{HEADER}\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(csv.as_bytes());
        assert_eq!(decode_content(&b64).unwrap(), csv);
        assert!(decode_content("!!!").is_err());
    }

    #[test]
    fn bad_rows_name_the_line() {
        let csv = format!("{HEADER}\nmary,arn,2023-01-01T00:00:00+00:00\n");
        let e = parse_csv(&csv).unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = parse_csv("user,arn\nx,y\n").unwrap_err();
        assert!(e.message.contains("no access_key_1_active"), "{e}");
        let bad_date = csv_row("mary", "true", "yesterday");
        let e = parse_csv(&bad_date).unwrap_err();
        assert!(e.message.contains("access_key_1_last_rotated"), "{e}");
    }

    fn csv_row(user: &str, active: &str, rotated: &str) -> String {
        format!(
            "{HEADER}\n{user},arn:aws:iam::111122223333:user/{user},2023-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,{active},{rotated},N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
        )
    }

    #[test]
    fn quoted_fields() {
        assert_eq!(
            split_csv_line("\"a,b\",c,\"d\"\"e\"").unwrap(),
            vec!["a,b", "c", "d\"e"]
        );
        assert!(split_csv_line("\"abc").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,400}") {
            let _ = parse_csv(&s);
            let _ = parse_csv(&format!("{HEADER}\n{s}"));
        }

        #[test]
        fn well_formed_rows_round_trip(
            user in "[a-zA-Z0-9+=,.@_-]{1,20}",
            active in proptest::bool::ANY,
            days in 0i64..5000,
        ) {
            prop_assume!(!user.contains(','));
            let ts = jiff::Timestamp::from_second(1_600_000_000 + days * 86_400).unwrap();
            let csv = csv_row(&user, if active { "true" } else { "false" }, &ts.to_string());
            let rows = parse_csv(&csv).unwrap();
            prop_assert_eq!(rows.len(), 1);
            prop_assert_eq!(&rows[0].user, &user);
            prop_assert_eq!(rows[0].keys.len(), 1);
            prop_assert_eq!(rows[0].keys[0].last_rotated, Some(ts));
            prop_assert_eq!(rows[0].keys[0].active, active);
        }
    }
}
