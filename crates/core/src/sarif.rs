//! SARIF 2.1.0 rendering of a report, for code scanning of manifests in git.
