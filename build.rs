//! Links the `switcher` executable on Linux (GNU C library) for a fast start and a small
//! footprint:
//!
//! - **As a fixed-address (non-PIE) program.** A position-independent executable is relocated by
//!   the dynamic loader at every start: for this binary some 16,000 pointers, written into about
//!   70 pages that each become a private copy. A fixed-address executable starts with none of it
//!   (README, Performance: the demo's one-shot pass 0.2-0.3 ms faster, 56 page faults fewer, the
//!   big config's pass 1.1 MiB lower at its peak); the libraries, heap and stack are still placed
//!   at random, but the program's own code and data are not: a hardening check reports it, and
//!   `SWITCHER_PIE=1` at build time keeps the default position-independent link. Not in a static
//!   build (`crt-static`).
//! - **With its often-run code together** (`link/hot-code.ld`, written by
//!   `scripts/hot-code.py`): the functions the common runs execute are placed before the rest, so
//!   a run maps the pages of those rather than pages scattered over the whole code (README,
//!   Performance: "Hot code"). `SWITCHER_HOT_CODE=0` at build time links without it; with gold or
//!   mold (`-fuse-ld=` in the flags), which do not take such a script, it is left out.
//!
//! Only the binaries are linked so (not the build's proc-macro libraries, which must stay shared
//! objects), and only with the GNU C library, whose compiler drivers (gcc, clang) take `-no-pie`
//! and pass `-Xlinker` arguments to the linker.

fn main() {
    let var = |name| std::env::var(name).unwrap_or_default();
    let static_build = var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|f| f == "crt-static");
    let linux_gnu = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    if linux_gnu && !static_build && var("SWITCHER_PIE") != "1" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    let script = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("link/hot-code.ld");
    // gold and mold do not take a script that inserts a section; lld and GNU ld do.
    let other_linker = var("CARGO_ENCODED_RUSTFLAGS")
        .split('\x1f')
        .any(|flag| flag.contains("-fuse-ld=gold") || flag.contains("-fuse-ld=mold"));
    if linux_gnu && var("SWITCHER_HOT_CODE") != "0" {
        if !script.exists() {
            println!("cargo:warning=link/hot-code.ld is missing: linking without it");
        } else if other_linker {
            println!(
                "cargo:warning=gold and mold take no INSERT script: linking without link/hot-code.ld"
            );
        } else {
            linker_args(&["-T".as_ref(), script.as_os_str()]);
        }
    }
    if script.exists() {
        println!("cargo:rerun-if-changed=link/hot-code.ld");
    }
    // For `scripts/hot-code.py`: the link's map, where it finds which function each address of
    // the (stripped) binary belongs to.
    let map = var("SWITCHER_LINK_MAP");
    if linux_gnu && !map.is_empty() {
        linker_args(&["-Map".as_ref(), map.as_ref()]);
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SWITCHER_PIE");
    println!("cargo:rerun-if-env-changed=SWITCHER_HOT_CODE");
    println!("cargo:rerun-if-env-changed=SWITCHER_LINK_MAP");
}

/// Passes `args` to the linker through the compiler driver, each whole: `-Wl,` would split a path
/// at its commas.
fn linker_args(args: &[&std::ffi::OsStr]) {
    for arg in args {
        println!("cargo:rustc-link-arg-bins=-Xlinker");
        println!("cargo:rustc-link-arg-bins={}", arg.to_string_lossy());
    }
}
