//! Borderless, left-aligned comfy-table tables drawn in bounded memory.
//!
//! comfy-table lays out a whole table at once, and a table of a hundred
//! thousand sockets (`who` on a busy host) costs it several hundred MiB
//! (README: memory). So the rows are made twice rather than kept: once to
//! measure each column, then in chunks of [`CHUNK`] rows, each a comfy-table
//! table whose columns are fixed at the widths measured over all rows, so
//! the chunks line up as one table. Columns are two spaces apart, lines carry
//! no trailing blanks, and a cell may span several lines (one owner a line).

use comfy_table::{
    Attribute, Cell, ColumnConstraint, ContentArrangement, Row, Table, Width, presets,
};
use unicode_width::UnicodeWidthStr;

use super::Style;

/// Space after every column (trimmed at the end of a line).
const GAP: u16 = 2;
/// Rows laid out at a time.
const CHUNK: usize = 1024;

/// The table's lines under `headers`, the rows being what `rows` yields;
/// `rows` is called twice and must yield the same rows both times.
pub fn render<I>(headers: &[&str], style: Style, rows: impl Fn() -> I) -> String
where
    I: Iterator<Item = Vec<Cell>>,
{
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    let mut size = 0;
    for row in rows() {
        for (width, cell) in widths.iter_mut().zip(&row) {
            let content = cell.content();
            for line in content.lines() {
                *width = (*width).max(line.width());
            }
            size += content.len() + usize::from(GAP);
        }
    }

    let header: Vec<Cell> = headers
        .iter()
        .map(|h| {
            let cell = Cell::new(h);
            if style.color {
                cell.add_attribute(Attribute::Bold)
            } else {
                cell
            }
        })
        .collect();
    let mut out = String::with_capacity(size);
    let mut chunk = new_table(style);
    chunk.set_header(header);
    let mut count = 0;
    for row in rows() {
        chunk.add_row(Row::from(row));
        count += 1;
        if count == CHUNK {
            write_chunk(&mut out, &mut chunk, &widths);
            chunk = new_table(style);
            count = 0;
        }
    }
    if count > 0 || chunk.header().is_some() {
        write_chunk(&mut out, &mut chunk, &widths);
    }
    out
}

fn new_table(style: Style) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    if style.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

/// Writes `table`'s lines with its columns at `widths` (content), two
/// spaces after each. comfy-table makes its columns as rows arrive, so the
/// widths are set once the chunk is full.
fn write_chunk(out: &mut String, table: &mut Table, widths: &[usize]) {
    table.set_constraints(widths.iter().map(|&width| {
        let content = u16::try_from(width).unwrap_or(u16::MAX - GAP);
        ColumnConstraint::Absolute(Width::Fixed(content.saturating_add(GAP)))
    }));
    for column in table.column_iter_mut() {
        column.set_padding((0, GAP));
    }
    for line in table.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use comfy_table::Color;

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
    fn colour_is_applied_only_with_colour_and_never_counted_as_width() {
        let row = || vec![vec![Cell::new("ab").fg(Color::Cyan), Cell::new("c")]].into_iter();
        assert_eq!(render(&["H", "I"], PLAIN, row), "H   I\nab  c\n");
        let coloured = render(&["H", "I"], Style { color: true }, row);
        assert!(coloured.contains("\x1b["), "{coloured:?}");
        // What a terminal shows (a styled last cell may keep its padding
        // inside the styling, invisible).
        let visible: Vec<String> = strip_ansi(&coloured)
            .lines()
            .map(|line| line.trim_end().to_owned())
            .collect();
        assert_eq!(visible, ["H   I", "ab  c"]);
    }

    fn strip_ansi(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn a_table_without_rows_is_its_header() {
        let text = render(&["ONLY"], PLAIN, std::iter::empty);
        assert_eq!(text, "ONLY\n");
    }

    /// Chunks line up as one table: the widest cell, in the last chunk,
    /// sets the column for the first.
    #[test]
    fn chunks_are_laid_out_at_the_widths_of_the_whole_table() {
        let count = CHUNK * 2 + 3;
        let rows = || {
            (0..count).map(|i| {
                let name = if i == count - 1 { "widest-of-all" } else { "n" };
                vec![Cell::new(name), Cell::new(i)]
            })
        };
        let text = render(&["NAME", "I"], PLAIN, rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), count + 1);
        assert_eq!(lines[0], "NAME           I");
        assert_eq!(lines[1], "n              0");
        assert_eq!(lines[CHUNK + 1], format!("n              {CHUNK}"));
        assert_eq!(lines[count], format!("widest-of-all  {}", count - 1));
    }
}
