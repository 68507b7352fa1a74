//! Data units of every command other than the reports: logins, logouts, activation, key
//! exchange, parameter query/set and terminal control.

use serde::Serialize;
use wire::{DecodeError, ErrorKind, Reader, Writer};

use crate::EncodeError;
use crate::layout::fixed;
use crate::report::Signature;
use crate::value::{
    ActivationInfo, ActivationStatus, Encryption, FixedStr, List, Time, hex_bytes, text_bytes,
};

#[cfg(test)]
use crate::value::arb;
#[cfg(test)]
use proptest::prelude::*;

/// 0x01 vehicle login, 2016: the RESS subsystems' codes, `code_len` characters each.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VehicleLogin2016 {
    pub time: Time,
    pub seq: u16,
    pub iccid: FixedStr<20>,
    pub subsystem_count: u8,
    pub code_len: u8,
    /// Empty when `code_len` is 0 (codes not uploaded); otherwise one per subsystem.
    #[serde(serialize_with = "texts")]
    pub codes: Vec<Vec<u8>>,
}

fn texts<S: serde::Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|b| crate::value::text_of(b)))
}

impl VehicleLogin2016 {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let time = Time::read(r, "login.time")?;
        let seq = r.u16("login.seq")?;
        let iccid = FixedStr(r.array("login.iccid")?);
        let subsystem_count = r.u8("login.subsystem_count")?;
        let code_len = r.u8("login.code_len")?;
        let mut codes = Vec::new();
        if code_len > 0 {
            r.expect_items(
                usize::from(subsystem_count),
                usize::from(code_len),
                "login.codes",
            )?;
            for _ in 0..subsystem_count {
                codes.push(r.bytes(usize::from(code_len), "login.code")?.to_vec());
            }
        }
        Ok(Self {
            time,
            seq,
            iccid,
            subsystem_count,
            code_len,
            codes,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let consistent = if self.code_len == 0 {
            self.codes.is_empty()
        } else {
            self.codes.len() == usize::from(self.subsystem_count)
                && self
                    .codes
                    .iter()
                    .all(|c| c.len() == usize::from(self.code_len))
        };
        if !consistent {
            return Err(EncodeError::Invalid(
                "login codes must match the count and code length",
            ));
        }
        out.put_slice(&self.time.0);
        out.put_u16(self.seq);
        out.put_slice(&self.iccid.0);
        out.put_u8(self.subsystem_count);
        out.put_u8(self.code_len);
        for c in &self.codes {
            out.put_slice(c);
        }
        Ok(())
    }
}

/// 0x01 vehicle login, 2025: battery management systems, each with its packs' 24-character
/// codes (GB/T 34014).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct VehicleLogin2025 {
    pub time: Time,
    pub seq: u16,
    pub iccid: FixedStr<20>,
    #[cfg_attr(
        test,
        proptest(
            strategy = "proptest::collection::vec(proptest::collection::vec(any::<FixedStr<24>>(), 0..3), 0..4)"
        )
    )]
    pub bms: Vec<Vec<FixedStr<24>>>,
}

impl VehicleLogin2025 {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let time = Time::read(r, "login.time")?;
        let seq = r.u16("login.seq")?;
        let iccid = FixedStr(r.array("login.iccid")?);
        let n = r.u8("login.bms_count")?;
        let counts = r.bytes(usize::from(n), "login.packs_per_bms")?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        r.expect_items(total, 24, "login.pack_codes")?;
        let mut bms = Vec::with_capacity(counts.len());
        for &c in counts {
            let mut packs = Vec::with_capacity(usize::from(c));
            for _ in 0..c {
                packs.push(FixedStr(r.array("login.pack_code")?));
            }
            bms.push(packs);
        }
        Ok(Self {
            time,
            seq,
            iccid,
            bms,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_slice(&self.time.0);
        out.put_u16(self.seq);
        out.put_slice(&self.iccid.0);
        let n = u8::try_from(self.bms.len()).map_err(|_| EncodeError::TooMany {
            what: "BMS",
            count: self.bms.len(),
        })?;
        out.put_u8(n);
        for packs in &self.bms {
            let c = u8::try_from(packs.len()).map_err(|_| EncodeError::TooMany {
                what: "packs",
                count: packs.len(),
            })?;
            out.put_u8(c);
        }
        for code in self.bms.iter().flatten() {
            out.put_slice(&code.0);
        }
        Ok(())
    }
}

fixed! { "logout"
    /// 0x04 vehicle logout and 0x06 platform logout: the sequence is the login's.
    pub struct Logout {
        time: Time,
        seq: u16,
    }
}

fixed! { "platform_login"
    /// 0x05 platform login.
    pub struct PlatformLogin {
        time: Time,
        seq: u16,
        username: FixedStr<12>,
        password: FixedStr<20>,
        encryption: Encryption,
    }
}

/// 0x09 activation (2025): binds the security chip and its public key to the VIN.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activation {
    pub time: Time,
    pub chip_id: FixedStr<16>,
    #[serde(serialize_with = "hex_bytes")]
    pub public_key: Vec<u8>,
    pub vin: FixedStr<17>,
    /// Follows the VIN directly (no 0xFF marker). Its `signed_range` is taken to be the body
    /// before it, since the standard's text on this is not public.
    pub signature: Signature,
}

impl Activation {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        let time = Time::read(r, "activation.time")?;
        let chip_id = FixedStr(r.array("activation.chip_id")?);
        let key_len = r.u16("activation.public_key_length")?;
        let public_key = r
            .bytes(usize::from(key_len), "activation.public_key")?
            .to_vec();
        let vin = FixedStr(r.array("activation.vin")?);
        let end = r.offset();
        let signature = Signature::read(r, start..end)?;
        Ok(Self {
            time,
            chip_id,
            public_key,
            vin,
            signature,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_slice(&self.time.0);
        out.put_slice(&self.chip_id.0);
        let len = u16::try_from(self.public_key.len()).map_err(|_| EncodeError::TooMany {
            what: "public key bytes",
            count: self.public_key.len(),
        })?;
        out.put_u16(len);
        out.put_slice(&self.public_key);
        out.put_slice(&self.vin.0);
        self.signature.write(out)
    }
}

fixed! { "activation_response"
    /// 0x0A activation response (2025, platform → vehicle, sent as a command).
    pub struct ActivationResponse {
        status: ActivationStatus,
        info: ActivationInfo,
    }
}

/// 0x0B data-unit key exchange (2025).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct KeyExchange {
    pub key_type: Encryption,
    #[serde(serialize_with = "hex_bytes")]
    #[cfg_attr(test, proptest(strategy = "arb::bytes(40)"))]
    pub key: Vec<u8>,
    pub valid_from: Time,
    pub valid_until: Time,
}

impl KeyExchange {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let key_type = Encryption(r.u8("key_exchange.key_type")?);
        let len = r.u16("key_exchange.key_length")?;
        let key = r.bytes(usize::from(len), "key_exchange.key")?.to_vec();
        let valid_from = Time::read(r, "key_exchange.valid_from")?;
        let valid_until = Time::read(r, "key_exchange.valid_until")?;
        Ok(Self {
            key_type,
            key,
            valid_from,
            valid_until,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_u8(self.key_type.0);
        let len = u16::try_from(self.key.len()).map_err(|_| EncodeError::TooMany {
            what: "key bytes",
            count: self.key.len(),
        })?;
        out.put_u16(len);
        out.put_slice(&self.key);
        out.put_slice(&self.valid_from.0);
        out.put_slice(&self.valid_until.0);
        Ok(())
    }
}

/// 0x80 parameter query: which parameters the platform asks for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ParamQuery {
    pub time: Time,
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<u8>(), 8)"))]
    pub ids: List<u8>,
}

impl ParamQuery {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            time: Time::read(r, "param_query.time")?,
            ids: List::read::<u8>(r, "param_query.count", 1, |r| r.u8("param_query.id"))?,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_slice(&self.time.0);
        self.ids.write::<u8>(out, "parameter ids", |id, o| {
            o.put_u8(*id);
            Ok(())
        })
    }
}

/// A parameter value: numbers for the numeric parameters (their width depends on the id and
/// the edition), bytes for the text ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Num(u16),
    Text(Vec<u8>),
}

/// One parameter of a set command or a query reply (Table B.12 of 2016 / B.8 of 2025).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub id: u8,
    pub value: ParamValue,
}

/// How a parameter is laid out on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamKind {
    Byte,
    Word,
    /// Fixed-length text.
    Text(usize),
    /// Text whose length is the value of an earlier parameter in the same list.
    TextAfter(u8),
}

fn param_kind(id: u8, edition_2025: bool) -> Option<ParamKind> {
    use ParamKind::*;
    Some(match id {
        0x01 | 0x06 | 0x0A | 0x0B | 0x0F => Word,
        0x02 | 0x03 if edition_2025 => Byte,
        0x02 | 0x03 => Word,
        0x04 | 0x09 | 0x0C | 0x0D | 0x10 => Byte,
        0x05 => TextAfter(0x04),
        0x0E => TextAfter(0x0D),
        0x07 | 0x08 => Text(5),
        _ => return None,
    })
}

/// The parameter's name, with its unit where it has one.
pub fn param_name(id: u8, edition_2025: bool) -> Option<&'static str> {
    Some(match id {
        0x01 => "local_storage_period_ms",
        0x02 => "report_period_s",
        0x03 if edition_2025 => "alarm_report_period_s",
        0x03 => "alarm_report_period_ms",
        0x04 => "platform_domain_length",
        0x05 => "platform_domain",
        0x06 => "platform_port",
        0x07 => "hardware_version",
        0x08 => "firmware_version",
        0x09 => "heartbeat_period_s",
        0x0A => "terminal_response_timeout_s",
        0x0B => "platform_response_timeout_s",
        0x0C => "login_retry_wait_min",
        0x0D => "public_platform_domain_length",
        0x0E => "public_platform_domain",
        0x0F => "public_platform_port",
        0x10 => "sampling_monitoring",
        _ => return None,
    })
}

/// 0x81 parameter set, and the terminal's reply to 0x80: a time and a list of parameters.
/// Parsing stops at a parameter whose layout is unknown (reserved or user-defined id); the rest
/// is kept raw.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamList {
    pub edition_2025: bool,
    pub time: Time,
    pub params: Vec<Param>,
    /// Count byte as sent (the number of parameters including any in `rest`).
    pub count: u8,
    pub rest: Vec<u8>,
}

impl ParamList {
    pub(crate) fn read(r: &mut Reader<'_>, edition_2025: bool) -> Result<Self, DecodeError> {
        let time = Time::read(r, "params.time")?;
        let count = r.u8("params.count")?;
        let mut params: Vec<Param> = Vec::new();
        for _ in 0..count {
            let Some(id) = r.peek_u8() else {
                return Err(r.error(
                    "params.id",
                    ErrorKind::Truncated {
                        needed: 1,
                        available: 0,
                    },
                ));
            };
            let Some(kind) = param_kind(id, edition_2025) else {
                break;
            };
            r.u8("params.id")?;
            let value =
                match kind {
                    ParamKind::Byte => ParamValue::Num(u16::from(r.u8("params.value")?)),
                    ParamKind::Word => ParamValue::Num(r.u16("params.value")?),
                    ParamKind::Text(n) => ParamValue::Text(r.bytes(n, "params.value")?.to_vec()),
                    ParamKind::TextAfter(len_id) => {
                        let len =
                            params.iter().rev().find(|p| p.id == len_id).and_then(|p| {
                                match p.value {
                                    ParamValue::Num(n) => Some(usize::from(n)),
                                    ParamValue::Text(_) => None,
                                }
                            });
                        let Some(len) = len else {
                            return Err(r.error(
                                "params.value",
                                ErrorKind::Invalid(
                                    "a domain parameter needs its length parameter before it",
                                ),
                            ));
                        };
                        ParamValue::Text(r.bytes(len, "params.value")?.to_vec())
                    }
                };
            params.push(Param { id, value });
        }
        let rest = r.rest().to_vec();
        Ok(Self {
            edition_2025,
            time,
            params,
            count,
            rest,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_slice(&self.time.0);
        out.put_u8(self.count);
        for p in &self.params {
            let kind = param_kind(p.id, self.edition_2025)
                .ok_or(EncodeError::Invalid("parameter id without a known layout"))?;
            out.put_u8(p.id);
            match (kind, &p.value) {
                (ParamKind::Byte, ParamValue::Num(n)) => {
                    out.put_u8(
                        u8::try_from(*n)
                            .map_err(|_| EncodeError::Invalid("parameter value exceeds a byte"))?,
                    );
                }
                (ParamKind::Word, ParamValue::Num(n)) => out.put_u16(*n),
                (ParamKind::Text(n), ParamValue::Text(t)) if t.len() == n => out.put_slice(t),
                (ParamKind::TextAfter(_), ParamValue::Text(t)) => out.put_slice(t),
                _ => return Err(EncodeError::Invalid("parameter value does not fit its id")),
            }
        }
        out.put_slice(&self.rest);
        Ok(())
    }
}

impl Serialize for ParamList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        #[derive(Serialize)]
        struct Entry<'a> {
            id: u8,
            name: Option<&'static str>,
            value: serde_json::Value,
            #[serde(skip)]
            _p: std::marker::PhantomData<&'a ()>,
        }
        let entries: Vec<Entry<'_>> = self
            .params
            .iter()
            .map(|p| Entry {
                id: p.id,
                name: param_name(p.id, self.edition_2025),
                value: match &p.value {
                    ParamValue::Num(n) => (*n).into(),
                    ParamValue::Text(t) => crate::value::text_of(t).into(),
                },
                _p: std::marker::PhantomData,
            })
            .collect();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("time", &self.time)?;
        m.serialize_entry("count", &self.count)?;
        m.serialize_entry("params", &entries)?;
        if !self.rest.is_empty() {
            m.serialize_entry("rest", &crate::value::HexDisplay(&self.rest).to_string())?;
        }
        m.end()
    }
}

/// 0x82 terminal control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TerminalControl {
    pub time: Time,
    pub command: Control,
}

/// The control command and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Control {
    Upgrade(Upgrade),
    PowerOff,
    Reset,
    FactoryReset,
    Disconnect,
    Alarm {
        level: u8,
        #[serde(serialize_with = "text_bytes")]
        message: Vec<u8>,
    },
    OpenMonitoringLink,
    /// Reserved or user-defined ids, or an upgrade whose parameters do not parse.
    Other {
        id: u8,
        #[serde(serialize_with = "hex_bytes")]
        params: Vec<u8>,
    },
}

/// Remote upgrade parameters: ';'-separated fields in the order of Table B.16 (2016) / B.12
/// (2025). The binary address, port and deadline may themselves contain ';', so the fixed-width
/// fields are read by width, not split on the separator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Upgrade {
    #[serde(serialize_with = "text_bytes")]
    pub apn: Vec<u8>,
    #[serde(serialize_with = "text_bytes")]
    pub user: Vec<u8>,
    #[serde(serialize_with = "text_bytes")]
    pub password: Vec<u8>,
    /// IPv4 as two zero bytes and four octets, or a domain.
    #[serde(serialize_with = "hex_bytes")]
    pub address: [u8; 6],
    pub port: u16,
    pub manufacturer: FixedStr<4>,
    pub hardware_version: FixedStr<5>,
    pub firmware_version: FixedStr<5>,
    #[serde(serialize_with = "text_bytes")]
    pub url: Vec<u8>,
    pub deadline_min: u16,
}

impl Upgrade {
    fn parse(b: &[u8]) -> Option<Self> {
        let mut pos = 0;
        let text = |pos: &mut usize| -> Option<Vec<u8>> {
            let end = *pos + b.get(*pos..)?.iter().position(|&c| c == b';')?;
            let out = b[*pos..end].to_vec();
            *pos = end + 1;
            Some(out)
        };
        let apn = text(&mut pos)?;
        let user = text(&mut pos)?;
        let password = text(&mut pos)?;
        let fixed = |pos: &mut usize, n: usize, last: bool| -> Option<&[u8]> {
            let out = b.get(*pos..*pos + n)?;
            *pos += n;
            if !last {
                (b.get(*pos) == Some(&b';')).then_some(())?;
                *pos += 1;
            }
            Some(out)
        };
        let address: [u8; 6] = fixed(&mut pos, 6, false)?.try_into().ok()?;
        let port = u16::from_be_bytes(fixed(&mut pos, 2, false)?.try_into().ok()?);
        let manufacturer = FixedStr(fixed(&mut pos, 4, false)?.try_into().ok()?);
        let hardware_version = FixedStr(fixed(&mut pos, 5, false)?.try_into().ok()?);
        let firmware_version = FixedStr(fixed(&mut pos, 5, false)?.try_into().ok()?);
        let url = text(&mut pos)?;
        let deadline_min = u16::from_be_bytes(fixed(&mut pos, 2, true)?.try_into().ok()?);
        (pos == b.len()).then_some(Self {
            apn,
            user,
            password,
            address,
            port,
            manufacturer,
            hardware_version,
            firmware_version,
            url,
            deadline_min,
        })
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for t in [&self.apn, &self.user, &self.password] {
            if t.contains(&b';') {
                return Err(EncodeError::Invalid(
                    "upgrade text fields cannot contain ';'",
                ));
            }
            out.put_slice(t);
            out.put_u8(b';');
        }
        out.put_slice(&self.address);
        out.put_u8(b';');
        out.put_u16(self.port);
        out.put_u8(b';');
        out.put_slice(&self.manufacturer.0);
        out.put_u8(b';');
        out.put_slice(&self.hardware_version.0);
        out.put_u8(b';');
        out.put_slice(&self.firmware_version.0);
        out.put_u8(b';');
        if self.url.contains(&b';') {
            return Err(EncodeError::Invalid("the upgrade URL cannot contain ';'"));
        }
        out.put_slice(&self.url);
        out.put_u8(b';');
        out.put_u16(self.deadline_min);
        Ok(())
    }
}

impl TerminalControl {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let time = Time::read(r, "control.time")?;
        let id = r.u8("control.command")?;
        let params = r.rest();
        let command = match (id, params) {
            (0x01, p) => Upgrade::parse(p).map_or_else(
                || Control::Other {
                    id,
                    params: p.to_vec(),
                },
                Control::Upgrade,
            ),
            (0x02, []) => Control::PowerOff,
            (0x03, []) => Control::Reset,
            (0x04, []) => Control::FactoryReset,
            (0x05, []) => Control::Disconnect,
            (0x06, [level, message @ ..]) => Control::Alarm {
                level: *level,
                message: message.to_vec(),
            },
            (0x07, []) => Control::OpenMonitoringLink,
            (_, p) => Control::Other {
                id,
                params: p.to_vec(),
            },
        };
        Ok(Self { time, command })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_slice(&self.time.0);
        match &self.command {
            Control::Upgrade(u) => {
                out.put_u8(0x01);
                u.write(out)?;
            }
            Control::PowerOff => out.put_u8(0x02),
            Control::Reset => out.put_u8(0x03),
            Control::FactoryReset => out.put_u8(0x04),
            Control::Disconnect => out.put_u8(0x05),
            Control::Alarm { level, message } => {
                out.put_u8(0x06);
                out.put_u8(*level);
                out.put_slice(message);
            }
            Control::OpenMonitoringLink => out.put_u8(0x07),
            Control::Other { id, params } => {
                let canonical = match id {
                    0x02..=0x05 | 0x07 => params.is_empty(),
                    0x06 => !params.is_empty(),
                    0x01 => Upgrade::parse(params).is_some(),
                    _ => false,
                };
                if canonical {
                    return Err(EncodeError::Invalid(
                        "use the typed control command for this id",
                    ));
                }
                out.put_u8(*id);
                out.put_slice(params);
            }
        }
        Ok(())
    }
}
