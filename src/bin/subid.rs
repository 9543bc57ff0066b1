#![forbid(unsafe_code)]
fn main() -> std::process::ExitCode {
    newidmap::admin::main()
}
