//! The envelope's cryptography (T/CEC 102.4 §4.4): AES-128-CBC with PKCS#7 padding and a fixed
//! per-peer IV for `Data`, HMAC-MD5 in upper-case hex for `Sig`.
//!
//! Signatures are computed over the text exactly as it travels (the Base64 `Data` string, not a
//! re-serialized value) and compared in constant time.

use aes::Aes128;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;

use crate::error::Error;
use crate::secrets::PeerSecrets;

type HmacMd5 = Hmac<Md5>;

/// `Data` for a plaintext: Base64 (standard alphabet, padded) of its AES-128-CBC/PKCS#7
/// ciphertext under the peer's `DataSecret` and `DataSecretIV`.
pub fn encrypt_data(secrets: &PeerSecrets, plaintext: &[u8]) -> String {
    let ct = cbc::Encryptor::<Aes128>::new(
        secrets.data_secret().into(),
        secrets.data_secret_iv().into(),
    )
    .encrypt_padded_vec::<Pkcs7>(plaintext);
    STANDARD.encode(ct)
}

/// The plaintext bytes of `Data`. Strict: Base64 with whitespace, missing padding or stray
/// bits, a ciphertext that is not whole blocks, and bad padding are all refused.
pub fn decrypt_data(secrets: &PeerSecrets, data: &str) -> Result<Vec<u8>, Error> {
    let ct = STANDARD
        .decode(data)
        .map_err(|_| Error::Decrypt("not standard Base64"))?;
    if ct.is_empty() || ct.len() % 16 != 0 {
        return Err(Error::Decrypt("ciphertext is not whole 16-byte blocks"));
    }
    cbc::Decryptor::<Aes128>::new(
        secrets.data_secret().into(),
        secrets.data_secret_iv().into(),
    )
    .decrypt_padded_vec::<Pkcs7>(&ct)
    .map_err(|_| Error::Decrypt("bad PKCS#7 padding (wrong DataSecret or DataSecretIV?)"))
}

fn mac(secrets: &PeerSecrets, parts: &[&str]) -> HmacMd5 {
    // HMAC takes keys of any length; the 16-byte secret cannot fail.
    let mut mac = <HmacMd5 as KeyInit>::new_from_slice(secrets.sig_secret())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for part in parts {
        mac.update(part.as_bytes());
    }
    mac
}

fn upper_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

// Only the 32 upper-case hex digits the standard prescribes; anything else is a bad signature.
fn parse_sig(sig: &str) -> Result<[u8; 16], Error> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = sig.as_bytes();
    if bytes.len() != 32 {
        return Err(Error::BadSignature);
    }
    let mut out = [0u8; 16];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = nibble(pair[0]).ok_or(Error::BadSignature)?;
        let lo = nibble(pair[1]).ok_or(Error::BadSignature)?;
        out[i] = hi << 4 | lo;
    }
    Ok(out)
}

/// The `Sig` of a request: HMAC-MD5 over `OperatorID + Data + TimeStamp + Seq`, concatenated
/// without separators.
pub fn request_sig(
    secrets: &PeerSecrets,
    operator_id: &str,
    data: &str,
    time_stamp: &str,
    seq: &str,
) -> String {
    let tag = mac(secrets, &[operator_id, data, time_stamp, seq]).finalize();
    upper_hex(&tag.into_bytes())
}

/// The `Sig` of a response: HMAC-MD5 over `Ret` (decimal) `+ Msg + Data`.
pub fn response_sig(secrets: &PeerSecrets, ret: i32, msg: &str, data: &str) -> String {
    let tag = mac(secrets, &[&ret.to_string(), msg, data]).finalize();
    upper_hex(&tag.into_bytes())
}

/// Checks `sig` against the HMAC of `parts` in constant time.
pub(crate) fn verify(secrets: &PeerSecrets, parts: &[&str], sig: &str) -> Result<(), Error> {
    let tag = parse_sig(sig)?;
    mac(secrets, parts)
        .verify_slice(&tag)
        .map_err(|_| Error::BadSignature)
}
