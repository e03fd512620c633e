//! `agentpolc explain CODE`: the long form of a diagnostic.

use crate::exit;

/// Arguments of `explain`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A code such as `AP0101`; omit it with `--list` to list every code.
    #[arg(required_unless_present = "list")]
    pub code: Option<String>,
    /// List every code with its one-line summary.
    #[arg(long)]
    pub list: bool,
    /// With `--list`: print the full reference as Markdown (lang-spec/diagnostics.md).
    #[arg(long, requires = "list")]
    pub markdown: bool,
}

/// Runs `explain`.
pub fn run(args: Args) -> u8 {
    let codes = crate::targets::all_codes();
    if args.list && args.markdown {
        print!("{}", markdown(&codes));
        return exit::OK;
    }
    if args.list {
        for c in &codes {
            println!("{}  {:<32} {}", c.code, c.name, c.summary);
        }
        return exit::OK;
    }
    let wanted = args.code.unwrap_or_default();
    match codes
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(wanted.trim()))
    {
        Some(c) => {
            println!(
                "{} ({}): {}\n\n{}",
                c.code, c.name, c.summary, c.explanation
            );
            exit::OK
        }
        None => {
            eprintln!(
                "error: unknown diagnostic code {wanted:?}; `agentpolc explain --list` lists them"
            );
            exit::USAGE
        }
    }
}

/// The diagnostics reference, as committed in `lang-spec/diagnostics.md`.
fn markdown(codes: &[&'static agentpol_core::diag::CodeInfo]) -> String {
    let mut out = String::from(
        "# Diagnostics\n\n\
         Every diagnostic agentpolc prints has a stable code. `agentpolc explain CODE` prints \
         the entry below. This file is generated (`agentpolc explain --list --markdown`) and a \
         test checks that it matches the registry.\n\n\
         | range | area |\n|---|---|\n\
         | AP00xx | syntax |\n| AP01xx | names and modules |\n| AP02xx | types and effects |\n\
         | AP03xx | literals |\n| AP04xx | policy structure |\n| AP05xx | verifier |\n\
         | AP06xx | Cedar backend |\n| AP07xx | firewall backend |\n| AP08xx | requests and decisions |\n\
         | AP09xx | files, build directories (agentpolc) |\n\n",
    );
    for c in codes {
        out.push_str(&format!(
            "## {}\n\n`{}` — {}\n\n{}\n\n",
            c.code,
            c.name,
            c.summary,
            c.explanation.trim_end()
        ));
    }
    out
}
