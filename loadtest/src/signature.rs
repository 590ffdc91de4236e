//! Twilio's request signature, as the provider side computes it: HMAC-SHA1 keyed with the
//! account's auth token over the URL followed by every parameter's name and value, names
//! sorted, base64-encoded (Twilio's "Security" documentation). The generator signs what it
//! posts as Twilio would; it shares no code with the server, which checks it.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// The `X-Twilio-Signature` of a form post of `params` to `url`.
pub fn sign(auth_token: &str, url: &str, params: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = params.iter().collect();
    sorted.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut signed = url.to_owned();
    for (name, value) in sorted {
        signed.push_str(name);
        signed.push_str(value);
    }
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(signed.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_twilios_documented_example() {
        // The example of Twilio's webhook security documentation.
        let params = [
            ("CallSid", "CA1234567890ABCDE".to_owned()),
            ("Caller", "+14158675309".to_owned()),
            ("Digits", "1234".to_owned()),
            ("From", "+14158675309".to_owned()),
            ("To", "+18005551212".to_owned()),
        ];
        assert_eq!(
            sign(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
    }
}
