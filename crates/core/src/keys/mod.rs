//! `keys`: access-key hygiene and a rotation plan that respects the two-key limit.
