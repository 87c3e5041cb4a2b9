//! The request context: condition keys and their values. Key names are
//! case-insensitive (stored lowercased); values keep their case. A key given
//! several times is multivalued; `KEY=[]` gives a key that is present with no
//! value (the empty set that `ForAllValues`/`ForAnyValue` document).

use std::collections::HashMap;

use super::error::PolicyError;

/// Condition keys and values of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    values: HashMap<Box<str>, Vec<String>>,
    /// Keys known not to be in the request (derived from the caller:
    /// `aws:username` for anything but an IAM user).
    absent: Vec<Box<str>>,
    /// `--absent-keys`: every key not given is absent from the request.
    all_absent: bool,
}

impl Context {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one value to `key` (multivalued when called again).
    pub fn insert(&mut self, key: &str, value: &str) {
        self.values
            .entry(key.to_ascii_lowercase().into())
            .or_default()
            .push(value.to_owned());
    }

    /// Mark `key` as present with no value.
    pub fn insert_empty(&mut self, key: &str) {
        self.values
            .entry(key.to_ascii_lowercase().into())
            .or_default();
    }

    /// Add `key=value` only when the operator gave no value for `key`.
    pub fn insert_default(&mut self, key: &str, value: &str) {
        if !self.contains(key) {
            self.insert(key, value);
        }
    }

    /// Record that the request does not carry `key` (unless a value is given).
    pub fn mark_absent(&mut self, key: &str) {
        if !self.contains(key) {
            self.absent.push(key.to_ascii_lowercase().into());
        }
    }

    /// Treat every key the context does not give as absent from the
    /// request (`policy eval --absent-keys`), instead of unknown: conditions
    /// then take AWS's answer for a missing key.
    pub fn set_all_absent(&mut self, on: bool) {
        self.all_absent = on;
    }

    /// Whether every key not given counts as absent (`--absent-keys`).
    #[must_use]
    pub fn all_absent(&self) -> bool {
        self.all_absent
    }

    /// Whether `key_lc` (lowercase) is known to be absent from the request.
    #[must_use]
    pub fn is_absent(&self, key_lc: &str) -> bool {
        if self.all_absent {
            return !self.values.contains_key(key_lc);
        }
        !self.absent.is_empty()
            && !self.values.contains_key(key_lc)
            && self.absent.iter().any(|k| &**k == key_lc)
    }

    /// Whether the context holds `key` (any case).
    #[must_use]
    pub fn contains(&self, key: &str) -> bool {
        self.values.contains_key(key.to_ascii_lowercase().as_str())
    }

    /// The values of a key given in lowercase; `None` when absent.
    #[must_use]
    pub fn get(&self, key_lc: &str) -> Option<&[String]> {
        self.values.get(key_lc).map(Vec::as_slice)
    }

    /// Parse one `--context KEY=VALUE` (or `KEY=[]`) into the context.
    ///
    /// # Errors
    /// No `=`, or an empty key.
    pub fn add_assignment(&mut self, text: &str) -> Result<(), PolicyError> {
        let Some((key, value)) = text.split_once('=') else {
            return Err(PolicyError::Context(format!(
                "{text:?}: expected KEY=VALUE (KEY=[] for a key present with no value)"
            )));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(PolicyError::Context(format!("{text:?}: empty key")));
        }
        if value == "[]" {
            self.insert_empty(key);
        } else {
            self.insert(key, value);
        }
        Ok(())
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments() {
        let mut c = Context::new();
        c.add_assignment("aws:TagKeys=a").unwrap();
        c.add_assignment("AWS:tagkeys=b=c").unwrap();
        c.add_assignment("aws:RequestTag/x=[]").unwrap();
        assert_eq!(c.get("aws:tagkeys").unwrap(), ["a", "b=c"]);
        assert_eq!(c.get("aws:requesttag/x").unwrap().len(), 0);
        assert!(c.add_assignment("novalue").is_err());
        assert!(c.add_assignment("=x").is_err());
    }
}
