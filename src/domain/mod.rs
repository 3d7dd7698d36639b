//! Pure types and rules: no I/O.

pub mod clock;
pub mod meetings;
pub mod messages;
pub mod relations;
pub mod users;
