//! CSV with a header row: `component`, `name`, optionally `environment`, then one column per
//! field name (`host`, `api_key`, ...). An empty cell leaves its field unset, so one file can
//! hold credentials of several components; a value in a column that is no field of the row's
//! component is refused for that row, never dropped.

use super::{draft, BadFile, Entry, Mapped};
use crate::catalog::Catalog;

pub fn parse(text: &str, catalog: &Catalog) -> Result<Vec<Entry>, BadFile> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|_| BadFile("has no readable header row".into()))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(component_at), Some(name_at)) = (column("component"), column("name")) else {
        return Err(BadFile(
            "needs a header row with the columns component and name (then environment and field names)".into(),
        ));
    };
    let environment_at = column("environment");
    let mut entries = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| {
            let line = e.position().map_or(i as u64 + 2, |p| p.line());
            BadFile(format!("line {line} is not a CSV row that fits the header"))
        })?;
        let cell = |at: usize| row.get(at).unwrap_or("").trim().to_string();
        let (component_id, name) = (cell(component_at), cell(name_at));
        let label = format!("row {} ({name})", i + 2);
        let mapped = match catalog.get(&component_id) {
            None => Mapped::Unmappable(format!(
                "component '{component_id}' is not in keyway's catalogue (see `keyway component list`)"
            )),
            Some(comp) => {
                let mut pairs = Vec::new();
                let mut misplaced = None;
                for (at, header) in headers.iter().enumerate() {
                    if [Some(component_at), Some(name_at), environment_at].contains(&Some(at)) {
                        continue;
                    }
                    let value = row.get(at).unwrap_or("");
                    if value.is_empty() {
                        continue;
                    }
                    if comp.field(header).is_none() {
                        misplaced = Some(header.to_string());
                        break;
                    }
                    pairs.push((header.to_string(), value.to_string()));
                }
                match misplaced {
                    Some(header) => Mapped::Unmappable(format!(
                        "the column '{header}' has a value but is no field of {}",
                        comp.id
                    )),
                    None if name.is_empty() => Mapped::Unmappable("its name is empty".into()),
                    None => {
                        let env = environment_at.map(cell).filter(|e| !e.is_empty());
                        Mapped::Credential(draft(comp, &name, env, pairs))
                    }
                }
            }
        };
        entries.push(Entry { label, mapped });
    }
    Ok(entries)
}
