//! A borderless, left-aligned text table written in two passes over its
//! rows: one to measure each column, one to write the lines.
//!
//! The rows are made twice rather than kept: `who` on a host with a hundred
//! thousand sockets then costs the output text and nothing more, where a
//! table of cell objects cost several times the sockets themselves
//! (README: memory). Columns are two spaces apart, lines carry no trailing
//! blanks, and a cell may span several lines (one owner per line).

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

use super::Style;

/// Space after every column but the last.
const GAP: usize = 2;

/// One cell: its text and, when colours are on, how it is painted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    text: String,
    paint: Option<anstyle::Style>,
}

impl Cell {
    // By value so that numbers, strings and `Display` values all read the
    // same at the call site.
    #[allow(clippy::needless_pass_by_value)]
    pub fn new(text: impl ToString) -> Cell {
        Cell {
            text: text.to_string(),
            paint: None,
        }
    }

    /// This cell painted with `paint` (only when the table is coloured).
    pub fn painted(self, paint: anstyle::Style) -> Cell {
        Cell {
            paint: Some(paint),
            ..self
        }
    }
}

/// The table's lines under `headers`, the rows being what `rows` yields;
/// `rows` is called twice and must yield the same rows both times.
pub fn render<I>(headers: &[&str], style: Style, rows: impl Fn() -> I) -> String
where
    I: Iterator<Item = Vec<Cell>>,
{
    let header: Vec<Cell> = headers
        .iter()
        .map(|h| {
            let cell = Cell::new(h);
            if style.color {
                cell.painted(anstyle::Style::new().bold())
            } else {
                cell
            }
        })
        .collect();

    let mut widths = vec![0; headers.len()];
    let mut size = 0;
    for row in std::iter::once(header.clone()).chain(rows()) {
        for (width, cell) in widths.iter_mut().zip(&row) {
            for line in cell.text.lines() {
                *width = (*width).max(line.width());
            }
            size += cell.text.len() + GAP;
        }
    }

    let mut out = String::with_capacity(size);
    for row in std::iter::once(header).chain(rows()) {
        write_row(&mut out, &row, &widths, style);
    }
    out
}

/// The lines of one row: as many as its tallest cell has.
fn write_row(out: &mut String, row: &[Cell], widths: &[usize], style: Style) {
    let height = row
        .iter()
        .map(|c| c.text.lines().count())
        .max()
        .unwrap_or(0);
    for index in 0..height.max(1) {
        let start = out.len();
        for (cell, &width) in row.iter().zip(widths) {
            let line = cell.text.lines().nth(index).unwrap_or("");
            match cell.paint.filter(|_| style.color && !line.is_empty()) {
                Some(paint) => {
                    let _ = write!(out, "{}{line}{}", paint.render(), paint.render_reset());
                }
                None => out.push_str(line),
            }
            let pad = width.saturating_sub(line.width()) + GAP;
            out.extend(std::iter::repeat_n(' ', pad));
        }
        out.truncate(out[start..].trim_end().len() + start);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Style = Style { color: false };

    fn rows() -> Vec<Vec<Cell>> {
        vec![
            vec![Cell::new("tcp"), Cell::new("0.0.0.0:80"), Cell::new("a")],
            vec![
                Cell::new("udp"),
                Cell::new("[::]:5353"),
                Cell::new("one\ntwo"),
            ],
        ]
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_line_plus_two() {
        let rows = rows();
        let text = render(&["PROTO", "LOCAL", "PROCESS"], PLAIN, || {
            rows.clone().into_iter()
        });
        let expected = [
            "PROTO  LOCAL       PROCESS",
            "tcp    0.0.0.0:80  a",
            "udp    [::]:5353   one",
            "                   two",
        ];
        assert_eq!(text, expected.join("\n") + "\n");
    }

    #[test]
    fn lines_end_without_blanks_and_empty_cells_keep_their_column() {
        let text = render(&["A", "B", "C"], PLAIN, || {
            vec![vec![Cell::new("x"), Cell::new(""), Cell::new("")]].into_iter()
        });
        assert_eq!(text, "A  B  C\nx\n");
        let text = render(&["A", "B"], PLAIN, || {
            vec![vec![Cell::new(""), Cell::new("y")]].into_iter()
        });
        assert_eq!(text, "A  B\n   y\n");
    }

    #[test]
    fn width_counts_what_a_terminal_shows_not_bytes() {
        let text = render(&["X", "Y"], PLAIN, || {
            vec![
                vec![Cell::new("→ a…"), Cell::new("1")],
                vec![Cell::new("abcd"), Cell::new("2")],
            ]
            .into_iter()
        });
        assert_eq!(text, "X     Y\n→ a…  1\nabcd  2\n");
    }

    #[test]
    fn paint_is_applied_only_with_colour_and_never_counted_as_width() {
        let cyan = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Cyan.into()));
        let row = || vec![vec![Cell::new("ab").painted(cyan), Cell::new("c")]].into_iter();
        assert_eq!(render(&["H", "I"], PLAIN, row), "H   I\nab  c\n");
        let coloured = render(&["H", "I"], Style { color: true }, row);
        let bold = anstyle::Style::new().bold();
        assert_eq!(
            coloured,
            format!(
                "{}H{}   {}I{}\n{}ab{}  c\n",
                bold.render(),
                bold.render_reset(),
                bold.render(),
                bold.render_reset(),
                cyan.render(),
                cyan.render_reset()
            )
        );
    }

    #[test]
    fn a_table_without_rows_is_its_header() {
        let text = render(&["ONLY"], PLAIN, std::iter::empty);
        assert_eq!(text, "ONLY\n");
    }
}
