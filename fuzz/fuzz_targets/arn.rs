#![no_main]
//! ARN and principal parsing: never panics, and Display round-trips.

use eksdoctor_core::arn::{Arn, Principal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(arn) = s.parse::<Arn>() {
            assert_eq!(arn.to_string(), s);
        }
        if let Ok(p) = Principal::parse(s) {
            let _ = p.canonical_arn();
        }
    }
});
