//! The `routewall` command.

mod cli;
mod commands;
mod config;

use std::process::ExitCode;

use clap::Parser;

// Built-in plugins register themselves with inventory; naming the crates links them in.
use routewall_django as _;
use routewall_flask as _;
use routewall_nginx_emitter as _;
use routewall_starlette as _;

/// How a command that did not fail ended. Errors exit with 2 (as clap's usage errors do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    Success = 0,
    /// A check found a difference.
    Failure = 1,
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(status) => ExitCode::from(status as u8),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// A closed pipe (`routewall routes … | head`) is not a failure.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
