//! The secrets for calls we make to a peer, derived from the secrets it uses with us.
//!
//! When the city platform polls an operator, the request carries *our* `OperatorID` and is
//! signed and encrypted with the secrets of the pair. Platforms that use one set of secrets in
//! both directions need the peer's secrets under our operator id; this is that one step.

use crate::secrets::{PeerSecrets, SecretError};

impl PeerSecrets {
    /// The same four secrets, signing as `operator_id`.
    pub fn with_operator_id(&self, operator_id: &str) -> Result<PeerSecrets, SecretError> {
        // The secrets were validated as printable ASCII, so they are UTF-8.
        let text = |b: &[u8; 16]| String::from_utf8_lossy(b).into_owned();
        PeerSecrets::new(
            operator_id,
            self.operator_secret(),
            &text(self.data_secret()),
            &text(self.data_secret_iv()),
            &text(self.sig_secret()),
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::{PeerSecrets, Request, Response, Ret};
    use model::Timestamp;

    #[test]
    fn rekeyed_secrets_seal_as_us_and_open_the_peers_answers() {
        let peer = PeerSecrets::new(
            "MA01H3BQ2",
            "OperatorSecret16",
            "AbCdEfGh12345678",
            "8765432112345678",
            "SigSecretKey0001",
        )
        .unwrap();
        let us = peer.with_operator_id("CITY00001").unwrap();
        assert_eq!(us.operator_id(), "CITY00001");
        assert_eq!(us.operator_secret(), "OperatorSecret16");
        let now = Timestamp::from_secs(1_700_000_000);
        let r = Request::seal(&us, b"{}", now, 1).unwrap();
        assert_eq!(r.operator_id, "CITY00001");
        r.verify(&us).unwrap();
        let answer = Response::seal(&peer, Ret::Ok, "", Some(b"{\"a\":1}"));
        assert_eq!(answer.open(&us).unwrap(), b"{\"a\":1}");
        assert!(us.with_operator_id("not valid!").is_err());
    }
}
