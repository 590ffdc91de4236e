//! Any template an admin writes is accepted or refused; an accepted one renders once every
//! placeholder has a value.
#![no_main]

use engine::domain::TemplateBody;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(template) = TemplateBody::parse("body", text) {
        assert!(template.render(|_| Some("x".into())).is_ok());
    }
});
