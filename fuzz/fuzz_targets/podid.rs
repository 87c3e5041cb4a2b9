#![no_main]
//! Pod Identity readers (saved association / add-on JSON, manifest compute
//! hints) and the checks built on them: never panic, never hang.

use eksdoctor_core::podid::{self, Cluster, ServiceAccountInfo, WorkloadInfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let assocs = podid::read_associations(text).unwrap_or_default();
    let addons = podid::read_addons(text).unwrap_or_default();
    let hints = podid::read_compute(text).unwrap_or_default();
    let mut cluster = Cluster::default();
    for a in &assocs {
        cluster.learn(a);
        let _ = a.cluster_arn();
    }
    let workloads: Vec<WorkloadInfo> = hints
        .into_iter()
        .map(|hint| WorkloadInfo {
            hint,
            file: "input".to_owned(),
        })
        .collect();
    let accounts: Vec<ServiceAccountInfo> = Vec::new();
    let _ = podid::check_associations(Some(assocs.as_slice()), &accounts, &workloads, &cluster, Some(("a", "b")));
    let _ = podid::check_agent(&addons, false, &cluster);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        let role = podid::RoleTrust {
            file: "input",
            document: &v,
            name: "r".to_owned(),
            arn: None,
        };
        let _ = podid::check_trust(&role, &cluster, Some(("a", "b")), true);
        let _ = podid::corrected_trust(&v, &cluster, None);
        let _ = podid::session_tags(&[&v], false, &[]);
    }
});
