//! Tests of whole pages: structure, escaping, metrics, plots and writing.

use super::*;
use crate::error::VizError;

const EVIL: &str = r#"<script>alert(1)</script>"&'"#;

fn sample_page() -> Page {
    Page {
        title: "ember report".into(),
        subtitle: "cnn on 16 digits test images, flex".into(),
        settings: vec![
            ("model".into(), "cnn".into()),
            ("steps".into(), "50".into()),
        ],
        versions: vec![("ember".into(), "0.1.0".into())],
        metrics: MetricTable {
            columns: vec![
                MetricColumn {
                    name: "completeness error".into(),
                    meaning: "|Σ attributions − (f(x) − f(x′))|".into(),
                    better: Better::Lower,
                },
                MetricColumn {
                    name: "deletion AUC".into(),
                    meaning: "area under the deletion curve".into(),
                    better: Better::Higher,
                },
            ],
            rows: vec![
                MetricRow {
                    method: "integrated gradients".into(),
                    values: vec![Some(1.234e-6), Some(0.5)],
                    pass: Some(true),
                },
                MetricRow {
                    method: "saliency".into(),
                    values: vec![None, Some(0.25)],
                    pass: Some(false),
                },
            ],
        },
        figures: vec![
            Figure {
                title: "grid".into(),
                caption: "rows: examples; columns: methods".into(),
                image: ImageRef::File("grid.png".into()),
            },
            Figure {
                title: "one".into(),
                caption: String::new(),
                image: ImageRef::InlinePng(vec![1, 2, 3, 250]),
            },
        ],
        plots: vec![crate::line_plot_svg("curves", "x", "y", &[])],
        tables: vec![Table {
            title: "Rank agreement".into(),
            id: "rank agreement!".into(),
            caption: "mean Spearman".into(),
            columns: vec!["a".into(), "b".into()],
            rows: vec![
                ("a".into(), vec![Some(1.0), Some(0.25)]),
                ("b".into(), vec![Some(0.25), None]),
            ],
        }],
        grids: vec![ImageGrid {
            title: "Maps".into(),
            caption: "rows: examples".into(),
            columns: vec!["input".into(), "saliency".into()],
            rows: vec![(
                "digit 0".into(),
                vec![
                    ImageRef::File("cells/0-input.png".into()),
                    ImageRef::InlinePng(vec![7]),
                ],
            )],
        }],
        notes: vec!["first note\nsecond line".into()],
    }
}

#[test]
fn page_is_html5_with_the_metric_table_and_one_img_per_figure() {
    let page = sample_page();
    let html = render(&page).unwrap();
    assert!(html.starts_with("<!doctype html>\n"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert_eq!(html.matches("id=\"metrics\"").count(), 1);
    assert_eq!(html.matches("<img ").count(), page.figures.len() + 2);
    // The grid names every column and every image.
    assert!(html.contains("<table class=\"grid\">"));
    assert!(html.contains("<th scope=\"col\">saliency</th>"));
    assert!(html.contains("src=\"cells/0-input.png\" alt=\"digit 0, input\""));
    let mut ragged_grid = page.clone();
    ragged_grid.grids[0].rows[0].1.pop();
    assert!(matches!(
        render(&ragged_grid),
        Err(VizError::MetricRowLength { .. })
    ));
    assert_eq!(
        html.matches("<img ").count(),
        html.matches(" alt=\"").count(),
        "every img needs an alt"
    );
    assert!(html.contains("src=\"grid.png\" alt=\"grid\""));
    assert!(html.contains("src=\"data:image/png;base64,AQID+g==\""));
    assert!(html.contains("<svg"));
    // The extra table, with its id sanitised.
    assert!(html.contains("<table id=\"rankagreement\">"));
    assert!(html.contains(
        "<tr><th scope=\"row\">b</th><td class=\"num\">0.25</td><td class=\"num\">—</td></tr>"
    ));
    let mut ragged = page.clone();
    ragged.tables[0].rows[1].1.pop();
    assert!(matches!(
        render(&ragged),
        Err(VizError::MetricRowLength { .. })
    ));
    for (open, close) in [
        ("<html", "</html>"),
        ("<head>", "</head>"),
        ("<body>", "</body>"),
        ("<main>", "</main>"),
        ("<section", "</section>"),
        ("<table", "</table>"),
        ("<tr>", "</tr>"),
        ("<figure", "</figure>"),
        ("<svg", "</svg>"),
        ("<figcaption>", "</figcaption>"),
    ] {
        assert_eq!(
            html.matches(open).count(),
            html.matches(close).count(),
            "{open}"
        );
    }
    let paragraphs = html.matches("<p>").count() + html.matches("<p class").count();
    assert_eq!(paragraphs, html.matches("</p>").count());
}

#[test]
fn page_loads_nothing_from_outside() {
    let html = render(&sample_page()).unwrap();
    assert!(!html.contains("<script"));
    assert!(!html.contains("<link"));
    assert!(!html.contains("url("));
    assert!(!html.contains("@import"));
    // The only absolute URL is the SVG namespace, which is a name, not a fetch.
    let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_ns.contains("http:") && !without_ns.contains("https:"));
}

#[test]
fn metric_cells_arrows_badges_and_best_values() {
    let html = render(&sample_page()).unwrap();
    assert!(html.contains("completeness error ↓</th>"));
    assert!(html.contains("deletion AUC ↑</th>"));
    // Only one value in the column: nothing to compare, so no highlight.
    assert!(html.contains("<td class=\"num\">1.234e-6</td>"));
    assert!(html.contains("<td class=\"num\">—</td>"));
    assert!(html.contains("<td class=\"num best\">0.5</td>"));
    assert!(html.contains("<td class=\"num\">0.25</td>"));
    assert!(html.contains("badge pass\">pass<") && html.contains("badge fail\">fail<"));
    assert!(html.contains("area under the deletion curve (higher is better)"));

    let mut no_verdicts = sample_page();
    for row in &mut no_verdicts.metrics.rows {
        row.pass = None;
    }
    let html = render(&no_verdicts).unwrap();
    assert!(!html.contains("sanity check"));
}

#[test]
fn every_user_string_is_escaped() {
    let evil = || EVIL.to_string();
    let page = Page {
        title: evil(),
        subtitle: evil(),
        settings: vec![(evil(), evil())],
        versions: vec![(evil(), evil())],
        metrics: MetricTable {
            columns: vec![MetricColumn {
                name: evil(),
                meaning: evil(),
                better: Better::Higher,
            }],
            rows: vec![MetricRow {
                method: evil(),
                values: vec![Some(1.0)],
                pass: None,
            }],
        },
        figures: vec![
            Figure {
                title: evil(),
                caption: evil(),
                image: ImageRef::File(evil()),
            },
            Figure {
                title: String::new(),
                caption: evil(),
                image: ImageRef::InlinePng(vec![0]),
            },
        ],
        plots: vec![
            crate::bar_chart_svg(&[evil(), "b".into()], &[1.0, -2.0], 5, EVIL).unwrap(),
            crate::line_plot_svg(
                EVIL,
                EVIL,
                EVIL,
                &[crate::Series::new(EVIL, vec![(0.0, 1.0)])],
            ),
        ],
        grids: vec![ImageGrid {
            title: evil(),
            caption: evil(),
            columns: vec![evil()],
            rows: vec![(evil(), vec![ImageRef::File(evil())])],
        }],
        tables: vec![Table {
            title: evil(),
            id: evil(),
            caption: evil(),
            columns: vec![evil()],
            rows: vec![(evil(), vec![Some(1.0)])],
        }],
        notes: vec![evil()],
    };
    let html = render(&page).unwrap();
    assert!(!html.contains("<script"), "raw script tag in page");
    assert!(!html.contains(r#""&'"#), "raw quote/ampersand in page");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn metric_row_of_the_wrong_length_is_an_error() {
    let mut page = sample_page();
    page.metrics.rows[1].values.pop();
    let err = render(&page).unwrap_err();
    assert!(matches!(
        err,
        VizError::MetricRowLength {
            expected: 2,
            got: 1,
            ..
        }
    ));
    assert!(err.to_string().contains("`saliency`"), "{err}");
}

#[test]
fn write_creates_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.html");
    write(&sample_page(), &path).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, render(&sample_page()).unwrap());
}

#[test]
fn plots_are_inserted_verbatim() {
    let bars =
        crate::bar_chart_svg(&["a & b".into(), "c".into()], &[1.0, -2.0], 5, "bars").unwrap();
    let curves = crate::line_plot_svg(
        "curves <1>",
        "x",
        "y",
        &[crate::Series::new("deletion", vec![(0.0, 1.0), (1.0, 0.0)])],
    );
    let page = Page {
        title: "plots".into(),
        plots: vec![bars.clone(), curves.clone()],
        ..Page::default()
    };
    let html = render(&page).unwrap();
    for plot in [&bars, &curves] {
        let figure = format!("<figure class=\"plot\">{}</figure>\n", plot.as_str());
        assert_eq!(html.matches(&figure).count(), 1, "{plot}");
    }
    assert!(html.contains("<h2>Plots</h2>"));
    // Plots keep their order.
    assert!(html.find(bars.as_str()) < html.find(curves.as_str()));
    // No plots, no section.
    let html = render(&Page::default()).unwrap();
    assert!(!html.contains("Plots") && !html.contains("<svg"));
}
