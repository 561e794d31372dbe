//! Test data: `data:` sources (CSV with a header row, or a JSON array of
//! objects), read once, and which row a user's iteration takes. The host
//! holds one `Table` per file for every user; plain mode holds it in its
//! one instance.

use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// How iterations take rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// User n takes row n mod rows, every iteration.
    PerVu,
    /// Each iteration takes the next row, shared across users, wrapping.
    Sequential,
    /// A row drawn per iteration (from `seed` when the file sets one).
    Random,
    /// Each row once in the whole run; then the users that need one stop.
    Unique,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::PerVu => "per-vu",
            Mode::Sequential => "sequential",
            Mode::Random => "random",
            Mode::Unique => "unique",
        }
    }
}

/// A `data:` entry as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decl {
    pub file: String,
    pub mode: Mode,
}

/// A declared source: its name, file and mode, and its fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub name: String,
    pub file: String,
    pub mode: Mode,
    pub columns: Vec<String>,
}

/// A parsed data file, compact: every field's text one after the other in
/// one string, and where each field ends (a 100 MB file costs about 100 MB
/// plus 4 bytes per field, not an allocation per field).
#[derive(Debug, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    text: String,
    /// End of field k (row-major) in `text`; field k starts where k-1 ends.
    ends: Vec<u32>,
}

impl Table {
    fn push_row<'a>(
        &mut self,
        at: &str,
        fields: impl Iterator<Item = &'a str>,
    ) -> Result<(), String> {
        for f in fields {
            self.text.push_str(f);
            let end = u32::try_from(self.text.len())
                .map_err(|_| format!("{at}: more than 4 GB of field text"))?;
            self.ends.push(end);
        }
        Ok(())
    }

    pub fn rows(&self) -> usize {
        self.ends.len() / self.columns.len().max(1)
    }

    /// Field `column` of row `row`.
    pub fn field(&self, row: usize, column: usize) -> &str {
        let k = row * self.columns.len() + column;
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.text[start..self.ends[k] as usize]
    }

    /// Its fields' text and where each ends (field k ends at `ends[k]`),
    /// as `from_parts` takes them: how a host hands a table to a cell.
    pub fn parts(&self) -> (&str, &[u32]) {
        (&self.text, &self.ends)
    }

    /// A table from `parts`, checked (the ends rise, stay in the text and
    /// fall on character boundaries, and fill whole rows).
    pub fn from_parts(columns: Vec<String>, text: String, ends: Vec<u32>) -> Result<Table, String> {
        let mut last = 0;
        for &e in &ends {
            if e < last || e as usize > text.len() || !text.is_char_boundary(e as usize) {
                return Err("a data table's field ends are not in order".into());
            }
            last = e;
        }
        if !ends.len().is_multiple_of(columns.len().max(1)) {
            return Err("a data table's fields do not fill whole rows".into());
        }
        Ok(Table {
            columns,
            text,
            ends,
        })
    }

    /// Row `row`'s fields, in column order.
    pub fn row(&self, row: usize) -> Vec<String> {
        (0..self.columns.len())
            .map(|c| self.field(row, c).to_string())
            .collect()
    }
}

/// Parses a data file by its extension: `.json` (an array of objects with
/// the same fields) or CSV (a header row). Errors name the line (CSV) or
/// the element (JSON) and the field.
/// A CSV streams from `input` (its text is never held twice).
pub fn parse(path: &str, input: impl std::io::Read) -> Result<Table, String> {
    let at = format!("data file {path}");
    if path.to_ascii_lowercase().ends_with(".json") {
        return json(&at, input);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{at}: {}", csv_error(&e)))?
        .iter()
        .map(|c| c.trim().to_string())
        .collect();
    if columns.iter().all(String::is_empty) {
        return Err(format!(
            "{at} line 1: a header row naming the fields is needed"
        ));
    }
    if let Some(c) = columns.iter().find(|c| c.is_empty()) {
        return Err(format!("{at} line 1: field {:?} has no name", c));
    }
    let mut table = Table {
        columns,
        ..Table::default()
    };
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => table.push_row(&at, record.iter())?,
            Ok(false) => break,
            Err(e) => return Err(format!("{at}: {}", csv_error(&e))),
        }
    }
    if table.rows() == 0 {
        return Err(format!("{at}: no rows after the header"));
    }
    table.text.shrink_to_fit();
    table.ends.shrink_to_fit();
    Ok(table)
}

fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "line {}: {len} fields, the header has {expected_len}",
            pos.as_ref().map_or(0, |p| p.line())
        ),
        csv::ErrorKind::Utf8 { pos, .. } => {
            format!("line {}: not UTF-8", pos.as_ref().map_or(0, |p| p.line()))
        }
        _ => e.to_string(),
    }
}

fn json(at: &str, input: impl std::io::Read) -> Result<Table, String> {
    let items: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_reader(std::io::BufReader::new(input)).map_err(|e| {
            format!(
                "{at} line {} column {}: expected an array of objects ({e})",
                e.line(),
                e.column()
            )
        })?;
    let Some(first) = items.first() else {
        return Err(format!("{at}: an empty array"));
    };
    let mut table = Table {
        columns: first.keys().cloned().collect(),
        ..Table::default()
    };
    let columns = table.columns.clone();
    for (i, item) in items.iter().enumerate() {
        if let Some(extra) = item.keys().find(|k| !columns.contains(k)) {
            return Err(format!(
                "{at} element {i}: field {extra} is not in element 0 (every object needs the same fields)"
            ));
        }
        let row = columns
            .iter()
            .map(|c| match item.get(c) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(v) => Ok(v.to_string()),
                None => Err(format!("{at} element {i}: field {c} is missing")),
            })
            .collect::<Result<Vec<String>, String>>()?;
        table.push_row(at, row.iter().map(String::as_str))?;
    }
    Ok(table)
}

/// Which rows iterations take: one cursor per source, shared by every user
/// of the process (atomics: the host's users run on several threads).
#[derive(Debug, Default)]
pub struct Picker {
    modes: Vec<(Mode, u64)>,
    cursors: Vec<AtomicU64>,
    seed: Option<u64>,
    /// This process's turns of the sequential and unique cursors.
    shard: crate::executor::Shard,
}

impl Picker {
    /// `sources`: each source's mode and row count.
    pub fn new(
        sources: impl IntoIterator<Item = (Mode, usize)>,
        seed: Option<u64>,
        shard: crate::executor::Shard,
    ) -> Self {
        let modes: Vec<(Mode, u64)> = sources.into_iter().map(|(m, n)| (m, n as u64)).collect();
        Picker {
            cursors: modes.iter().map(|_| AtomicU64::new(0)).collect(),
            modes,
            seed,
            shard,
        }
    }

    /// The row of `source` that iteration `iteration` of user `vu` takes;
    /// none when a `unique` source has no row left.
    pub fn row(&self, source: usize, vu: u32, iteration: u64) -> Option<usize> {
        let (mode, rows) = *self.modes.get(source)?;
        if rows == 0 {
            return None;
        }
        let i = match mode {
            Mode::PerVu => u64::from(vu) % rows,
            Mode::Sequential => {
                let k = self.cursors[source].fetch_add(1, Ordering::Relaxed);
                self.shard.turn(k) % rows
            }
            Mode::Random => match self.seed {
                // The same seed gives user n's iteration k the same row.
                Some(seed) => {
                    let mix = seed
                        ^ (u64::from(vu).wrapping_mul(0x9E37_79B9_7F4A_7C15))
                        ^ iteration.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
                        ^ (source as u64).wrapping_mul(0x1656_67B1_9E37_79F9);
                    fastrand::Rng::with_seed(mix).u64(0..rows)
                }
                None => fastrand::u64(0..rows),
            },
            Mode::Unique => {
                // Shards take turns, so no row is used twice in the run.
                let n = self
                    .shard
                    .turn(self.cursors[source].fetch_add(1, Ordering::Relaxed));
                if n >= rows {
                    return None;
                }
                n
            }
        };
        Some(i as usize)
    }
}

/// Every data source's table and the cursors over them: what hands an
/// iteration its rows.
/// (`Default`: no data sources.)
#[derive(Debug, Default)]
pub struct Rows {
    pub tables: Vec<std::sync::Arc<Table>>,
    picker: Picker,
}

impl Rows {
    /// `tables` in the order of `sources` (`Scenario::data`); `seed` and
    /// `shard` are the scenario's (`Scenario::rows` passes them).
    pub fn new(
        sources: &[Source],
        seed: Option<u64>,
        shard: crate::executor::Shard,
        tables: Vec<std::sync::Arc<Table>>,
    ) -> Self {
        let picker = Picker::new(
            sources.iter().zip(&tables).map(|(s, t)| (s.mode, t.rows())),
            seed,
            shard,
        );
        Rows { tables, picker }
    }

    /// A row of each of `sources` for iteration `iteration` of user `vu`
    /// (source, its fields); `Err(source)` when a `unique` source has no
    /// row left.
    pub fn take(
        &self,
        sources: &[usize],
        vu: u32,
        iteration: u64,
    ) -> Result<Vec<(usize, Vec<String>)>, usize> {
        sources
            .iter()
            .map(|&s| {
                let row = self.picker.row(s, vu, iteration).ok_or(s)?;
                Ok((s, self.tables[s].row(row)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_a_header_and_a_ragged_row() {
        let t = parse("u.csv", &b"name,password\nann,a1\nbob,\"b,2\"\n"[..]).unwrap();
        assert_eq!(t.columns, ["name", "password"]);
        assert_eq!(t.row(1), ["bob", "b,2"]);
        assert_eq!((t.rows(), t.field(0, 1)), (2, "a1"));
        let e = parse("u.csv", &b"name,password\nann,a1\nbob\n"[..]).unwrap_err();
        assert_eq!(e, "data file u.csv: line 3: 1 fields, the header has 2");
    }

    #[test]
    fn json_array_of_objects() {
        let t = parse(
            "p.json",
            &br#"[{"id": 1, "name": "x"}, {"id": 2, "name": "y"}]"#[..],
        )
        .unwrap();
        assert_eq!(t.row(1), ["2", "y"]);
        let e = parse("p.json", &br#"[{"id": 1}, {"di": 2}]"#[..]).unwrap_err();
        assert!(e.contains("element 1: field di"), "{e}");
    }

    #[test]
    fn shards_take_turns_at_unique_rows() {
        let shards: Vec<Picker> = (0..3)
            .map(|index| {
                let shard = crate::executor::Shard { index, count: 3 };
                Picker::new([(Mode::Unique, 7)], None, shard)
            })
            .collect();
        let mut taken: Vec<usize> = shards
            .iter()
            .flat_map(|p| std::iter::from_fn(|| p.row(0, 0, 0)))
            .collect();
        taken.sort();
        assert_eq!(taken, (0..7).collect::<Vec<_>>(), "each row once in all");
    }

    #[test]
    fn modes_pick_rows() {
        let p = Picker::new(
            [
                (Mode::PerVu, 3),
                (Mode::Sequential, 3),
                (Mode::Unique, 2),
                (Mode::Random, 5),
            ],
            Some(1),
            Default::default(),
        );
        assert_eq!(p.row(0, 4, 9), Some(1));
        let seq: Vec<_> = (0..4).map(|_| p.row(1, 0, 0).unwrap()).collect();
        assert_eq!(seq, [0, 1, 2, 0]);
        assert_eq!(
            (p.row(2, 0, 0), p.row(2, 1, 0), p.row(2, 2, 0)),
            (Some(0), Some(1), None)
        );
        assert_eq!(p.row(3, 2, 7), p.row(3, 2, 7));
    }
}
