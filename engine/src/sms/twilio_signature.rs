//! Twilio's request signature (`X-Twilio-Signature`), as Twilio documents it: HMAC-SHA1,
//! keyed with the account's auth token, over the full URL Twilio requested followed by every
//! POST parameter's name and value, names sorted (and, for a repeated name, its distinct
//! values sorted), base64-encoded. Twilio's own libraries accept the URL with or without its
//! default port, because Twilio's signers are not consistent about it; so does this.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The signature of a request to `url` with form `params`.
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut signed = url.to_owned();
    for name in names {
        let mut values: Vec<&str> = params
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        values.sort_unstable();
        values.dedup();
        for value in values {
            signed.push_str(name);
            signed.push_str(value);
        }
    }
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(signed.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` is Twilio's for this request (with the URL's default port given or
/// not). Compared in constant time.
pub fn is_valid(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    url_variants(url).iter().any(|candidate| {
        let expected = compute(auth_token, candidate, params);
        bool::from(expected.as_bytes().ct_eq(signature.trim().as_bytes()))
    })
}

/// The URL as given, without its port, and with its scheme's default port.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return variants;
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return variants,
    };
    match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
            variants.push(format!("{scheme}://{host}{tail}"));
        }
        _ => variants.push(format!("{scheme}://{authority}:{default_port}{tail}")),
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twilio's documented example (twilio-python's and twilio-php's test vector).
    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
    }

    #[test]
    fn twilios_documented_example_vector() {
        assert_eq!(
            compute(TOKEN, URL, &params()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(is_valid(
            TOKEN,
            URL,
            &params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn repeated_names_sort_and_dedupe_their_values() {
        // twilio-python's duplicate-parameter vector.
        let params: Vec<(String, String)> = [
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(compute(TOKEN, URL, &params), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    }

    #[test]
    fn tampering_with_url_body_or_parameters_fails() {
        let good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        assert!(!is_valid(
            TOKEN,
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &params(),
            good
        ));
        assert!(!is_valid(
            TOKEN,
            "https://evil.com/myapp.php?foo=1&bar=2",
            &params(),
            good
        ));
        let mut changed = params();
        changed[1].1 = "1235".into();
        assert!(!is_valid(TOKEN, URL, &changed, good));
        let mut added = params();
        added.push(("Body".into(), "STOP".into()));
        assert!(!is_valid(TOKEN, URL, &added, good));
        let mut removed = params();
        removed.pop();
        assert!(!is_valid(TOKEN, URL, &removed, good));
        assert!(!is_valid("54321", URL, &params(), good));
        assert!(!is_valid(TOKEN, URL, &params(), ""));
    }

    #[test]
    fn the_default_port_may_be_given_or_not() {
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        let signed_with_port = compute(TOKEN, with_port, &params());
        assert!(is_valid(TOKEN, URL, &params(), &signed_with_port));
        assert!(is_valid(
            TOKEN,
            with_port,
            &params(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }
}
