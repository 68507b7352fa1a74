//! OCPP versions and the choice of WebSocket subprotocol during the handshake.

use std::fmt;

/// The OCPP-J version spoken on one connection, fixed by the negotiated subprotocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// OCPP 1.6 edition 2, JSON (`ocpp1.6`).
    V16,
    /// OCPP 2.0.1 (`ocpp2.0.1`).
    V201,
}

impl Version {
    /// The `Sec-WebSocket-Protocol` token of this version.
    pub const fn subprotocol(self) -> &'static str {
        match self {
            Version::V16 => "ocpp1.6",
            Version::V201 => "ocpp2.0.1",
        }
    }

    /// The version a subprotocol token names. Tokens are compared exactly except for ASCII case,
    /// because some chargers send `OCPP1.6`.
    pub fn from_subprotocol(token: &str) -> Option<Self> {
        let token = token.trim();
        [Version::V201, Version::V16]
            .into_iter()
            .find(|v| v.subprotocol().eq_ignore_ascii_case(token))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.subprotocol())
    }
}

/// Picks the subprotocol to answer a WebSocket upgrade with.
///
/// `offers` are the values of every `Sec-WebSocket-Protocol` header the charger sent (each may be
/// a comma-separated list); `preference` is the server's order, most wanted first. The first
/// version in `preference` that the charger offers wins, whatever order the charger listed them
/// in: RFC 6455 leaves the choice to the server. `None` means no common version, and the upgrade
/// should be refused (answering without a subprotocol makes chargers guess, the "Protocol
/// mismatch" trouble CitrineOS issue #24 describes).
pub fn negotiate<'a, I>(offers: I, preference: &[Version]) -> Option<Version>
where
    I: IntoIterator<Item = &'a str>,
{
    let offered: Vec<Version> = offers
        .into_iter()
        .flat_map(|header| header.split(','))
        .filter_map(Version::from_subprotocol)
        .collect();
    preference.iter().copied().find(|v| offered.contains(v))
}

/// The server preference when nothing is configured: the newer version first.
pub const DEFAULT_PREFERENCE: [Version; 2] = [Version::V201, Version::V16];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_preferred_by_default() {
        let got = negotiate(["ocpp1.6, ocpp2.0.1"], &DEFAULT_PREFERENCE);
        assert_eq!(got, Some(Version::V201));
    }

    #[test]
    fn server_preference_wins_over_offer_order() {
        let pref = [Version::V16, Version::V201];
        assert_eq!(negotiate(["ocpp2.0.1,ocpp1.6"], &pref), Some(Version::V16));
    }

    #[test]
    fn several_headers_and_case() {
        let got = negotiate(["ocpp1.5", " OCPP1.6 "], &DEFAULT_PREFERENCE);
        assert_eq!(got, Some(Version::V16));
    }

    #[test]
    fn none_when_nothing_in_common() {
        assert_eq!(negotiate(["ocpp1.5, ocpp2.1"], &DEFAULT_PREFERENCE), None);
        assert_eq!(negotiate([], &DEFAULT_PREFERENCE), None);
        assert_eq!(negotiate(["ocpp2.0.1"], &[Version::V16]), None);
    }

    #[test]
    fn token_round_trip() {
        for v in DEFAULT_PREFERENCE {
            assert_eq!(Version::from_subprotocol(v.subprotocol()), Some(v));
        }
        assert_eq!(Version::from_subprotocol("ocpp2.0"), None);
    }
}
