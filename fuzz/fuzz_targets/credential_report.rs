#![no_main]
//! `keys --input` readers: the credential report CSV (and its base64 JSON
//! form), list-access-keys JSON, and the merge + rules + planner behind them.
//! Never panics; every plan stays within the two-key limit.

use eksdoctor_core::keys::{self, KeyPolicy, credential_report, merge, saved};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = credential_report::parse_csv(text);
    let _ = credential_report::decode_content(text);
    if let Ok(s) = saved::read(text) {
        let all = merge::combine(&s);
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap_or_default();
        let policy = KeyPolicy::new(now);
        let _ = keys::check(&all, &policy);
        for plan in keys::rotation_plans(&all) {
            let start = all.iter().filter(|k| k.user_name == plan.user).count();
            if start <= 2 {
                assert!(plan.counts(start).iter().all(|&c| c <= 2));
            }
        }
        let _ = keys::table::render(&keys::table::summarize(&all, &policy));
    }
});
