//! The kubeconfig reader (kube-rs's types) and the kubeconfig rules on
//! arbitrary bytes: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(kc) = eksdoctor_kube::kubeconfig::from_text(text, "fuzz") {
        let facts = eksdoctor_kube::kubeconfig::facts(&kc);
        for profile in [None, Some("dev")] {
            let opts = eksdoctor_core::kubeconfig::Options {
                context: None,
                profile,
                source: "fuzz",
            };
            let _ = eksdoctor_core::kubeconfig::lint(&facts, &opts, &|c| c.len() % 2 == 0);
        }
    }
});
