//! The `orbdeck` binary: parses the command line and hands over to the library.

use clap::Parser;

/// mimalloc: the engine and the sim allocate a small object per API answer and per admission
/// review, and glibc's malloc took about a quarter of the webhook benchmark's CPU and its tail.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = orbdeck::cli::Cli::parse();
    orbdeck::cli::run(cli)
}
