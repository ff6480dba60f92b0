//! Header values, with every type AMQP field tables carry, so that headers
//! the broker writes (`x-death`, with its arrays, tables and timestamps)
//! read back typed.

use std::collections::BTreeMap;

use amiquip::{AmqpValue, FieldTable};

use crate::error::{Error, Result};
use crate::limits::{short_string_problem, shorten};

/// A header value: one of the types of AMQP 0-9-1 field tables (as RabbitMQ
/// reads them).
///
/// Every AMQP integer type reads as [`Int`](Self::Int) and every
/// floating-point type as [`Float`](Self::Float); what mq-lite publishes
/// reads back equal. Arrays and tables nest at most [`MAX_HEADER_DEPTH`]
/// deep, counting the headers' own table.
///
/// ```
/// use mq_lite::HeaderValue;
/// let routing_keys = HeaderValue::Array(vec!["jobs".into()]);
/// assert_eq!(routing_keys.as_array().map(|keys| keys.len()), Some(1));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum HeaderValue {
    /// A UTF-8 string (an AMQP long string).
    Text(String),
    /// A signed integer (sent as a 64-bit integer).
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A floating-point number (sent as a double).
    Float(f64),
    /// A decimal: `value` × 10^-`scale`.
    Decimal {
        /// Digits after the decimal point.
        scale: u8,
        /// The unscaled value.
        value: u32,
    },
    /// A point in time, in seconds since the Unix epoch (`x-death`'s `time`).
    Timestamp(u64),
    /// A list of values (`x-death` is a list of tables).
    Array(Vec<HeaderValue>),
    /// A nested table; its names are AMQP short strings (at most 255 bytes).
    Table(BTreeMap<String, HeaderValue>),
    /// No value (AMQP's void).
    Void,
}

impl HeaderValue {
    /// The text, if this is [`Text`](Self::Text).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            HeaderValue::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The integer, if this is [`Int`](Self::Int).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            HeaderValue::Int(number) => Some(*number),
            _ => None,
        }
    }

    /// The values, if this is an [`Array`](Self::Array).
    pub fn as_array(&self) -> Option<&[HeaderValue]> {
        match self {
            HeaderValue::Array(values) => Some(values),
            _ => None,
        }
    }

    /// The table, if this is a [`Table`](Self::Table).
    pub fn as_table(&self) -> Option<&BTreeMap<String, HeaderValue>> {
        match self {
            HeaderValue::Table(table) => Some(table),
            _ => None,
        }
    }
}

impl From<&str> for HeaderValue {
    fn from(value: &str) -> Self {
        HeaderValue::Text(value.to_owned())
    }
}

impl From<String> for HeaderValue {
    fn from(value: String) -> Self {
        HeaderValue::Text(value)
    }
}

impl From<i64> for HeaderValue {
    fn from(value: i64) -> Self {
        HeaderValue::Int(value)
    }
}

impl From<bool> for HeaderValue {
    fn from(value: bool) -> Self {
        HeaderValue::Bool(value)
    }
}

impl From<f64> for HeaderValue {
    fn from(value: f64) -> Self {
        HeaderValue::Float(value)
    }
}

impl From<Vec<HeaderValue>> for HeaderValue {
    fn from(values: Vec<HeaderValue>) -> Self {
        HeaderValue::Array(values)
    }
}

impl From<BTreeMap<String, HeaderValue>> for HeaderValue {
    fn from(table: BTreeMap<String, HeaderValue>) -> Self {
        HeaderValue::Table(table)
    }
}

/// How deeply header values (arrays and tables) may nest. Deeper ones are
/// refused on publishing ([`Error::InvalidArgument`]); in a delivery, the
/// values nested deeper read as [`HeaderValue::Void`]. Converting them
/// recurses, once per level, and nothing sensible nests this deep
/// (`x-death` has three levels).
pub const MAX_HEADER_DEPTH: usize = 64;

/// Refuses table names AMQP cannot carry, at any depth, and nesting deeper
/// than [`MAX_HEADER_DEPTH`]; `path` names the table being checked, for the error.
pub(crate) fn check_table(path: &str, table: &BTreeMap<String, HeaderValue>) -> Result<()> {
    check_nested(path, table, 1)
}

fn check_nested(path: &str, table: &BTreeMap<String, HeaderValue>, depth: usize) -> Result<()> {
    for (name, value) in table {
        if let Some(reason) = short_string_problem(name) {
            return Err(Error::InvalidArgument {
                argument: format!("{path} name {:?}", shorten(name)),
                reason,
            });
        }
        check_value(&format!("{path} {:?}", shorten(name)), value, depth)?;
    }
    Ok(())
}

/// Checks `value`, found in a table or array at `depth`.
fn check_value(path: &str, value: &HeaderValue, depth: usize) -> Result<()> {
    let nested = matches!(value, HeaderValue::Table(_) | HeaderValue::Array(_));
    if nested && depth >= MAX_HEADER_DEPTH {
        return Err(Error::InvalidArgument {
            argument: path.to_owned(),
            reason: format!("nested more than {MAX_HEADER_DEPTH} arrays or tables deep"),
        });
    }
    match value {
        HeaderValue::Table(table) => check_nested(path, table, depth + 1),
        HeaderValue::Array(values) => values
            .iter()
            .try_for_each(|value| check_value(path, value, depth + 1)),
        _ => Ok(()),
    }
}

pub(crate) fn to_amqp_table(table: &BTreeMap<String, HeaderValue>) -> FieldTable {
    table
        .iter()
        .map(|(name, value)| (name.clone(), to_amqp(value)))
        .collect()
}

pub(crate) fn from_amqp_table(table: &FieldTable) -> BTreeMap<String, HeaderValue> {
    from_amqp_nested(table, 1)
}

fn from_amqp_nested(table: &FieldTable, depth: usize) -> BTreeMap<String, HeaderValue> {
    table
        .iter()
        .map(|(name, value)| (name.clone(), from_amqp(value, depth)))
        .collect()
}

fn to_amqp(value: &HeaderValue) -> AmqpValue {
    match value {
        HeaderValue::Text(text) => AmqpValue::LongString(text.clone()),
        HeaderValue::Int(number) => AmqpValue::LongLongInt(*number),
        HeaderValue::Bool(flag) => AmqpValue::Boolean(*flag),
        HeaderValue::Bytes(bytes) => AmqpValue::ByteArray(bytes.clone()),
        HeaderValue::Float(number) => AmqpValue::Double(*number),
        HeaderValue::Decimal { scale, value } => {
            AmqpValue::DecimalValue(amq_decimal(*scale, *value))
        }
        HeaderValue::Timestamp(seconds) => AmqpValue::Timestamp(*seconds),
        HeaderValue::Array(values) => AmqpValue::FieldArray(values.iter().map(to_amqp).collect()),
        HeaderValue::Table(table) => AmqpValue::FieldTable(to_amqp_table(table)),
        HeaderValue::Void => AmqpValue::Void,
    }
}

/// Converts `value`, found in a table or array at `depth`; past
/// [`MAX_HEADER_DEPTH`], arrays and tables read as void.
fn from_amqp(value: &AmqpValue, depth: usize) -> HeaderValue {
    match value {
        AmqpValue::LongString(text) => HeaderValue::Text(text.clone()),
        AmqpValue::Boolean(flag) => HeaderValue::Bool(*flag),
        AmqpValue::ShortShortInt(n) => HeaderValue::Int(i64::from(*n)),
        AmqpValue::ShortShortUInt(n) => HeaderValue::Int(i64::from(*n)),
        AmqpValue::ShortInt(n) => HeaderValue::Int(i64::from(*n)),
        AmqpValue::ShortUInt(n) => HeaderValue::Int(i64::from(*n)),
        AmqpValue::LongInt(n) => HeaderValue::Int(i64::from(*n)),
        AmqpValue::LongUInt(n) => HeaderValue::Int(i64::from(*n)),
        AmqpValue::LongLongInt(n) => HeaderValue::Int(*n),
        AmqpValue::Float(n) => HeaderValue::Float(f64::from(*n)),
        AmqpValue::Double(n) => HeaderValue::Float(*n),
        AmqpValue::DecimalValue(decimal) => HeaderValue::Decimal {
            scale: decimal.scale,
            value: decimal.value,
        },
        AmqpValue::Timestamp(seconds) => HeaderValue::Timestamp(*seconds),
        AmqpValue::ByteArray(bytes) => HeaderValue::Bytes(bytes.clone()),
        AmqpValue::FieldArray(_) | AmqpValue::FieldTable(_) if depth >= MAX_HEADER_DEPTH => {
            HeaderValue::Void
        }
        AmqpValue::FieldArray(values) => HeaderValue::Array(
            values
                .iter()
                .map(|value| from_amqp(value, depth + 1))
                .collect(),
        ),
        AmqpValue::FieldTable(table) => HeaderValue::Table(from_amqp_nested(table, depth + 1)),
        AmqpValue::Void => HeaderValue::Void,
    }
}

fn amq_decimal(scale: u8, value: u32) -> amq_protocol_types::DecimalValue {
    amq_protocol_types::DecimalValue { scale, value }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_type() -> BTreeMap<String, HeaderValue> {
        let nested: BTreeMap<String, HeaderValue> =
            [("count".to_owned(), HeaderValue::Int(2))].into();
        BTreeMap::from([
            ("text".to_owned(), "t".into()),
            ("int".to_owned(), HeaderValue::Int(-7)),
            ("bool".to_owned(), true.into()),
            ("bytes".to_owned(), HeaderValue::Bytes(vec![0, 255])),
            ("float".to_owned(), 1.25.into()),
            (
                "decimal".to_owned(),
                HeaderValue::Decimal {
                    scale: 2,
                    value: 314,
                },
            ),
            ("time".to_owned(), HeaderValue::Timestamp(1_700_000_000)),
            (
                "array".to_owned(),
                vec![HeaderValue::Int(1), nested.clone().into()].into(),
            ),
            ("table".to_owned(), nested.into()),
            ("void".to_owned(), HeaderValue::Void),
        ])
    }

    #[test]
    fn every_type_survives_the_round_trip_through_amqp() {
        let table = every_type();
        assert_eq!(from_amqp_table(&to_amqp_table(&table)), table);
    }

    #[test]
    fn long_names_are_refused_at_any_depth() {
        let long = "n".repeat(256);
        let inner = BTreeMap::from([(long.clone(), HeaderValue::Void)]);
        let outer = BTreeMap::from([(
            "list".to_owned(),
            HeaderValue::Array(vec![HeaderValue::Table(inner)]),
        )]);
        let err = check_table("header", &outer).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
        assert!(err.to_string().contains("\"list\""), "{err}");
        check_table("header", &every_type()).unwrap();
    }

    /// A table `levels` deep: each level an array holding the next.
    fn nested(levels: usize) -> BTreeMap<String, HeaderValue> {
        let mut value = HeaderValue::Int(1);
        for level in 1..levels {
            value = if level % 2 == 0 {
                HeaderValue::Array(vec![value])
            } else {
                HeaderValue::Table([("next".to_owned(), value)].into())
            };
        }
        [("deep".to_owned(), value)].into()
    }

    #[test]
    fn values_nested_deeper_than_the_limit_are_refused_before_sending() {
        check_table("header", &nested(MAX_HEADER_DEPTH)).unwrap();
        let err = check_table("header", &nested(MAX_HEADER_DEPTH + 1)).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
        assert!(err.to_string().contains("nested more than 64"), "{err}");
        // A million levels: refused without overflowing the stack.
        let mut value = HeaderValue::Void;
        for _ in 0..1_000_000 {
            value = HeaderValue::Array(vec![value]);
        }
        let deep = [("deep".to_owned(), value)].into();
        assert!(check_table("header", &deep).is_err());
        std::mem::forget(deep); // its recursive drop would overflow the test's stack
    }

    #[test]
    fn received_values_nested_deeper_than_the_limit_read_as_void() {
        let table = nested(MAX_HEADER_DEPTH);
        assert_eq!(from_amqp_table(&to_amqp_table(&table)), table);
        let read = from_amqp_table(&to_amqp_table(&nested(MAX_HEADER_DEPTH + 3)));
        let mut value = &read["deep"];
        let mut levels = 1;
        loop {
            value = match value {
                HeaderValue::Table(table) => &table["next"],
                HeaderValue::Array(values) => &values[0],
                _ => break,
            };
            levels += 1;
        }
        assert_eq!(levels, MAX_HEADER_DEPTH);
        assert_eq!(value, &HeaderValue::Void);
    }
}
