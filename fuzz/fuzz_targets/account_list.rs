//! `--accounts` / `--accounts-file` lists on arbitrary bytes: never a panic,
//! and every id read back is 12 digits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(ids) = eksdoctor_core::fleet::accounts::parse_account_list(&text) {
        assert!(ids.iter().all(|i| eksdoctor_core::fleet::accounts::is_account_id(i)));
    }
});
