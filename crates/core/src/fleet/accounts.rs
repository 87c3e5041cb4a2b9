//! Account lists from the operator: `--accounts ID,ID` and `--accounts-file F`
//! (ids separated by commas, spaces or newlines; `#` starts a comment;
//! quotes around an id are dropped, so a one-column CSV export reads too).

/// A list that could not be read: the line (1-based) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct AccountListError {
    pub line: usize,
    pub message: String,
}

/// Whether `s` is an AWS account id: exactly 12 ASCII digits.
#[must_use]
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account ids in `text`, in order, each once.
///
/// # Errors
/// A token that is not a 12-digit account id (with its line), or no id at all.
pub fn parse_account_list(text: &str) -> Result<Vec<String>, AccountListError> {
    let mut ids: Vec<String> = Vec::new();
    for (n, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        for token in line.split(|c: char| c == ',' || c == ';' || c.is_whitespace()) {
            let token = token.trim().trim_matches(|c| c == '"' || c == '\'');
            if token.is_empty() {
                continue;
            }
            if !is_account_id(token) {
                let shown: String = token.chars().take(40).collect();
                return Err(AccountListError {
                    line: n + 1,
                    message: format!(
                        "{shown:?} is not an AWS account id (12 digits, e.g. 123456789012)"
                    ),
                });
            }
            if !ids.iter().any(|i| i == token) {
                ids.push(token.to_owned());
            }
        }
    }
    if ids.is_empty() {
        return Err(AccountListError {
            line: 1,
            message: "no account id in the list".to_owned(),
        });
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn lists_in_every_separator_with_comments_and_quotes() {
        let cases: &[(&str, &[&str])] = &[
            (
                "111111111111,222222222222",
                &["111111111111", "222222222222"],
            ),
            (
                "# prod\n111111111111\n\n222222222222  # sandbox\n",
                &["111111111111", "222222222222"],
            ),
            (
                "\"111111111111\"\r\n'222222222222'",
                &["111111111111", "222222222222"],
            ),
            ("111111111111 111111111111", &["111111111111"]),
            (
                "\u{feff}111111111111;222222222222",
                &["111111111111", "222222222222"],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_account_list(text).unwrap(), *want, "{text:?}");
        }
    }

    #[test]
    fn bad_tokens_name_their_line() {
        let e = parse_account_list("111111111111\n12345\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("\"12345\""), "{e}");
        assert!(parse_account_list("1111111111112").is_err());
        assert!(parse_account_list("arn:aws:iam::111111111111:root").is_err());
        assert_eq!(parse_account_list("# nothing\n").unwrap_err().line, 1);
        assert!(parse_account_list("").is_err());
    }

    proptest! {
        #[test]
        fn never_panics_and_every_id_is_twelve_digits(text in "\\PC{0,200}") {
            if let Ok(ids) = parse_account_list(&text) {
                prop_assert!(!ids.is_empty());
                prop_assert!(ids.iter().all(|i| is_account_id(i)));
            }
        }

        #[test]
        fn joined_ids_read_back(ids in proptest::collection::vec("[0-9]{12}", 1..20), sep in "[,; \n]") {
            let text = ids.join(&sep);
            let mut want: Vec<String> = Vec::new();
            for i in &ids {
                if !want.contains(i) {
                    want.push(i.clone());
                }
            }
            prop_assert_eq!(parse_account_list(&text).unwrap(), want);
        }
    }
}
