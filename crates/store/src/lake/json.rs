//! Query results as JSON for the HTTP API: column names plus rows of JSON values.
//!
//! Times print as RFC 3339 in Beijing time like `model::Timestamp`, lists as arrays, structs as
//! objects; non-finite floats (which JSON cannot carry) as `null`; anything without a natural
//! JSON form (decimals, intervals, binary) as Arrow's display string.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use model::Timestamp;
use serde_json::{Map, Number, Value};

use super::LakeError;

/// Column names and rows, the body of `POST /api/v1/sql`.
pub type QueryRows = (Vec<String>, Vec<Vec<Value>>);

/// Converts query results to column names and JSON rows. The columns come from the first batch
/// (all batches of one result share a schema); no batches means no columns.
pub fn batches_to_json(batches: &[RecordBatch]) -> Result<QueryRows, LakeError> {
    let Some(first) = batches.first() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let columns: Vec<String> = first
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut rows = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for batch in batches {
        let values = batch
            .columns()
            .iter()
            .map(|c| values(c.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut iters: Vec<_> = values.into_iter().map(Vec::into_iter).collect();
        for _ in 0..batch.num_rows() {
            rows.push(
                iters
                    .iter_mut()
                    .map(|it| it.next().unwrap_or(Value::Null))
                    .collect(),
            );
        }
    }
    Ok((columns, rows))
}

fn number<T: Into<Number>>(v: T) -> Value {
    Value::Number(v.into())
}

fn float(v: f64) -> Value {
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// One JSON value per element of `array`.
fn values(array: &dyn Array) -> Result<Vec<Value>, LakeError> {
    macro_rules! each {
        ($a:expr, $f:expr) => {{
            let a = $a;
            (0..a.len())
                .map(|i| {
                    if a.is_null(i) {
                        Value::Null
                    } else {
                        $f(a.value(i))
                    }
                })
                .collect()
        }};
    }
    let n = array.len();
    Ok(match array.data_type() {
        DataType::Null => vec![Value::Null; n],
        DataType::Boolean => each!(array.as_boolean(), Value::Bool),
        DataType::Int8 => each!(array.as_primitive::<Int8Type>(), number),
        DataType::Int16 => each!(array.as_primitive::<Int16Type>(), number),
        DataType::Int32 => each!(array.as_primitive::<Int32Type>(), number),
        DataType::Int64 => each!(array.as_primitive::<Int64Type>(), number),
        DataType::UInt8 => each!(array.as_primitive::<UInt8Type>(), number),
        DataType::UInt16 => each!(array.as_primitive::<UInt16Type>(), number),
        DataType::UInt32 => each!(array.as_primitive::<UInt32Type>(), number),
        DataType::UInt64 => each!(array.as_primitive::<UInt64Type>(), number),
        DataType::Float16 => each!(array.as_primitive::<Float16Type>(), |v: F16| float(
            f64::from(v)
        )),
        DataType::Float32 => each!(array.as_primitive::<Float32Type>(), |v: f32| float(
            f64::from(v)
        )),
        DataType::Float64 => each!(array.as_primitive::<Float64Type>(), float),
        DataType::Utf8 => each!(array.as_string::<i32>(), |v: &str| Value::String(v.into())),
        DataType::LargeUtf8 => {
            each!(array.as_string::<i64>(), |v: &str| Value::String(v.into()))
        }
        DataType::Utf8View => each!(array.as_string_view(), |v: &str| Value::String(v.into())),
        DataType::Timestamp(unit, _) => {
            let to_micros: fn(i64) -> i64 = match unit {
                TimeUnit::Second => |v| v.saturating_mul(1_000_000),
                TimeUnit::Millisecond => |v| v.saturating_mul(1_000),
                TimeUnit::Microsecond => |v| v,
                TimeUnit::Nanosecond => |v| v.div_euclid(1_000),
            };
            let time = |v: i64| Value::String(Timestamp::from_micros(to_micros(v)).to_string());
            match unit {
                TimeUnit::Second => each!(array.as_primitive::<TimestampSecondType>(), time),
                TimeUnit::Millisecond => {
                    each!(array.as_primitive::<TimestampMillisecondType>(), time)
                }
                TimeUnit::Microsecond => {
                    each!(array.as_primitive::<TimestampMicrosecondType>(), time)
                }
                TimeUnit::Nanosecond => {
                    each!(array.as_primitive::<TimestampNanosecondType>(), time)
                }
            }
        }
        DataType::List(_) => {
            let a = array.as_list::<i32>();
            lists(a, (0..n).map(|i| a.value(i)))?
        }
        DataType::LargeList(_) => {
            let a = array.as_list::<i64>();
            lists(a, (0..n).map(|i| a.value(i)))?
        }
        DataType::FixedSizeList(_, _) => {
            let a = array.as_fixed_size_list();
            lists(a, (0..n).map(|i| a.value(i)))?
        }
        DataType::Struct(fields) => {
            let a = array.as_struct();
            let children = a
                .columns()
                .iter()
                .map(|c| values(c.as_ref()))
                .collect::<Result<Vec<_>, _>>()?;
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        return Value::Null;
                    }
                    let object: Map<String, Value> = fields
                        .iter()
                        .zip(&children)
                        .map(|(f, c)| (f.name().clone(), c[i].clone()))
                        .collect();
                    Value::Object(object)
                })
                .collect()
        }
        DataType::Dictionary(_, value_type) => {
            let plain = arrow::compute::cast(array, value_type)?;
            values(plain.as_ref())?
        }
        _ => {
            let formatter = ArrayFormatter::try_new(array, &FormatOptions::default())?;
            (0..n)
                .map(|i| {
                    if array.is_null(i) {
                        Value::Null
                    } else {
                        Value::String(formatter.value(i).to_string())
                    }
                })
                .collect()
        }
    })
}

type F16 = <Float16Type as arrow::datatypes::ArrowPrimitiveType>::Native;

fn lists(
    outer: &dyn Array,
    items: impl Iterator<Item = ArrayRef>,
) -> Result<Vec<Value>, LakeError> {
    items
        .enumerate()
        .map(|(i, item)| {
            if outer.is_null(i) {
                Ok(Value::Null)
            } else {
                Ok(Value::Array(values(item.as_ref())?))
            }
        })
        .collect()
}
