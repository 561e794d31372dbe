//! `scheduler-host`: see `scheduler_host::cli`.

fn main() -> std::process::ExitCode {
    scheduler_host::cli::main()
}
