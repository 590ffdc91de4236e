//! Twilio's request signature (`X-Twilio-Signature`), as Twilio documents it: HMAC-SHA1,
//! keyed with the account's auth token, over the full URL Twilio requested followed by every
//! POST parameter's name and value, names sorted (and, for a repeated name, its distinct
//! values sorted), base64-encoded. Twilio's own libraries accept the URL with or without its
//! default port, because Twilio's signers are not consistent about it; so does this.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// What Twilio signs after the URL: every parameter's name and value, ordered by name and
/// then value, repeated pairs once. One sort, so a request with thousands of parameters
/// costs O(n log n) before it can be refused.
pub fn signed_parameters(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut signed = String::with_capacity(pairs.iter().map(|(n, v)| n.len() + v.len()).sum());
    for (name, value) in pairs {
        signed.push_str(name);
        signed.push_str(value);
    }
    signed
}

fn sign(auth_token: &str, url: &str, parameters: &str) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    mac.update(parameters.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The signature of a request to `url` with form `params`.
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    sign(auth_token, url, &signed_parameters(params))
}

/// Whether `signature` is Twilio's for this request (with the URL's default port given or
/// not). Compared in constant time.
pub fn is_valid(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    is_valid_signed(auth_token, url, &signed_parameters(params), signature)
}

/// [`is_valid`] over parameters already put in order with [`signed_parameters`] (so that
/// several tokens or URL forms are tried without sorting again).
pub fn is_valid_signed(auth_token: &str, url: &str, parameters: &str, signature: &str) -> bool {
    url_variants(url).iter().any(|candidate| {
        let expected = sign(auth_token, candidate, parameters);
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

    #[test]
    fn ten_thousand_parameters_are_put_in_order_once() {
        // The old per-name scan was quadratic: 10,000 distinct names took seconds.
        let params: Vec<(String, String)> = (0..10_000)
            .rev()
            .map(|i| (format!("p{i:05}"), String::new()))
            .collect();
        let signed = signed_parameters(&params);
        assert!(signed.starts_with("p00000p00001"));
        assert_eq!(signed.len(), 60_000);
    }
}
