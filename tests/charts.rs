//! Charts as SVG: snapshots of each kind, and suppressed figures shown as
//! suppressed, never as zero.

use uptake::chart::{self, Bar, ChartText, HeatCell, HeatMap, Scale, Series, TargetLine};

/// The texts an SVG shows, trimmed.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let inner = t.split_once('>')?.1;
            Some(inner.split("</text>").next()?.trim().to_string())
        })
        .collect()
}

fn text() -> ChartText {
    ChartText {
        x_label: "Weeks since go-live".into(),
        y_label: "Active licensee rate".into(),
        suppressed: "suppressed".into(),
        no_data: "No data".into(),
    }
}

#[test]
fn line_chart_breaks_at_suppressed_weeks() {
    let series = vec![
        Series {
            name: "W1".into(),
            points: vec![(0.0, Some(0.2)), (1.0, Some(0.5)), (2.0, Some(0.8))],
        },
        Series {
            name: "W2".into(),
            points: vec![(0.0, Some(0.1)), (1.0, None), (2.0, Some(0.6))],
        },
    ];
    let targets = [TargetLine {
        label: "target 75%".into(),
        values: vec![(0.0, 0.75), (2.0, 0.75)],
    }];
    let svg = chart::line_chart(
        &series,
        &targets,
        Scale::Percent,
        &|x| format!("{x:.0}"),
        &text(),
        (960, 420),
    )
    .expect("svg");
    let shown = texts(&svg);
    assert!(shown.contains(&"target 75%".to_string()), "{shown:?}");
    assert!(
        shown.contains(&"suppressed".to_string()),
        "the legend names suppressed weeks"
    );
    // W2's line is two runs of one point each: no segment through week 1.
    insta::assert_snapshot!("chart_line", svg);
}

#[test]
fn heat_map_marks_suppressed_cells() {
    let map = HeatMap {
        rows: vec!["DACH".into(), "Nordics".into()],
        columns: vec!["Sales".into(), "Service".into()],
        cells: vec![
            vec![HeatCell::Value(0.8125), HeatCell::Suppressed],
            vec![HeatCell::Value(0.0), HeatCell::Empty],
        ],
    };
    let svg = chart::heat_map(&map, &text(), 960).expect("svg");
    let shown = texts(&svg);
    assert!(shown.contains(&"suppressed".to_string()), "{shown:?}");
    assert!(shown.contains(&"81%".to_string()));
    assert_eq!(
        shown.iter().filter(|t| *t == "0%").count(),
        2,
        "a real zero and the scale's 0%"
    );
    insta::assert_snapshot!("chart_heat_map", svg);
}

#[test]
fn bars_and_sparklines() {
    let bars = [
        Bar {
            label: "DACH".into(),
            value: Some(1234.5),
        },
        Bar {
            label: "Nordics".into(),
            value: None,
        },
    ];
    let svg = chart::bar_chart(&bars, &|v| format!("{v:.2}"), &text(), 960).expect("svg");
    let shown = texts(&svg);
    assert!(shown.contains(&"1234.50".to_string()) && shown.contains(&"suppressed".to_string()));
    insta::assert_snapshot!("chart_bars", svg);
    let spark = chart::sparkline(
        &[Some(0.5), Some(0.6), None, Some(0.8)],
        Some(0.75),
        (160, 36),
    )
    .expect("svg");
    insta::assert_snapshot!("chart_sparkline", spark);
}

#[test]
fn empty_charts_say_so() {
    let svg = chart::line_chart(
        &[],
        &[],
        Scale::Count,
        &|x| x.to_string(),
        &text(),
        (960, 420),
    )
    .expect("svg");
    assert_eq!(texts(&svg), ["No data"]);
}
