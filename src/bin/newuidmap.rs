#![forbid(unsafe_code)]
fn main() -> std::process::ExitCode {
    newidmap::helper::main(newidmap::IdKind::Uid)
}
