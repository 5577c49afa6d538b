//! The pages: server-rendered HTML (no template engine: each page is a
//! function of typed values, every dynamic string escaped by [`esc`]) and
//! the small JSON documents the page's script checks. Handlers parse, call
//! [`Explorer`], render; they never hash, verify or touch the database.

use crate::decode::{unix_rfc3339, CertView, EntryView};
use crate::error::{ExplorerError, JsonError};
pub use crate::html::error_page;
use crate::html::{enc, esc, layout, search_form, search_link};
use crate::query::Query;
use crate::service::{EntryPage, Explorer, MonitorStatus, ResultRow, TrustView};
use axum::extract::{Path, Query as QueryParams, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

fn age(secs: i64) -> String {
    match secs {
        s if s < 0 => "in the future (clock skew?)".into(),
        s if s < 120 => format!("{s} s ago"),
        s if s < 7200 => format!("{} min ago", s / 60),
        s if s < 172_800 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `GET /`: the search form and the log's status.
pub async fn home(State(ex): State<Explorer>) -> Result<Html<String>, ExplorerError> {
    let status = ex.status().await?;
    let cp = &status.checkpoint;
    let mut body = String::from("<h1>Search the transparency log</h1>");
    body.push_str(&search_form("auto", ""));
    let _ = write!(
        body,
        "<section aria-labelledby=\"log-h\"><h2 id=\"log-h\">Log</h2><dl class=\"facts\">\
<dt>Tree size</dt><dd id=\"tree-size\">{}</dd>\
<dt>Latest checkpoint</dt><dd>signed {} <span class=\"muted\">({})</span></dd>\
<dt>Root hash</dt><dd><code>{}</code></dd>",
        cp.tree_size.0,
        age(now_unix() - status.signed_at),
        esc(&unix_rfc3339(status.signed_at)),
        hex::encode(cp.root_hash),
    );
    if let Some(m) = &status.monitor {
        let text = match m {
            MonitorStatus::Verified { tree_size, grew_at } => {
                let behind = cp.tree_size.0.saturating_sub(*tree_size);
                let grew = i64::try_from(*grew_at).unwrap_or(i64::MAX);
                format!(
                    "verified consistent up to tree size {tree_size} ({behind} entries behind the log); tree last seen growing {}",
                    age(now_unix() - grew)
                )
            }
            MonitorStatus::NoState => "no verified checkpoint yet".into(),
            MonitorStatus::Unreadable(e) => format!("state unreadable: {e}"),
        };
        let _ = write!(body, "<dt>Monitor</dt><dd id=\"monitor\">{}</dd>", esc(&text));
    }
    let _ = write!(
        body,
        "</dl><details><summary>Checkpoint (signed note)</summary><pre>{}</pre></details></section>",
        esc(&cp.signed)
    );
    Ok(layout("Search", &body))
}

#[derive(Debug, Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    before: Option<u64>,
}

fn results_table(rows: &[ResultRow]) -> String {
    let mut t = String::from(
        "<div class=\"scroll\"><table class=\"results\"><caption class=\"visually-hidden\">Matching entries, newest first</caption>\
<thead><tr><th scope=\"col\">Integrated</th><th scope=\"col\">Index</th><th scope=\"col\">Kind</th>\
<th scope=\"col\">Identity</th><th scope=\"col\">Issuer</th><th scope=\"col\">Digest</th></tr></thead><tbody>",
    );
    for r in rows {
        let _ = write!(
            t,
            "<tr><td>{}</td><td><a href=\"/entry/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&unix_rfc3339(r.integrated_time)),
            esc(&r.uuid),
            r.log_index,
            esc(&r.kind),
            esc(r.identity.as_deref().unwrap_or("—")),
            esc(r.issuer.as_deref().unwrap_or("—")),
            esc(r.digest.as_deref().unwrap_or("—")),
        );
    }
    t.push_str("</tbody></table></div>");
    t
}

/// `GET /search?q=&kind=&before=`: one page of matches, newest first.
pub async fn search(
    State(ex): State<Explorer>,
    QueryParams(p): QueryParams<SearchParams>,
) -> Result<Response, ExplorerError> {
    let kind = if p.kind.is_empty() { "auto" } else { p.kind.as_str() };
    let query = Query::parse(kind, &p.q).map_err(ExplorerError::BadQuery)?;
    let page = ex.search(&query, p.before).await?;
    let mut body = format!("<h1>Search</h1>{}", search_form(kind, &p.q));
    if page.rows.is_empty() {
        body.push_str("<p class=\"empty\" role=\"status\">No published entry matches this search.</p>");
    } else {
        let _ = write!(
            body,
            "<p role=\"status\" id=\"result-count\">{} {} {}</p>",
            page.rows.len(),
            if page.rows.len() == 1 { "entry" } else { "entries" },
            if p.before.is_some() { "on this page (older entries)" } else { "on this page, newest first" }
        );
        body.push_str(&results_table(&page.rows));
    }
    let mut nav = String::new();
    if p.before.is_some() {
        let _ = write!(nav, "<a href=\"/search?kind={}&amp;q={}\">Newest</a>", enc(kind), enc(&p.q));
    }
    if let Some(older) = page.older {
        let _ = write!(
            nav,
            "<a rel=\"next\" href=\"/search?kind={}&amp;q={}&amp;before={older}\">Older entries</a>",
            enc(kind),
            enc(&p.q)
        );
    }
    if !nav.is_empty() {
        let _ = write!(body, "<nav class=\"pager\" aria-label=\"Pages\">{nav}</nav>");
    }
    Ok(layout("Search results", &body).into_response())
}

fn cert_section(c: &CertView, i: usize, trust: &TrustView) -> String {
    let mut s = format!("<section class=\"cert\" aria-labelledby=\"cert-{i}\"><h3 id=\"cert-{i}\">Certificate {}</h3><dl class=\"facts\">", i + 1);
    for san in &c.sans {
        let value = match san.kind {
            "email" | "uri" => search_link("identity", &san.value, &san.value),
            _ => esc(&san.value),
        };
        let _ = write!(s, "<dt>Subject alternative name ({})</dt><dd class=\"san\">{value}</dd>", esc(san.kind));
    }
    if let Some(iss) = &c.oidc_issuer {
        let _ = write!(s, "<dt>OIDC issuer</dt><dd class=\"oidc-issuer\">{}</dd>", search_link("issuer", iss, iss));
    }
    let _ = write!(
        s,
        "<dt>Issued by</dt><dd>{}</dd><dt>Subject</dt><dd>{}</dd><dt>Serial</dt><dd><code>{}</code></dd>\
<dt>Valid</dt><dd>{} to {}</dd><dt>Key type</dt><dd class=\"key-type\">{}</dd></dl>",
        esc(&c.issuer),
        esc(if c.subject.is_empty() { "(empty)" } else { &c.subject }),
        esc(&c.serial),
        esc(&c.not_before),
        esc(&c.not_after),
        esc(&c.key_type),
    );
    if !c.fulcio_extensions.is_empty() {
        s.push_str("<h4>Fulcio extensions</h4><div class=\"scroll\"><table class=\"exts\"><thead><tr><th scope=\"col\">Extension</th><th scope=\"col\">OID</th><th scope=\"col\">Value</th></tr></thead><tbody>");
        for (oid, name, value) in &c.fulcio_extensions {
            let _ = write!(
                s,
                "<tr><th scope=\"row\">{}</th><td><code>{}</code></td><td>{}</td></tr>",
                esc(name),
                esc(oid),
                esc(value)
            );
        }
        s.push_str("</tbody></table></div>");
    }
    if c.scts.is_empty() {
        s.push_str("<p>No embedded SCT.</p>");
    } else {
        s.push_str("<h4>Embedded SCTs</h4><ul class=\"scts\">");
        let ctlogs = trust.trusted_root.as_ref().map(|r| r.ctlogs.as_slice()).unwrap_or_default();
        for sct in &c.scts {
            let log = ctlogs.iter().find(|l| l.log_id.key_id == sct.log_id);
            let who = match log {
                Some(l) => format!("issued by the CT log {}", esc(&l.base_url)),
                None => "from a CT log not in the trusted root".to_string(),
            };
            let secs = i64::try_from(sct.timestamp_ms / 1000).unwrap_or(i64::MAX);
            let _ = write!(
                s,
                "<li class=\"sct\">{who}, log ID <code>{}</code>, at {}</li>",
                esc(&sct.log_id),
                esc(&unix_rfc3339(secs))
            );
        }
        s.push_str("</ul>");
    }
    let _ = write!(s, "<details><summary>PEM</summary><pre>{}</pre></details></section>", esc(&c.pem));
    s
}

fn entry_body(ex: &Explorer, e: &EntryPage, trust: &TrustView) -> String {
    let v: &EntryView = &e.view;
    let mut s = format!("<h1>Entry {}</h1>", e.log_index);
    let digest = match &v.digest {
        Some(d) => {
            let (alg, value) = d.split_once(':').unwrap_or(("", d));
            if alg == "sha256" {
                search_link("digest", value, d)
            } else {
                esc(d)
            }
        }
        None => "—".into(),
    };
    let _ = write!(
        s,
        "<dl class=\"facts\"><dt>Entry UUID</dt><dd><code id=\"uuid\">{uuid}</code></dd>\
<dt>Log index</dt><dd id=\"log-index\">{idx}</dd>\
<dt>Integrated</dt><dd>{time}</dd>\
<dt>Kind</dt><dd id=\"kind\">{kind} <span class=\"muted\">version {ver}</span></dd>\
<dt>Digest</dt><dd id=\"digest\">{digest}</dd>\
<dt>Raw JSON</dt><dd><a href=\"/api/proof/{uuid}\">body and proof (this page checks it)</a> · \
<a href=\"{rekor}/api/v1/log/entries/{uuid}\">the log's own answer</a></dd></dl>",
        uuid = esc(&e.uuid),
        idx = e.log_index,
        time = esc(&unix_rfc3339(e.integrated_time)),
        kind = esc(&v.kind),
        ver = esc(&v.api_version),
        rekor = esc(ex.rekor_url()),
    );
    let _ = write!(
        s,
        "<section id=\"verification\" data-uuid=\"{}\" aria-labelledby=\"verify-h\" aria-live=\"polite\">\
<h2 id=\"verify-h\">Verification in this browser</h2>\
<p id=\"verify-result\" class=\"pending\">Checking…</p><ol id=\"verify-steps\"></ol>\
<noscript><p class=\"error\">The checks run in the browser: enable JavaScript to verify this entry.</p></noscript></section>",
        esc(&e.uuid)
    );
    if !v.signatures.is_empty() {
        s.push_str("<h2>Signature</h2>");
        for sig in &v.signatures {
            let _ = write!(s, "<pre class=\"wrap\">{}</pre>", esc(sig));
        }
    }
    if !v.certificates.is_empty() {
        s.push_str("<h2>Certificates</h2>");
        for (i, c) in v.certificates.iter().enumerate() {
            s.push_str(&cert_section(c, i, trust));
        }
    }
    for k in &v.public_keys {
        let _ = write!(s, "<h2>Public key</h2><pre>{}</pre>", esc(k));
    }
    let pretty = serde_json::from_slice::<serde_json::Value>(&e.body)
        .ok()
        .and_then(|j| serde_json::to_string_pretty(&j).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(&e.body).into_owned());
    let _ = write!(
        s,
        "<h2>Canonical body</h2><details open><summary>JSON</summary><pre id=\"body\">{}</pre></details>",
        esc(&pretty)
    );
    s
}

/// `GET /entry/{uuid}`.
pub async fn entry(State(ex): State<Explorer>, Path(uuid): Path<String>) -> Result<Html<String>, ExplorerError> {
    let e = ex.entry(&uuid).await?;
    let trust = ex.trust().await;
    Ok(layout(&format!("Entry {}", e.log_index), &entry_body(&ex, &e, &trust)))
}

/// `GET /api/proof/{uuid}`: body, inclusion proof and checkpoint, for the page's checks.
pub async fn proof(State(ex): State<Explorer>, Path(uuid): Path<String>) -> Result<Response, JsonError> {
    Ok(Json(ex.proof(&uuid).await?).into_response())
}

/// One Rekor log key of the trusted root, as the page's script uses it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LogKey {
    base_url: String,
    log_id: String,
    public_key: String,
    key_details: String,
    valid_from: String,
    valid_until: Option<String>,
}

/// `GET /api/trust/logs`: the Rekor log keys of the trusted root.
pub async fn trust_logs(State(ex): State<Explorer>) -> Result<Response, JsonError> {
    let trust = ex.trust().await;
    let root = trust
        .trusted_root
        .as_ref()
        .ok_or_else(|| ExplorerError::Unavailable(trust.error.clone().unwrap_or_else(|| "no trusted root".into())))?;
    let logs: Vec<LogKey> = root
        .tlogs
        .iter()
        .map(|l| LogKey {
            base_url: l.base_url.clone(),
            log_id: l.log_id.key_id.clone(),
            public_key: l.public_key.raw_bytes.clone(),
            key_details: l.public_key.key_details.clone(),
            valid_from: l.public_key.valid_for.start.clone(),
            valid_until: l.public_key.valid_for.end.clone(),
        })
        .collect();
    Ok(Json(serde_json::json!({"source": trust.source, "tlogs": logs})).into_response())
}

fn window(start: &str, end: Option<&str>) -> String {
    match end {
        Some(e) => format!("{} – {} (closed)", esc(start), esc(e)),
        None => format!("from {} (open)", esc(start)),
    }
}

fn days(secs: i64) -> String {
    let d = secs as f64 / 86_400.0;
    format!("{d:.1}")
}

/// Seconds left below which a role is highlighted: the online roles
/// (timestamp, snapshot) are re-signed often and live days; root and
/// targets are signed offline and must be renewed weeks ahead.
fn warn_below(role: &str) -> i64 {
    match role {
        "timestamp" | "snapshot" => 12 * 3600,
        _ => 14 * 86_400,
    }
}

/// `GET /trust`: TUF root history, expiry per role, and the trusted root.
pub async fn trust(State(ex): State<Explorer>) -> Result<Html<String>, ExplorerError> {
    let t = ex.trust().await;
    let mut s = String::from("<h1>Trust &amp; status</h1>");
    let _ = write!(
        s,
        "<p>Trust material from <code>{}</code>, refreshed {}.</p>",
        esc(&t.source),
        esc(&unix_rfc3339(t.fetched_at))
    );
    if let Some(e) = &t.error {
        let _ = write!(s, "<p class=\"error\" role=\"alert\" id=\"trust-error\">{}</p>", esc(e));
    }
    if !t.roles.is_empty() {
        s.push_str("<section aria-labelledby=\"roles-h\"><h2 id=\"roles-h\">TUF roles</h2><div class=\"scroll\"><table id=\"tuf-roles\"><thead><tr><th scope=\"col\">Role</th><th scope=\"col\">Version</th><th scope=\"col\">Expires</th><th scope=\"col\">Days left</th></tr></thead><tbody>");
        for r in &t.roles {
            let class = if r.secs_left < warn_below(r.role) { " class=\"warn\"" } else { "" };
            let _ = write!(
                s,
                "<tr{class}><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
                r.role,
                r.version,
                esc(&r.expires),
                days(r.secs_left)
            );
        }
        s.push_str("</tbody></table></div></section>");
    }
    if !t.roots.is_empty() {
        s.push_str("<section aria-labelledby=\"roots-h\"><h2 id=\"roots-h\">TUF root history</h2><div class=\"scroll\"><table id=\"tuf-roots\"><thead><tr><th scope=\"col\">Root version</th><th scope=\"col\">Expires</th><th scope=\"col\">Thresholds</th></tr></thead><tbody>");
        for r in &t.roots {
            let th: Vec<String> = r.thresholds.iter().map(|(role, n, of)| format!("{role} {n} of {of}")).collect();
            let _ = write!(
                s,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>",
                r.version,
                esc(&r.expires),
                esc(&th.join(", "))
            );
        }
        s.push_str("</tbody></table></div></section>");
    }
    if let Some(root) = &t.trusted_root {
        s.push_str("<section aria-labelledby=\"tr-h\"><h2 id=\"tr-h\">Trusted root</h2>");
        let logs = |title: &str, id: &str, list: &[sigstead_trust::wire::TransparencyLogInstance]| {
            let mut o = format!("<h3>{title}</h3><div class=\"scroll\"><table id=\"{id}\"><thead><tr><th scope=\"col\">URL</th><th scope=\"col\">Log ID</th><th scope=\"col\">Key</th><th scope=\"col\">Valid</th></tr></thead><tbody>");
            for l in list {
                let _ = write!(
                    o,
                    "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    esc(&l.base_url),
                    esc(&l.log_id.key_id),
                    esc(&l.public_key.key_details),
                    window(&l.public_key.valid_for.start, l.public_key.valid_for.end.as_deref())
                );
            }
            o.push_str("</tbody></table></div>");
            o
        };
        s.push_str(&logs("Transparency logs (Rekor)", "tlogs", &root.tlogs));
        s.push_str(&logs("Certificate transparency logs", "ctlogs", &root.ctlogs));
        let cas = |title: &str, id: &str, list: &[sigstead_trust::wire::CertificateAuthority]| {
            let mut o = format!("<h3>{title}</h3><div class=\"scroll\"><table id=\"{id}\"><thead><tr><th scope=\"col\">URI</th><th scope=\"col\">Chain</th><th scope=\"col\">Valid</th></tr></thead><tbody>");
            for ca in list {
                let chain: Vec<String> = ca
                    .cert_chain
                    .certificates
                    .iter()
                    .filter_map(|c| STANDARD.decode(&c.raw_bytes).ok())
                    .filter_map(|der| crate::decode::cert_view(&der).ok())
                    .map(|c| format!("{} (until {})", c.subject, c.not_after))
                    .collect();
                let _ = write!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&ca.uri),
                    esc(&chain.join(" ← ")),
                    window(&ca.valid_for.start, ca.valid_for.end.as_deref())
                );
            }
            o.push_str("</tbody></table></div>");
            o
        };
        s.push_str(&cas("Certificate authorities", "cas", &root.certificate_authorities));
        s.push_str(&cas("Timestamp authorities", "tsas", &root.timestamp_authorities));
        s.push_str("</section>");
    }
    if let Ok(status) = ex.status().await {
        let _ = write!(
            s,
            "<section aria-labelledby=\"st-h\"><h2 id=\"st-h\">Log status</h2><p>Tree size {} · checkpoint signed {}.</p></section>",
            status.checkpoint.tree_size.0,
            age(now_unix() - status.signed_at)
        );
    }
    Ok(layout("Trust", &s))
}

/// `GET /assets/explorer.js`.
pub async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
        include_str!("../assets/explorer.js"),
    )
        .into_response()
}

/// `GET /assets/explorer.css`.
pub async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
        include_str!("../assets/explorer.css"),
    )
        .into_response()
}
