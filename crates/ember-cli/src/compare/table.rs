//! `ember compare`'s terminal table.

use ember_metrics::compare::{COLUMNS, Direction, Results};

/// Prints the metric table, the columns' meanings and the rank agreement.
pub fn print_table(results: &Results) {
    let s = &results.settings;
    println!(
        "ember compare: {} on {} examples of {}, {} (seed {})\n",
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
    for method in &results.methods {
        // Path methods only: the perturbation methods' efficiency gap is a column (and per
        // example on the page).
        let Some(c) = method
            .completeness
            .as_ref()
            .filter(|_| method.family != "perturbation")
        else {
            continue;
        };
        println!(
            "\n{} per example: steps, delta, |delta| / |F(x) − F(x′)|:",
            method.method
        );
        let width = results
            .examples
            .iter()
            .map(|e| e.caption().chars().count())
            .max()
            .unwrap_or(0);
        for (i, example) in results.examples.iter().enumerate() {
            let s = c.sample(i);
            let steps = s.steps.map_or("—".into(), |n| n.to_string());
            let converged = match s.converged {
                Some(false) => " (did not reach the tolerance)",
                _ => "",
            };
            let delta = s.delta.map_or("—".into(), |d| format!("{d:+.3e}"));
            let relative = s.relative_delta.map_or("—".into(), |r| format!("{r:.3e}"));
            println!(
                "  {:<width$} {steps:>5}  {delta:>11}  {relative:>9}{converged}",
                example.caption()
            );
        }
    }
    let agreement = &results.rank_agreement;
    println!("\nrank agreement (mean Spearman over examples):");
    for (name, row) in agreement.methods.iter().zip(&agreement.matrix) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:>6.2}")).collect();
        println!("  {name:<name_width$}  {}", cells.join(" "));
    }
}
