//! `policy eval`: offline IAM policy evaluation that explains its decision.
//!
//! Policies are parsed and compiled once ([`Policy::parse`]) into a
//! [`PolicySet`]; each [`Request`] (action, resource, caller, condition
//! context) is then evaluated with [`evaluate`], which returns an
//! [`Evaluation`]: the [`Decision`], the statements that applied, the
//! condition keys that were missing, and the value of every step of AWS's
//! evaluation logic. [`explain::reasons`] turns that into plain sentences;
//! [`explain::finding`] into a catalog finding (`authz/permissions-boundary`,
//! ...); [`Evaluation::denying_statements`] says which statement denies.
//!
//! ```
//! use eksdoctor_core::policy::{self, Context, Policy, PolicyKind, PolicySet, Request};
//! let p = Policy::parse("a.json", PolicyKind::Identity,
//!     r#"{"Version":"2012-10-17","Statement":{"Sid":"EksRead","Effect":"Allow","Action":"eks:Describe*","Resource":"*"}}"#).unwrap();
//! let set = PolicySet::new().with(p);
//! let req = Request::new("eks:DescribeCluster", "arn:aws:eks:us-west-2:111122223333:cluster/c", None, Context::new());
//! let ev = policy::evaluate(&set, &req);
//! assert_eq!(ev.decision, policy::Decision::Allow);
//! ```
//!
//! What the evaluator models and what it does not: `docs/policy-eval.md`.

pub mod condition;
pub mod context;
pub mod document;
pub mod error;
pub mod eval;
pub mod explain;
pub mod live;
pub mod pattern;
pub mod principal;
pub mod variables;

#[cfg(test)]
mod cases;
#[cfg(test)]
mod props;

pub use context::Context;
pub use document::{Effect, Policy, PolicyKind, Statement, Version};
pub use error::PolicyError;
pub use eval::{Decision, Evaluation, PolicySet, Request, StatementRef, evaluate};
pub use principal::{Caller, Grant};

/// Three-valued truth (Kleene logic): `Unknown` where a condition key is
/// missing from the context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl From<bool> for Tri {
    fn from(b: bool) -> Self {
        if b { Self::True } else { Self::False }
    }
}

impl Tri {
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        match (self, other) {
            (Self::False, _) | (_, Self::False) => Self::False,
            (Self::True, Self::True) => Self::True,
            _ => Self::Unknown,
        }
    }

    #[must_use]
    pub fn or(self, other: Self) -> Self {
        match (self, other) {
            (Self::True, _) | (_, Self::True) => Self::True,
            (Self::False, Self::False) => Self::False,
            _ => Self::Unknown,
        }
    }

    #[must_use]
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        match self {
            Self::True => Self::False,
            Self::False => Self::True,
            Self::Unknown => Self::Unknown,
        }
    }

    /// `not()` when `negate`.
    #[must_use]
    pub fn negate_if(self, negate: bool) -> Self {
        if negate { self.not() } else { self }
    }

    /// OR over many (false for none).
    pub fn any(items: impl IntoIterator<Item = Self>) -> Self {
        let mut acc = Self::False;
        for t in items {
            acc = acc.or(t);
            if acc == Self::True {
                break;
            }
        }
        acc
    }

    /// AND over many (true for none).
    pub fn all(items: impl IntoIterator<Item = Self>) -> Self {
        let mut acc = Self::True;
        for t in items {
            acc = acc.and(t);
            if acc == Self::False {
                break;
            }
        }
        acc
    }
}
