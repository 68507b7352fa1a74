//! The pipeline over the real write-ahead log: watermark, apply order, backpressure.

use std::sync::Arc;

use model::Timestamp;
use store::wal::{Wal, WalOptions};

use super::*;

fn record(n: u8) -> IngestRecord {
    IngestRecord {
        protocol: SourceProtocol::Gbt32960,
        received_at: Timestamp::from_secs(1_795_000_000 + i64::from(n)),
        org: n.is_multiple_of(2).then(|| "carmaker-a".to_owned()),
        payload: vec![n; 100],
    }
}

#[test]
fn records_round_trip_through_their_encoding() {
    for n in 0..4 {
        let r = record(n);
        assert_eq!(IngestRecord::decode(&r.encode()), Ok(r));
    }
    assert_eq!(IngestRecord::decode(&[1]), Err(RecordError::Short));
    assert_eq!(
        IngestRecord::decode(&[9, 1, 0]),
        Err(RecordError::Version(9))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_watermark_and_apply_order_follow_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let (p, mut applied) =
        Pipeline::new(Arc::new(WalBus(Arc::new(wal))), PipelineOptions::default());
    let mut last = 0;
    for n in 0..50 {
        last = p.submit(record(n)).await.unwrap();
    }
    assert_eq!(last, 50);
    p.wait_durable(last).await.unwrap();
    for n in 0..50u8 {
        let c = applied.recv().await.unwrap();
        assert_eq!(c.position, u64::from(n) + 1);
        assert_eq!(c.record, record(n));
    }
    // Everything is on disk: reopening the log replays all 50.
    drop(p);
    drop(applied);
    let (_, replay) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(replay.count(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_waits_when_records_are_not_applied() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), WalOptions::default()).unwrap();
    let limit = 3 * (100 + RECORD_OVERHEAD);
    let (p, mut applied) = Pipeline::new(
        Arc::new(WalBus(Arc::new(wal))),
        PipelineOptions {
            max_in_flight_bytes: limit,
        },
    );
    for n in 0..3 {
        p.submit(record(n)).await.unwrap();
    }
    assert_eq!(p.in_flight_bytes(), limit);
    // The fourth cannot start until one record has been applied (dropped by the applier).
    let p2 = p.clone();
    let fourth = tokio::spawn(async move { p2.submit(record(3)).await });
    tokio::task::yield_now().await;
    assert!(!fourth.is_finished());
    let first = applied.recv().await.unwrap();
    drop(first);
    assert_eq!(fourth.await.unwrap().unwrap(), 4);
    let too_big = IngestRecord {
        payload: vec![0; limit],
        ..record(0)
    };
    assert!(matches!(
        p.submit(too_big).await,
        Err(PipelineError::TooLarge { .. })
    ));
}

#[test]
fn live_state_keeps_the_newest_sample_and_times_out() {
    let live = LiveState::new(90);
    let t0 = Timestamp::from_secs(1_000);
    live.touch("LA9X", t0, Some("carmaker-a"), None);
    let e = live.get("LA9X").unwrap();
    assert!(live.is_online(&e, Timestamp::from_secs(1_090)));
    assert!(!live.is_online(&e, Timestamp::from_secs(1_091)));
    live.logout("LA9X", Timestamp::from_secs(1_010));
    assert!(!live.is_online(&live.get("LA9X").unwrap(), Timestamp::from_secs(1_011)));
    assert_eq!(live.get("LA9X").unwrap().org.as_deref(), Some("carmaker-a"));
}
