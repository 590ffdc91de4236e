//! The SMS channel: how texts are counted in segments, which keywords carriers require, how
//! Twilio signs its webhooks, and the providers texts leave through.

/// The longest message text taken or sent, in characters: Twilio's limit for one message
/// (ten concatenated segments and more), the same on every route.
pub const MAX_MESSAGE_CHARS: usize = 1600;

/// The one rule for control characters in message texts, notes and contact fields: line
/// feeds, carriage returns and tabs are text; every other control character (NUL, escape,
/// ...) is not. Text people write through the API that holds one is refused
/// (`400 invalid_value`); a customer's text from a provider has them removed, because a
/// provider's message is stored rather than refused and retried forever.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
}

/// A customer's text with the control characters [`is_forbidden_control`] names removed.
pub fn without_forbidden_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(is_forbidden_control) {
        text.chars()
            .filter(|&c| !is_forbidden_control(c))
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

pub mod keywords;
pub mod provider;
pub mod segments;
pub mod twilio_signature;

#[cfg(test)]
mod control_tests {
    #[test]
    fn line_breaks_and_tabs_stay_other_controls_go() {
        assert_eq!(
            super::without_forbidden_controls("a\nb\tc\r\n"),
            "a\nb\tc\r\n"
        );
        assert_eq!(
            super::without_forbidden_controls("a\0b\u{1b}[31mc\u{7f}"),
            "ab[31mc"
        );
        assert!(super::is_forbidden_control('\0'));
        assert!(!super::is_forbidden_control('\n'));
    }
}
