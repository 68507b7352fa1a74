//! Orderly charging (有序充电): sharing a site's power limit among its active sessions.
//!
//! [`allocate`] is pure. It fills like water: every session gets an equal share, a session whose
//! own maximum is below the share gets its maximum, and what it leaves is shared among the rest.
//! When the limit cannot give every session [`MIN_KW`] (below that an AC vehicle stops charging:
//! 6 A on one phase at 230 V, the IEC 61851 / GB/T 18487.1 pilot minimum), sessions are served in
//! order of priority (higher first), then departure (earlier first, unknown last), then the order
//! given, as long as their minimum still fits; the rest get 0 and wait. Shares are rounded down to
//! whole watts, so the sum never exceeds the limit.

use model::Timestamp;

/// The least power worth giving a session, in kW.
pub const MIN_KW: f64 = 1.4;

/// One session competing for a site's power.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveSession<K> {
    pub key: K,
    /// Higher is served first when not everyone can be.
    pub priority: i32,
    /// When the vehicle leaves, if known: earlier is served first among equal priorities.
    pub departure: Option<Timestamp>,
    /// The most this session can draw, in kW.
    pub max_kw: f64,
}

fn clean(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 { x } else { 0.0 }
}

/// Rounds down to whole watts (forgiving a micro-watt of floating-point error, so 29.3 kW
/// computed as 29.29999… stays 29.3).
fn floor_watts(kw: f64) -> f64 {
    (kw * 1000.0 + 1e-6).floor() / 1000.0
}

/// Each session's share of `limit_kw`, in the order of `sessions` (see the module documentation).
pub fn allocate<K: Clone>(limit_kw: f64, sessions: &[ActiveSession<K>]) -> Vec<(K, f64)> {
    let limit = clean(limit_kw);
    let max: Vec<f64> = sessions.iter().map(|s| clean(s.max_kw)).collect();
    let min: Vec<f64> = max.iter().map(|m| m.min(MIN_KW)).collect();
    // Who is served: everyone if the minimums fit, else a prefix in rank order.
    let mut served = vec![true; sessions.len()];
    if min.iter().sum::<f64>() > limit {
        let mut order: Vec<usize> = (0..sessions.len()).collect();
        order.sort_by(|&a, &b| {
            let (sa, sb) = (&sessions[a], &sessions[b]);
            sb.priority
                .cmp(&sa.priority)
                .then_with(|| match (sa.departure, sb.departure) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
                .then(a.cmp(&b))
        });
        served = vec![false; sessions.len()];
        let mut used = 0.0;
        for i in order {
            if used + min[i] > limit {
                break;
            }
            used += min[i];
            served[i] = true;
        }
    }
    // Water-filling among the served, smallest maximum first.
    let mut share = vec![0.0; sessions.len()];
    let mut order: Vec<usize> = (0..sessions.len()).filter(|&i| served[i]).collect();
    order.sort_by(|&a, &b| max[a].total_cmp(&max[b]));
    let mut left = limit;
    let mut n = order.len();
    for i in order {
        let give = floor_watts(max[i].min(left / n as f64)).max(0.0);
        share[i] = give;
        left -= give;
        n -= 1;
    }
    sessions
        .iter()
        .zip(share)
        .map(|(s, kw)| (s.key.clone(), kw))
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn s(key: u32, priority: i32, departure: Option<i64>, max_kw: f64) -> ActiveSession<u32> {
        ActiveSession {
            key,
            priority,
            departure: departure.map(Timestamp::from_secs),
            max_kw,
        }
    }

    fn shares(limit: f64, sessions: &[ActiveSession<u32>]) -> Vec<f64> {
        allocate(limit, sessions)
            .into_iter()
            .map(|(_, kw)| kw)
            .collect()
    }

    #[test]
    fn equal_shares() {
        let six: Vec<_> = (0..6).map(|k| s(k, 0, None, 22.0)).collect();
        assert_eq!(shares(60.0, &six), vec![10.0; 6]);
        assert_eq!(shares(60.0, &six[..3]), vec![20.0; 3]);
        assert_eq!(shares(60.0, &six[..2]), vec![22.0; 2]);
        assert!(shares(60.0, &[]).is_empty());
    }

    #[test]
    fn capped_sessions_leave_room_for_others() {
        let v = vec![s(0, 0, None, 3.7), s(1, 0, None, 50.0), s(2, 0, None, 7.0)];
        assert_eq!(shares(40.0, &v), vec![3.7, 29.3, 7.0]);
    }

    #[test]
    fn scarce_power_goes_by_priority_then_departure() {
        // 4 kW gives two minimums of 1.4 but not three.
        let v = vec![
            s(0, 0, Some(100), 7.0),
            s(1, 1, None, 7.0),
            s(2, 0, Some(50), 7.0),
        ];
        assert_eq!(shares(4.0, &v), vec![0.0, 2.0, 2.0]);
        let v = vec![s(0, 0, None, 7.0), s(1, 0, Some(9), 7.0)];
        assert_eq!(shares(2.0, &v), vec![0.0, 2.0]);
        assert_eq!(shares(1.0, &v), vec![0.0, 0.0]);
    }

    #[test]
    fn bad_numbers_give_nothing() {
        let v = vec![
            s(0, 0, None, f64::NAN),
            s(1, 0, None, -5.0),
            s(2, 0, None, 7.0),
        ];
        assert_eq!(shares(10.0, &v), vec![0.0, 0.0, 7.0]);
        assert_eq!(shares(f64::NAN, &v), vec![0.0, 0.0, 0.0]);
        assert_eq!(shares(-1.0, &v), vec![0.0, 0.0, 0.0]);
    }

    fn session() -> impl Strategy<Value = ActiveSession<u32>> {
        (
            any::<u32>(),
            -2i32..3,
            proptest::option::of(0i64..1000),
            0.0f64..150.0,
        )
            .prop_map(|(k, p, d, m)| s(k, p, d, m))
    }

    proptest! {
        #[test]
        fn never_over_the_limit_nor_a_maximum(
            limit in 0.0f64..500.0,
            sessions in proptest::collection::vec(session(), 0..40),
        ) {
            let got = shares(limit, &sessions);
            prop_assert_eq!(got.len(), sessions.len());
            let sum: f64 = got.iter().sum();
            prop_assert!(sum <= limit + 1e-8, "sum {} > limit {}", sum, limit);
            for (kw, s) in got.iter().zip(&sessions) {
                prop_assert!(*kw >= 0.0 && *kw <= s.max_kw + 1e-9);
            }
            let mins: f64 = sessions.iter().map(|s| s.max_kw.min(MIN_KW)).sum();
            if mins <= limit {
                // Everyone is served at least the minimum (less a rounding watt)...
                for (kw, s) in got.iter().zip(&sessions) {
                    prop_assert!(*kw >= s.max_kw.min(MIN_KW) - 0.001 - 1e-9);
                }
            } else {
                // ...or whoever gets nothing ranks below everyone served.
                for (i, a) in sessions.iter().enumerate() {
                    if got[i] > 0.0 || a.max_kw < 0.01 { continue; }
                    for (j, b) in sessions.iter().enumerate() {
                        if got[j] > 0.0 && b.max_kw >= MIN_KW {
                            prop_assert!(b.priority >= a.priority, "{:?} served before {:?}", b, a);
                        }
                    }
                }
            }
            // Nothing is left over while a served session could take more.
            let n = sessions.len() as f64;
            if sum < limit - 0.001 * n - 1e-6 {
                for (kw, s) in got.iter().zip(&sessions) {
                    if *kw > 0.0 {
                        prop_assert!(*kw >= s.max_kw - 0.001 - 1e-9, "{} of {} left unused", kw, s.max_kw);
                    }
                }
            }
        }
    }
}
