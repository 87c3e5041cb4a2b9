#![no_main]
//! `--regions` parsing: never panics; a list holds only region codes, no
//! duplicates, never empty.

#[allow(dead_code)]
#[path = "../../crates/aws/src/regions.rs"]
mod regions;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let values: Vec<String> = s.split(',').map(str::to_owned).collect();
        if let Ok(regions::RegionSelection::List(l)) = regions::parse_selection(&values) {
            assert!(!l.is_empty());
            for (i, r) in l.iter().enumerate() {
                assert!(regions::is_region_code(r));
                assert!(!l[..i].contains(r));
            }
        }
        let _ = regions::eks_regions(s);
    }
});
