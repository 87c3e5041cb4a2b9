//! The rule pages of `docs/rules/`, embedded at build time.

include!(concat!(env!("OUT_DIR"), "/rule_pages.rs"));

/// The page of a rule, if it has one.
#[must_use]
pub fn page(id: &str) -> Option<&'static str> {
    PAGES.iter().find(|(i, _)| *i == id).map(|(_, p)| *p)
}
