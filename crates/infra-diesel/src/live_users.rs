use diesel::dsl::{Filter, IsNull};
use diesel::prelude::*;

use crate::schema::users;

pub(crate) type LiveUsers = Filter<users::table, IsNull<users::erased_at>>;

/// The users that have not been erased: the only ones any look-up, list,
/// update or balance operation reaches.
pub(crate) fn live_users() -> LiveUsers {
    users::table.filter(users::erased_at.is_null())
}
