//! The `tagger` binary. Only this crate reads arguments and the environment, and prints.
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line program reports on stdout/stderr")]

/// mimalloc instead of glibc's allocator: the server allocates a document's tags on a compute thread and frees
/// them on a network thread, which glibc's per-thread arenas handle poorly (see BENCHMARKS.md, "Allocator").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;
mod cv_cmd;
mod eval_cmd;
mod learn_cmd;
mod loadgen_cmd;
mod merge_cmd;
mod predict_cmd;
mod publish_cmd;
mod serve_cmd;
mod synth_cmd;
mod tokenize_cmd;
mod train_cmd;
mod vocab_cmd;

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
    /// Train a model on a labelled corpus and write it to a file.
    Train(train_cmd::Args),
    /// Update a model from newly indexed documents without retraining it (as Annif's `learn`): known labels are
    /// refitted towards their weights on the new documents and a replayed sample of old ones, new labels added.
    Learn(learn_cmd::Args),
    /// Join the shard files of a label-sharded training (`tagger train --shard K/N`) into the model file one
    /// `tagger train` gives, byte for byte; the corpus and vocabulary are read again from the paths the shards
    /// recorded.
    Merge(merge_cmd::Args),
    /// Evaluate a model on a labelled corpus (micro/macro F1, P@k, nDCG@k, worst labels).
    Eval(eval_cmd::Args),
    /// Cross-validate a training configuration on a labelled corpus: each fold is tagged by a model trained on
    /// the other folds (pooled micro/macro F1, P@1, per-fold micro-F1).
    Cv(cv_cmd::Args),
    /// Tag documents: one JSON line per document, {"id", "tags": [{"label", "score"}]}.
    Predict(predict_cmd::Args),
    /// Publish a retrained model: evaluate it beside the version a model repository serves, on a held-out
    /// corpus; refuse it (exit code 3) when it is worse beyond a tolerance, else install it as the next version.
    Publish(publish_cmd::Args),
    /// Serve models over gRPC (tagger.v1.Tagger, health, reflection) with Prometheus metrics.
    Serve(serve_cmd::Args),
    /// Load a running server (unary, batch or stream; bounded in count and time) and report throughput,
    /// latency percentiles and status codes.
    Loadgen(loadgen_cmd::Args),
    /// Summarise vocabulary files (SKOS Turtle/N-Triples, Annif TSV) merged by URI: concepts, languages,
    /// labels per language, hierarchy depth, deprecated concepts; conflicts are reported on stderr.
    Vocab(vocab_cmd::Args),
    /// Generate a UN-like synthetic corpus (Zipf vocabulary, power-law labels), streamed to disk.
    Synth(synth_cmd::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Tokenize(args) => tokenize_cmd::run(args),
        Command::Train(args) => train_cmd::run(args),
        Command::Learn(args) => learn_cmd::run(args),
        Command::Merge(args) => merge_cmd::run(args),
        Command::Eval(args) => eval_cmd::run(args),
        Command::Cv(args) => cv_cmd::run(args),
        Command::Predict(args) => predict_cmd::run(args),
        Command::Publish(args) => publish_cmd::run(args),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Loadgen(args) => loadgen_cmd::run_cmd(args),
        Command::Synth(args) => synth_cmd::run(args),
        Command::Vocab(args) => vocab_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our standard output went away (`tagger predict … | head`): stop quietly, as Unix tools do.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        // The quality gate refused a candidate: its verdict is already printed; a job acts on the exit code.
        Err(e) if e.downcast_ref::<publish_cmd::Refused>().is_some() => ExitCode::from(publish_cmd::REFUSED_EXIT),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
