//! `lint sts`: which STS endpoint each workload resolves to.
