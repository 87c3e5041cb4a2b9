//! Policy variables (`${aws:username}`, `${aws:PrincipalTag/team}`, the
//! escapes `${*}` `${?}` `${$}`, and defaults `${key, 'x'}`), as "IAM policy
//! elements: Variables and tags" documents them. They exist only under
//! `"Version": "2012-10-17"`; under 2008-10-17 (or no Version) `${...}` is
//! literal text.
//!
//! A variable's value is always literal: a `*` in a user name does not become
//! a wildcard. A variable whose key the request does not carry, and which has
//! no default, cannot be resolved: AWS then fails the statement; we report
//! the key instead of guessing.

use super::context::Context;
use super::pattern::{Pattern, Segment, split_wildcards};

/// One piece of a value that may hold variables.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Policy text (wildcards in it stay wildcards where the operator has them).
    Text(Box<str>),
    /// `${*}`, `${?}`, `${$}`: the literal character.
    Escaped(char),
    /// `${key}` or `${key, 'default'}`.
    Var {
        key: Box<str>,
        key_lc: Box<str>,
        default: Option<Box<str>>,
    },
}

/// A policy value with variables, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Box<[Part]>,
    /// The literal text before the first wildcard or variable: a value that
    /// does not start with it cannot match, whatever the variables hold.
    prefix: Box<str>,
}

impl Template {
    /// Parse `${...}` in `text`. `None` when the text has no variable or
    /// escape, so callers keep the faster static form.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        if !text.contains("${") {
            return None;
        }
        let mut parts = Vec::new();
        let mut rest = text;
        let mut any = false;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else { break };
            let inner = &after[..end];
            let part = match inner {
                "*" => Some(Part::Escaped('*')),
                "?" => Some(Part::Escaped('?')),
                "$" => Some(Part::Escaped('$')),
                _ => parse_var(inner),
            };
            match part {
                Some(p) => {
                    if start > 0 {
                        parts.push(Part::Text(rest[..start].into()));
                    }
                    parts.push(p);
                    any = true;
                    rest = &after[end + 1..];
                }
                None => {
                    // Not a variable: keep `${` as text and go on after it.
                    parts.push(Part::Text(rest[..start + 2].into()));
                    rest = after;
                }
            }
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.into()));
        }
        let prefix: String = match parts.first() {
            Some(Part::Text(t)) => t.chars().take_while(|c| !matches!(c, '*' | '?')).collect(),
            _ => String::new(),
        };
        any.then(|| Self {
            parts: parts.into_boxed_slice(),
            prefix: prefix.into(),
        })
    }

    /// The keys of the variables in this value.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { key, .. } => Some(&**key),
            _ => None,
        })
    }

    /// The value with variables replaced, as literal text (for operators
    /// without wildcards). `Err(key)` when a variable cannot be resolved.
    ///
    /// # Errors
    /// The first variable that cannot be resolved.
    pub fn resolve_text(&self, ctx: &Context) -> Result<String, Unresolved> {
        let mut out = String::new();
        for p in &*self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Escaped(c) => out.push(*c),
                Part::Var {
                    key,
                    key_lc,
                    default,
                } => out.push_str(lookup(ctx, key, key_lc, default.as_deref())?),
            }
        }
        Ok(out)
    }

    /// The value with variables replaced, as a wildcard pattern: wildcards
    /// in the policy text stay wildcards, variable values and escapes are
    /// literal.
    ///
    /// # Errors
    /// The key of the first variable the context cannot resolve.
    pub fn resolve_pattern(&self, ctx: &Context) -> Result<Pattern, Unresolved> {
        let mut segs = Vec::new();
        for p in &*self.parts {
            match p {
                Part::Text(t) => segs.extend(split_wildcards(t)),
                Part::Escaped(c) => segs.push(Segment::Lit(c.to_string().into())),
                Part::Var {
                    key,
                    key_lc,
                    default,
                } => segs.push(Segment::Lit(
                    lookup(ctx, key, key_lc, default.as_deref())?.into(),
                )),
            }
        }
        Ok(Pattern::from_segments(segs))
    }
}

/// Why a variable has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// The context does not give this key: the answer is unknown.
    Missing(String),
    /// The request is known not to carry the key (`aws:username` for a
    /// role session): AWS fails the element, it matches nothing.
    Absent,
}

/// A single-valued key's value, else the default, else why not.
/// Multivalued keys cannot be variables (AWS docs), so they do not resolve.
fn lookup<'a>(
    ctx: &'a Context,
    key: &str,
    key_lc: &str,
    default: Option<&'a str>,
) -> Result<&'a str, Unresolved> {
    match (ctx.get(key_lc), default) {
        (Some([one]), _) => Ok(one),
        (_, Some(d)) => Ok(d),
        (Some(_), None) => Err(Unresolved::Absent),
        (None, None) if ctx.is_absent(key_lc) => Err(Unresolved::Absent),
        (None, None) => Err(Unresolved::Missing(key.to_owned())),
    }
}

/// `aws:username` or `aws:username, 'default'` (spaces around either ignored).
fn parse_var(inner: &str) -> Option<Part> {
    let (key, default) = match inner.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d.strip_prefix('\'')?.strip_suffix('\'')?;
            (k.trim(), Some(d.into()))
        }
        None => (inner.trim(), None),
    };
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, '{' | '}' | '$' | '\'' | ','));
    valid.then(|| Part::Var {
        key: key.into(),
        key_lc: key.to_ascii_lowercase().into(),
        default,
    })
}

/// A value that may or may not hold variables: the matcher for `Resource`
/// and for wildcard condition operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValuePattern {
    Static(Pattern),
    Dynamic(Template),
}

impl ValuePattern {
    /// Compile; variables only when the policy version has them.
    #[must_use]
    pub fn new(text: &str, variables: bool) -> Self {
        match variables.then(|| Template::parse(text)).flatten() {
            Some(t) => Self::Dynamic(t),
            None => Self::Static(Pattern::new(text)),
        }
    }

    /// Does `text` match? `Err(key)` when a variable cannot be resolved.
    ///
    /// # Errors
    /// The key of the variable the context cannot resolve.
    pub fn matches(&self, text: &str, ctx: &Context) -> Result<bool, String> {
        match self {
            Self::Static(p) => Ok(p.matches(text)),
            Self::Dynamic(t) if !text.starts_with(&*t.prefix) => Ok(false),
            Self::Dynamic(t) => match t.resolve_pattern(ctx) {
                Ok(p) => Ok(p.matches(text)),
                Err(Unresolved::Absent) => Ok(false),
                Err(Unresolved::Missing(k)) => Err(k),
            },
        }
    }
}

/// A literal value that may hold variables (StringEquals and friends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueText {
    Static(Box<str>),
    Dynamic(Template),
}

impl ValueText {
    #[must_use]
    pub fn new(text: &str, variables: bool) -> Self {
        match variables.then(|| Template::parse(text)).flatten() {
            Some(t) => Self::Dynamic(t),
            None => Self::Static(text.into()),
        }
    }

    /// The text with variables replaced.
    ///
    /// # Errors
    /// The key of the variable the context cannot resolve.
    pub fn resolve<'a>(&'a self, ctx: &Context) -> Result<std::borrow::Cow<'a, str>, Unresolved> {
        match self {
            Self::Static(s) => Ok(std::borrow::Cow::Borrowed(s)),
            Self::Dynamic(t) => Ok(std::borrow::Cow::Owned(t.resolve_text(ctx)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> Context {
        let mut c = Context::default();
        for (k, v) in pairs {
            c.insert(k, v);
        }
        c
    }

    #[test]
    fn username_in_resource() {
        let p = ValuePattern::new("arn:aws:s3:::b/${aws:username}/*", true);
        let c = ctx(&[("aws:username", "alice")]);
        assert_eq!(p.matches("arn:aws:s3:::b/alice/x", &c), Ok(true));
        assert_eq!(p.matches("arn:aws:s3:::b/bob/x", &c), Ok(false));
        assert_eq!(
            p.matches("arn:aws:s3:::b/alice/x", &Context::default()),
            Err("aws:username".to_owned())
        );
    }

    #[test]
    fn key_is_case_insensitive_and_value_literal() {
        let p = ValuePattern::new("arn:aws:s3:::b/${AWS:UserName}", true);
        let c = ctx(&[("aws:username", "a*")]);
        assert_eq!(p.matches("arn:aws:s3:::b/a*", &c), Ok(true));
        assert_eq!(p.matches("arn:aws:s3:::b/abc", &c), Ok(false));
    }

    #[test]
    fn escapes_and_defaults() {
        let p = ValuePattern::new("a${*}b", true);
        assert_eq!(p.matches("a*b", &Context::default()), Ok(true));
        assert_eq!(p.matches("axb", &Context::default()), Ok(false));
        let t = ValueText::new("${aws:PrincipalTag/team , 'none' }", true);
        assert_eq!(t.resolve(&Context::default()).unwrap(), "none");
        let t = ValueText::new("${$}{x}${?}", true);
        assert_eq!(t.resolve(&Context::default()).unwrap(), "${x}?");
    }

    #[test]
    fn old_version_is_literal() {
        let p = ValuePattern::new("b/${aws:username}", false);
        assert_eq!(
            p.matches("b/${aws:username}", &Context::default()),
            Ok(true)
        );
    }

    #[test]
    fn absent_key_matches_nothing() {
        let mut c = Context::default();
        c.mark_absent("aws:username");
        let p = ValuePattern::new("b/${aws:username}/*", true);
        assert_eq!(p.matches("b/x/y", &c), Ok(false));
        let t = ValueText::new("${aws:username}", true);
        assert_eq!(t.resolve(&c), Err(Unresolved::Absent));
    }

    #[test]
    fn multivalued_key_does_not_resolve() {
        let mut c = Context::default();
        c.insert("aws:username", "a");
        c.insert("aws:username", "b");
        let t = ValueText::new("${aws:username}", true);
        assert!(t.resolve(&c).is_err());
    }
}
