//! Charts drawn as SVG on the server: a line chart of values over checkup years and a bar chart
//! of monthly totals. No script and nothing fetched: the page carries the drawing itself.

use std::fmt::Write;

const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 28.0;

/// One line: its name and its points (x label, value).
pub struct Series {
    pub name: String,
    pub points: Vec<(String, f64)>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A rounded range covering `lo..hi` with some room.
fn range(lo: f64, hi: f64) -> (f64, f64) {
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(hi.abs() * 0.1).max(1e-6);
    let lo = lo - span * 0.15;
    let hi = hi + span * 0.15;
    (if lo < 0.0 && (hi - lo) > 0.0 && lo > -span * 0.2 { 0.0 } else { lo }, hi)
}

/// The opening of a drawing `width` wide, titled for screen readers and tooltips.
fn open(title: &str, width: f64) -> String {
    format!(
        r#"<svg class="chart" role="img" aria-label="{t}" viewBox="0 0 {width} {HEIGHT}" width="{width}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = escape(title)
    )
}

fn label_number(v: f64) -> String {
    if v.abs() >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}

/// A line chart: one x position per label of the first series (the checkup years), a circle per
/// point (class `point`, with its value as a tooltip), a polyline per series.
pub fn line(title: &str, unit: &str, series: &[Series]) -> String {
    let labels: Vec<&str> = {
        let mut l: Vec<&str> = series.iter().flat_map(|s| s.points.iter().map(|p| p.0.as_str())).collect();
        l.sort_unstable();
        l.dedup();
        l
    };
    let values = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = range(lo, hi);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x =
        |i: usize| LEFT + if labels.len() <= 1 { plot_w / 2.0 } else { plot_w * i as f64 / (labels.len() - 1) as f64 };
    let y = |v: f64| TOP + plot_h * (1.0 - (v - lo) / (hi - lo));
    let mut svg = open(title, WIDTH);
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{}" x2="{}" y2="{}"/>"#,
        TOP + plot_h,
        WIDTH - RIGHT,
        TOP + plot_h
    );
    let _ = write!(svg, r#"<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{}"/>"#, TOP + plot_h);
    for v in [lo, (lo + hi) / 2.0, hi] {
        let _ = write!(
            svg,
            r#"<text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text><line class="grid" x1="{LEFT}" y1="{:.1}" x2="{}" y2="{:.1}"/>"#,
            LEFT - 4.0,
            y(v) + 4.0,
            label_number(v),
            y(v),
            WIDTH - RIGHT,
            y(v)
        );
    }
    for (i, l) in labels.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x(i),
            HEIGHT - 8.0,
            escape(l)
        );
    }
    for (n, s) in series.iter().enumerate() {
        let pts: Vec<(f64, f64)> =
            s.points.iter().filter_map(|(l, v)| labels.iter().position(|x| x == l).map(|i| (x(i), y(*v)))).collect();
        let path: Vec<String> = pts.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
        let _ = write!(svg, r#"<polyline class="series s{n}" points="{}"/>"#, path.join(" "));
        for ((px, py), (l, v)) in pts.iter().zip(&s.points) {
            let _ = write!(
                svg,
                r#"<circle class="point s{n}" cx="{px:.1}" cy="{py:.1}" r="3.5"><title>{} {}: {} {}</title></circle>"#,
                escape(&s.name),
                escape(l),
                label_number(*v),
                escape(unit)
            );
        }
    }
    if series.len() > 1 {
        for (n, s) in series.iter().enumerate() {
            let _ = write!(
                svg,
                r#"<text class="legend s{n}" x="{}" y="{}">{}</text>"#,
                LEFT + 8.0 + 90.0 * n as f64,
                TOP + 10.0,
                escape(&s.name)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A bar chart of (label, value), a `rect` of class `bar` per label.
pub fn bars(title: &str, unit: &str, data: &[(String, f64)]) -> String {
    let hi = data.iter().map(|d| d.1).fold(0.0_f64, f64::max);
    let hi = if hi <= 0.0 { 1.0 } else { hi * 1.15 };
    let width = (LEFT + RIGHT + 48.0 * data.len().max(1) as f64).max(WIDTH);
    let plot_w = width - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / data.len().max(1) as f64;
    let mut svg = open(title, width);
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{}" x2="{}" y2="{}"/>"#,
        TOP + plot_h,
        width - RIGHT,
        TOP + plot_h
    );
    let _ = write!(
        svg,
        r#"<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>"#,
        LEFT - 4.0,
        TOP + 4.0,
        label_number(hi)
    );
    for (i, (l, v)) in data.iter().enumerate() {
        let h = plot_h * v / hi;
        let bx = LEFT + slot * i as f64 + slot * 0.15;
        let _ = write!(
            svg,
            r#"<rect class="bar" x="{bx:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"><title>{}: {} {}</title></rect>"#,
            TOP + plot_h - h,
            slot * 0.7,
            escape(l),
            label_number(*v),
            escape(unit)
        );
        let _ = write!(
            svg,
            r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            bx + slot * 0.35,
            HEIGHT - 8.0,
            escape(l)
        );
        let _ = write!(
            svg,
            r#"<text class="value" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            bx + slot * 0.35,
            TOP + plot_h - h - 3.0,
            label_number(*v)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_per_value_and_a_bar_per_month() {
        let s = Series {
            name: "BMI".into(),
            points: vec![("2022".into(), 22.1), ("2023".into(), 22.8), ("2024".into(), 23.5)],
        };
        let svg = line("BMI", "kg/m2", &[s]);
        assert_eq!(svg.matches("<circle class=\"point").count(), 3);
        assert!(svg.contains("BMI 2023: 22.8 kg/m2"));
        let b = bars("加算", "点", &[("2026-10".into(), 10.0), ("2026-11".into(), 0.0)]);
        assert_eq!(b.matches("<rect class=\"bar\"").count(), 2);
        // Escaped text cannot break out of the drawing.
        assert!(line("<x>", "", &[]).contains("&lt;x&gt;"));
    }
}
