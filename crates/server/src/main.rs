use clap::Parser;
use rewind_server::cli::Cli;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match rewind_server::run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rewind-server: {error}");
            ExitCode::FAILURE
        }
    }
}
