//! A bulk send's recipients, read and checked before anything is sent: each row's number,
//! its fields for the template's placeholders, and the verdict on it. Pure: the caller hands
//! in which customers opted out; nothing here reads a store.
//!
//! Rows come as JSON (`[{"to": "+1555...", "fields": {"first_name": "Ann"}}]`) or as CSV with
//! a header row naming `to` and the fields (RFC 4180: quoted fields, `""` for a quote, CRLF
//! or LF). A row is refused, with a stable reason, for a number that is not a phone number,
//! a number listed twice, a customer who opted out of the campaign's numbers, or a
//! placeholder the row (and the customer's contact card) leaves empty; a refused row is never
//! sent. Rows are numbered from 1 in the order given (CSV: the header is row 0).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::domain::{PhoneNumber, TemplateBody};

/// The most recipients one send may have.
pub const MAX_RECIPIENTS: usize = 100_000;

/// One recipient as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientInput {
    /// The customer's number.
    pub to: String,
    /// Values for the template's placeholders (`{{first_name}}`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// Why a row is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Not a phone number.
    InvalidPhoneNumber,
    /// The number is listed in an earlier row.
    Duplicate,
    /// The customer opted out of the campaign's numbers.
    OptedOut,
    /// The template needs a value the row and the contact card do not give.
    MissingField,
}

/// A row that will be sent: the customer and the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedRow {
    /// Its place in the list, from 1.
    pub row: u32,
    /// The customer.
    pub to: PhoneNumber,
    /// The template filled in for this customer.
    pub body: String,
}

/// A row that will not be sent, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedRow {
    /// Its place in the list, from 1.
    pub row: u32,
    /// The number as given.
    pub to: String,
    /// Why.
    pub reason: Refusal,
    /// What exactly (the placeholders missing, the row listing the number first).
    pub detail: String,
}

/// The verdict on every row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// Rows to send, in order.
    pub accepted: Vec<AcceptedRow>,
    /// Rows refused, in order.
    pub refused: Vec<RefusedRow>,
}

/// Reads CSV text into recipients: a header row naming `to` (any case) and the fields, then
/// one row per recipient. Empty lines are skipped. Errors name the line.
pub fn from_csv(text: &str) -> Result<Vec<RecipientInput>, String> {
    let records = csv_records(text)?;
    let mut rows = records.into_iter();
    let Some((_, header)) = rows.next() else {
        return Ok(Vec::new());
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_owned()).collect();
    let to_column = header
        .iter()
        .position(|h| h.eq_ignore_ascii_case("to"))
        .ok_or("the header row must name a `to` column")?;
    let mut out = Vec::new();
    for (line, record) in rows {
        if record.len() != header.len() {
            return Err(format!(
                "line {line} has {} fields, the header {}",
                record.len(),
                header.len()
            ));
        }
        let mut fields = BTreeMap::new();
        let mut to = String::new();
        for (i, value) in record.into_iter().enumerate() {
            if i == to_column {
                to = value;
            } else if !value.is_empty() {
                fields.insert(header[i].clone(), value);
            }
        }
        out.push(RecipientInput { to, fields });
    }
    Ok(out)
}

/// RFC 4180 records with the line each starts on (from 1), empty lines left out.
fn csv_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    let mut touched = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                quoted = true;
                touched = true;
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                touched = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if touched || !field.is_empty() {
                    record.push(std::mem::take(&mut field));
                    records.push((start, std::mem::take(&mut record)));
                }
                touched = false;
                line += 1;
                start = line;
            }
            '"' => return Err(format!("line {line}: a quote inside an unquoted field")),
            _ => {
                field.push(c);
                touched = true;
            }
        }
    }
    if quoted {
        return Err(format!("line {start}: a quoted field is not closed"));
    }
    if touched || !field.is_empty() {
        record.push(field);
        records.push((start, record));
    }
    Ok(records)
}

/// Every row's number parsed (or why not). Parsing is most of a check's cost (the
/// phone-number library's patterns, about 40 µs a number never seen before); it runs on one
/// thread because the library keeps its compiled patterns behind one lock — two threads
/// measured slower than one (`BENCHMARKS.md`, bulk sends).
pub fn parse_numbers(rows: &[RecipientInput]) -> Vec<Result<PhoneNumber, String>> {
    rows.iter()
        .map(|r| PhoneNumber::parse("to", &r.to).map_err(|e| e.to_string()))
        .collect()
}

/// Checks every row: the number, duplicates, opt-outs (`opted_out` says whether a customer
/// opted out of the campaign's numbers) and the template's placeholders, filled from the
/// row's fields, then from `card_field` (the customer's contact card: `contact.name`,
/// `contact.<custom field>`), then from `common` (the campaign's own values, `campaign`).
pub fn check(
    rows: &[RecipientInput],
    numbers: &[Result<PhoneNumber, String>],
    template: &TemplateBody,
    common: &BTreeMap<String, String>,
    opted_out: impl Fn(&PhoneNumber) -> bool,
    card_field: impl Fn(&PhoneNumber, &str) -> Option<String>,
) -> Checked {
    let mut checked = Checked::default();
    let mut seen: HashSet<PhoneNumber> = HashSet::with_capacity(rows.len());
    let mut first_row: std::collections::HashMap<PhoneNumber, u32> = Default::default();
    for (i, input) in rows.iter().enumerate() {
        let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let refuse = |reason, detail: String| RefusedRow {
            row,
            to: input.to.clone(),
            reason,
            detail,
        };
        let to = match numbers.get(i) {
            Some(Ok(to)) => to.clone(),
            Some(Err(e)) => {
                checked
                    .refused
                    .push(refuse(Refusal::InvalidPhoneNumber, e.clone()));
                continue;
            }
            None => {
                checked
                    .refused
                    .push(refuse(Refusal::InvalidPhoneNumber, "not parsed".to_owned()));
                continue;
            }
        };
        if !seen.insert(to.clone()) {
            let first = first_row.get(&to).copied().unwrap_or(0);
            checked.refused.push(refuse(
                Refusal::Duplicate,
                format!("listed first in row {first}"),
            ));
            continue;
        }
        first_row.insert(to.clone(), row);
        if opted_out(&to) {
            checked.refused.push(refuse(
                Refusal::OptedOut,
                "the customer texted STOP to the campaign's numbers".to_owned(),
            ));
            continue;
        }
        let rendered = template.render(|name| {
            input
                .fields
                .get(name)
                .cloned()
                .or_else(|| card_field(&to, name))
                .or_else(|| common.get(name).cloned())
        });
        match rendered {
            Ok(body) => checked.accepted.push(AcceptedRow { row, to, body }),
            Err(missing) => checked.refused.push(refuse(
                Refusal::MissingField,
                format!("no value for {}", missing.join(", ")),
            )),
        }
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn template(body: &str) -> TemplateBody {
        TemplateBody::parse("body", body).unwrap()
    }

    fn input(to: &str, fields: &[(&str, &str)]) -> RecipientInput {
        RecipientInput {
            to: to.to_owned(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn each_row_is_accepted_or_refused_with_its_reason() {
        let rows = vec![
            input("+15550001111", &[("first_name", "Ann")]),
            input("not a number", &[("first_name", "Bob")]),
            input("+1 555 000 1111", &[("first_name", "Ann again")]),
            input("+15550002222", &[("first_name", "Cat")]),
            input("+15550003333", &[]),
            input("+15550004444", &[]),
        ];
        let common = BTreeMap::from([("campaign".to_owned(), "Spring".to_owned())]);
        let checked = check(
            &rows,
            &parse_numbers(&rows),
            &template("Hi {{first_name}}, {{campaign}} renewals are open."),
            &common,
            |to| to.as_str() == "+15550002222",
            |to, field| {
                (to.as_str() == "+15550004444" && field == "first_name").then(|| "Dee".to_owned())
            },
        );
        let accepted: Vec<(u32, &str)> = checked
            .accepted
            .iter()
            .map(|a| (a.row, a.body.as_str()))
            .collect();
        assert_eq!(
            accepted,
            vec![
                (1, "Hi Ann, Spring renewals are open."),
                (6, "Hi Dee, Spring renewals are open.")
            ]
        );
        let refused: Vec<(u32, Refusal)> =
            checked.refused.iter().map(|r| (r.row, r.reason)).collect();
        assert_eq!(
            refused,
            vec![
                (2, Refusal::InvalidPhoneNumber),
                (3, Refusal::Duplicate),
                (4, Refusal::OptedOut),
                (5, Refusal::MissingField)
            ]
        );
        assert_eq!(checked.refused[1].detail, "listed first in row 1");
        assert_eq!(checked.refused[3].detail, "no value for first_name");
    }

    #[test]
    fn csv_reads_quotes_commas_newlines_and_any_case_header() {
        let text = "name,TO,note\r\n\"Lee, Ann\",+15550001111,\"said \"\"hi\"\"\nthen left\"\n\nBob,+15550002222,\n";
        let rows = from_csv(text).unwrap();
        assert_eq!(
            rows,
            vec![
                input(
                    "+15550001111",
                    &[("name", "Lee, Ann"), ("note", "said \"hi\"\nthen left")]
                ),
                input("+15550002222", &[("name", "Bob")]),
            ]
        );
        assert!(from_csv("name\nAnn\n").unwrap_err().contains("`to`"));
        assert!(
            from_csv("to,a\n+1555,1,2\n")
                .unwrap_err()
                .contains("line 2")
        );
        assert!(
            from_csv("to\n\"+1555\n")
                .unwrap_err()
                .contains("not closed")
        );
        assert!(from_csv("").unwrap().is_empty());
    }

    proptest! {
        /// Any values written as RFC 4180 read back unchanged.
        #[test]
        fn csv_round_trips(values in proptest::collection::vec(("[a-z0-9 ,\"\n]{0,12}", "[a-z ,\"]{0,8}"), 1..20)) {
            let quote = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
            let mut text = String::from("to,note\n");
            for (to, note) in &values {
                text.push_str(&format!("{},{}\n", quote(to), quote(note)));
            }
            let rows = from_csv(&text).unwrap();
            prop_assert_eq!(rows.len(), values.len());
            for (row, (to, note)) in rows.iter().zip(&values) {
                prop_assert_eq!(&row.to, to);
                prop_assert_eq!(row.fields.get("note").map(String::as_str).unwrap_or(""), note.as_str());
            }
        }
    }
}
