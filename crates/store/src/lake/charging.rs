//! `connector_status` and `charging_sessions` rows to Arrow and back: the column builders that
//! buffer inserted charging rows, the typed rows the API reads, and the queries over both tables.
//!
//! Like fleet reports, both rows are a small, fixed set of scalars, so plain Arrow builders are
//! fast enough. `connector_status` is partitioned and sorted by `ts`, `charging_sessions` by
//! `end_ts` (a session belongs to the day it ended, when its energy and fee are known).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, Float64Builder, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use arrow::buffer::ScalarBuffer;
use datafusion::logical_expr::{Expr, col, lit};
use model::{ChargingSession, ConnectorState, ConnectorStatus, Timestamp};

use super::files::Table;
use super::query::ts_lit;
use super::rows::column;
use super::{Lake, LakeError, schema};

/// Estimated bytes a buffered row takes besides its strings, for `buffered_bytes` before the
/// batch is sealed and measured exactly.
const ROW_OVERHEAD: usize = 100;

fn ts_array(values: Vec<i64>) -> ArrayRef {
    Arc::new(
        TimestampMicrosecondArray::new(ScalarBuffer::from(values), None).with_timezone(schema::TZ),
    )
}

/// Column buffers for `connector_status` rows that are not sealed into a batch yet.
#[derive(Debug, Default)]
pub(crate) struct StatusBuilder {
    operator_id: StringBuilder,
    station_id: StringBuilder,
    equipment_id: StringBuilder,
    connector_id: StringBuilder,
    ts: Vec<i64>,
    received_at: Vec<i64>,
    status: StringBuilder,
    raw_status: StringBuilder,
    source: StringBuilder,
    power_kw: Float64Builder,
    soc_pct: Float64Builder,
    rows: usize,
    estimated_bytes: usize,
    oldest_received: Option<i64>,
}

impl StatusBuilder {
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn estimated_bytes(&self) -> usize {
        self.estimated_bytes
    }

    pub(crate) fn oldest_received(&self) -> Option<i64> {
        self.oldest_received
    }

    pub(crate) fn append(&mut self, s: &ConnectorStatus) {
        self.operator_id.append_value(&s.operator_id);
        self.station_id.append_value(&s.station_id);
        self.equipment_id.append_value(&s.equipment_id);
        self.connector_id.append_value(&s.connector_id);
        self.ts.push(s.ts.as_micros());
        let received = s.received_at.as_micros();
        self.received_at.push(received);
        self.oldest_received = Some(self.oldest_received.map_or(received, |o| o.min(received)));
        self.status.append_value(s.status.as_str());
        self.raw_status.append_value(&s.raw_status);
        self.source.append_value(&s.source);
        self.power_kw.append_option(s.power_kw);
        self.soc_pct.append_option(s.soc_pct);
        self.rows += 1;
        self.estimated_bytes += ROW_OVERHEAD
            + s.operator_id.len()
            + s.station_id.len()
            + s.equipment_id.len()
            + s.connector_id.len()
            + s.raw_status.len()
            + s.source.len();
    }

    /// A copy of the buffered rows as a `connector_status` batch, leaving the builder as it is.
    pub(crate) fn snapshot(&self) -> Result<RecordBatch, LakeError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.operator_id.finish_cloned()),
            Arc::new(self.station_id.finish_cloned()),
            Arc::new(self.equipment_id.finish_cloned()),
            Arc::new(self.connector_id.finish_cloned()),
            ts_array(self.ts.clone()),
            ts_array(self.received_at.clone()),
            Arc::new(self.status.finish_cloned()),
            Arc::new(self.raw_status.finish_cloned()),
            Arc::new(self.source.finish_cloned()),
            Arc::new(self.power_kw.finish_cloned()),
            Arc::new(self.soc_pct.finish_cloned()),
        ];
        Ok(RecordBatch::try_new(
            schema::connector_status_schema(),
            columns,
        )?)
    }

    /// Turns the buffered rows into a `connector_status` batch and leaves the builder empty.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, LakeError> {
        let batch = self.snapshot()?;
        *self = StatusBuilder::default();
        Ok(batch)
    }
}

/// Column buffers for `charging_sessions` rows that are not sealed into a batch yet.
#[derive(Debug, Default)]
pub(crate) struct SessionBuilder {
    session_id: StringBuilder,
    operator_id: StringBuilder,
    station_id: StringBuilder,
    equipment_id: StringBuilder,
    connector_id: StringBuilder,
    start_ts: Vec<i64>,
    end_ts: Vec<i64>,
    received_at: Vec<i64>,
    energy_kwh: Float64Builder,
    fee_total: Float64Builder,
    stop_reason: StringBuilder,
    id_tag: StringBuilder,
    source: StringBuilder,
    rows: usize,
    estimated_bytes: usize,
    oldest_received: Option<i64>,
}

impl SessionBuilder {
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn estimated_bytes(&self) -> usize {
        self.estimated_bytes
    }

    pub(crate) fn oldest_received(&self) -> Option<i64> {
        self.oldest_received
    }

    pub(crate) fn append(&mut self, s: &ChargingSession) {
        self.session_id.append_value(&s.session_id);
        self.operator_id.append_value(&s.operator_id);
        self.station_id.append_value(&s.station_id);
        self.equipment_id.append_value(&s.equipment_id);
        self.connector_id.append_value(&s.connector_id);
        self.start_ts.push(s.start_ts.as_micros());
        self.end_ts.push(s.end_ts.as_micros());
        let received = s.received_at.as_micros();
        self.received_at.push(received);
        self.oldest_received = Some(self.oldest_received.map_or(received, |o| o.min(received)));
        self.energy_kwh.append_option(s.energy_kwh);
        self.fee_total.append_option(s.fee_total);
        self.stop_reason.append_option(s.stop_reason.as_deref());
        self.id_tag.append_option(s.id_tag.as_deref());
        self.source.append_value(&s.source);
        self.rows += 1;
        self.estimated_bytes += ROW_OVERHEAD
            + s.session_id.len()
            + s.operator_id.len()
            + s.station_id.len()
            + s.equipment_id.len()
            + s.connector_id.len()
            + s.stop_reason.as_ref().map_or(0, String::len)
            + s.id_tag.as_ref().map_or(0, String::len)
            + s.source.len();
    }

    /// A copy of the buffered rows as a `charging_sessions` batch, leaving the builder as it is.
    pub(crate) fn snapshot(&self) -> Result<RecordBatch, LakeError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.session_id.finish_cloned()),
            Arc::new(self.operator_id.finish_cloned()),
            Arc::new(self.station_id.finish_cloned()),
            Arc::new(self.equipment_id.finish_cloned()),
            Arc::new(self.connector_id.finish_cloned()),
            ts_array(self.start_ts.clone()),
            ts_array(self.end_ts.clone()),
            ts_array(self.received_at.clone()),
            Arc::new(self.energy_kwh.finish_cloned()),
            Arc::new(self.fee_total.finish_cloned()),
            Arc::new(self.stop_reason.finish_cloned()),
            Arc::new(self.id_tag.finish_cloned()),
            Arc::new(self.source.finish_cloned()),
        ];
        Ok(RecordBatch::try_new(
            schema::charging_sessions_schema(),
            columns,
        )?)
    }

    /// Turns the buffered rows into a `charging_sessions` batch and leaves the builder empty.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, LakeError> {
        let batch = self.snapshot()?;
        *self = SessionBuilder::default();
        Ok(batch)
    }
}

fn opt_f64(a: &Float64Array, i: usize) -> Option<f64> {
    a.is_valid(i).then(|| a.value(i))
}

fn opt_text(a: &StringArray, i: usize) -> Option<String> {
    a.is_valid(i).then(|| a.value(i).to_owned())
}

/// Every row of a batch with the `connector_status` columns (any order, extra columns ignored).
/// A status name this build does not know (written by a newer one) reads as `unknown`.
pub(crate) fn statuses_from_batch(batch: &RecordBatch) -> Result<Vec<ConnectorStatus>, LakeError> {
    let operator_id: &StringArray = column(batch, "operator_id")?;
    let station_id: &StringArray = column(batch, "station_id")?;
    let equipment_id: &StringArray = column(batch, "equipment_id")?;
    let connector_id: &StringArray = column(batch, "connector_id")?;
    let ts: &TimestampMicrosecondArray = column(batch, "ts")?;
    let received_at: &TimestampMicrosecondArray = column(batch, "received_at")?;
    let status: &StringArray = column(batch, "status")?;
    let raw_status: &StringArray = column(batch, "raw_status")?;
    let source: &StringArray = column(batch, "source")?;
    let power_kw: &Float64Array = column(batch, "power_kw")?;
    let soc_pct: &Float64Array = column(batch, "soc_pct")?;
    Ok((0..batch.num_rows())
        .map(|i| ConnectorStatus {
            operator_id: operator_id.value(i).to_owned(),
            station_id: station_id.value(i).to_owned(),
            equipment_id: equipment_id.value(i).to_owned(),
            connector_id: connector_id.value(i).to_owned(),
            ts: Timestamp::from_micros(ts.value(i)),
            received_at: Timestamp::from_micros(received_at.value(i)),
            status: ConnectorState::parse(status.value(i)).unwrap_or(ConnectorState::Unknown),
            raw_status: raw_status.value(i).to_owned(),
            source: source.value(i).to_owned(),
            power_kw: opt_f64(power_kw, i),
            soc_pct: opt_f64(soc_pct, i),
        })
        .collect())
}

/// Every row of a batch with the `charging_sessions` columns (any order, extra columns ignored).
pub(crate) fn sessions_from_batch(batch: &RecordBatch) -> Result<Vec<ChargingSession>, LakeError> {
    let session_id: &StringArray = column(batch, "session_id")?;
    let operator_id: &StringArray = column(batch, "operator_id")?;
    let station_id: &StringArray = column(batch, "station_id")?;
    let equipment_id: &StringArray = column(batch, "equipment_id")?;
    let connector_id: &StringArray = column(batch, "connector_id")?;
    let start_ts: &TimestampMicrosecondArray = column(batch, "start_ts")?;
    let end_ts: &TimestampMicrosecondArray = column(batch, "end_ts")?;
    let received_at: &TimestampMicrosecondArray = column(batch, "received_at")?;
    let energy_kwh: &Float64Array = column(batch, "energy_kwh")?;
    let fee_total: &Float64Array = column(batch, "fee_total")?;
    let stop_reason: &StringArray = column(batch, "stop_reason")?;
    let id_tag: &StringArray = column(batch, "id_tag")?;
    let source: &StringArray = column(batch, "source")?;
    Ok((0..batch.num_rows())
        .map(|i| ChargingSession {
            session_id: session_id.value(i).to_owned(),
            operator_id: operator_id.value(i).to_owned(),
            station_id: station_id.value(i).to_owned(),
            equipment_id: equipment_id.value(i).to_owned(),
            connector_id: connector_id.value(i).to_owned(),
            start_ts: Timestamp::from_micros(start_ts.value(i)),
            end_ts: Timestamp::from_micros(end_ts.value(i)),
            received_at: Timestamp::from_micros(received_at.value(i)),
            energy_kwh: opt_f64(energy_kwh, i),
            fee_total: opt_f64(fee_total, i),
            stop_reason: opt_text(stop_reason, i),
            id_tag: opt_text(id_tag, i),
            source: source.value(i).to_owned(),
        })
        .collect())
}

/// `from <= column < to`, and `operator_id = …` when one is given.
fn range_filter(
    column_name: &str,
    from: Timestamp,
    to: Timestamp,
    operator_id: Option<&str>,
) -> Expr {
    let range = col(column_name)
        .gt_eq(ts_lit(from))
        .and(col(column_name).lt(ts_lit(to)));
    match operator_id {
        Some(op) => col("operator_id").eq(lit(op)).and(range),
        None => range,
    }
}

impl Lake {
    /// The connector status changes with `from <= ts < to` (of one operator when
    /// `operator_id` is given), oldest first; buffered rows included.
    pub async fn connector_status_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        operator_id: Option<&str>,
    ) -> Result<Vec<ConnectorStatus>, LakeError> {
        let df = self
            .table(Table::Status)
            .await?
            .filter(range_filter("ts", from, to, operator_id))?
            .sort(vec![
                col("ts").sort(true, false),
                col("operator_id").sort(true, false),
                col("connector_id").sort(true, false),
            ])?;
        let mut out = Vec::new();
        for batch in df.collect().await? {
            out.extend(statuses_from_batch(&batch)?);
        }
        Ok(out)
    }

    /// The charging sessions that ended in `[from, to)` (of one operator when `operator_id` is
    /// given), oldest end first, at most `limit` (`usize::MAX`: all); buffered rows included.
    pub async fn sessions_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        operator_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ChargingSession>, LakeError> {
        let df = self
            .table(Table::Sessions)
            .await?
            .filter(range_filter("end_ts", from, to, operator_id))?
            .sort(vec![
                col("end_ts").sort(true, false),
                col("operator_id").sort(true, false),
                col("session_id").sort(true, false),
            ])?
            // DataFusion's optimizer refuses a fetch beyond `i64`.
            .limit(0, (limit < i64::MAX as usize).then_some(limit))?;
        let mut out = Vec::new();
        for batch in df.collect().await? {
            out.extend(sessions_from_batch(&batch)?);
        }
        Ok(out)
    }
}
