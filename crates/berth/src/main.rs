//! `berth`: the command-line client. All of it lives in the `cli` crate.

fn main() {
    std::process::exit(cli::main());
}
