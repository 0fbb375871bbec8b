//! The `orbdeck` binary: parses the command line and hands over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = orbdeck::cli::Cli::parse();
    orbdeck::cli::run(cli)
}
