//! The pages people look at, built with maud: the administrators' console
//! and the password-reset page this service serves itself.

pub(crate) mod console;
pub(crate) mod html;
pub(crate) mod reset_page;
pub(crate) mod swagger;

pub use reset_page::RESET_PAGE_TEMPLATE;
