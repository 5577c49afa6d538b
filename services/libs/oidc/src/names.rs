//! Checks on names that both the issuer configuration and the identities
//! taken from tokens apply: URL scheme and host, SPIFFE trust domains, and
//! characters that must never reach a certificate. (Their own module so that
//! `config` and `identity` do not import each other.)

/// Control characters (C0, DEL, C1), line/paragraph separators and
/// bidirectional embedding/override/isolate characters.
pub(crate) fn has_forbidden_char(s: &str) -> bool {
    s.chars().any(|c| {
        c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

/// `(scheme, host)` of an absolute `scheme://authority/...` URL; `None` if it
/// has no authority or carries userinfo.
pub(crate) fn scheme_and_host(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.contains('@') {
        return None;
    }
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        &bracketed[..bracketed.find(']')?]
    } else {
        match authority.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => authority,
        }
    };
    (!scheme.is_empty() && !host.is_empty()).then_some((scheme, host))
}

pub(crate) fn is_spiffe_trust_domain(td: &str) -> bool {
    !td.is_empty() && td.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
}

pub(crate) fn valid_spiffe_trust_domain(td: &str) -> bool {
    is_spiffe_trust_domain(td)
}
