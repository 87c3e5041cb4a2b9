//! `policy eval`: offline IAM policy evaluation that explains its decision.
