//! The macro that lists a version's actions once and derives its request and response enums.

/// `actions! { Action => RequestType, ResponseType; ... }` defines `Request` and `Response` with
/// one variant per action, their action names, and decoding from / encoding to a JSON payload.
macro_rules! actions {
    ($($action:ident => $req:ty, $res:ty;)+) => {
        /// Every request payload of this version that the crate types, by action.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum Request {
            $($action($req),)+
        }

        /// Every response payload of this version that the crate types, by action.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum Response {
            $($action($res),)+
        }

        /// The actions typed here, in the order above.
        pub const ACTIONS: &[&str] = &[$(stringify!($action),)+];

        impl Request {
            /// The action name, as on the wire.
            pub fn action(&self) -> &'static str {
                match self {
                    $(Request::$action(_) => stringify!($action),)+
                }
            }

            /// Decodes the payload of `action`; `None` when the action is not typed here.
            pub fn from_payload(
                action: &str,
                payload: serde_json::Value,
            ) -> Option<Result<Self, serde_json::Error>> {
                match action {
                    $(stringify!($action) => Some(serde_json::from_value(payload).map(Request::$action)),)+
                    _ => None,
                }
            }

            /// The payload as JSON.
            pub fn to_payload(&self) -> serde_json::Value {
                let value = match self {
                    $(Request::$action(m) => serde_json::to_value(m),)+
                };
                // Serializing these plain structs cannot fail: their keys are strings and
                // their numbers finite.
                value.unwrap_or_default()
            }
        }

        impl Response {
            /// The action this answers.
            pub fn action(&self) -> &'static str {
                match self {
                    $(Response::$action(_) => stringify!($action),)+
                }
            }

            /// Decodes the answer to a call of `action`; `None` when the action is not typed here.
            pub fn from_payload(
                action: &str,
                payload: serde_json::Value,
            ) -> Option<Result<Self, serde_json::Error>> {
                match action {
                    $(stringify!($action) => Some(serde_json::from_value(payload).map(Response::$action)),)+
                    _ => None,
                }
            }

            /// The payload as JSON.
            pub fn to_payload(&self) -> serde_json::Value {
                let value = match self {
                    $(Response::$action(m) => serde_json::to_value(m),)+
                };
                value.unwrap_or_default()
            }
        }

        $(
            impl From<$req> for Request {
                fn from(m: $req) -> Self {
                    Request::$action(m)
                }
            }
            impl From<$res> for Response {
                fn from(m: $res) -> Self {
                    Response::$action(m)
                }
            }
        )+
    };
}
