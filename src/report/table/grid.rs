//! Borderless, left-aligned comfy-table tables drawn in bounded memory.
//!
//! comfy-table lays out a whole table at once, and a table of a hundred
//! thousand sockets (`who` on a busy host) costs it several hundred MiB
//! (README: memory). So the rows are made twice rather than kept: once to
//! measure each column, then in chunks of [`CHUNK`] rows, each a comfy-table
//! table whose columns are fixed at the widths measured over all rows, so
//! the chunks line up as one table. Columns are two spaces apart, lines carry
//! no trailing blanks, and a cell may span several lines (one owner a line).
//! In a terminal the table is fitted to its width ([`fit`]): the last column
//! (the command line, the listener, the rule) is cut with `…` first, then
//! the widest; a cut cell's lines are each cut, never wrapped.

use comfy_table::{
    Attribute, Cell, ColumnConstraint, ContentArrangement, Row, Table, Width, presets,
};
use unicode_width::UnicodeWidthStr;

use super::Style;

/// Space after every column (trimmed at the end of a line).
const GAP: u16 = 2;
/// Rows laid out at a time.
const CHUNK: usize = 1024;
/// A column is not cut narrower than this (nor than its header).
const MIN_CUT: usize = 10;

/// The table's lines under `headers`, the rows being what `rows` yields;
/// `rows` is called twice and must yield the same rows both times.
pub fn render<I>(headers: &[&str], style: Style, rows: impl Fn() -> I) -> String
where
    I: Iterator<Item = Vec<Cell>>,
{
    let header_widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    let mut widths = header_widths.clone();
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

    let widths = match style.width {
        Some(limit) => fit(&widths, &header_widths, limit),
        None => widths,
    };
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
        let last = widths.len().saturating_sub(1);
        let row: Vec<Cell> = row
            .into_iter()
            .zip(&widths)
            .enumerate()
            .map(|(index, (cell, &width))| fit_cell(cell, width, index == last))
            .collect();
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

/// Column widths that fit `limit` columns with the gaps: the last column
/// gives way first, down to its floor (its header, or [`MIN_CUT`]), then
/// the widest column a character at a time. A table that cannot fit at
/// its floors stays as narrow as they allow.
pub fn fit(widths: &[usize], headers: &[usize], limit: usize) -> Vec<usize> {
    let gaps = usize::from(GAP) * widths.len().saturating_sub(1);
    let floor = |i: usize| headers[i].max(MIN_CUT).min(widths[i]);
    let total = |w: &[usize]| w.iter().sum::<usize>() + gaps;
    let mut fitted = widths.to_vec();
    if let Some(last) = fitted.len().checked_sub(1) {
        let over = total(&fitted).saturating_sub(limit);
        fitted[last] -= over.min(fitted[last] - floor(last));
    }
    while total(&fitted) > limit {
        let widest = (0..fitted.len())
            .filter(|&i| fitted[i] > floor(i))
            .max_by_key(|&i| (fitted[i], i));
        match widest {
            Some(i) => fitted[i] -= 1,
            None => break,
        }
    }
    fitted
}

/// `cell` made to fit `width`: the last column's lines are cut (the end of
/// a command line matters least), another column's lines wrap within the
/// cell at a space or a comma (an address or an option list stays
/// legible); the cell itself when it fits.
fn fit_cell(cell: Cell, width: usize, last: bool) -> Cell {
    let content = cell.content();
    if content.lines().all(|line| line.width() <= width) {
        return cell;
    }
    let lines: Vec<String> = content
        .lines()
        .flat_map(|line| {
            if last {
                vec![cut(line, width)]
            } else {
                wrap(line, width)
            }
        })
        .collect();
    Cell::new(lines.join("\n"))
}

/// `line` in lines of at most `width` columns, broken after a space or a
/// comma; a word longer than a line is cut.
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut words: Vec<&str> = Vec::new();
    let mut start = 0;
    for (index, c) in line.char_indices() {
        if c == ' ' || c == ',' {
            words.push(&line[start..=index]);
            start = index + 1;
        }
    }
    if start < line.len() {
        words.push(&line[start..]);
    }
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in words {
        if !current.is_empty() && (current.clone() + word).trim_end().width() > width {
            lines.push(current.trim_end().to_owned());
            current.clear();
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current.trim_end().to_owned());
    }
    lines.iter().map(|line| cut(line, width)).collect()
}

/// `line` cut to `width` columns with `…` as the last.
pub fn cut(line: &str, width: usize) -> String {
    if line.width() <= width {
        return line.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in line.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
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
    // No gap after the last column: a styled cell keeps its padding inside
    // the styling, where trimming cannot reach it, and a terminal as wide
    // as the table would wrap it.
    let last = widths.len().saturating_sub(1);
    let gap = |index: usize| if index == last { 0 } else { GAP };
    table.set_constraints(widths.iter().enumerate().map(|(index, &width)| {
        let content = u16::try_from(width).unwrap_or(u16::MAX - GAP);
        ColumnConstraint::Absolute(Width::Fixed(content.saturating_add(gap(index))))
    }));
    for (index, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, gap(index)));
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

    const PLAIN: Style = Style::PLAIN;

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
        let coloured = render(
            &["H", "I"],
            Style {
                color: true,
                ..Style::PLAIN
            },
            row,
        );
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
    fn the_last_column_gives_way_first_then_the_widest() {
        // 4 + 10 + 30 and two gaps of 2 = 48.
        assert_eq!(fit(&[4, 10, 30], &[4, 5, 7], 48), [4, 10, 30]);
        assert_eq!(fit(&[4, 10, 30], &[4, 5, 7], 40), [4, 10, 22]);
        // The last at its floor (10), then the widest.
        assert_eq!(fit(&[4, 20, 30], &[4, 5, 7], 30), [4, 12, 10]);
        // Floors hold: narrower cannot be drawn.
        assert_eq!(fit(&[12, 12, 30], &[12, 12, 7], 20), [12, 12, 10]);
        assert_eq!(fit(&[], &[], 10), Vec::<usize>::new());
    }

    #[test]
    fn cut_lines_end_in_an_ellipsis_at_the_width_shown() {
        assert_eq!(cut("python3 -m http.server", 10), "python3 -…");
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("→→→→→→", 4), "→→→…");
        assert_eq!(cut("全角全角", 5), "全角…");
    }

    #[test]
    fn other_columns_wrap_at_spaces_and_commas() {
        assert_eq!(wrap("EADDRINUSE at bind", 12), ["EADDRINUSE", "at bind"]);
        assert_eq!(wrap("reuseaddr,listen", 12), ["reuseaddr,", "listen"]);
        assert_eq!(wrap("tcp 127.0.0.1:8000", 14), ["tcp", "127.0.0.1:8000"]);
        assert_eq!(wrap("[2001:db8::1234]:80", 10), ["[2001:db8…"]);
        assert_eq!(wrap("fits", 10), ["fits"]);
    }

    #[test]
    fn a_fitted_table_is_no_wider_than_its_limit() {
        let style = Style {
            width: Some(30),
            ..Style::PLAIN
        };
        let text = render(&["PROTO", "LOCAL", "PROCESS"], style, || {
            vec![vec![
                Cell::new("tcp"),
                Cell::new("0.0.0.0:80"),
                Cell::new("nginx (pid 1): nginx: master process\nnginx (pid 2): worker"),
            ]]
            .into_iter()
        });
        assert!(text.lines().all(|line| line.width() <= 30), "{text}");
        // 30 less PROTO, LOCAL and two gaps leaves 11: each owner's line cut.
        assert_eq!(text.matches("nginx (pid…").count(), 2, "{text}");
        let whole = render(&["PROTO", "LOCAL", "PROCESS"], PLAIN, || {
            vec![vec![
                Cell::new("tcp"),
                Cell::new("x"),
                Cell::new("a long command line"),
            ]]
            .into_iter()
        });
        assert!(whole.contains("a long command line"), "{whole}");
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
