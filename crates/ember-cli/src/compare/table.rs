//! `ember compare`'s terminal table.

use ember_metrics::compare::{COLUMNS, Direction, Results};

/// Prints the metric table, the columns' meanings and the rank agreement.
pub fn print_table(results: &Results) {
    let s = &results.settings;
    println!(
        "ember compare: {} on {} {} test examples, {} (seed {})\n",
        s.model, s.examples, s.dataset, s.device, s.seed
    );
    let name_width = results
        .methods
        .iter()
        .map(|m| m.method.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut header = format!("{:<name_width$}", "method");
    for column in COLUMNS {
        header.push_str(&format!("  {:>13}", column.name));
    }
    header.push_str("  sanity");
    println!("{header}");
    println!("{}", "-".repeat(header.chars().count()));
    for result in &results.methods {
        let mut line = format!("{:<name_width$}", result.method);
        for column in COLUMNS {
            let cell = (column.value)(result).map_or("—".to_string(), ember_viz::format_number);
            line.push_str(&format!("  {cell:>13}"));
        }
        line.push_str(if result.sanity.passes {
            "  pass"
        } else {
            "  FAIL"
        });
        println!("{line}");
    }
    println!();
    for column in COLUMNS {
        let arrow = match column.better {
            Direction::Lower => " (↓)",
            Direction::Higher => " (↑)",
            Direction::Neither => "",
        };
        println!("  {}{arrow}: {}", column.name, column.meaning);
    }
    if s.sanity_features != "all" {
        println!(
            "  the sanity check ranked only the features the input does not zero ({})",
            s.sanity_features
        );
    }
    let agreement = &results.rank_agreement;
    println!("\nrank agreement (mean Spearman over examples):");
    for (name, row) in agreement.methods.iter().zip(&agreement.matrix) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:>6.2}")).collect();
        println!("  {name:<name_width$}  {}", cells.join(" "));
    }
}
