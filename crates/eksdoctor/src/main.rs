//! The `eksdoctor` binary: argument parsing and wiring live in the library
//! (`eksdoctor::run`) so tests drive the same code.

fn main() {
    std::process::exit(eksdoctor::run(std::env::args_os()));
}
