//! The results tables: one column layout for the header and every row, so
//! that the two cannot drift apart.

/// Which side of its column a cell keeps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Padded on the right: labels.
    Left,
    /// Padded on the left: figures.
    Right,
}

/// One column: its heading, its width, and the spaces before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    heading: String,
    width: usize,
    align: Align,
    gap: usize,
}

impl Column {
    /// A column of `width` characters whose cells keep to the left. A cell
    /// longer than the width is printed whole, pushing the rest of its row.
    /// A last column of width 0 leaves no trailing spaces.
    pub fn left(heading: impl Into<String>, width: usize) -> Column {
        Column::new(heading, width, Align::Left)
    }

    /// A column of `width` characters whose cells keep to the right.
    pub fn right(heading: impl Into<String>, width: usize) -> Column {
        Column::new(heading, width, Align::Right)
    }

    fn new(heading: impl Into<String>, width: usize, align: Align) -> Column {
        Column {
            heading: heading.into(),
            width,
            align,
            gap: 0,
        }
    }

    /// `spaces` spaces before the column, outside its width.
    pub fn gap(mut self, spaces: usize) -> Column {
        self.gap = spaces;
        self
    }

    fn render(&self, cell: &str, line: &mut String) {
        line.extend(std::iter::repeat_n(' ', self.gap));
        let width = self.width;
        match self.align {
            Align::Left => line.push_str(&format!("{cell:<width$}")),
            Align::Right => line.push_str(&format!("{cell:>width$}")),
        }
    }
}

/// A table: a header line of the columns' headings, then a line per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns and no rows yet.
    pub fn new(columns: impl IntoIterator<Item = Column>) -> Table {
        Table {
            columns: columns.into_iter().collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row, one cell per column: missing cells are blank, extra cells
    /// are dropped.
    pub fn row(&mut self, cells: impl IntoIterator<Item = String>) {
        self.rows.push(cells.into_iter().collect());
    }

    /// The header line, then one line per row, without trailing spaces.
    pub fn lines(&self) -> Vec<String> {
        let header: Vec<&str> = self.columns.iter().map(|c| c.heading.as_str()).collect();
        std::iter::once(self.line(&header))
            .chain(self.rows.iter().map(|row| {
                let cells: Vec<&str> = row.iter().map(String::as_str).collect();
                self.line(&cells)
            }))
            .collect()
    }

    /// Prints [`Table::lines`] to stdout.
    pub fn print(&self) {
        for line in self.lines() {
            println!("{line}");
        }
    }

    fn line(&self, cells: &[&str]) -> String {
        let mut line = String::new();
        for (index, column) in self.columns.iter().enumerate() {
            column.render(cells.get(index).copied().unwrap_or(""), &mut line);
        }
        line.truncate(line.trim_end().len());
        line
    }
}

/// `figure` with `decimals` decimals, or `n/a` when it is not a finite
/// number (a cell never measured, a ratio over nothing).
pub fn fixed(figure: f64, decimals: usize) -> String {
    if figure.is_finite() {
        format!("{figure:.decimals$}")
    } else {
        "n/a".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_rows_share_the_columns_layout() {
        let mut table = Table::new([
            Column::left("workload", 10),
            Column::right("ours", 6),
            Column::left("note", 0).gap(2),
        ]);
        table.row(["(a) run".into(), "1.5".into(), "fast".into()]);
        table.row(["(b) a long label".into(), "22".into()]);
        assert_eq!(
            table.lines(),
            [
                "workload    ours  note",
                "(a) run      1.5  fast",
                "(b) a long label    22",
            ]
        );
    }

    #[test]
    fn figures_print_with_their_decimals_or_as_not_available() {
        assert_eq!(fixed(1498.6, 0), "1499");
        assert_eq!(fixed(0.0524, 3), "0.052");
        assert_eq!(fixed(f64::NAN, 3), "n/a");
        assert_eq!(fixed(f64::INFINITY, 0), "n/a");
    }
}
