use crate::http::field_messages::FieldMessages;

use crate::http::problem::Problem;

/// Collects "This field is required." for every absent field of a body, so
/// that one answer names them all.
#[derive(Default)]
pub struct Required(FieldMessages);

impl Required {
    pub fn new() -> Self {
        Self::default()
    }

    /// The value, or an empty string and a recorded error when absent.
    pub fn field(&mut self, name: &str, value: Option<String>) -> String {
        value.unwrap_or_else(|| {
            self.0.add(name, "This field is required.");
            String::new()
        })
    }

    pub fn check(self) -> Result<(), Problem> {
        self.0.into_result().map_err(Problem::validation)
    }
}
