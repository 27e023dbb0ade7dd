//! Charts as inline SVG, drawn on the server from plain numbers: no script
//! in the browser, nothing fetched. Each is an `<svg role="img">` with a
//! `<title>` and `<desc>`; the page puts its data table beside it as the
//! full text alternative, and a legend in HTML above it.
//!
//! Colours are classes (`s0`…`s7`, `h0`…`h5`) in the served stylesheet,
//! never inline styles, so the CSP can forbid those. Every series colour
//! has at least 3:1 contrast on white (WCAG 1.4.11) and every heat-map
//! background at least 4.5:1 with its text colour (1.4.3); the tests check
//! both.

use std::fmt::Write as _;

use super::html::{esc, getal};

/// Series colours, on white.
pub const SERIES: [&str; 8] = [
    "#1b4f9c", "#b3261e", "#1e7b34", "#7a4bb3", "#a35200", "#00758f", "#555555", "#a3136f",
];
/// The lighter blue of the stacked bars' second part.
pub const LIGHT: &str = "#5a8ccb";
/// Heat-map steps: background and text colour.
pub const HEAT: [(&str, &str); 6] = [
    ("#ffffff", "#1a1a1a"),
    ("#e3eef9", "#1a1a1a"),
    ("#b7d3ee", "#1a1a1a"),
    ("#7fb0dd", "#1a1a1a"),
    ("#2f6fb3", "#ffffff"),
    ("#0b3d7a", "#ffffff"),
];
const TEXT: &str = "#1a1a1a";
const GRID: &str = "#767676";

/// The stylesheet rules for the colours above.
pub fn colour_rules() -> String {
    let mut css = String::new();
    for (i, c) in SERIES.iter().enumerate() {
        let _ = writeln!(
            css,
            ".s{i} {{ fill: {c}; stroke: {c}; }} .k{i} {{ background: {c}; }}"
        );
    }
    let _ = writeln!(
        css,
        ".sl {{ fill: {LIGHT}; stroke: {LIGHT}; }} .kl {{ background: {LIGHT}; }}"
    );
    for (i, (bg, fg)) in HEAT.iter().enumerate() {
        let _ = writeln!(css, "td.h{i} {{ background: {bg}; color: {fg}; }}");
    }
    // After the series colours, so that a line is never filled.
    let _ = writeln!(
        css,
        "svg text {{ fill: {TEXT}; }} svg .as {{ stroke: {GRID}; fill: none; }} .lijn {{ fill: none; }}"
    );
    css
}

/// The heat-map class of `value` in a table whose largest value is `max`.
pub fn heat_class(value: u64, max: u64) -> String {
    if value == 0 || max == 0 {
        return "h0".into();
    }
    let steps = HEAT.len() as u64 - 1;
    let step = 1 + (value * steps - 1) / max;
    format!("h{}", step.min(steps))
}

/// One series: its name (for the legend) and colour class.
pub struct Series {
    pub name: String,
    pub class: String,
    pub values: Vec<u64>,
}

/// What every chart has: an id (for `aria-labelledby`), a title and a
/// description.
pub struct Frame<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub desc: &'a str,
}

/// The legend, in HTML: a swatch and a name per series.
pub fn legend(series: &[(&str, &str)]) -> String {
    let mut out = String::from("<ul class=\"legenda\" aria-label=\"Legenda\">");
    for (name, class) in series {
        let k = class.replacen('s', "k", 1);
        let _ = write!(
            out,
            "<li><span class=\"vlak {k}\" aria-hidden=\"true\"></span>{}</li>",
            esc(name)
        );
    }
    out.push_str("</ul>\n");
    out
}

const W: f64 = 720.0;
const H: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// A round step for about five ticks up to `max`.
fn tick_step(max: u64) -> u64 {
    let rough = (max.max(1) as f64 / 5.0).max(1.0);
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    step.max(1.0) as u64
}

/// The axis' top: the first tick at or above `max`.
fn axis_top(max: u64) -> (u64, u64) {
    let step = tick_step(max);
    let top = max.max(1).div_ceil(step) * step;
    (top, step)
}

fn open(out: &mut String, frame: &Frame) {
    let id = esc(frame.id);
    let _ = write!(
        out,
        "<svg role=\"img\" class=\"grafiek\" viewBox=\"0 0 {W} {H}\" aria-labelledby=\"{id}-t {id}-d\" id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        esc(frame.title),
        esc(frame.desc)
    );
}

/// Horizontal grid lines and labels of a vertical axis.
fn y_axis(out: &mut String, top: u64, step: u64, label: &str) {
    let plot_h = H - TOP - BOTTOM;
    let mut v = 0;
    while v <= top {
        let y = TOP + plot_h * (1.0 - v as f64 / top as f64);
        let _ = write!(
            out,
            "<line class=\"as\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke-width=\"{}\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\">{}</text>",
            W - RIGHT,
            if v == 0 { 1.5 } else { 0.5 },
            LEFT - 6.0,
            y + 4.0,
            getal(v)
        );
        v += step;
    }
    let _ = write!(
        out,
        "<text x=\"14\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1})\">{}</text>",
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
        esc(label)
    );
}

/// Vertical bars per category, the series stacked bottom to top.
pub fn stacked_bars(frame: &Frame, categories: &[String], series: &[Series], axis: &str) -> String {
    let totals: Vec<u64> = (0..categories.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let (top, step) = axis_top(totals.iter().copied().max().unwrap_or(0));
    let mut out = String::new();
    open(&mut out, frame);
    y_axis(&mut out, top, step, axis);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / categories.len().max(1) as f64;
    let bar = slot * 0.6;
    for (i, cat) in categories.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let mut base = 0u64;
        for s in series {
            let v = s.values.get(i).copied().unwrap_or(0);
            if v > 0 {
                let y0 = TOP + plot_h * (1.0 - (base + v) as f64 / top as f64);
                let h = plot_h * v as f64 / top as f64;
                let _ = write!(
                    out,
                    "<rect class=\"{}\" x=\"{x:.1}\" y=\"{y0:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" stroke=\"#ffffff\" stroke-width=\"1\"/>",
                    esc(&s.class)
                );
            }
            base += v;
        }
        let total_y = TOP + plot_h * (1.0 - totals[i] as f64 / top as f64) - 4.0;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{total_y:.1}\" text-anchor=\"middle\" font-size=\"12\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"13\">{}</text>",
            x + bar / 2.0,
            getal(totals[i]),
            x + bar / 2.0,
            H - BOTTOM + 18.0,
            esc(cat)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// A line per series over the points of `x` (e.g. quarter ends), each
/// with markers so that a line can be told apart without its colour.
pub fn lines(frame: &Frame, x: &[String], series: &[Series], axis: &str) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0);
    let (top, step) = axis_top(max);
    let mut out = String::new();
    open(&mut out, frame);
    y_axis(&mut out, top, step, axis);
    let plot_w = W - LEFT - RIGHT - 40.0;
    let plot_h = H - TOP - BOTTOM;
    let px = |i: usize| {
        if x.len() <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + 10.0 + (plot_w - 20.0) * i as f64 / (x.len() - 1) as f64
        }
    };
    let py = |v: u64| TOP + plot_h * (1.0 - v as f64 / top as f64);
    // Every label if they fit, else every other one.
    let every = if x.len() > 8 { 2 } else { 1 };
    for (i, label) in x.iter().enumerate() {
        // Counted from the last point, which is always labelled.
        if (x.len() - 1 - i) % every == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
                px(i),
                H - BOTTOM + 18.0,
                esc(label)
            );
        }
    }
    for s in series {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", px(i), py(*v)))
            .collect();
        let _ = write!(
            out,
            "<polyline class=\"{} lijn\" fill=\"none\" stroke-width=\"2\" points=\"{}\"/>",
            esc(&s.class),
            points.join(" ")
        );
        for (i, v) in s.values.iter().enumerate() {
            let _ = write!(
                out,
                "<circle class=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"/>",
                esc(&s.class),
                px(i),
                py(*v)
            );
        }
        // The series' name at its last point: a line is known by its label.
        if let Some(last) = s.values.last() {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
                px(s.values.len() - 1) + 6.0,
                py(*last) + 4.0,
                esc(&s.name)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// Horizontal bars, one per item, largest first as given.
pub fn horizontal_bars(frame: &Frame, items: &[(String, u64)], class: &str) -> String {
    let row = 26.0;
    let height = TOP + row * items.len().max(1) as f64 + 8.0;
    let label_w = 190.0;
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let mut out = String::new();
    let id = esc(frame.id);
    let _ = write!(
        out,
        "<svg role=\"img\" class=\"grafiek\" viewBox=\"0 0 {W} {height}\" aria-labelledby=\"{id}-t {id}-d\" id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        esc(frame.title),
        esc(frame.desc)
    );
    let plot_w = W - label_w - RIGHT - 70.0;
    for (i, (label, v)) in items.iter().enumerate() {
        let y = TOP + row * i as f64;
        let w = plot_w * *v as f64 / max as f64;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"13\">{}</text>\
             <rect class=\"{}\" x=\"{label_w}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{}</text>",
            label_w - 8.0,
            y + 15.0,
            esc(label),
            esc(class),
            y + 3.0,
            row - 8.0,
            label_w + w + 6.0,
            y + 15.0,
            getal(*v)
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luminance(hex: &str) -> f64 {
        let c = |i: usize| {
            let v = u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64 / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * c(1) + 0.7152 * c(3) + 0.0722 * c(5)
    }

    /// WCAG 2.1's contrast ratio.
    fn contrast(a: &str, b: &str) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn series_colours_stand_out_from_white_by_three_to_one() {
        for c in SERIES.iter().chain([&LIGHT, &GRID]) {
            assert!(contrast(c, "#ffffff") >= 3.0, "{c}");
        }
    }

    #[test]
    fn heat_map_numbers_have_four_and_a_half_to_one_contrast() {
        for (bg, fg) in HEAT {
            assert!(contrast(bg, fg) >= 4.5, "{bg} {fg}: {}", contrast(bg, fg));
        }
        assert!(contrast(TEXT, "#ffffff") >= 4.5);
    }

    #[test]
    fn heat_steps_grow_with_the_value() {
        assert_eq!(heat_class(0, 100), "h0");
        assert_eq!(heat_class(1, 100), "h1");
        assert_eq!(heat_class(20, 100), "h1");
        assert_eq!(heat_class(21, 100), "h2");
        assert_eq!(heat_class(100, 100), "h5");
        assert_eq!(heat_class(3, 3), "h5");
        assert_eq!(heat_class(0, 0), "h0");
    }

    #[test]
    fn axis_ticks_are_round() {
        assert_eq!(axis_top(0), (1, 1));
        assert_eq!(axis_top(7), (8, 2));
        assert_eq!(axis_top(93), (100, 20));
        let (top, step) = axis_top(12_345);
        assert!(top >= 12_345 && top % step == 0 && top / step <= 10);
    }

    #[test]
    fn a_chart_is_an_image_with_a_title_and_description() {
        let frame = Frame {
            id: "stand",
            title: "Stand <per> trede",
            desc: "Uitleg",
        };
        let svg = stacked_bars(
            &frame,
            &["0".into(), "1".into()],
            &[Series {
                name: "a".into(),
                class: "s0".into(),
                values: vec![1500, 0],
            }],
            "Cliënten",
        );
        assert!(svg.starts_with("<svg role=\"img\""));
        assert!(svg.contains("aria-labelledby=\"stand-t stand-d\""));
        assert!(svg.contains("<title id=\"stand-t\">Stand &lt;per&gt; trede</title>"));
        assert!(svg.contains(">1.500</text>"));
        assert!(
            !svg.contains("style="),
            "no inline styles: the CSP forbids them"
        );
        let l = lines(
            &frame,
            &["K1".into(), "K2".into()],
            &[Series {
                name: "Trede 0".into(),
                class: "s1".into(),
                values: vec![3, 4],
            }],
            "Cliënten",
        );
        assert_eq!(l.matches("<circle").count(), 2);
        let h = horizontal_bars(&frame, &[("Nieuw → 3".into(), 7)], "s0");
        assert!(h.contains("Nieuw → 3") && h.contains(">7</text>"));
    }

    #[test]
    fn the_colour_rules_cover_every_class() {
        let css = colour_rules();
        for i in 0..SERIES.len() {
            assert!(css.contains(&format!(".s{i} ")) && css.contains(&format!(".k{i} ")));
        }
        for i in 0..HEAT.len() {
            assert!(css.contains(&format!("td.h{i} ")));
        }
        assert_eq!(legend(&[("a", "s3")]).matches("vlak k3").count(), 1);
        // A line's class keeps it unfilled whatever its colour.
        assert!(css.find(".lijn").unwrap() > css.find(".s7 ").unwrap());
    }
}
