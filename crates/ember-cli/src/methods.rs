//! `ember methods`: every method ember has, from the registry's entries.

use std::io::Write;

use clap::Args;

/// Lists every method ember has: name, aliases, family, sign, cost.
#[derive(Args, Debug)]
pub struct MethodsArgs {
    /// Print the Markdown table of docs/src/methods/README.md instead.
    #[arg(long)]
    pub markdown: bool,
}

/// Runs `ember methods`.
pub fn run(args: &MethodsArgs) -> Result<(), String> {
    let text = if args.markdown {
        ember::registry::markdown_table()
    } else {
        list()
    };
    // A closed pipe (`ember methods | head`) is not an error worth a message.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(())
}

/// One entry per method: name, family, sign, cost; what it computes; aliases and Captum.
fn list() -> String {
    let mut out = String::new();
    for m in ember::methods() {
        out.push_str(&format!(
            "{:<30} {:<13} {:<7} rows/sample: {}\n    {}\n",
            m.name,
            m.family.name(),
            if m.signed { "signed" } else { "≥ 0" },
            m.cost,
            m.summary
        ));
        let mut also = Vec::new();
        if !m.aliases.is_empty() {
            also.push(format!("aliases: {}", m.aliases.join(", ")));
        }
        if let Some(captum) = m.captum {
            also.push(format!("Captum: {captum}"));
        }
        if !also.is_empty() {
            out.push_str(&format!("    {}\n", also.join("; ")));
        }
    }
    out
}
