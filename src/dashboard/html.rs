//! HTML pieces: escaping, Dutch number formatting, the page frame, tables.
//! Everything is written as strings: a page is small, and no template
//! engine is needed for a handful of fixed layouts.

use std::fmt::Write as _;

/// Text for an HTML text node or a quoted attribute.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A count the Dutch way: 12.345.
pub fn getal(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// `part` of `whole` as a percentage with one decimal, Dutch: 12,5%
/// ("–" when there is no whole).
pub fn procent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "–".into();
    }
    let tenths = (part as u128 * 1000 + whole as u128 / 2) / whole as u128;
    format!("{},{}%", getal((tenths / 10) as u64), tenths % 10)
}

/// A date `YYYY-MM-DD` written Dutch: 31-12-2025.
pub fn datum(d: &str) -> String {
    match (d.get(0..4), d.get(5..7), d.get(8..10)) {
        (Some(y), Some(m), Some(day)) if d.len() == 10 => format!("{day}-{m}-{y}"),
        _ => d.to_string(),
    }
}

/// The links of the menu.
pub struct Nav {
    pub rapportages: bool,
    pub werklijsten: bool,
    /// The session's CSRF token: a logout form is shown with it.
    pub csrf: Option<String>,
    /// Who is logged in (the organisation).
    pub wie: Option<String>,
}

/// A whole page: `lang="nl"`, a skip link, the menu, one `<main>`.
pub fn page(title: &str, nav: &Nav, current: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    out.push_str("<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{} – ladderpost</title>", esc(title));
    out.push_str("<link rel=\"stylesheet\" href=\"/dashboard/stijl.css\">\n</head>\n<body>\n");
    out.push_str("<a class=\"skip\" href=\"#inhoud\">Direct naar de inhoud</a>\n");
    out.push_str("<header class=\"kop\">\n<p class=\"merk\">ladderpost <span>Participatieladder</span></p>\n");
    let links: Vec<(&str, &str)> = [
        (nav.rapportages, "/dashboard", "Rapportages"),
        (nav.werklijsten, "/dashboard/werklijsten", "Werklijsten"),
    ]
    .into_iter()
    .filter(|(on, _, _)| *on)
    .map(|(_, href, label)| (href, label))
    .collect();
    if !links.is_empty() {
        out.push_str("<nav aria-label=\"Hoofdmenu\"><ul>");
        for (href, label) in links {
            let here = if href == current {
                " aria-current=\"page\""
            } else {
                ""
            };
            let _ = write!(out, "<li><a href=\"{href}\"{here}>{label}</a></li>");
        }
        out.push_str("</ul></nav>\n");
    }
    if let Some(csrf) = &nav.csrf {
        out.push_str("<form class=\"uitloggen\" method=\"post\" action=\"/dashboard/uitloggen\">");
        if let Some(wie) = &nav.wie {
            let _ = write!(out, "<span>Ingelogd als {}</span> ", esc(wie));
        }
        let _ = writeln!(
            out,
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Uitloggen</button></form>",
            esc(csrf)
        );
    }
    out.push_str("</header>\n<main id=\"inhoud\" tabindex=\"-1\">\n");
    let _ = writeln!(out, "<h1>{}</h1>", esc(title));
    out.push_str(body);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// A data table: a caption, column headers, rows whose first cell is the
/// row's header. Cells are HTML already (numbers formatted, text escaped).
pub struct Table<'a> {
    pub id: &'a str,
    pub caption: &'a str,
    pub columns: Vec<String>,
    pub rows: Vec<(String, Vec<Cell>)>,
    /// A link to the same table as CSV.
    pub csv: Option<String>,
}

/// One cell: its HTML and an optional class (heat-map colours).
pub struct Cell {
    pub html: String,
    pub class: Option<String>,
}

impl Cell {
    pub fn getal(n: u64) -> Cell {
        Cell {
            html: getal(n),
            class: Some("n".into()),
        }
    }

    pub fn text(s: &str) -> Cell {
        Cell {
            html: esc(s),
            class: None,
        }
    }
}

impl Table<'_> {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<div class=\"tabel\"><table id=\"{}\">\n<caption>{}</caption>",
            esc(self.id),
            esc(self.caption)
        );
        out.push_str("<thead><tr>");
        for (i, c) in self.columns.iter().enumerate() {
            let class = if i == 0 { "" } else { " class=\"n\"" };
            let _ = write!(out, "<th scope=\"col\"{class}>{}</th>", esc(c));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for (head, cells) in &self.rows {
            let _ = write!(out, "<tr><th scope=\"row\">{}</th>", esc(head));
            for c in cells {
                match &c.class {
                    Some(class) => {
                        let _ = write!(out, "<td class=\"{}\">{}</td>", esc(class), c.html);
                    }
                    None => {
                        let _ = write!(out, "<td>{}</td>", c.html);
                    }
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>\n");
        if let Some(href) = &self.csv {
            let _ = writeln!(
                out,
                "<p class=\"download\"><a href=\"{}\">Download „{}” als CSV</a></p>",
                esc(href),
                esc(self.caption)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_dutch_thousands_separators() {
        assert_eq!(getal(0), "0");
        assert_eq!(getal(999), "999");
        assert_eq!(getal(1000), "1.000");
        assert_eq!(getal(12_345), "12.345");
        assert_eq!(getal(1_234_567), "1.234.567");
    }

    #[test]
    fn percentages_have_a_decimal_comma() {
        assert_eq!(procent(1, 8), "12,5%");
        assert_eq!(procent(2, 3), "66,7%");
        assert_eq!(procent(0, 5), "0,0%");
        assert_eq!(procent(5, 5), "100,0%");
        assert_eq!(procent(1, 0), "–");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(datum("2025-12-31"), "31-12-2025");
    }

    #[test]
    fn a_page_is_dutch_with_a_skip_link_and_a_logout_form() {
        let nav = Nav {
            rapportages: true,
            werklijsten: false,
            csrf: Some("c\"1".into()),
            wie: Some("Gemeente <A>".into()),
        };
        let p = page("Stand", &nav, "/dashboard", "<p>x</p>");
        assert!(p.contains("<html lang=\"nl\">"));
        assert!(p.contains("href=\"#inhoud\""));
        assert!(p.contains("<main id=\"inhoud\""));
        assert!(p.contains("value=\"c&quot;1\""));
        assert!(p.contains("Gemeente &lt;A&gt;"));
        assert!(p.contains("aria-current=\"page\""));
        assert!(!p.contains("/dashboard/werklijsten"));
    }

    #[test]
    fn a_table_has_a_caption_and_scoped_headers() {
        let t = Table {
            id: "t",
            caption: "Stand",
            columns: vec!["Trede".into(), "Cliënten".into()],
            rows: vec![("Trede 1".into(), vec![Cell::getal(1200)])],
            csv: Some("/x.csv?a=1&b=2".into()),
        };
        let h = t.render();
        assert!(h.contains("<caption>Stand</caption>"));
        assert!(h.contains("<th scope=\"col\">Trede</th>"));
        assert!(h.contains("<th scope=\"row\">Trede 1</th><td class=\"n\">1.200</td>"));
        assert!(h.contains("href=\"/x.csv?a=1&amp;b=2\""));
    }
}
