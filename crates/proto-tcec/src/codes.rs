//! The enumerations of T/CEC 102.2/102.3 (2016), as codes that keep unknown values.
//!
//! Enumerations drift between editions and operators (private connector states such as 21501
//! "upgrading"), so every enum has `Other(code)`; decoding accepts numbers and digit strings,
//! encoding writes the number.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A code outside the 2016 list, kept as sent.
            Other(u32),
        }

        impl $name {
            pub const fn code(self) -> u32 {
                match self {
                    $($name::$variant => $code,)+
                    $name::Other(code) => code,
                }
            }

            pub const fn from_code(code: u32) -> Self {
                match code {
                    $($code => $name::$variant,)+
                    other => $name::Other(other),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u32(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                crate::lenient::int(d).map($name::from_code)
            }
        }
    };
}

code_enum! {
    /// `StationType`.
    StationType {
        Public = 1,
        Personal = 50,
        Bus = 100,
        Sanitation = 101,
        Logistics = 102,
        Taxi = 103,
        Other255 = 255,
    }
}

code_enum! {
    /// `StationStatus`.
    StationStatus {
        Unknown = 0,
        UnderConstruction = 1,
        Closed = 5,
        Maintenance = 6,
        InUse = 50,
    }
}

code_enum! {
    /// `Construction`: where the station is built.
    Construction {
        Residential = 1,
        PublicInstitution = 2,
        Enterprise = 3,
        OfficeBuilding = 4,
        IndustrialPark = 5,
        TransportHub = 6,
        CultureSportsVenue = 7,
        UrbanGreenSpace = 8,
        BuildingParking = 9,
        RoadsideParking = 10,
        HighwayServiceArea = 11,
        Other255 = 255,
    }
}

code_enum! {
    /// `EquipmentType` (2016 numbering; the cpmt variant differs, map it per peer).
    EquipmentType {
        Dc = 1,
        Ac = 2,
        AcDc = 3,
        Wireless = 4,
        Other5 = 5,
    }
}

code_enum! {
    /// `ConnectorType`.
    ConnectorType {
        HouseholdSocket = 1,
        AcSocket = 2,
        AcPlug = 3,
        DcPlug = 4,
        WirelessPad = 5,
        Other6 = 6,
    }
}

code_enum! {
    /// `NationalStandard`: the GB/T 20234 edition of the connector.
    NationalStandard {
        Gbt2011 = 1,
        Gbt2015 = 2,
    }
}

code_enum! {
    /// `ConnectorStatusInfo.Status`.
    ConnectorStatus {
        /// 离网.
        Offline = 0,
        /// 空闲.
        Idle = 1,
        /// 占用(未充电).
        OccupiedNotCharging = 2,
        /// 占用(充电中).
        Charging = 3,
        /// 占用(预约锁定).
        Reserved = 4,
        /// 故障.
        Fault = 255,
    }
}

code_enum! {
    /// `ParkStatus`.
    ParkStatus {
        Unknown = 0,
        Free = 10,
        Occupied = 50,
    }
}

code_enum! {
    /// `LockStatus`: the parking lock.
    LockStatus {
        Unknown = 0,
        Unlocked = 10,
        Locked = 50,
    }
}

code_enum! {
    /// `StartChargeSeqStat`.
    StartChargeSeqStat {
        Starting = 1,
        Charging = 2,
        Stopping = 3,
        Finished = 4,
        Unknown = 5,
    }
}

code_enum! {
    /// `StopReason` (5–99 are operator-defined).
    StopReason {
        User = 0,
        UserOperatorPlatform = 1,
        Bms = 2,
        ChargerFault = 3,
        ConnectorUnplugged = 4,
    }
}

code_enum! {
    /// `SuccStat`.
    SuccStat {
        Success = 0,
        Failure = 1,
    }
}

code_enum! {
    /// `FailReason` of `query_token` (3–99 are operator-defined).
    TokenFailReason {
        None = 0,
        UnknownOperator = 1,
        WrongSecret = 2,
    }
}

code_enum! {
    /// `Status` of a notification's response.
    NotificationStatus {
        Accepted = 0,
        /// Ignored: the sender must not retry.
        Ignored = 1,
    }
}

code_enum! {
    /// `ConfirmResult` of `notification_charge_order_info` (2–99 are operator-defined).
    ConfirmResult {
        Agreed = 0,
        Disputed = 1,
    }
}
