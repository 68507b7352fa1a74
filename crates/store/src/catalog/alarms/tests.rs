//! Tests of the alarm table, the outbox and cursors.

use model::{AlarmChangeKind, AlarmState, Timestamp};

use super::super::{CATALOG_FILE, Catalog};
use super::{AckOutcome, AlarmChange, AlarmQuery, RULES_CURSOR, StateFilter};

fn t(secs: i64) -> Timestamp {
    Timestamp::from_micros(1_700_000_000_000_000 + secs * 1_000_000)
}

fn change<'a>(
    entity: &'a str,
    kind: &'a str,
    level: u8,
    at: i64,
    c: AlarmChangeKind,
) -> AlarmChange<'a> {
    AlarmChange {
        entity_id: entity,
        kind,
        level,
        at: t(at),
        change: c,
        source: "rule",
        detail: "detail",
        org: Some("carmaker-a"),
    }
}

fn open(dir: &tempfile::TempDir) -> Catalog {
    Catalog::open(dir.path().join(CATALOG_FILE)).unwrap()
}

fn all(cat: &Catalog) -> Vec<model::Alarm> {
    cat.query_alarms(&AlarmQuery {
        limit: 100,
        ..AlarmQuery::default()
    })
    .unwrap()
    .0
}

#[test]
fn an_alarm_lives_opened_level_changed_acknowledged_closed_and_each_change_is_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let cat = open(&dir);
    let n = cat
        .record_alarm_changes(
            &[change(
                "V1",
                "insulation_low",
                2,
                0,
                AlarmChangeKind::Opened,
            )],
            Some(7),
        )
        .unwrap();
    assert_eq!(n.len(), 1);
    let id = n[0].alarm.alarm_id;
    assert_eq!(n[0].alarm.state, AlarmState::Open);
    assert_eq!(n[0].alarm.org.as_deref(), Some("carmaker-a"));
    assert_eq!(cat.cursor(RULES_CURSOR).unwrap(), Some(7));

    let n = cat
        .record_alarm_changes(
            &[change(
                "V1",
                "insulation_low",
                3,
                10,
                AlarmChangeKind::LevelChanged,
            )],
            None,
        )
        .unwrap();
    assert_eq!(
        (n[0].alarm.alarm_id, n[0].alarm.level, n[0].alarm.critical),
        (id, 3, true)
    );

    let AckOutcome::Acknowledged(ack) = cat
        .ack_alarm(id, "token 1 (operator)", Some("crew sent"), t(20))
        .unwrap()
    else {
        panic!("not acknowledged");
    };
    assert_eq!(ack.alarm.state, AlarmState::Acknowledged);
    assert_eq!(ack.alarm.acked_by.as_deref(), Some("token 1 (operator)"));
    assert!(matches!(
        cat.ack_alarm(id, "x", None, t(21)).unwrap(),
        AckOutcome::AlreadyAcknowledged(_)
    ));
    assert_eq!(
        cat.ack_alarm(999, "x", None, t(21)).unwrap(),
        AckOutcome::NotFound
    );

    let n = cat
        .record_alarm_changes(
            &[change(
                "V1",
                "insulation_low",
                3,
                30,
                AlarmChangeKind::Closed,
            )],
            Some(9),
        )
        .unwrap();
    assert_eq!(n[0].alarm.state, AlarmState::Closed);
    assert_eq!(n[0].alarm.closed_at, Some(t(30)));

    let events = cat.alarm_notices_after(0, 100).unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.change).collect();
    assert_eq!(
        kinds,
        [
            AlarmChangeKind::Opened,
            AlarmChangeKind::LevelChanged,
            AlarmChangeKind::Acknowledged,
            AlarmChangeKind::Closed
        ]
    );
    // Each event carries the alarm as it was right after that change.
    assert_eq!(events[0].alarm.level, 2);
    assert_eq!(events[1].alarm.level, 3);
    assert!(events.windows(2).all(|w| w[0].event_id < w[1].event_id));
    assert_eq!(
        cat.alarm_notices_after(events[1].event_id, 1).unwrap()[0].change,
        AlarmChangeKind::Acknowledged
    );
    assert_eq!(cat.last_alarm_event_id().unwrap(), events[3].event_id);
}

#[test]
fn one_open_alarm_per_entity_and_kind_and_unmatched_changes_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let cat = open(&dir);
    let n = cat
        .record_alarm_changes(
            &[
                change("V1", "offline", 2, 0, AlarmChangeKind::Opened),
                // A repeat (an engine that lost its memory) keeps the same row.
                change("V1", "offline", 2, 5, AlarmChangeKind::Opened),
                change("V2", "offline", 2, 5, AlarmChangeKind::Closed),
                change("V2", "offline", 2, 5, AlarmChangeKind::LevelChanged),
            ],
            None,
        )
        .unwrap();
    assert_eq!(n.len(), 1);
    assert_eq!(all(&cat).len(), 1);
    // After it closes, the same kind opens a new alarm.
    cat.record_alarm_changes(
        &[change("V1", "offline", 2, 9, AlarmChangeKind::Closed)],
        None,
    )
    .unwrap();
    cat.record_alarm_changes(
        &[change("V1", "offline", 2, 99, AlarmChangeKind::Opened)],
        None,
    )
    .unwrap();
    let alarms = all(&cat);
    assert_eq!(alarms.len(), 2);
    assert_eq!(alarms[0].opened_at, t(99), "newest first");
    assert_eq!(cat.open_alarms().unwrap().len(), 1);
}

#[test]
fn filters_select_by_time_entity_kind_level_state_and_org() {
    let dir = tempfile::tempdir().unwrap();
    let cat = open(&dir);
    let mut other = change("V2", "temperature_high", 3, 50, AlarmChangeKind::Opened);
    other.org = Some("carmaker-b");
    cat.record_alarm_changes(
        &[
            change("V1", "soc_jump", 1, 0, AlarmChangeKind::Opened),
            change("V1", "soc_jump", 1, 10, AlarmChangeKind::Closed),
            change("V1", "insulation_low", 2, 20, AlarmChangeKind::Opened),
            other,
        ],
        None,
    )
    .unwrap();
    let q = |f: AlarmQuery| {
        let (items, total) = cat.query_alarms(&AlarmQuery { limit: 100, ..f }).unwrap();
        assert_eq!(items.len(), total);
        items.into_iter().map(|a| a.kind).collect::<Vec<_>>()
    };
    assert_eq!(q(AlarmQuery::default()).len(), 3);
    assert_eq!(
        q(AlarmQuery {
            from: Some(t(11)),
            ..Default::default()
        }),
        ["temperature_high", "insulation_low"]
    );
    assert_eq!(
        q(AlarmQuery {
            to: Some(t(20)),
            ..Default::default()
        }),
        ["soc_jump"]
    );
    assert_eq!(
        q(AlarmQuery {
            entity: Some("V2".into()),
            ..Default::default()
        }),
        ["temperature_high"]
    );
    assert_eq!(
        q(AlarmQuery {
            kind: Some("soc_jump".into()),
            ..Default::default()
        }),
        ["soc_jump"]
    );
    assert_eq!(
        q(AlarmQuery {
            min_level: Some(2),
            ..Default::default()
        })
        .len(),
        2
    );
    assert_eq!(
        q(AlarmQuery {
            state: Some(StateFilter::Closed),
            ..Default::default()
        }),
        ["soc_jump"]
    );
    assert_eq!(
        q(AlarmQuery {
            org: Some("carmaker-b".into()),
            ..Default::default()
        }),
        ["temperature_high"]
    );
    let id = all(&cat)
        .iter()
        .find(|a| a.kind == "insulation_low")
        .unwrap()
        .alarm_id;
    cat.ack_alarm(id, "me", None, t(60)).unwrap();
    assert_eq!(
        q(AlarmQuery {
            state: Some(StateFilter::Acknowledged),
            ..Default::default()
        }),
        ["insulation_low"]
    );
    assert_eq!(
        q(AlarmQuery {
            state: Some(StateFilter::Unacked),
            ..Default::default()
        }),
        ["temperature_high"]
    );
    assert_eq!(
        q(AlarmQuery {
            state: Some(StateFilter::Open),
            ..Default::default()
        })
        .len(),
        2
    );
    // Paging: the total counts every match, the page only `limit`.
    let (page, total) = cat
        .query_alarms(&AlarmQuery {
            limit: 1,
            offset: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!((page.len(), total), (1, 3));
}

#[test]
fn alarms_events_and_cursors_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let cat = open(&dir);
        cat.record_alarm_changes(
            &[change("V1", "thermal_event", 4, 0, AlarmChangeKind::Opened)],
            Some(42),
        )
        .unwrap();
        cat.set_cursor("webhook:ops", 1).unwrap();
    }
    let cat = open(&dir);
    assert_eq!(cat.open_alarms().unwrap()[0].kind, "thermal_event");
    assert_eq!(cat.cursor(RULES_CURSOR).unwrap(), Some(42));
    assert_eq!(cat.cursor("webhook:ops").unwrap(), Some(1));
    assert_eq!(cat.cursor("webhook:other").unwrap(), None);
    assert_eq!(cat.alarm_notices_after(0, 10).unwrap().len(), 1);
    assert_eq!(cat.prune_alarm_events(1).unwrap(), 1);
    assert!(cat.alarm_notices_after(0, 10).unwrap().is_empty());
}
