#![no_main]
//! The explain parser on arbitrary bytes: never panics, and a secret placed
//! in the input never comes out in a finding.

use eksdoctor_core::explain::Explainer;
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "Zq3v9Kx2LmN8pR4tW6yB1cD5fG7hJ0kQ2sU4vX6z";

fuzz_target!(|data: &[u8]| {
    let mut ex = Explainer::new();
    let _ = ex.read(Some("fuzz"), data);
    let _ = ex.finish();

    // The same bytes with a credential pair around them.
    let mut framed = b"aws_access_key_id = AKIAZ3EXAMPLEABCDEFG\naws_secret_access_key = ".to_vec();
    framed.extend_from_slice(SECRET.as_bytes());
    framed.push(b'\n');
    framed.extend_from_slice(data);
    let mut ex = Explainer::new();
    let _ = ex.read(Some("fuzz"), &framed[..]);
    for f in ex.finish() {
        let text = serde_json::to_string(&f).unwrap_or_default();
        assert!(!text.contains(SECRET));
    }
});
