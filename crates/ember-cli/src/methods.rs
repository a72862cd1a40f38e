//! `ember methods`: every method ember has, from the registry's entries.

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
    if args.markdown {
        print!("{}", ember::registry::markdown_table());
        return Ok(());
    }
    for m in ember::methods() {
        println!(
            "{:<30} {:<13} {:<7} rows/sample: {}",
            m.name,
            m.family.name(),
            if m.signed { "signed" } else { "≥ 0" },
            m.cost
        );
        println!("    {}", m.summary);
        if !m.aliases.is_empty() || m.captum.is_some() {
            let captum = m.captum.map_or(String::new(), |c| format!("; Captum: {c}"));
            println!("    aliases: {}{captum}", m.aliases.join(", "));
        }
    }
    Ok(())
}
