//! The `switcher` executable: a thin shell over the library, so that everything it does is
//! reachable from the unit tests and the binary stays one call.

fn main() -> std::process::ExitCode {
    switcher::run::main()
}
