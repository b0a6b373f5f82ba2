//! Links the `switcher` executable on Linux as a fixed-address (non-PIE) program.
//!
//! A position-independent executable is relocated by the dynamic loader at every start: for this
//! binary some 16,000 pointers, written into about 70 pages that each become a private copy. A
//! fixed-address executable starts with none of it (README, Performance: the demo's one-shot pass
//! 0.2-0.3 ms faster, 56 page faults fewer, the big config's pass 1.1 MiB lower at its peak); the
//! libraries, heap and stack are still placed at random. Only the binaries are linked so (not the
//! build's proc-macro libraries, which must stay shared objects), and only with the GNU C library,
//! whose compiler drivers (gcc, clang) take `-no-pie`.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
