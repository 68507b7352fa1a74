//! Packed BCD, as JT/T 808 uses for phone numbers and times.

/// The decimal digits of packed BCD bytes; `None` if a nibble is not a digit.
pub fn bcd_to_digits(bytes: &[u8]) -> Option<String> {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        for nibble in [b >> 4, b & 0x0F] {
            if nibble > 9 {
                return None;
            }
            s.push(char::from(b'0' + nibble));
        }
    }
    Some(s)
}

/// The value of packed BCD bytes; `None` if a nibble is not a digit or the value overflows.
pub fn bcd_to_u64(bytes: &[u8]) -> Option<u64> {
    bytes.iter().try_fold(0u64, |acc, &b| {
        let (hi, lo) = (b >> 4, b & 0x0F);
        if hi > 9 || lo > 9 {
            return None;
        }
        acc.checked_mul(100)?.checked_add(u64::from(hi * 10 + lo))
    })
}

/// `value` as `len` bytes of packed BCD, most significant first; `None` if it does not fit.
pub fn u64_to_bcd(mut value: u64, len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; len];
    for byte in out.iter_mut().rev() {
        let pair = (value % 100) as u8;
        *byte = (pair / 10) << 4 | (pair % 10);
        value /= 100;
    }
    (value == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcd_round_trip_and_rejects_bad_nibbles() {
        assert_eq!(
            bcd_to_digits(&[0x01, 0x38, 0x00]).as_deref(),
            Some("013800")
        );
        assert_eq!(bcd_to_u64(&[0x01, 0x38, 0x00]), Some(13_800));
        assert_eq!(u64_to_bcd(13_800, 3), Some(vec![0x01, 0x38, 0x00]));
        assert_eq!(u64_to_bcd(1_000_000, 3), None);
        assert_eq!(bcd_to_digits(&[0x1A]), None);
        assert_eq!(bcd_to_u64(&[0xF1]), None);
    }
}
