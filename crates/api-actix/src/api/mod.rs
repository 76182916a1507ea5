//! The JSON API, as the contract (`docs/api.md`) has it: djoser's and
//! simplejwt's routes, the balance, the approvals, the operators' routes and
//! the OpenAPI document. Each handler reads a request, calls the domain and
//! writes its answer or a problem.

pub(crate) mod activation;
pub(crate) mod approvals;
pub(crate) mod balance;
pub(crate) mod credentials;
pub(crate) mod docs;
pub(crate) mod mfa;
pub(crate) mod operations;
pub(crate) mod pagination;
pub(crate) mod password_reset;
pub(crate) mod profile;
pub(crate) mod registration;
pub(crate) mod second_step;
pub(crate) mod sessions;
pub(crate) mod tokens;
pub(crate) mod users;
pub(crate) mod well_known;

pub use docs::ApiDoc;
pub use profile::ProfileBody;
