//! The `tandem` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    // The code sandbox re-runs this binary as its supervisor, which must start before any
    // thread exists (it forks and enters namespaces), so it is checked before the runtime.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == "__sandbox-init")
    {
        tandem_sandbox::init_main();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tandem: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tandem::cli::run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tandem: {error:#}");
            ExitCode::FAILURE
        }
    }
}
