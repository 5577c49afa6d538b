//! Issuer configuration (upstream `pkg/config/config.go`), deserialised from
//! TOML and validated into an [`IssuerSet`].
//!
//! ```toml
//! [[issuers]]
//! issuer_url = "https://token.actions.githubusercontent.com"
//! type = "ci-provider"
//! ci_provider = "github-workflow"
//!
//! [[issuers]]
//! wildcard_issuer_url = "https://oidc.eks.*.amazonaws.com/id/*"
//! type = "kubernetes"
//! ```

use crate::ci::{builtin_ci_provider, CiProvider, CiProviderConfig};
use crate::names::{has_forbidden_char, scheme_and_host, valid_spiffe_trust_domain};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

/// The OIDC section of the CA configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Trusted issuers, fixed (`issuer_url`) or wildcard (`wildcard_issuer_url`).
    /// A token's `iss` is matched against every fixed issuer first, then
    /// against the wildcard issuers in the order listed here.
    #[serde(default)]
    pub issuers: Vec<IssuerConfig>,
    /// CI-provider claim templates by name, referenced by `ci_provider`.
    /// Upstream's six providers are built in ([`crate::BUILTIN_CI_PROVIDERS`]);
    /// an entry here with the same name replaces the built-in one.
    #[serde(default)]
    pub ci_providers: BTreeMap<String, CiProviderConfig>,
}

fn default_client_id() -> String {
    "sigstore".into()
}

/// One trusted issuer (`[[issuers]]`). Exactly one of `issuer_url` and
/// `wildcard_issuer_url` must be set. Fields that only apply to some types
/// (`ci_provider`, `spiffe_trust_domain`, `subject_domain`, `issuer_claim`,
/// `insecure_skip_email_verification`) are refused for the other types.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The issuer's exact URL; a token's `iss` must equal it byte for byte.
    /// `https://` unless `insecure_allow_http` is set. Its JWKS is found via
    /// `<issuer_url>/.well-known/openid-configuration` (by the caller).
    #[serde(default)]
    pub issuer_url: Option<String>,
    /// A URL pattern ("meta-issuer"): each `*` matches one or more of
    /// `[-_a-zA-Z0-9]`, so never a `.`, `/` or `:`; the whole `iss` must match.
    /// The last two host labels must be literal (`https://*.example.com/…`
    /// is allowed, `https://example.*/…` is not). Each concrete `iss` is its
    /// own issuer with its own discovery document and JWKS. Not allowed for
    /// `spiffe`.
    #[serde(default)]
    pub wildcard_issuer_url: Option<String>,
    /// The audience the token's `aud` must contain. Default `"sigstore"`,
    /// which every Sigstore client requests.
    #[serde(default = "default_client_id")]
    pub client_id: String,
    /// The identity type: how the SAN and extensions are derived.
    #[serde(rename = "type")]
    pub issuer_type: IssuerType,
    /// `ci-provider` only, required: the name of a `[ci_providers.NAME]`
    /// table or of a built-in provider (e.g. `"github-workflow"`).
    #[serde(default)]
    pub ci_provider: Option<String>,
    /// `spiffe` only, required: the trust domain every `sub` (a SPIFFE ID)
    /// must belong to, e.g. `"example.org"`.
    #[serde(default)]
    pub spiffe_trust_domain: Option<String>,
    /// `uri` (required): a URL with scheme, e.g. `"https://example.com"`; the
    /// token's `sub` must have the same scheme and host.
    /// `username` (required): a bare host name, e.g. `"example.com"`; the
    /// SAN becomes `<sub>!<subject_domain>`.
    /// For both, the host must equal the issuer's host or share its last two
    /// labels (`users.example.com` for issuer `https://accounts.example.com`).
    #[serde(default)]
    pub subject_domain: Option<String>,
    /// `email` only, optional: a claim path `$.a.b` whose string value is put
    /// in the issuer extensions instead of `iss` (for federating IdPs such as
    /// Dex: `"$.federated_claims.connector_id"`).
    #[serde(default)]
    pub issuer_claim: Option<String>,
    /// `email` only: issue certificates even when `email_verified` is not
    /// true. Only for IdPs that verify addresses themselves but omit the
    /// claim (upstream's `SkipEmailVerification`).
    #[serde(default)]
    pub insecure_skip_email_verification: bool,
    /// Allow an `http://` issuer URL (tokens and JWKS then travel in clear
    /// text). For local test IdPs only.
    #[serde(default)]
    pub insecure_allow_http: bool,
    /// Free text for operators (shown nowhere by this crate).
    #[serde(default)]
    pub description: Option<String>,
    /// Who runs the IdP (informational).
    #[serde(default)]
    pub contact: Option<String>,
}

/// Issuer types, spelled as upstream Fulcio spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssuerType {
    /// E-mail identities: SAN rfc822Name = `email`; requires `email_verified`.
    Email,
    /// Deprecated GitHub Actions type: SAN `https://github.com/<job_workflow_ref>`.
    GithubWorkflow,
    /// Deprecated GitLab CI type: SAN `https://<ci_config_ref_uri>`.
    GitlabPipeline,
    /// Deprecated Buildkite type: SAN `https://buildkite.com/<org>/<pipeline>`.
    BuildkiteJob,
    /// Kubernetes service-account tokens: SAN
    /// `https://kubernetes.io/namespaces/<ns>/serviceaccounts/<sa>`.
    Kubernetes,
    /// SPIFFE JWT-SVIDs: SAN = `sub` (a SPIFFE ID in `spiffe_trust_domain`).
    Spiffe,
    /// SAN = `sub`, a URL on `subject_domain`'s scheme and host.
    Uri,
    /// SAN otherName `<sub>!<subject_domain>`.
    Username,
    /// Claims mapped by a named CI-provider template set.
    CiProvider,
}

impl IssuerType {
    /// Upstream's spelling (`"ci-provider"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::GithubWorkflow => "github-workflow",
            Self::GitlabPipeline => "gitlab-pipeline",
            Self::BuildkiteJob => "buildkite-job",
            Self::Kubernetes => "kubernetes",
            Self::Spiffe => "spiffe",
            Self::Uri => "uri",
            Self::Username => "username",
            Self::CiProvider => "ci-provider",
        }
    }
}

impl fmt::Display for IssuerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Configuration errors, each naming the issuer (URL or pattern) concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// An `http://` issuer without `insecure_allow_http = true`.
    #[error("issuer {0}: http:// issuer URLs need insecure_allow_http = true")]
    InsecureHttp(String),
    /// The same `issuer_url` or `wildcard_issuer_url` twice.
    #[error("issuer {0} is configured twice")]
    DuplicateIssuer(String),
    /// `ci_provider` names neither a configured nor a built-in provider.
    #[error("issuer {issuer}: unknown ci_provider {name:?}")]
    UnknownCiProvider {
        /// The issuer URL or pattern.
        issuer: String,
        /// The provider name it refers to.
        name: String,
    },
    /// A `[ci_providers.NAME]` template does not compile.
    #[error("ci_providers.{provider}: {reason}")]
    BadTemplate {
        /// The provider name.
        provider: String,
        /// Which template and why.
        reason: String,
    },
    /// A wildcard pattern that could match too much or is malformed.
    #[error("issuer {pattern}: bad wildcard_issuer_url: {reason}")]
    BadWildcard {
        /// The pattern.
        pattern: String,
        /// Why it is refused.
        reason: String,
    },
    /// Any other invalid issuer entry.
    #[error("issuer {issuer}: {reason}")]
    Invalid {
        /// The issuer URL or pattern (or `"<unnamed>"`).
        issuer: String,
        /// What is wrong.
        reason: String,
    },
}

/// An issuer type with its validated parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerKind {
    /// `email`.
    Email {
        /// `$.a.b` path of the claim used as the certificate issuer, if any.
        issuer_claim: Option<String>,
        /// Accept tokens whose `email_verified` is not true.
        insecure_skip_email_verification: bool,
    },
    /// `github-workflow` (deprecated type).
    GithubWorkflow,
    /// `gitlab-pipeline` (deprecated type).
    GitlabPipeline,
    /// `buildkite-job` (deprecated type).
    BuildkiteJob,
    /// `kubernetes`.
    Kubernetes,
    /// `spiffe`.
    Spiffe {
        /// Required trust domain of `sub`.
        trust_domain: String,
    },
    /// `uri`.
    Uri {
        /// Scheme and host `sub` must have.
        subject_domain: String,
    },
    /// `username`.
    Username {
        /// Appended to `sub` after `!` in the otherName SAN.
        subject_domain: String,
    },
    /// `ci-provider`.
    CiProvider {
        /// The compiled provider templates.
        provider: Arc<CiProvider>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    Exact(String),
    Wildcard(WildcardPattern),
}

/// A compiled `wildcard_issuer_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WildcardPattern {
    source: String,
    tokens: Vec<PatTok>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatTok {
    Lit(u8),
    Star,
}

fn is_star_class(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

impl WildcardPattern {
    fn new(source: &str) -> Self {
        let tokens = source.bytes().map(|b| if b == b'*' { PatTok::Star } else { PatTok::Lit(b) }).collect();
        WildcardPattern { source: source.to_owned(), tokens }
    }

    /// The pattern as configured.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `iss` matches the whole pattern, each `*` standing for
    /// `[-_a-zA-Z0-9]+` (upstream's `MetaRegex`, anchored). Runs in
    /// O(len(iss) × len(pattern)) with no backtracking.
    pub fn matches(&self, iss: &str) -> bool {
        let m = self.tokens.len();
        // reach[i]: the input consumed so far is matched by tokens[..i]
        // (and if tokens[i-1] is a star, that star may consume more).
        let mut reach = vec![false; m + 1];
        reach[0] = true;
        let mut next = vec![false; m + 1];
        for c in iss.bytes() {
            next.iter_mut().for_each(|r| *r = false);
            let mut any = false;
            for i in 0..=m {
                if !reach[i] {
                    continue;
                }
                if i < m {
                    let step = match self.tokens[i] {
                        PatTok::Lit(b) => b == c,
                        PatTok::Star => is_star_class(c),
                    };
                    if step {
                        next[i + 1] = true;
                        any = true;
                    }
                }
                if i > 0 && self.tokens[i - 1] == PatTok::Star && is_star_class(c) {
                    next[i] = true;
                    any = true;
                }
            }
            if !any {
                return false;
            }
            std::mem::swap(&mut reach, &mut next);
        }
        reach[m]
    }
}

/// A validated, trusted issuer (fixed or wildcard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    matcher: Matcher,
    client_id: String,
    issuer_type: IssuerType,
    kind: IssuerKind,
    insecure_allow_http: bool,
    description: Option<String>,
    contact: Option<String>,
}

impl Issuer {
    /// The configured `issuer_url`, or the `wildcard_issuer_url` pattern.
    pub fn url(&self) -> &str {
        match &self.matcher {
            Matcher::Exact(u) => u,
            Matcher::Wildcard(p) => p.as_str(),
        }
    }

    /// Whether this is a wildcard ("meta") issuer.
    pub fn is_wildcard(&self) -> bool {
        matches!(self.matcher, Matcher::Wildcard(_))
    }

    /// Whether a token's `iss` belongs to this issuer: equality for a fixed
    /// issuer, a full pattern match for a wildcard issuer.
    pub fn matches(&self, iss: &str) -> bool {
        match &self.matcher {
            Matcher::Exact(u) => u == iss,
            Matcher::Wildcard(p) => p.matches(iss),
        }
    }

    /// The required audience.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The issuer type.
    pub fn issuer_type(&self) -> IssuerType {
        self.issuer_type
    }

    /// The type with its parameters.
    pub fn kind(&self) -> &IssuerKind {
        &self.kind
    }

    /// The claim upstream's PoP is checked against (`/api/v2/configuration`'s
    /// `challengeClaim`): `"email"` for email issuers, else `"sub"`.
    pub fn challenge_claim(&self) -> &'static str {
        if self.issuer_type == IssuerType::Email {
            "email"
        } else {
            "sub"
        }
    }

    /// `spiffe_trust_domain`, for spiffe issuers.
    pub fn spiffe_trust_domain(&self) -> Option<&str> {
        match &self.kind {
            IssuerKind::Spiffe { trust_domain } => Some(trust_domain),
            _ => None,
        }
    }

    /// `subject_domain`, for uri and username issuers.
    pub fn subject_domain(&self) -> Option<&str> {
        match &self.kind {
            IssuerKind::Uri { subject_domain } | IssuerKind::Username { subject_domain } => Some(subject_domain),
            _ => None,
        }
    }

    /// Whether the issuer was allowed to be `http://`.
    pub fn insecure_allow_http(&self) -> bool {
        self.insecure_allow_http
    }

    /// Operator description.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Operator contact.
    pub fn contact(&self) -> Option<&str> {
        self.contact.as_deref()
    }
}

/// All trusted issuers, ready for lookups.
#[derive(Debug, Clone, Default)]
pub struct IssuerSet {
    issuers: Vec<Issuer>,
    exact: HashMap<String, usize>,
    wildcards: Vec<usize>,
}

fn invalid(issuer: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { issuer: issuer.to_owned(), reason: reason.into() }
}

/// Host-domain rule of upstream `validateAllowedDomain`: equal, or both with
/// at least two labels and the same last two labels.
fn same_registered_domain(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let la: Vec<&str> = a.split('.').collect();
    let lb: Vec<&str> = b.split('.').collect();
    la.len() >= 2 && lb.len() >= 2 && la[la.len() - 2..] == lb[lb.len() - 2..]
}

fn is_hostname(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

fn is_claim_path(s: &str) -> bool {
    s.strip_prefix("$.").is_some_and(|p| {
        p.split('.').all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    })
}

/// Checks an issuer URL or pattern; returns `(scheme, host)`.
fn check_issuer_url<'a>(name: &str, url: &'a str, allow_http: bool) -> Result<(&'a str, &'a str), ConfigError> {
    if !url.is_ascii() || url.chars().any(|c| c.is_ascii_whitespace() || c.is_ascii_control()) {
        return Err(invalid(name, "issuer URL must be ASCII without spaces or control characters"));
    }
    if url.contains(['?', '#']) {
        return Err(invalid(name, "issuer URL must not have a query or fragment"));
    }
    if url.starts_with("http://") {
        if !allow_http {
            return Err(ConfigError::InsecureHttp(name.to_owned()));
        }
    } else if !url.starts_with("https://") {
        return Err(invalid(name, "issuer URL must start with https://"));
    }
    scheme_and_host(url).ok_or_else(|| invalid(name, "issuer URL has no host, or has userinfo"))
}

fn check_wildcard(pattern: &str, host: &str) -> Result<(), ConfigError> {
    let bad = |reason: &str| ConfigError::BadWildcard { pattern: pattern.to_owned(), reason: reason.to_owned() };
    if !pattern.contains('*') {
        return Err(bad("no '*' (use issuer_url for a fixed issuer)"));
    }
    if pattern.contains("**") {
        return Err(bad("'**' is not allowed"));
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || labels[labels.len() - 2..].iter().any(|l| l.contains('*') || l.is_empty()) {
        return Err(bad("the last two host labels must be literal"));
    }
    if host.contains(':') {
        return Err(bad("'*' is not allowed in the port"));
    }
    Ok(())
}

impl IssuerSet {
    /// Validates `config` and compiles its templates. Every problem is a
    /// [`ConfigError`]; nothing is checked lazily at token time.
    pub fn from_config(config: &OidcConfig) -> Result<Self, ConfigError> {
        let mut providers: BTreeMap<String, Arc<CiProvider>> = BTreeMap::new();
        for (name, cfg) in &config.ci_providers {
            let compiled = CiProvider::compile(name, cfg)
                .map_err(|reason| ConfigError::BadTemplate { provider: name.clone(), reason })?;
            providers.insert(name.clone(), Arc::new(compiled));
        }
        let mut set = IssuerSet::default();
        for ic in &config.issuers {
            let issuer = build_issuer(ic, &mut providers)?;
            let idx = set.issuers.len();
            match &issuer.matcher {
                Matcher::Exact(u) => {
                    if set.exact.insert(u.clone(), idx).is_some() {
                        return Err(ConfigError::DuplicateIssuer(u.clone()));
                    }
                }
                Matcher::Wildcard(p) => {
                    if set.wildcards.iter().any(|&i| set.issuers[i].url() == p.as_str()) {
                        return Err(ConfigError::DuplicateIssuer(p.as_str().to_owned()));
                    }
                    set.wildcards.push(idx);
                }
            }
            set.issuers.push(issuer);
        }
        Ok(set)
    }

    /// The issuer for a token's (unverified) `iss`: an exact `issuer_url`
    /// match first, then the first matching `wildcard_issuer_url` in
    /// configuration order. `None`: the issuer is not trusted.
    pub fn lookup(&self, iss: &str) -> Option<&Issuer> {
        if let Some(&i) = self.exact.get(iss) {
            return Some(&self.issuers[i]);
        }
        self.wildcards.iter().map(|&i| &self.issuers[i]).find(|is| is.matches(iss))
    }

    /// Every issuer, in configuration order (for `/api/v2/configuration`).
    pub fn issuers(&self) -> &[Issuer] {
        &self.issuers
    }

    /// Number of configured issuers.
    pub fn len(&self) -> usize {
        self.issuers.len()
    }

    /// Whether no issuer is configured.
    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }
}

fn build_issuer(ic: &IssuerConfig, providers: &mut BTreeMap<String, Arc<CiProvider>>) -> Result<Issuer, ConfigError> {
    let (url, wildcard) = match (&ic.issuer_url, &ic.wildcard_issuer_url) {
        (Some(u), None) => (u.as_str(), false),
        (None, Some(p)) => (p.as_str(), true),
        (Some(u), Some(_)) => return Err(invalid(u, "set issuer_url or wildcard_issuer_url, not both")),
        (None, None) => return Err(invalid("<unnamed>", "issuer_url or wildcard_issuer_url is required")),
    };
    let (scheme, host) = check_issuer_url(url, url, ic.insecure_allow_http)?;
    let matcher = if wildcard {
        check_wildcard(url, host)?;
        Matcher::Wildcard(WildcardPattern::new(url))
    } else {
        if url.contains('*') {
            return Err(invalid(url, "'*' in issuer_url (did you mean wildcard_issuer_url?)"));
        }
        Matcher::Exact(url.to_owned())
    };
    if ic.client_id.is_empty() || has_forbidden_char(&ic.client_id) {
        return Err(invalid(url, "client_id must be non-empty text"));
    }

    let t = ic.issuer_type;
    let only_for = |present: bool, field: &str, allowed: &[IssuerType]| -> Result<(), ConfigError> {
        if present && !allowed.contains(&t) {
            return Err(invalid(url, format!("{field} is not allowed for type {t}")));
        }
        Ok(())
    };
    only_for(ic.ci_provider.is_some(), "ci_provider", &[IssuerType::CiProvider])?;
    only_for(ic.spiffe_trust_domain.is_some(), "spiffe_trust_domain", &[IssuerType::Spiffe])?;
    only_for(ic.subject_domain.is_some(), "subject_domain", &[IssuerType::Uri, IssuerType::Username])?;
    only_for(ic.issuer_claim.is_some(), "issuer_claim", &[IssuerType::Email])?;
    only_for(ic.insecure_skip_email_verification, "insecure_skip_email_verification", &[IssuerType::Email])?;

    let require = |v: &Option<String>, field: &str| -> Result<String, ConfigError> {
        v.clone().filter(|s| !s.is_empty()).ok_or_else(|| invalid(url, format!("type {t} requires {field}")))
    };
    let kind = match t {
        IssuerType::Email => {
            if let Some(p) = &ic.issuer_claim {
                if !is_claim_path(p) {
                    return Err(invalid(url, "issuer_claim must look like $.name or $.a.b"));
                }
            }
            IssuerKind::Email {
                issuer_claim: ic.issuer_claim.clone(),
                insecure_skip_email_verification: ic.insecure_skip_email_verification,
            }
        }
        IssuerType::GithubWorkflow => IssuerKind::GithubWorkflow,
        IssuerType::GitlabPipeline => IssuerKind::GitlabPipeline,
        IssuerType::BuildkiteJob => IssuerKind::BuildkiteJob,
        IssuerType::Kubernetes => IssuerKind::Kubernetes,
        IssuerType::Spiffe => {
            if wildcard {
                return Err(invalid(url, "spiffe issuers cannot be wildcard issuers"));
            }
            let td = require(&ic.spiffe_trust_domain, "spiffe_trust_domain")?;
            if !valid_spiffe_trust_domain(&td) {
                return Err(invalid(url, "spiffe_trust_domain must be lowercase letters, digits, '.', '-', '_'"));
            }
            IssuerKind::Spiffe { trust_domain: td }
        }
        IssuerType::Uri => {
            let sd = require(&ic.subject_domain, "subject_domain")?;
            let (sd_scheme, sd_host) = scheme_and_host(&sd)
                .ok_or_else(|| invalid(url, "subject_domain for uri must be a URL with a scheme and host"))?;
            if sd_scheme != scheme {
                return Err(invalid(url, "subject_domain scheme must equal the issuer's"));
            }
            if !same_registered_domain(sd_host, host) {
                return Err(invalid(url, "subject_domain host must share the issuer host's domain"));
            }
            IssuerKind::Uri { subject_domain: sd }
        }
        IssuerType::Username => {
            let sd = require(&ic.subject_domain, "subject_domain")?;
            if sd.contains("://") || !is_hostname(&sd) {
                return Err(invalid(url, "subject_domain for username must be a bare host name"));
            }
            if !same_registered_domain(&sd, host) {
                return Err(invalid(url, "subject_domain must share the issuer host's domain"));
            }
            IssuerKind::Username { subject_domain: sd }
        }
        IssuerType::CiProvider => {
            let name = require(&ic.ci_provider, "ci_provider")?;
            let provider = match providers.get(&name) {
                Some(p) => p.clone(),
                None => {
                    let cfg = builtin_ci_provider(&name)
                        .ok_or_else(|| ConfigError::UnknownCiProvider { issuer: url.to_owned(), name: name.clone() })?;
                    let compiled = CiProvider::compile(&name, &cfg)
                        .map_err(|reason| ConfigError::BadTemplate { provider: name.clone(), reason })?;
                    let p = Arc::new(compiled);
                    providers.insert(name.clone(), p.clone());
                    p
                }
            };
            IssuerKind::CiProvider { provider }
        }
    };
    Ok(Issuer {
        matcher,
        client_id: ic.client_id.clone(),
        issuer_type: t,
        kind,
        insecure_allow_http: ic.insecure_allow_http,
        description: ic.description.clone(),
        contact: ic.contact.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matching() {
        let p = WildcardPattern::new("https://oidc.eks.*.amazonaws.com/id/*");
        assert!(p.matches("https://oidc.eks.us-west-2.amazonaws.com/id/ABCDEF0123"));
        assert!(!p.matches("https://oidc.eks..amazonaws.com/id/x"));
        assert!(!p.matches("https://oidc.eks.a.b.amazonaws.com/id/x"));
        assert!(!p.matches("https://oidc.eks.a/b.amazonaws.com/id/x"));
        assert!(!p.matches("https://oidc.eks.x.amazonaws.com/id/"));
        assert!(!p.matches("https://oidc.eks.x.amazonaws.com/id/a/b"));
        assert!(!p.matches("https://oidc.eks.x.amazonaws.com/id/a?b"));
        let q = WildcardPattern::new("https://*-x.example.com/*a");
        assert!(q.matches("https://a-b-x.example.com/aaa"));
        assert!(q.matches("https://b-x.example.com/ba"));
        assert!(!q.matches("https://-x.example.com/ba"));
        assert!(!q.matches("https://b-x.example.com/a"));
    }

    #[test]
    fn wildcard_is_linear_on_pathological_input() {
        let p = WildcardPattern::new(&format!("https://x.example.com/{}b", "*a".repeat(40)));
        let iss = format!("https://x.example.com/{}", "a".repeat(4000));
        assert!(!p.matches(&iss));
    }

    #[test]
    fn domain_rule() {
        assert!(same_registered_domain("users.example.com", "accounts.example.com"));
        assert!(same_registered_domain("example.com", "accounts.example.com"));
        assert!(!same_registered_domain("example.org", "accounts.example.com"));
        assert!(!same_registered_domain("com", "com.example"));
        assert!(same_registered_domain("localhost", "localhost"));
    }
}
