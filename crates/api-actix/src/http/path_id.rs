use authusers_domain::UserId;

use crate::http::problem::Problem;

/// A user id from a path segment: decimal digits only, without sign or
/// leading zero, so that one user has one address (`/2/`, never `/+2/` or
/// `/02/`). Anything else is no user: 404.
pub fn user_id(segment: &str) -> Result<UserId, Problem> {
    let canonical = !segment.is_empty()
        && segment.bytes().all(|b| b.is_ascii_digit())
        && (segment == "0" || !segment.starts_with('0'));
    canonical
        .then(|| segment.parse().ok())
        .flatten()
        .map(UserId)
        .ok_or_else(|| Problem::not_found("No user with this id."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_decimal_ids() {
        assert_eq!(user_id("2").unwrap(), UserId(2));
        assert_eq!(user_id("9223372036854775807").unwrap(), UserId(i64::MAX));
        for bad in [
            "",
            "+2",
            "-2",
            "02",
            " 2",
            "2 ",
            "2.0",
            "0x2",
            "٢",
            "9223372036854775808",
            "me",
        ] {
            assert!(user_id(bad).is_err(), "{bad:?}");
        }
    }
}
