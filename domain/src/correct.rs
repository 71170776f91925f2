//! Fixing invalid cells in the preview: the file as a table of records
//! (each with the line it starts on), cells replaced by the operator, and
//! the corrected file written back as CSV. The server then plans those
//! exact bytes, as for any file.
//!
//! The corrected file is UTF-8, comma-separated, CRLF, quoted where RFC
//! 4180 needs it. Cells are written as they are (no formula
//! neutralising): the file goes back into the importer, and every value in
//! it came from the operator's own file or hand.

use crate::decode::{decode, sniff_delimiter};
use crate::error::FileError;
use crate::rows::LineCounter;
use serde::{Deserialize, Serialize};

/// One record of the file and the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub line: u64,
    pub cells: Vec<String>,
}

/// Every non-blank record of a file, the header row included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvTable {
    pub records: Vec<Record>,
}

impl CsvTable {
    /// Reads a file as the importer does (encoding, delimiter, quoting);
    /// blank lines are left out.
    pub fn read(bytes: &[u8]) -> Result<CsvTable, FileError> {
        let (text, _) = decode(bytes)?;
        let delimiter = sniff_delimiter(&text);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut lines = LineCounter::new(text.as_bytes());
        let mut records = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    return Err(FileError::Malformed {
                        line: e.position().map(|p| p.line()).unwrap_or(0),
                        reason: e.to_string(),
                    });
                }
            }
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let line = record.position().map(|p| lines.line_of(p)).unwrap_or(0);
            records.push(Record {
                line,
                cells: record.iter().map(str::to_string).collect(),
            });
        }
        Ok(CsvTable { records })
    }

    /// The record starting on `line`.
    pub fn record(&self, line: u64) -> Option<&Record> {
        self.records.iter().find(|r| r.line == line)
    }

    /// Replaces the cells of the record starting on `line` (missing cells
    /// are blank; extra ones are kept as given). Returns how many cells
    /// changed, or `None` without such a record.
    pub fn correct(&mut self, line: u64, cells: &[String]) -> Option<u32> {
        let record = self.records.iter_mut().find(|r| r.line == line)?;
        let width = record.cells.len().max(cells.len());
        record.cells.resize(width, String::new());
        let mut changed = 0;
        for (i, cell) in record.cells.iter_mut().enumerate() {
            let new = cells.get(i).map(String::as_str).unwrap_or("");
            if cell != new {
                *cell = new.to_string();
                changed += 1;
            }
        }
        Some(changed)
    }

    /// The table as CSV: UTF-8, commas, CRLF, every cell quoted (so that
    /// no `;`, TAB or `|` inside a header cell can make the importer's
    /// delimiter sniffing pick it).
    pub fn write(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Always)
            .flexible(true)
            .from_writer(Vec::new());
        for r in &self.records {
            // Writing to a Vec cannot fail.
            let _ = w.write_record(&r.cells);
        }
        w.into_inner().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_corrected_cell_is_written_back_and_the_rest_is_kept() {
        let bytes = "email;first_name;last_name\r\nnot-an-email;Ada;\"L;ovelace\"\r\n\r\ngrace@x.org;Grace;Hopper\r\n";
        let mut table = CsvTable::read(bytes.as_bytes()).unwrap();
        assert_eq!(table.records.len(), 3);
        assert_eq!(
            table.records[2].line, 4,
            "lines as the importer counts them"
        );
        let fixed = vec![
            "ada@x.org".to_string(),
            "Ada".to_string(),
            "L;ovelace".to_string(),
        ];
        assert_eq!(table.correct(2, &fixed), Some(1));
        assert_eq!(table.correct(9, &fixed), None);
        let written = String::from_utf8(table.write()).unwrap();
        assert_eq!(
            written,
            "\"email\",\"first_name\",\"last_name\"\r\n\"ada@x.org\",\"Ada\",\"L;ovelace\"\r\n\
             \"grace@x.org\",\"Grace\",\"Hopper\"\r\n"
        );
        let plan = crate::plan::plan(
            written.as_bytes(),
            &crate::plan::NoUsers,
            &crate::Options::default(),
            crate::Actor::Owner,
        )
        .unwrap();
        assert_eq!((plan.counts.create, plan.counts.invalid), (2, 0));
    }

    fn cells() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec("[a-zA-Zé ,;\"\n\t'=+-]{0,12}", 1..6)
    }

    proptest! {
        /// parse(write(rows)) == rows, whatever the cells hold (quotes,
        /// delimiters, newlines), for records that are not blank.
        #[test]
        fn writing_then_reading_gives_the_same_cells(rows in prop::collection::vec(cells(), 1..8)) {
            let rows: Vec<Vec<String>> = rows
                .into_iter()
                .filter(|r| !r.iter().all(|c| c.trim().is_empty()))
                .collect();
            prop_assume!(!rows.is_empty());
            let table = CsvTable {
                records: rows.iter().map(|cells| Record { line: 0, cells: cells.clone() }).collect(),
            };
            let back = CsvTable::read(&table.write()).unwrap();
            let back: Vec<Vec<String>> = back.records.into_iter().map(|r| r.cells).collect();
            prop_assert_eq!(back, rows);
        }
    }
}
