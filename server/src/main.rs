fn main() -> std::process::ExitCode {
    server::run()
}
