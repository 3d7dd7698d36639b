//! How the domain's state enums are bound into SQL and read back, on both databases: relation
//! states as the reference's numbers, meeting states and substitute statuses as lower-case
//! text. A stored value the enum does not know is a decoding error, never a guess.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Postgres, Sqlite, Type};

use crate::domain::meetings::{InvitationStatus, MeetingState, SubstituteStatus};
use crate::domain::relations::RelationState;

/// Implements `Type`, `Encode` and `Decode` for `$ty` on `$db`: it is bound as `$to(value)`
/// (of type `$enc`) and read as `$dec`, turned back by `$from` (`None` for an unknown value).
macro_rules! codec {
    ($db:ty, $ty:ty, $enc:ty, $to:expr, $dec:ty, $from:expr) => {
        impl Type<$db> for $ty {
            fn type_info() -> <$db as Database>::TypeInfo {
                <$dec as Type<$db>>::type_info()
            }
            fn compatible(ty: &<$db as Database>::TypeInfo) -> bool {
                <$dec as Type<$db>>::compatible(ty)
            }
        }
        impl<'q> Encode<'q, $db> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as Database>::ArgumentBuffer,
            ) -> Result<IsNull, BoxDynError> {
                let value: $enc = $to(*self);
                <$enc as Encode<'q, $db>>::encode(value, buf)
            }
        }
        impl<'r> Decode<'r, $db> for $ty {
            fn decode(value: <$db as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let stored = <$dec as Decode<'r, $db>>::decode(value)?;
                $from(&stored).ok_or_else(|| {
                    format!("unknown {} {stored:?} in the database", stringify!($ty)).into()
                })
            }
        }
    };
}

macro_rules! both {
    ($($args:tt)*) => {
        codec!(Sqlite, $($args)*);
        codec!(Postgres, $($args)*);
    };
}

both!(RelationState, i64, RelationState::number, i64, |n: &i64| {
    RelationState::from_number(*n)
});
both!(
    MeetingState,
    &'static str,
    MeetingState::as_str,
    String,
    |s: &String| MeetingState::parse(s)
);
both!(
    SubstituteStatus,
    &'static str,
    SubstituteStatus::as_str,
    String,
    |s: &String| SubstituteStatus::parse(s)
);
both!(
    InvitationStatus,
    &'static str,
    InvitationStatus::as_str,
    String,
    |s: &String| InvitationStatus::parse(s)
);
