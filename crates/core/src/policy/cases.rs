//! The documented-cases table: tests/fixtures/policy/cases/*.json.
