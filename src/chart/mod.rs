//! Charts as SVG strings, drawn with plotters: pure functions of their
//! data, no I/O. Text is measured with plotters' built-in estimate (no
//! system fonts), so the same data gives the same SVG on every machine.
//!
//! Suppressed figures (SPEC.md section 4) are never drawn as zero: lines
//! break and a grey cross marks the week, heat map cells are grey and say
//! so. Colours are the Okabe-Ito palette for series and viridis for heat
//! maps, both safe for colour-blind readers.

pub mod data;
pub mod panel;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::{ColorMap, ViridisRGB};
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub use data::{Bar, HeatCell, HeatMap, Series};

/// Okabe-Ito, without yellow (too light for lines on white).
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x00, 0x00),
];
const GREY: RGBColor = RGBColor(0x99, 0x99, 0x99);
const LIGHT_GREY: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
const TARGET: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
const FONT: &str = "sans-serif";

#[derive(Debug, thiserror::Error)]
#[error("cannot draw chart: {0}")]
pub struct Error(String);

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn err<E: std::fmt::Debug>(e: E) -> Error {
    Error(format!("{e:?}"))
}

/// Words a chart shows, in the page's language.
#[derive(Debug, Clone)]
pub struct ChartText {
    pub x_label: String,
    pub y_label: String,
    /// Legend entry and cell text for suppressed figures.
    pub suppressed: String,
    /// Shown instead of a chart without data.
    pub no_data: String,
}

/// A horizontal line: a target.
#[derive(Debug, Clone)]
pub struct TargetLine {
    pub label: String,
    /// Per x value (a share of a figure), or one value for all.
    pub values: Vec<(f64, f64)>,
}

/// How the y axis prints values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Rates 0..1, printed as percentages.
    Percent,
    /// Counts from 0.
    Count,
    /// Money from 0.
    Money,
}

fn y_format(scale: Scale, v: f64) -> String {
    match scale {
        Scale::Percent => format!("{:.0}%", v * 100.0),
        Scale::Count => format!("{v:.0}"),
        Scale::Money => format!("{v:.0}"),
    }
}

fn empty(root: &DrawingArea<SVGBackend, Shift>, text: &ChartText, size: (u32, u32)) -> Result<()> {
    root.draw(&Text::new(
        text.no_data.clone(),
        (size.0 as i32 / 2 - 60, size.1 as i32 / 2),
        (FONT, 20).into_font().color(&GREY),
    ))
    .map_err(err)
}

/// Lines over x (weeks, or weeks since go-live), one per series, with
/// target lines. `x_labels` names x values on the axis.
pub fn line_chart(
    series: &[Series],
    targets: &[TargetLine],
    scale: Scale,
    x_labels: &dyn Fn(f64) -> String,
    text: &ChartText,
    size: (u32, u32),
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
        let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
        if x0 > x1 {
            empty(&root, text, size)?;
        } else {
            let values = series
                .iter()
                .flat_map(|s| s.points.iter().filter_map(|p| p.1))
                .chain(targets.iter().flat_map(|t| t.values.iter().map(|v| v.1)));
            let y_max = match scale {
                Scale::Percent => 1.0,
                _ => (values.fold(0.0f64, f64::max) * 1.1).max(1.0),
            };
            let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
            // Half a step of room at both ends, so that marks of the first
            // and last x lie inside the plot.
            let pad = 0.5;
            let mut chart = ChartBuilder::on(&root)
                .margin(16)
                .margin_right(48)
                .x_label_area_size(56)
                .y_label_area_size(72)
                .build_cartesian_2d((x0 - pad)..(x1 + pad), 0.0..y_max)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc(text.x_label.clone())
                .y_desc(text.y_label.clone())
                .x_labels(10)
                .y_labels(6)
                .x_label_formatter(&|x| x_labels(*x))
                .y_label_formatter(&|y| y_format(scale, *y))
                .label_style((FONT, 19))
                .axis_desc_style((FONT, 20))
                .light_line_style(WHITE.mix(0.0))
                .bold_line_style(LIGHT_GREY.stroke_width(1))
                .draw()
                .map_err(err)?;
            for target in targets {
                let style = TARGET.stroke_width(2);
                chart
                    .draw_series(DashedLineSeries::new(
                        target.values.iter().copied(),
                        8,
                        6,
                        style,
                    ))
                    .map_err(err)?
                    .label(target.label.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 10, y)], TARGET.stroke_width(2))
                    });
            }
            let mut any_suppressed = false;
            for (i, s) in series.iter().enumerate() {
                let colour = PALETTE[i % PALETTE.len()];
                let style = colour.stroke_width(3);
                // Runs of figures between suppressed points.
                let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
                for (x, y) in &s.points {
                    match y {
                        Some(y) => runs.last_mut().map(|r| r.push((*x, *y))).unwrap_or(()),
                        None => runs.push(Vec::new()),
                    }
                }
                let mut first = true;
                for run in runs.into_iter().filter(|r| !r.is_empty()) {
                    let drawn = chart
                        .draw_series(LineSeries::new(run.clone(), style).point_size(3))
                        .map_err(err)?;
                    if first {
                        drawn.label(s.name.clone()).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3))
                        });
                        first = false;
                    }
                }
                let suppressed: Vec<f64> = s
                    .points
                    .iter()
                    .filter(|p| p.1.is_none())
                    .map(|p| p.0)
                    .collect();
                if !suppressed.is_empty() {
                    any_suppressed = true;
                    chart
                        .draw_series(
                            suppressed
                                .into_iter()
                                .map(|x| Cross::new((x, y_max * 0.94), 5, GREY.stroke_width(2))),
                        )
                        .map_err(err)?;
                }
            }
            if any_suppressed {
                chart
                    .draw_series(std::iter::empty::<Cross<(f64, f64), i32>>())
                    .map_err(err)?
                    .label(text.suppressed.clone())
                    .legend(|(x, y)| Cross::new((x + 10, y), 5, GREY.stroke_width(2)));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .label_font((FONT, 18))
                .background_style(WHITE.mix(0.9))
                .border_style(GREY)
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Roughly how wide text of `chars` characters is at a font size: a
/// sans-serif character is about 0.55 of the size wide on average.
fn text_width(chars: usize, size: i32) -> i32 {
    (chars as f64 * size as f64 * 0.55).ceil() as i32
}

/// Text split at spaces into lines of at most `width` pixels at font
/// `size`, and the size to draw them at: smaller (down to 10) when one word
/// alone is wider.
fn wrap(text: &str, width: i32, size: i32) -> (Vec<String>, i32) {
    let longest = text
        .split(' ')
        .map(|w| w.chars().count())
        .max()
        .unwrap_or(0);
    let mut size = size;
    while size > 10 && text_width(longest, size) > width {
        size -= 1;
    }
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        match lines.last_mut() {
            Some(line)
                if text_width(line.chars().count() + 1 + word.chars().count(), size) <= width =>
            {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    (lines, size)
}

fn viridis(v: f64) -> RGBColor {
    ViridisRGB.get_color_normalized(v.clamp(0.0, 1.0), 0.0, 1.0)
}

/// Rows by columns, each cell coloured by a rate (0..1) and labelled with
/// it as a percentage; suppressed cells grey, missing cells blank.
pub fn heat_map(map: &HeatMap, text: &ChartText, width: u32) -> Result<String> {
    let label_w = map
        .rows
        .iter()
        .map(|r| r.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, 32) as i32
        * 9
        + 16;
    let cell_h = 34;
    let cols = map.columns.len().max(1) as i32;
    let cell_w = ((width as i32 - label_w - 16) / cols).max(40);
    // Column headers wrap at spaces into lines that fit a cell; a word
    // longer than a cell gets a smaller font.
    let heads: Vec<(Vec<String>, i32)> = map
        .columns
        .iter()
        .map(|c| wrap(c, cell_w - 6, 15))
        .collect();
    let head_lines = heads.iter().map(|(l, _)| l.len()).max().unwrap_or(1) as i32;
    let head_h = 18 + 18 * head_lines;
    let height = (head_h + cell_h * map.rows.len().max(1) as i32 + 40) as u32;
    let width = (label_w + cell_w * cols + 16) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        if map.rows.is_empty() || map.columns.is_empty() {
            empty(&root, text, (width, height))?;
        } else {
            let font = |size: i32| (FONT, size).into_font();
            for (j, (lines, size)) in heads.iter().enumerate() {
                let x = label_w + cell_w * j as i32 + cell_w / 2;
                let below = lines.len() as i32 - 1;
                for (l, line) in lines.iter().enumerate() {
                    root.draw(&Text::new(
                        line.clone(),
                        (x, head_h - 10 - 18 * (below - l as i32)),
                        font(*size)
                            .color(&BLACK)
                            .pos(Pos::new(HPos::Center, VPos::Bottom)),
                    ))
                    .map_err(err)?;
                }
            }
            for (i, r) in map.rows.iter().enumerate() {
                let y = head_h + cell_h * i as i32;
                root.draw(&Text::new(
                    r.clone(),
                    (label_w - 8, y + cell_h / 2),
                    font(15)
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Right, VPos::Center)),
                ))
                .map_err(err)?;
                for j in 0..map.columns.len() {
                    let x = label_w + cell_w * j as i32;
                    let cell = map.cells.get(i).and_then(|row| row.get(j));
                    let (fill, label, ink) = match cell {
                        Some(HeatCell::Value(v)) => {
                            let ink = if *v < 0.6 { WHITE } else { BLACK };
                            (viridis(*v), format!("{:.0}%", v * 100.0), ink)
                        }
                        Some(HeatCell::Suppressed) => (
                            LIGHT_GREY,
                            text.suppressed.clone(),
                            RGBColor(0x55, 0x55, 0x55),
                        ),
                        Some(HeatCell::Empty) | None => (WHITE, String::new(), BLACK),
                    };
                    root.draw(&Rectangle::new(
                        [(x + 1, y + 1), (x + cell_w - 1, y + cell_h - 1)],
                        fill.filled(),
                    ))
                    .map_err(err)?;
                    if !label.is_empty() {
                        let size = if matches!(cell, Some(HeatCell::Suppressed)) {
                            12
                        } else {
                            15
                        };
                        root.draw(&Text::new(
                            label,
                            (x + cell_w / 2, y + cell_h / 2),
                            font(size)
                                .color(&ink)
                                .pos(Pos::new(HPos::Center, VPos::Center)),
                        ))
                        .map_err(err)?;
                    }
                }
            }
            // Colour scale
            let y = head_h + cell_h * map.rows.len() as i32 + 12;
            for k in 0..=10 {
                let x = label_w + k * 28;
                root.draw(&Rectangle::new(
                    [(x, y), (x + 28, y + 14)],
                    viridis(k as f64 / 10.0).filled(),
                ))
                .map_err(err)?;
            }
            for (k, l) in [(0, "0%"), (10, "100%")] {
                root.draw(&Text::new(
                    l,
                    (label_w + k * 28 + 14, y + 16),
                    font(13)
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Center, VPos::Top)),
                ))
                .map_err(err)?;
            }
            root.draw(&Text::new(
                text.y_label.clone(),
                (label_w + 11 * 28 + 12, y + 7),
                font(14)
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Horizontal bars, one per category, labelled with `format(value)`;
/// suppressed bars are not drawn but say so.
pub fn bar_chart(
    bars: &[Bar],
    format: &dyn Fn(f64) -> String,
    text: &ChartText,
    width: u32,
) -> Result<String> {
    let bar_h = 30;
    let label_w = bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, 40) as i32
        * 9
        + 16;
    let height = (bar_h * bars.len().max(1) as i32 + 60) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        if bars.is_empty() {
            empty(&root, text, (width, height))?;
        } else {
            let max = bars
                .iter()
                .filter_map(|b| b.value)
                .fold(0.0f64, f64::max)
                .max(f64::MIN_POSITIVE);
            let span = (width as i32 - label_w - 140).max(40) as f64;
            let font = |size: i32| (FONT, size).into_font();
            for (i, b) in bars.iter().enumerate() {
                let y = 20 + bar_h * i as i32;
                root.draw(&Text::new(
                    b.label.clone(),
                    (label_w - 8, y + bar_h / 2),
                    font(15)
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Right, VPos::Center)),
                ))
                .map_err(err)?;
                let (len, label, colour) = match b.value {
                    Some(v) => ((v / max * span) as i32, format(v), PALETTE[0]),
                    None => (0, text.suppressed.clone(), GREY),
                };
                if len > 0 {
                    root.draw(&Rectangle::new(
                        [(label_w, y + 4), (label_w + len, y + bar_h - 4)],
                        colour.filled(),
                    ))
                    .map_err(err)?;
                }
                root.draw(&Text::new(
                    label,
                    (label_w + len + 8, y + bar_h / 2),
                    font(15)
                        .color(&colour)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                ))
                .map_err(err)?;
            }
            root.draw(&Text::new(
                text.x_label.clone(),
                (label_w, 20 + bar_h * bars.len() as i32 + 12),
                font(14).color(&GREY).pos(Pos::new(HPos::Left, VPos::Top)),
            ))
            .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// A small trend line of a rate (0..1) with its target; suppressed weeks
/// break the line (a tile has no legend to explain other marks).
pub fn sparkline(values: &[Option<f64>], target: Option<f64>, size: (u32, u32)) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let (w, h) = (size.0 as f64, size.1 as f64);
        let n = values.len().max(2) as f64 - 1.0;
        let at = |i: usize, v: f64| {
            (
                (i as f64 / n * (w - 4.0) + 2.0) as i32,
                ((1.0 - v) * (h - 4.0) + 2.0) as i32,
            )
        };
        if let Some(t) = target {
            root.draw(&PathElement::new(
                vec![at(0, t), ((w - 2.0) as i32, at(0, t).1)],
                TARGET.stroke_width(1),
            ))
            .map_err(err)?;
        }
        let mut run: Vec<(i32, i32)> = Vec::new();
        let mut runs = Vec::new();
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => run.push(at(i, *v)),
                None => runs.push(std::mem::take(&mut run)),
            }
        }
        runs.push(run);
        for run in runs {
            if run.len() == 1 {
                root.draw(&Circle::new(run[0], 2, PALETTE[0].filled()))
                    .map_err(err)?;
            } else if !run.is_empty() {
                root.draw(&PathElement::new(run, PALETTE[0].stroke_width(2)))
                    .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_wrap_at_spaces_and_long_words_get_smaller() {
        // "Quotes & Pricing" was cut to "Quotes & Pric" in a 100 px cell.
        let (lines, size) = wrap("Quotes & Pricing", 96, 15);
        assert_eq!(lines, ["Quotes &", "Pricing"]);
        assert_eq!(size, 15);
        assert!(
            lines
                .iter()
                .all(|l| text_width(l.chars().count(), size) <= 96)
        );
        // One word wider than the cell: a smaller font, not a cut.
        let (lines, size) = wrap("Opportunities", 80, 15);
        assert_eq!(lines, ["Opportunities"]);
        assert!(size < 15 && text_width(13, size) <= 80, "{size}");
        assert_eq!(wrap("", 80, 15).0, [""]);
    }
}
