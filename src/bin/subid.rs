fn main() -> std::process::ExitCode {
    newidmap::admin::main()
}
