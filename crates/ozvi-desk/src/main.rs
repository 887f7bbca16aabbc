//! `ozvi-desk`: see `ozvi-desk --help` (the command line is `ozvi_desk::cli`).

fn main() -> std::process::ExitCode {
    ozvi_desk::cli::main()
}
