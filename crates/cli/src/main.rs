//! The `tagger` binary. Only this crate reads arguments and the environment, and prints.
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line program reports on stdout/stderr")]

mod tokenize_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "tagger", version, about = "Multi-label subject tagging: train, evaluate, predict, serve.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the tokens of documents, one JSON line per document: {"id", "labels", "tokens"}.
    Tokenize(tokenize_cmd::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Tokenize(args) => tokenize_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
