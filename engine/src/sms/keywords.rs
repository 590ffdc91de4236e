//! Carrier compliance keywords (the CTIA list): a message that is one of them, matched
//! case-insensitively on the whole trimmed text, opts the sender out, back in, or asks for
//! help. "Stop by tomorrow" is a message, not a keyword.

/// What a keyword asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT.
    OptOut,
    /// START, UNSTOP.
    OptIn,
    /// HELP, INFO.
    Help,
}

/// The keyword `body` is, if any.
pub fn classify(body: &str) -> Option<Keyword> {
    let word = body.trim().to_ascii_uppercase();
    match word.as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "REVOKE" | "OPTOUT" => {
            Some(Keyword::OptOut)
        }
        "START" | "UNSTOP" => Some(Keyword::OptIn),
        "HELP" | "INFO" => Some(Keyword::Help),
        _ => None,
    }
}

/// Whether a text already tells the customer how to opt out (names STOP as a word), so that
/// it needs no footer.
pub fn mentions_stop(body: &str) -> bool {
    body.split(|c: char| !c.is_ascii_alphabetic())
        .any(|word| word.eq_ignore_ascii_case("stop"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_mentions_are_words() {
        assert!(mentions_stop("Reply STOP to unsubscribe."));
        assert!(mentions_stop("text stop to end"));
        assert!(!mentions_stop("Nonstop deals"));
        assert!(!mentions_stop("Hello"));
    }

    #[test]
    fn whole_trimmed_messages_match_in_any_case() {
        for stop in [
            "STOP",
            "stop",
            " Stop \n",
            "StopAll",
            "unsubscribe",
            "CANCEL",
            "end",
            "Quit",
            "revoke",
            "OPTOUT",
        ] {
            assert_eq!(classify(stop), Some(Keyword::OptOut), "{stop:?}");
        }
        for start in ["START", "start", " Unstop "] {
            assert_eq!(classify(start), Some(Keyword::OptIn), "{start:?}");
        }
        for help in ["HELP", "info", " Help"] {
            assert_eq!(classify(help), Some(Keyword::Help), "{help:?}");
        }
        for text in ["stop it", "STOP!", "Please stop", "", "starting", "opt out"] {
            assert_eq!(classify(text), None, "{text:?}");
        }
    }
}
