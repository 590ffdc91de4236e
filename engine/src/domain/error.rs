//! The one error a domain constructor returns: which field, and why it was refused.

/// A value refused at the edge. `field` names the input field (dotted for nested ones) so that
/// an API can point the client at it; `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The value breaks a rule of its type (length, range, characters).
    #[error("{field}: {message}")]
    InvalidValue {
        /// The input field, e.g. `offer_timeout_secs`.
        field: String,
        /// What is wrong, e.g. `must be between 1 and 3600`.
        message: String,
    },
    /// The value is not a phone number in E.164 form.
    #[error("{field}: {message}")]
    InvalidPhoneNumber {
        /// The input field, e.g. `phone`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A well-formed value for a field that does not apply to this resource as it stands
    /// (simulator settings on a Twilio account).
    #[error("{field}: {message}")]
    NotApplicable {
        /// The input field.
        field: String,
        /// Why it does not apply.
        message: String,
    },
}

impl ValidationError {
    /// A value that breaks a rule of its type.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidValue {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The field this error is about.
    pub fn field(&self) -> &str {
        match self {
            Self::InvalidValue { field, .. }
            | Self::InvalidPhoneNumber { field, .. }
            | Self::NotApplicable { field, .. } => field,
        }
    }

    /// The same error, reported against another field name (used when a nested value is
    /// parsed on its own and then placed, e.g. `team_ids[2]`).
    pub fn at(self, field: impl Into<String>) -> Self {
        match self {
            Self::InvalidValue { message, .. } => Self::InvalidValue {
                field: field.into(),
                message,
            },
            Self::InvalidPhoneNumber { message, .. } => Self::InvalidPhoneNumber {
                field: field.into(),
                message,
            },
            Self::NotApplicable { message, .. } => Self::NotApplicable {
                field: field.into(),
                message,
            },
        }
    }
}
