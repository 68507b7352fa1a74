//! Applying committed records: decode the frame, update live state, buffer samples in the lake.
//! The same code runs for live traffic and for WAL replay, so both give the same result.

use model::VehicleSample;
use pipeline::{IngestRecord, LiveState, SourceProtocol};
use proto_gbt32960::{Command, decode, to_sample};
use store::lake::Lake;

/// Applies record `lsn`. A record that does not decode any more (it did when it was accepted, so
/// this means a newer decoder) is logged and skipped rather than stopping the platform.
pub(crate) fn apply(
    lake: &Lake,
    live: &LiveState,
    lsn: u64,
    record: &IngestRecord,
) -> anyhow::Result<()> {
    let mut samples: Vec<VehicleSample> = Vec::new();
    match record.protocol {
        SourceProtocol::Gbt32960 => match decode(&record.payload) {
            Ok(frame) => {
                let vin = frame.header.vin.text();
                let org = record.org.as_deref();
                match frame.header.command {
                    Command::REALTIME | Command::REISSUE => {
                        if let Some(s) = to_sample(&frame, record.received_at) {
                            live.touch(&vin, record.received_at, org, Some(s.clone()));
                            samples.push(s);
                        }
                    }
                    Command::VEHICLE_LOGIN => live.touch(&vin, record.received_at, org, None),
                    Command::VEHICLE_LOGOUT => live.logout(&vin, record.received_at),
                    _ => {}
                }
            }
            Err(e) => {
                tracing::error!(lsn, error = %e, "a stored GB/T 32960 frame no longer decodes; skipped");
            }
        },
    }
    // Every LSN is inserted, with or without rows, so the lake knows what it has applied.
    lake.insert(lsn, &samples)?;
    Ok(())
}
