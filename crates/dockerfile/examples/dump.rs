//! Prints a Dockerfile's parse as JSON: directives, escape token, warnings, global ARGs and
//! stages, each instruction with its keyword, line range, flags, arguments, JSON form or not,
//! heredocs and typed meaning. The golden tests compare exactly this output.
//!
//! ```sh
//! cargo run -p dockerfile --example dump -- Dockerfile
//! cargo run -p dockerfile --example dump -- - < Dockerfile
//! ```
//!
//! On a parse error it prints the error to stderr and exits with status 1.

use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dump FILE (or - for stdin)");
        return ExitCode::from(2);
    };
    let mut src = Vec::new();
    let read = if path == "-" {
        std::io::stdin().read_to_end(&mut src).map(|_| ())
    } else {
        std::fs::read(&path).map(|b| src = b)
    };
    if let Err(e) = read {
        eprintln!("dump: {path}: {e}");
        return ExitCode::from(2);
    }
    match dockerfile::parse_bytes(&src) {
        Ok(df) => match serde_json::to_string_pretty(&df) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("dump: {e}");
                ExitCode::from(2)
            }
        },
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
