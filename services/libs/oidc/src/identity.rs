//! Certificate identity per issuer type: the proof-of-possession principal,
//! the SubjectAlternativeName and the Sigstore extensions
//! (upstream `pkg/identity/*/principal.go`, `pkg/certificate/extensions.go`).
//!
//! Every claim value that reaches a SAN or an extension is checked here:
//! control characters (C0, DEL, C1, U+2028/2029) and bidirectional-override
//! characters are refused, e-mail addresses must be one plain addr-spec, and
//! URI SANs must be printable ASCII with a scheme. A token that fails any of
//! this is refused with [`TokenError::InvalidClaim`], never "sanitised".

use crate::ci::{self, CiProvider};
use crate::claims::Claims;
use crate::config::{Issuer, IssuerKind};
use crate::names::{has_forbidden_char, is_spiffe_trust_domain, scheme_and_host};
use crate::oid;
pub use crate::profile::{CertExtension, ExtensionEncoding, SubjectAltName};
use crate::template::Lookup;
use crate::TokenError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Compiled once: the hard-coded mappings of the deprecated issuer types.
static LEGACY_GITHUB: LazyLock<CiProvider> = LazyLock::new(ci::legacy_github);
static LEGACY_GITLAB: LazyLock<CiProvider> = LazyLock::new(ci::legacy_gitlab);

/// What a verified token entitles its bearer to have certified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    issuer: String,
    subject: String,
    principal_name: String,
    san: SubjectAltName,
    extensions: Vec<CertExtension>,
}

impl Identity {
    /// The string upstream Fulcio checks the proof of possession against:
    /// the `email` claim for email issuers, `sub` for every other type.
    /// (See also [`check_proof_of_possession_subjects`].)
    pub fn principal_name(&self) -> &str {
        &self.principal_name
    }

    /// The certificate's SubjectAlternativeName.
    pub fn san(&self) -> &SubjectAltName {
        &self.san
    }

    /// The Sigstore extensions, in OID order (1.1, 1.2–1.6, 1.8, 1.9–1.24),
    /// which is the order upstream emits them in.
    pub fn extensions(&self) -> &[CertExtension] {
        &self.extensions
    }

    /// The value of the issuer extensions 1.1 and 1.8: the token's `iss`, or
    /// for an email issuer with `issuer_claim`, that claim's value.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The token's `sub` (also extension 1.24).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The value of extension `oid`, if present.
    pub fn extension(&self, oid: &str) -> Option<&str> {
        self.extensions.iter().find(|e| e.oid == oid).map(|e| e.value.as_str())
    }
}

/// The strings a client may have signed as proof of possession: the `email`
/// claim if present, and `sub`, de-duplicated. Clients (sigstore-go,
/// sigstore-js, cosign) sign `email` whenever the token has one, even for CI
/// issuers whose principal upstream is `sub`; the proof only shows key
/// possession, so accepting either is safe and avoids that mismatch.
pub fn check_proof_of_possession_subjects(claims: &Claims) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(2);
    for name in ["email", "sub"] {
        if let Some(Value::String(s)) = claims.get(name) {
            if !s.is_empty() && !out.contains(s) {
                out.push(s.clone());
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Claim validation
// ---------------------------------------------------------------------------

fn invalid(claim: &str, reason: impl Into<String>) -> TokenError {
    TokenError::InvalidClaim { claim: claim.to_owned(), reason: reason.into() }
}

/// Text that goes into a certificate: non-empty, no control characters.
pub(crate) fn check_text(claim: &str, value: &str) -> Result<(), TokenError> {
    if value.is_empty() {
        return Err(invalid(claim, "empty"));
    }
    if has_forbidden_char(value) {
        return Err(invalid(claim, "contains a control or bidi-override character"));
    }
    Ok(())
}

const ATEXT_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";

/// One plain RFC 5322 addr-spec in dot-atom form: `local@domain`, exactly one
/// `@`, ASCII only (rfc822Name is an IA5String), no spaces, commas, quotes,
/// angle brackets or comments, and a dotted host name for the domain.
pub(crate) fn is_plausible_email(s: &str) -> bool {
    if !s.is_ascii() || s.len() > 254 {
        return false;
    }
    let mut parts = s.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.split('.').all(|atom| {
            !atom.is_empty() && atom.chars().all(|c| c.is_ascii_alphanumeric() || ATEXT_SPECIALS.contains(c))
        });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

pub(crate) fn check_email(claim: &str, value: &str) -> Result<(), TokenError> {
    check_text(claim, value)?;
    if !is_plausible_email(value) {
        return Err(invalid(claim, "not a single plain e-mail address"));
    }
    Ok(())
}

const URI_FORBIDDEN: &str = " \"<>\\^`{|}";

/// A URI SAN: printable ASCII (it is an IA5String), none of the characters
/// RFC 3986 never allows unescaped, and a `scheme:` prefix.
pub(crate) fn check_uri(claim: &str, value: &str) -> Result<(), TokenError> {
    check_text(claim, value)?;
    if !value.chars().all(|c| c.is_ascii_graphic() && !URI_FORBIDDEN.contains(c)) {
        return Err(invalid(claim, "URI must be printable ASCII without spaces or <>\"\\^`{|}"));
    }
    if uri_scheme(value).is_none() {
        return Err(invalid(claim, "URI has no scheme"));
    }
    Ok(())
}

fn uri_scheme(value: &str) -> Option<&str> {
    let (scheme, _) = value.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .then_some(scheme)
}

/// A SPIFFE ID (`spiffe://<trust domain>[/<segment>…]`) whose trust domain is `td`.
fn check_spiffe_id(claim: &str, id: &str, td: &str) -> Result<(), TokenError> {
    let rest = id.strip_prefix("spiffe://").ok_or_else(|| invalid(claim, "not a spiffe:// ID"))?;
    let (domain, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if !is_spiffe_trust_domain(domain) {
        return Err(invalid(claim, "invalid SPIFFE trust domain"));
    }
    if domain != td {
        return Err(invalid(claim, format!("SPIFFE trust domain {domain:?} is not {td:?}")));
    }
    if !path.is_empty() {
        for seg in path[1..].split('/') {
            let ok = !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !ok {
                return Err(invalid(claim, "invalid SPIFFE ID path"));
            }
        }
    }
    Ok(())
}

/// A name that is placed into a URI path: Kubernetes names and CI slugs.
fn check_path_name(claim: &str, value: &str) -> Result<(), TokenError> {
    check_text(claim, value)?;
    let ok = value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && value != "."
        && value != "..";
    if !ok {
        return Err(invalid(claim, "must contain only letters, digits, '.', '-' and '_'"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Derivation
// ---------------------------------------------------------------------------

fn required_str<'a>(claims: &'a Claims, name: &str) -> Result<&'a str, TokenError> {
    match claims.get(name) {
        None | Some(Value::Null) => Err(TokenError::MissingClaim(name.to_owned())),
        Some(Value::String(s)) if s.is_empty() => Err(TokenError::MissingClaim(name.to_owned())),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(name, "not a string")),
    }
}

/// Stringifies a claim for templates as upstream does (`fmt.Sprintf("%v")`,
/// integral numbers without decimals); objects, arrays and null are refused.
fn claim_to_string(name: &str, value: &Value) -> Result<String, TokenError> {
    let s = match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.to_string()
            } else if let Some(i) = n.as_i64() {
                i.to_string()
            } else {
                // Rust's f64 Display is Go's FormatFloat(v, 'f', -1, 64):
                // shortest round-trip digits, never an exponent, no ".0".
                format!("{}", n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::Null | Value::Array(_) | Value::Object(_) => {
            return Err(invalid(name, "must be a string, number or boolean to be used in a template"));
        }
    };
    if has_forbidden_char(&s) {
        return Err(invalid(name, "contains a control or bidi-override character"));
    }
    Ok(s)
}

struct TemplateData<'a> {
    claims: &'a Claims,
    defaults: &'a BTreeMap<String, String>,
}

impl Lookup for TemplateData<'_> {
    fn lookup(&self, name: &str) -> Result<Option<String>, TokenError> {
        match self.claims.get(name) {
            Some(v) => claim_to_string(name, v).map(Some),
            None => Ok(self.defaults.get(name).cloned()),
        }
    }
}

struct Builder {
    issuer: String,
    subject: String,
    extensions: Vec<CertExtension>,
}

impl Builder {
    fn new(issuer: String, subject: String) -> Result<Self, TokenError> {
        check_text("iss", &issuer)?;
        check_text("sub", &subject)?;
        Ok(Builder { issuer, subject, extensions: Vec::new() })
    }

    fn push(&mut self, oid: &'static str, value: String, encoding: ExtensionEncoding) {
        if !value.is_empty() {
            self.extensions.push(CertExtension { oid, value, encoding });
        }
    }

    fn finish(mut self, principal_name: String, san: SubjectAltName) -> Identity {
        self.push(oid::ISSUER, self.issuer.clone(), ExtensionEncoding::Raw);
        self.push(oid::ISSUER_V2, self.issuer.clone(), ExtensionEncoding::Utf8String);
        self.push(oid::TOKEN_SUBJECT, self.subject.clone(), ExtensionEncoding::Utf8String);
        self.extensions.sort_by_key(|e| oid::arc(e.oid));
        Identity { issuer: self.issuer, subject: self.subject, principal_name, san, extensions: self.extensions }
    }
}

fn apply_ci(claims: &Claims, provider: &CiProvider, b: &mut Builder) -> Result<SubjectAltName, TokenError> {
    let data = TemplateData { claims, defaults: &provider.defaults };
    let san = provider.san.render(&data)?;
    check_uri("subject_alternative_name", &san)?;
    for rule in &provider.extensions {
        let value = rule.template.render(&data)?;
        if value.is_empty() {
            continue;
        }
        check_text(rule.name, &value)?;
        b.push(rule.oid, value, rule.encoding);
    }
    Ok(SubjectAltName::Uri(san))
}

/// Evaluates `$.a.b.c` (validated at configuration time) against the claims.
fn claim_path<'a>(claims: &'a Claims, path: &str) -> Option<&'a Value> {
    let mut names = path.strip_prefix("$.")?.split('.');
    let mut cur = claims.get(names.next()?)?;
    for name in names {
        cur = cur.as_object()?.get(name)?;
    }
    Some(cur)
}

/// Derives the certificate identity for `claims` under `issuer`'s type.
///
/// [`crate::verify_token`] calls this after checking signature, issuer,
/// audience and times; call it directly only on claims verified some other
/// way (tests, replays of recorded claim sets). `iss` must be the issuer's
/// concrete URL (this function does not re-check it against `issuer`).
pub fn derive_identity(claims: &Claims, issuer: &Issuer) -> Result<Identity, TokenError> {
    let iss = required_str(claims, "iss")?.to_owned();
    let sub = required_str(claims, "sub")?.to_owned();
    match issuer.kind() {
        IssuerKind::Email { issuer_claim, insecure_skip_email_verification } => {
            let email = required_str(claims, "email")?.to_owned();
            let verified = matches!(claims.get("email_verified"), Some(Value::Bool(true)))
                || matches!(claims.get("email_verified"), Some(Value::String(s)) if s == "true");
            if !verified && !insecure_skip_email_verification {
                return Err(TokenError::EmailUnverified);
            }
            check_email("email", &email)?;
            let cert_issuer = match issuer_claim {
                None => iss,
                Some(path) => match claim_path(claims, path) {
                    Some(Value::String(s)) => s.clone(),
                    Some(_) => return Err(invalid(path, "issuer claim is not a string")),
                    None => return Err(TokenError::MissingClaim(path.clone())),
                },
            };
            let b = Builder::new(cert_issuer, sub)?;
            Ok(b.finish(email.clone(), SubjectAltName::Email(email)))
        }
        IssuerKind::CiProvider { provider, .. } => {
            let mut b = Builder::new(iss, sub.clone())?;
            let san = apply_ci(claims, provider, &mut b)?;
            Ok(b.finish(sub, san))
        }
        IssuerKind::GithubWorkflow => {
            for name in ci::LEGACY_GITHUB_REQUIRED {
                required_str(claims, name)?;
            }
            let mut b = Builder::new(iss, sub.clone())?;
            let san = apply_ci(claims, &LEGACY_GITHUB, &mut b)?;
            Ok(b.finish(sub, san))
        }
        IssuerKind::GitlabPipeline => {
            for name in ci::LEGACY_GITLAB_REQUIRED {
                required_str(claims, name)?;
            }
            match claims.get("runner_id") {
                Some(Value::Number(n)) if n.as_i64().is_some_and(|v| v != 0) => {}
                Some(_) => return Err(invalid("runner_id", "not a non-zero integer")),
                None => return Err(TokenError::MissingClaim("runner_id".into())),
            }
            let ref_type = required_str(claims, "ref_type")?;
            if ref_type != "branch" && ref_type != "tag" {
                return Err(invalid("ref_type", "must be \"branch\" or \"tag\""));
            }
            let mut b = Builder::new(iss, sub.clone())?;
            let san = apply_ci(claims, &LEGACY_GITLAB, &mut b)?;
            Ok(b.finish(sub, san))
        }
        IssuerKind::BuildkiteJob => {
            let org = required_str(claims, "organization_slug")?;
            let pipeline = required_str(claims, "pipeline_slug")?;
            check_path_name("organization_slug", org)?;
            check_path_name("pipeline_slug", pipeline)?;
            let san = format!("https://buildkite.com/{org}/{pipeline}");
            check_uri("subject_alternative_name", &san)?;
            let b = Builder::new(iss, sub.clone())?;
            Ok(b.finish(sub, SubjectAltName::Uri(san)))
        }
        IssuerKind::Kubernetes => {
            let k8s = claims.get("kubernetes.io").ok_or_else(|| TokenError::MissingClaim("kubernetes.io".into()))?;
            let get = |path: &[&str]| -> Result<String, TokenError> {
                let name = format!("kubernetes.io.{}", path.join("."));
                let mut cur = k8s;
                for p in path {
                    cur = cur.get(p).ok_or_else(|| TokenError::MissingClaim(name.clone()))?;
                }
                match cur {
                    Value::String(s) if !s.is_empty() => {
                        check_path_name(&name, s)?;
                        Ok(s.clone())
                    }
                    Value::String(_) => Err(TokenError::MissingClaim(name)),
                    _ => Err(invalid(&name, "not a string")),
                }
            };
            let ns = get(&["namespace"])?;
            let sa = get(&["serviceaccount", "name"])?;
            let san = format!("https://kubernetes.io/namespaces/{ns}/serviceaccounts/{sa}");
            check_uri("subject_alternative_name", &san)?;
            let b = Builder::new(iss, sub.clone())?;
            Ok(b.finish(sub, SubjectAltName::Uri(san)))
        }
        IssuerKind::Spiffe { trust_domain } => {
            check_text("sub", &sub)?;
            check_spiffe_id("sub", &sub, trust_domain)?;
            check_uri("sub", &sub)?;
            let b = Builder::new(iss, sub.clone())?;
            Ok(b.finish(sub.clone(), SubjectAltName::Uri(sub)))
        }
        IssuerKind::Uri { subject_domain } => {
            check_uri("sub", &sub)?;
            if is_plausible_email(&sub) {
                return Err(invalid("sub", "a uri subject must not be an e-mail address"));
            }
            let (s_scheme, s_host) =
                scheme_and_host(&sub).ok_or_else(|| invalid("sub", "not an absolute URL without userinfo"))?;
            let (d_scheme, d_host) =
                scheme_and_host(subject_domain).ok_or_else(|| invalid("sub", "issuer subject_domain is not a URL"))?;
            if s_scheme != d_scheme || s_host != d_host {
                return Err(invalid("sub", format!("scheme and host must be those of {subject_domain}")));
            }
            let b = Builder::new(iss, sub.clone())?;
            Ok(b.finish(sub.clone(), SubjectAltName::Uri(sub)))
        }
        IssuerKind::Username { subject_domain } => {
            check_text("sub", &sub)?;
            if sub.contains('!') {
                return Err(invalid("sub", "a username must not contain '!'"));
            }
            if sub.contains('@') {
                return Err(invalid("sub", "a username must not be an e-mail address"));
            }
            let value = format!("{sub}!{subject_domain}");
            let b = Builder::new(iss, sub.clone())?;
            Ok(b.finish(sub, SubjectAltName::OtherNameUsername(value)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_plausibility() {
        for ok in ["a@b.co", "first.last+tag@sub.example.com", "x_y-z@example-1.org", "o'brien@example.ie"] {
            assert!(is_plausible_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.co",
            "a@",
            "a@@b.co",
            "a@b@c.co",
            "a b@c.co",
            "a,b@c.co",
            "a@b.co,c@d.co",
            "\"a\"@b.co",
            "<a@b.co>",
            "a@b.co (x)",
            "a..b@c.co",
            ".a@b.co",
            "a@-b.co",
            "a@b..co",
            "a@b.co.",
            "é@b.co",
            "a@b.co\n",
            "a\0@b.co",
        ] {
            assert!(!is_plausible_email(bad), "{bad:?}");
        }
    }

    #[test]
    fn forbidden_characters() {
        for bad in ["a\nb", "a\rb", "a\0b", "a\u{7f}", "a\u{85}", "a\u{2028}", "a\u{202e}b", "a\u{2066}"] {
            assert!(has_forbidden_char(bad), "{bad:?}");
        }
        assert!(!has_forbidden_char("Extremely dangerous OIDC beacon — ünïcode ok"));
    }

    #[test]
    fn uri_checks() {
        assert!(check_uri("x", "https://github.com/o/r/.github/workflows/w.yml@refs/heads/main").is_ok());
        assert!(check_uri("x", "spiffe://example.org/ns/a").is_ok());
        for bad in ["", "no-scheme/path", "https://a b", "https://a\u{e9}", "https://a/<x>", "1http://a", ":x"] {
            assert!(check_uri("x", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scheme_host_split() {
        assert_eq!(scheme_and_host("https://a.example.com:8443/x?y"), Some(("https", "a.example.com")));
        assert_eq!(scheme_and_host("http://[::1]:80/"), Some(("http", "::1")));
        assert_eq!(scheme_and_host("https://evil.com@good.com/"), None);
        assert_eq!(scheme_and_host("mailto:a@b.co"), None);
    }

    #[test]
    fn spiffe_ids() {
        assert!(check_spiffe_id("sub", "spiffe://example.org/ns/default/sa/x", "example.org").is_ok());
        assert!(check_spiffe_id("sub", "spiffe://example.org", "example.org").is_ok());
        for bad in [
            "spiffe://evil.org/x",
            "spiffe://example.org.evil.org/x",
            "spiffe://Example.org/x",
            "spiffe://example.org/",
            "spiffe://example.org//x",
            "spiffe://example.org/../x",
            "spiffe://example.org/a b",
            "https://example.org/x",
        ] {
            assert!(check_spiffe_id("sub", bad, "example.org").is_err(), "{bad}");
        }
    }

    #[test]
    fn der_utf8string_lengths() {
        let ext =
            |v: &str| CertExtension { oid: oid::ISSUER_V2, value: v.into(), encoding: ExtensionEncoding::Utf8String };
        let iss = "https://token.actions.githubusercontent.com";
        let mut want = vec![0x0c, 0x2b];
        want.extend_from_slice(iss.as_bytes());
        assert_eq!(ext(iss).der_value(), want);
        assert_eq!(&ext(&"a".repeat(127)).der_value()[..2], &[0x0c, 0x7f]);
        assert_eq!(&ext(&"a".repeat(128)).der_value()[..3], &[0x0c, 0x81, 0x80]);
        assert_eq!(&ext(&"a".repeat(300)).der_value()[..4], &[0x0c, 0x82, 0x01, 0x2c]);
        let raw = CertExtension { oid: oid::ISSUER, value: iss.into(), encoding: ExtensionEncoding::Raw };
        assert_eq!(raw.der_value(), iss.as_bytes());
    }
}
