//! `cargo run --release -p eksdoctor-core --example explain_file FILE`: the
//! explain engine alone on one file (findings as a JSON report on stdout), to
//! time the engine without the binary's wiring.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: explain_file FILE");
        std::process::exit(2);
    };
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let mut ex = eksdoctor_core::explain::Explainer::new();
    if let Err((_, e)) = ex.read(Some(&path), file) {
        eprintln!("{path}: {e}");
    }
    let grouped = ex.grouped_beyond_limit();
    let report = eksdoctor_core::report::Report::new(ex.finish());
    println!("{}", report.to_json());
    eprintln!("grouped beyond the limit: {grouped}");
}
