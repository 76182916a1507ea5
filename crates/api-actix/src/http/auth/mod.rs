//! Authentication at the HTTP edge: the extractors that turn a bearer
//! token into a user. Tokens themselves are issued and checked through the
//! domain's `SessionTokens` port.

mod extractors;

pub use extractors::{
    bearer_token, legacy_claim, owes_enrolment, Administrator, AuthenticatedUser, SessionUser,
};
