//! The one error a scenario's parsing and checks give: a YAML error with
//! its line and column, or a field path and what is wrong with it.

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScenarioError {
    /// Syntax or shape error from the YAML parser, with its location.
    #[error("scenario YAML: {0}")]
    Yaml(String),
    /// A semantic error in a named field.
    #[error("scenario field {field}: {message}")]
    Field { field: String, message: String },
}

pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Field {
        field: field.into(),
        message: message.into(),
    }
}
