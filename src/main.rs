fn main() -> std::process::ExitCode {
    switcher::run::main()
}
