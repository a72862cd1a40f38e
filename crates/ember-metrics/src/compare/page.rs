//! The parts of the comparison's page that come from the results alone: the metric and
//! agreement tables, the curve plots, the settings.

use ember_viz::report::{Better, MetricColumn, MetricRow, MetricTable, Page, Table};
use ember_viz::{Series, Svg};

use super::{COLUMNS, Direction, MethodResult, Results};

/// The deletion and insertion curves (mean over the examples) and the sanity cascade, one
/// series per method.
pub(super) fn curve_plots(results: &Results) -> Vec<Svg> {
    let mut plots = Vec::new();
    for (title, pick) in [
        (
            "Deletion (most relevant first)",
            (|r: &MethodResult| &r.deletion) as fn(&MethodResult) -> &crate::Curve,
        ),
        ("Insertion (most relevant first)", |r| &r.insertion),
    ] {
        let series: Vec<Series> = results
            .methods
            .iter()
            .map(|r| {
                let c = pick(r);
                let points = c.fractions.iter().copied().zip(c.mean.iter().copied());
                Series::new(r.method.clone(), points.collect())
            })
            .collect();
        plots.push(ember_viz::line_plot_svg(
            title,
            "fraction of features",
            "target probability",
            &series,
        ));
    }
    let sanity: Vec<Series> = results
        .methods
        .iter()
        .map(|r| {
            let steps = r.sanity.similarity.iter().enumerate();
            Series::new(
                r.method.clone(),
                std::iter::once((0.0, 1.0))
                    .chain(steps.map(|(k, &s)| ((k + 1) as f64, s)))
                    .collect(),
            )
        })
        .collect();
    plots.push(ember_viz::line_plot_svg(
        "Model randomisation: similarity to the trained model's maps",
        "layers re-initialised, from the output down",
        "Spearman of |φ|",
        &sanity,
    ));
    plots
}

pub(super) fn metric_table(results: &Results) -> MetricTable {
    MetricTable {
        columns: COLUMNS
            .iter()
            .map(|c| MetricColumn {
                name: c.name.to_string(),
                meaning: c.meaning.to_string(),
                better: match c.better {
                    Direction::Lower => Better::Lower,
                    Direction::Higher => Better::Higher,
                    Direction::Neither => Better::None,
                },
            })
            .collect(),
        rows: results
            .methods
            .iter()
            .map(|r| MetricRow {
                method: r.method.clone(),
                values: COLUMNS.iter().map(|c| (c.value)(r)).collect(),
                pass: Some(r.sanity.passes),
            })
            .collect(),
    }
}

pub(super) fn agreement_table(results: &Results) -> Table {
    let agreement = &results.rank_agreement;
    Table {
        title: "Rank agreement".into(),
        id: "rank-agreement".into(),
        caption: "Mean over the examples of the Spearman rank correlation between two methods' \
                  attributions (1: the same feature order)."
            .into(),
        columns: agreement.methods.clone(),
        rows: agreement
            .methods
            .iter()
            .zip(&agreement.matrix)
            .map(|(m, row)| (m.clone(), row.iter().map(|&v| Some(v)).collect()))
            .collect(),
    }
}

/// Each path method's completeness (and each perturbation method's efficiency gap) per
/// example: its steps (chosen per example in adaptive mode), `delta` and
/// `|delta| / |F(x) − F(x′)|`; `None` when no method reports a delta.
pub(super) fn completeness_table(results: &Results) -> Option<Table> {
    let mut rows = Vec::new();
    for method in &results.methods {
        let Some(c) = &method.completeness else {
            continue;
        };
        for (i, example) in results.examples.iter().enumerate() {
            let s = c.sample(i);
            rows.push((
                format!("{} · {}", method.method, example.caption()),
                vec![
                    s.steps.map(|n| n as f64),
                    s.converged.map(|ok| if ok { 1.0 } else { 0.0 }),
                    s.delta,
                    s.relative_delta,
                ],
            ));
        }
    }
    (!rows.is_empty()).then(|| Table {
        title: "Completeness per example".into(),
        id: "completeness".into(),
        caption: "Path methods: the integration steps each example used, whether it reached \
                  the tolerance (1, adaptive mode only), delta = Σ attributions − (F(x) − \
                  F(x′)), and |delta| / |F(x) − F(x′)|. Perturbation methods: the same delta \
                  with x′ the baseline b (the efficiency gap)."
            .into(),
        columns: vec![
            "steps".into(),
            "converged".into(),
            "delta".into(),
            "|δ|/|ΔF|".into(),
        ],
        rows,
    })
}

/// The page's subtitle, settings and versions.
pub(super) fn describe(results: &Results, page: &mut Page) {
    let s = &results.settings;
    page.subtitle = format!(
        "{} on {} examples of {}, {}",
        s.model, s.examples, s.dataset, s.device
    );
    page.settings = vec![
        ("model".into(), s.model.clone()),
        ("weights".into(), s.weights.clone()),
        ("examples".into(), s.examples.to_string()),
        ("device".into(), s.device.clone()),
        ("seed".into(), s.seed.to_string()),
        (
            "integration steps".into(),
            match s.tolerance {
                Some(t) => format!(
                    "adaptive: until |δ|/|ΔF| ≤ {t}, at most {}",
                    s.max_steps.unwrap_or_default()
                ),
                None => s.steps.to_string(),
            },
        ),
        ("noisy copies".into(), s.samples.to_string()),
        ("noise level (relative)".into(), s.noise.to_string()),
        ("max-sensitivity radius".into(), s.radius.to_string()),
        ("perturbations".into(), s.perturbations.to_string()),
        ("curve points".into(), s.curve_steps.to_string()),
        ("replacement".into(), s.replacement.clone()),
        ("sanity threshold".into(), s.sanity_threshold.to_string()),
        (
            "sanity check ranks".into(),
            match s.sanity_features.as_str() {
                "input-nonzero" => "features the input does not zero (input-nonzero)".into(),
                other => format!("every feature ({other})"),
            },
        ),
        ("randomised layers".into(), s.randomised_layers.join(", ")),
        ("rows per pass".into(), s.rows_per_pass.to_string()),
    ];
    page.versions = vec![
        ("ember".into(), results.versions.ember.clone()),
        ("burn".into(), results.versions.burn.clone()),
        ("rustc".into(), results.versions.rustc.clone()),
    ];
}
