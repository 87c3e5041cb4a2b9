//! Wildcard patterns as IAM matches them: `*` matches any run of characters
//! (also none, also across `/` and `:`), `?` exactly one character.
//!
//! Patterns are split once, at compile time, into literal runs and wildcards,
//! so matching a request allocates nothing.

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal text.
    Lit(Box<str>),
    /// `*`: any run of characters.
    Star,
    /// `?`: one character.
    Quest,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// `*` alone: matches everything.
    Any,
    /// No wildcard at all.
    Exact(Box<str>),
    /// `prefix*`: the commonest shape (`eks:Describe*`, `arn:aws:s3:::b/*`).
    Prefix(Box<str>),
    /// Anything else.
    Glob(Box<[Segment]>),
}

impl Pattern {
    /// Compile `text`, where `*` and `?` are wildcards.
    #[must_use]
    pub fn new(text: &str) -> Self {
        Self::from_segments(split_wildcards(text))
    }

    /// Compile already-split segments (used after policy variables are resolved).
    #[must_use]
    pub fn from_segments(mut segs: Vec<Segment>) -> Self {
        merge_stars(&mut segs);
        match segs.as_slice() {
            [] => Self::Exact("".into()),
            [Segment::Star] => Self::Any,
            [Segment::Lit(l)] => Self::Exact(l.clone()),
            [Segment::Lit(l), Segment::Star] => Self::Prefix(l.clone()),
            _ => Self::Glob(segs.into_boxed_slice()),
        }
    }

    /// Does `text` match? Case-sensitive; callers lowercase both sides for
    /// case-insensitive matching.
    #[must_use]
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(e) => &**e == text,
            Self::Prefix(p) => text.starts_with(&**p),
            Self::Glob(segs) => glob_match(segs, text.as_bytes()),
        }
    }
}

/// Split text into literal runs and `*`/`?` wildcards.
#[must_use]
pub fn split_wildcards(text: &str) -> Vec<Segment> {
    let mut segs = Vec::new();
    let mut lit = String::new();
    for c in text.chars() {
        match c {
            '*' | '?' => {
                if !lit.is_empty() {
                    segs.push(Segment::Lit(std::mem::take(&mut lit).into()));
                }
                segs.push(if c == '*' {
                    Segment::Star
                } else {
                    Segment::Quest
                });
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        segs.push(Segment::Lit(lit.into()));
    }
    segs
}

/// Join adjacent literals and collapse runs of `*` (they match the same).
fn merge_stars(segs: &mut Vec<Segment>) {
    let mut out: Vec<Segment> = Vec::with_capacity(segs.len());
    for s in segs.drain(..) {
        match (out.last_mut(), s) {
            (Some(Segment::Star), Segment::Star) => {}
            (Some(Segment::Lit(prev)), Segment::Lit(l)) => {
                let mut joined = String::with_capacity(prev.len() + l.len());
                joined.push_str(prev);
                joined.push_str(&l);
                *prev = joined.into();
            }
            (_, s) => out.push(s),
        }
    }
    *segs = out;
}

/// Length in bytes of the UTF-8 character starting with byte `b`.
fn char_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Greedy matching with backtracking to the last `*`: linear for the
/// patterns policies use, never recursive.
fn glob_match(segs: &[Segment], text: &[u8]) -> bool {
    let (mut si, mut ti) = (0usize, 0usize);
    // (segment after the last star, text position the star now covers up to)
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(seg) = segs.get(si) {
            match seg {
                Segment::Star => {
                    star = Some((si + 1, ti));
                    si += 1;
                    continue;
                }
                Segment::Quest if ti < text.len() => {
                    ti = (ti + char_len(text[ti])).min(text.len());
                    si += 1;
                    continue;
                }
                Segment::Lit(l) if text.get(ti..).is_some_and(|t| t.starts_with(l.as_bytes())) => {
                    ti += l.len();
                    si += 1;
                    continue;
                }
                _ => {}
            }
        } else if ti == text.len() {
            return true;
        }
        match star {
            Some((after, covered)) if covered < text.len() => {
                let next = (covered + char_len(text[covered])).min(text.len());
                star = Some((after, next));
                si = after;
                ti = next;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(p: &str, t: &str) -> bool {
        Pattern::new(p).matches(t)
    }

    #[test]
    fn shapes() {
        assert_eq!(Pattern::new("*"), Pattern::Any);
        assert_eq!(Pattern::new("**"), Pattern::Any);
        assert_eq!(
            Pattern::new("eks:Describe*"),
            Pattern::Prefix("eks:Describe".into())
        );
        assert!(matches!(Pattern::new("a*b"), Pattern::Glob(_)));
    }

    #[test]
    fn wildcards() {
        assert!(m("eks:Describe*", "eks:DescribeCluster"));
        assert!(m("eks:*Cluster", "eks:DescribeCluster"));
        assert!(!m("eks:*Cluster", "eks:DescribeClusters"));
        assert!(m("s3:Get?bject", "s3:GetObject"));
        assert!(!m("s3:Get?bject", "s3:GetObjject"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(m("a*b*c", "abc"));
        assert!(!m("a*b*c", "acb"));
        assert!(m("*", ""));
        assert!(!m("?", ""));
        assert!(m("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y"));
        assert!(m("a?c", "aéc"));
        assert!(m("*ab", "aab"));
        assert!(m("*a*a", "aaa"));
    }

    /// Reference: classic char-level recursive matcher.
    fn naive(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (None, Some(_)) => false,
            (Some('*'), _) => naive(&p[1..], t) || (!t.is_empty() && naive(p, &t[1..])),
            (Some('?'), Some(_)) => naive(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => naive(&p[1..], &t[1..]),
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn agrees_with_naive(p in "[ab*?]{0,8}", t in "[ab]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(Pattern::new(&p).matches(&t), naive(&pc, &tc));
        }
    }
}
