#![no_main]
//! Kubernetes manifest reader (saphyr underneath) and the `lint sts` /
//! `lint irsa` inputs built on it: never panics, never hangs.

use eksdoctor_core::irsa::trust;
use eksdoctor_core::sts::{self, SourceFile, StsOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = eksdoctor_core::k8s::read_manifests(text);
    if let Ok(f) = SourceFile::classify("input.yaml", text.to_owned()) {
        let files = [f];
        let opts = StsOptions {
            cluster_version: Some((1, 29)),
            region: Some("eu-west-1".to_owned()),
        };
        let rows = sts::resolve_all(&files, &opts);
        let _ = sts::rules::check(&files, &rows, &opts);
        let _ = sts::render_table(&rows);
    }
    if let Ok(t) = trust::read(text) {
        let _ = t.statements();
    }
});
