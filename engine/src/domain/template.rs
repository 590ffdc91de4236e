//! Quick-reply bodies with `{{placeholders}}`: parsed once, so a template that exists is
//! well-formed and knows which values it needs.

use std::fmt;

use super::ValidationError;

/// The longest template body, in characters: ten SMS segments of GSM-7.
pub const MAX_TEMPLATE_CHARS: usize = 1600;

/// One piece of a parsed template body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text copied as is.
    Text(&'a str),
    /// A placeholder to fill, by name, e.g. `contact.name`.
    Placeholder(&'a str),
}

/// A template body whose placeholders are well-formed: `{{ name }}` where the name is letters,
/// digits, `_` and `.`, starting with a letter; no stray `{{` or `}}`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "Hi {{contact.name}}, this is {{agent.name}} from {{campaign}}.")]
pub struct TemplateBody(String);

impl TemplateBody {
    /// Parses a body given for `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        if value.trim().is_empty() {
            return Err(ValidationError::invalid(field, "must not be empty"));
        }
        if value.chars().count() > MAX_TEMPLATE_CHARS {
            return Err(ValidationError::invalid(
                field,
                format!("must be at most {MAX_TEMPLATE_CHARS} characters"),
            ));
        }
        pieces(value).map_err(|message| ValidationError::invalid(field, message))?;
        Ok(Self(value.to_owned()))
    }

    /// The body as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The body split into text and placeholders.
    pub fn pieces(&self) -> Vec<Piece<'_>> {
        pieces(&self.0).expect("a TemplateBody was checked when it was parsed")
    }

    /// The body with every placeholder filled by `value`. A placeholder without a value is
    /// never rendered as nothing: the error names every one missing, in order of first use.
    pub fn render(&self, value: impl Fn(&str) -> Option<String>) -> Result<String, Vec<String>> {
        let mut out = String::with_capacity(self.0.len());
        let mut missing: Vec<String> = Vec::new();
        for piece in self.pieces() {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Placeholder(name) => match value(name) {
                    Some(v) if !v.trim().is_empty() => out.push_str(&v),
                    _ => {
                        if !missing.iter().any(|m| m == name) {
                            missing.push(name.to_owned());
                        }
                    }
                },
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(missing)
        }
    }

    /// The distinct placeholder names, in order of first use.
    pub fn placeholders(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for piece in self.pieces() {
            if let Piece::Placeholder(name) = piece
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
        names
    }
}

fn is_placeholder_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !name.ends_with('.')
        && !name.contains("..")
}

fn pieces(body: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        let text = &rest[..open];
        if text.contains("}}") {
            return Err("has '}}' without a matching '{{'".into());
        }
        if !text.is_empty() {
            out.push(Piece::Text(text));
        }
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or("has '{{' without a closing '}}'")?;
        let name = after[..close].trim();
        if !is_placeholder_name(name) {
            return Err(format!(
                "placeholder {{{{{name}}}}} must be a name of letters, digits, '_' and '.'"
            ));
        }
        out.push(Piece::Placeholder(name));
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err("has '}}' without a matching '{{'".into());
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

impl TryFrom<String> for TemplateBody {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("body", &value)
    }
}

impl From<TemplateBody> for String {
    fn from(body: TemplateBody) -> String {
        body.0
    }
}

impl fmt::Debug for TemplateBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TemplateBody({} chars)", self.0.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn template_lists_placeholders_once_in_order() {
        let body = TemplateBody::parse(
            "body",
            "Hi {{ contact.name }}, {{agent.name}} here. Bye {{contact.name}}",
        )
        .unwrap();
        assert_eq!(body.placeholders(), vec!["contact.name", "agent.name"]);
    }

    #[test]
    fn template_splits_into_pieces() {
        let body = TemplateBody::parse("body", "a{{x}}b").unwrap();
        assert_eq!(
            body.pieces(),
            vec![Piece::Text("a"), Piece::Placeholder("x"), Piece::Text("b")]
        );
    }

    #[test]
    fn template_rejects_malformed_placeholders() {
        for bad in [
            "Hi {{name",
            "Hi name}}",
            "{{}}",
            "{{ 1abc }}",
            "{{a b}}",
            "{{a..b}}",
            "{{a.}}",
            "   ",
        ] {
            assert!(TemplateBody::parse("body", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn template_without_placeholders_is_plain_text() {
        let body = TemplateBody::parse("body", "Thanks for texting us!").unwrap();
        assert!(body.placeholders().is_empty());
    }

    proptest! {
        #[test]
        fn template_parse_never_panics(s in "\\PC{0,60}") {
            let _ = TemplateBody::parse("body", &s);
        }

        #[test]
        fn template_pieces_rebuild_plain_text(text in "[a-zA-Z ,.!]{1,40}", name in "[a-z][a-z_]{0,4}(\\.[a-z][a-z_]{0,4}){0,2}") {
            let source = format!("{text}{{{{{name}}}}}{text}");
            let body = TemplateBody::parse("body", &source).unwrap();
            prop_assert_eq!(body.placeholders(), vec![name.as_str()]);
        }
    }

    #[test]
    fn rendering_fills_every_placeholder_or_names_the_missing() {
        let body = TemplateBody::parse(
            "body",
            "Hi {{contact.name}}, {{agent.name}} here ({{campaign}}). {{contact.name}}?",
        )
        .unwrap();
        let all = |name: &str| match name {
            "contact.name" => Some("Maria".to_owned()),
            "agent.name" => Some("Ann".to_owned()),
            "campaign" => Some("Spring".to_owned()),
            _ => None,
        };
        assert_eq!(
            body.render(all).unwrap(),
            "Hi Maria, Ann here (Spring). Maria?"
        );
        let no_contact = |name: &str| match name {
            "contact.name" => Some("  ".to_owned()),
            "campaign" => Some("Spring".to_owned()),
            _ => None,
        };
        assert_eq!(
            body.render(no_contact).unwrap_err(),
            vec!["contact.name".to_owned(), "agent.name".to_owned()]
        );
    }
}
