//! Trust-material drift audit: does the trusted root (and signing config)
//! about to be published, or being served, still describe the live
//! services? `sigstead tuf audit`, and `sigstead tuf publish` before it
//! publishes a `trusted_root.json` target (unless `--insecure-skip-audit`).
//!
//! For every entry whose validity window is open now (and, with a signing
//! config, named by it; CT logs, which no signing config names, are all
//! audited):
//! * Rekor log: the key it serves (`/api/v1/log/publicKey`) is the listed
//!   key, the listed log ID is the SHA-256 of that key, its newest
//!   checkpoint verifies with the listed key and its origin names the
//!   listed URL's host;
//! * CT log: its newest STH (`/ct/v1/get-sth`) verifies with the listed key;
//! * CA: the chain it serves (`/api/v1/rootCert`) is the listed chain, and
//!   its leaf-most certificate has not expired;
//! * TSA: the chain it serves (`…/certchain`) is the listed chain, unexpired;
//! * every window's start is not in the future; every URL of the signing
//!   config has a current entry in the trusted root.
//!
//! A difference is a `DIFF` line saying what is listed and what is live. A
//! service that does not answer is a `DIFF` when the signing config names it
//! (clients will be sent there); otherwise (a CT log, or a federated
//! instance's service out of reach) it is `SKIP`ped and said so.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sigstead_trust::wire::{SigningConfig, TimeRange, TrustedRoot};
use std::fmt;
use time::OffsetDateTime;

/// One line of the audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub verdict: Verdict,
    /// `rekor URL`, `ctlog URL`, `ca URL`, `tsa URL`, `signing config`.
    pub service: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Diff,
    Skip,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = match self.verdict {
            Verdict::Ok => "OK  ",
            Verdict::Diff => "DIFF",
            Verdict::Skip => "SKIP",
        };
        write!(f, "{v} {}: {}", self.service, self.detail)
    }
}

/// All findings of one audit.
#[derive(Debug, Clone, Default)]
pub struct AuditReport {
    pub findings: Vec<Finding>,
}

impl AuditReport {
    pub fn is_clean(&self) -> bool {
        self.findings.iter().all(|f| f.verdict != Verdict::Diff)
    }
    pub fn diffs(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.verdict == Verdict::Diff)
    }
    fn push(&mut self, verdict: Verdict, service: &str, detail: impl Into<String>) {
        self.findings.push(Finding { verdict, service: service.to_string(), detail: detail.into() });
    }
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// Open at `now`: started (or starting, which is reported) and not ended.
fn is_current(w: &TimeRange, now: OffsetDateTime) -> bool {
    w.end.as_deref().and_then(parse_time).is_none_or(|end| end > now)
}

fn short_id(spki: &[u8]) -> String {
    STANDARD.encode(sigstead_crypto::log_id(spki))
}

fn trim(u: &str) -> &str {
    u.trim_end_matches('/')
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// The pure checks of the documents alone (no service contacted).
pub fn check_documents(tr: &TrustedRoot, sc: Option<&SigningConfig>, now: OffsetDateTime, report: &mut AuditReport) {
    let mut windows: Vec<(String, &TimeRange)> = Vec::new();
    windows.extend(tr.tlogs.iter().map(|l| (format!("rekor {}", l.base_url), &l.public_key.valid_for)));
    windows.extend(tr.ctlogs.iter().map(|l| (format!("ctlog {}", l.base_url), &l.public_key.valid_for)));
    windows.extend(tr.certificate_authorities.iter().map(|c| (format!("ca {}", c.uri), &c.valid_for)));
    windows.extend(tr.timestamp_authorities.iter().map(|c| (format!("tsa {}", c.uri), &c.valid_for)));
    for (service, w) in windows {
        match parse_time(&w.start) {
            None => {
                report.push(Verdict::Diff, &service, format!("validFor.start {:?} is not an RFC 3339 time", w.start))
            }
            Some(start) if start > now && is_current(w, now) => {
                report.push(Verdict::Diff, &service, format!("validFor starts in the future ({})", w.start));
            }
            _ => {}
        }
    }
    for l in tr.tlogs.iter().chain(&tr.ctlogs) {
        let Ok(spki) = STANDARD.decode(&l.public_key.raw_bytes) else {
            report.push(Verdict::Diff, &format!("log {}", l.base_url), "publicKey.rawBytes is not base64");
            continue;
        };
        // Rekor v2 (Ed25519) logs derive their IDs otherwise (C2SP signed-note key IDs).
        let v2 = l.public_key.key_details.contains("ED25519");
        if l.checkpoint_key_id.is_none() && !v2 && l.log_id.key_id != short_id(&spki) {
            report.push(
                Verdict::Diff,
                &format!("log {}", l.base_url),
                format!("logId {} is not the SHA-256 of the listed key ({})", l.log_id.key_id, short_id(&spki)),
            );
        }
    }
    let Some(sc) = sc else { return };
    let listed = |entries: Vec<(&String, &TimeRange)>| -> Vec<String> {
        entries.into_iter().filter(|(_, w)| is_current(w, now)).map(|(u, _)| trim(u).to_string()).collect()
    };
    let kinds = [
        (
            "the Rekor log",
            "key",
            &sc.rekor_tlog_urls,
            listed(tr.tlogs.iter().map(|l| (&l.base_url, &l.public_key.valid_for)).collect()),
        ),
        (
            "the CA",
            "chain",
            &sc.ca_urls,
            listed(tr.certificate_authorities.iter().map(|c| (&c.uri, &c.valid_for)).collect()),
        ),
        (
            "the TSA",
            "chain",
            &sc.tsa_urls,
            listed(tr.timestamp_authorities.iter().map(|c| (&c.uri, &c.valid_for)).collect()),
        ),
    ];
    for (what, material, services, current) in kinds {
        for s in services.iter().filter(|s| is_current(&s.valid_for, now)) {
            if !current.iter().any(|u| u == trim(&s.url)) {
                report.push(
                    Verdict::Diff,
                    "signing config",
                    format!("names {what} {} but the trusted root lists no current {material} for it", s.url),
                );
            }
        }
    }
}

async fn get(http: &reqwest::Client, url: &str) -> Result<String, String> {
    let resp = http.get(url).send().await.map_err(|e| e.without_url().to_string())?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status().as_u16()));
    }
    resp.text().await.map_err(|e| e.to_string())
}

fn chain_summary(chain: &[Vec<u8>]) -> String {
    let leaf =
        chain.first().map(|d| hex::encode(&sigstead_crypto::digest(sigstead_crypto::HashAlgorithm::Sha256, d)[..8]));
    format!("{} certificate(s), leaf-most sha256 {}…", chain.len(), leaf.unwrap_or_default())
}

fn listed_chain(c: &sigstead_trust::wire::CertificateAuthority) -> Vec<Vec<u8>> {
    c.cert_chain.certificates.iter().filter_map(|x| STANDARD.decode(&x.raw_bytes).ok()).collect()
}

fn expiry_check(chain: &[Vec<u8>], now: OffsetDateTime) -> Result<String, String> {
    use der::Decode;
    let leaf = chain.first().ok_or("an empty chain")?;
    let cert = x509_cert::Certificate::from_der(leaf).map_err(|e| e.to_string())?;
    let secs = cert.tbs_certificate.validity.not_after.to_unix_duration().as_secs();
    let not_after =
        OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(i64::MAX)).map_err(|e| e.to_string())?;
    if not_after <= now {
        return Err(format!("the leaf-most certificate expired at {not_after}"));
    }
    Ok(format!("valid until {}", not_after.date()))
}

/// Audits `tr` (and `sc`) against the live services.
pub async fn audit(
    http: &reqwest::Client,
    tr: &TrustedRoot,
    sc: Option<&SigningConfig>,
    now: OffsetDateTime,
) -> AuditReport {
    let mut report = AuditReport::default();
    check_documents(tr, sc, now, &mut report);
    let named = |urls: Option<&Vec<sigstead_trust::wire::Service>>, u: &str| {
        urls.is_none_or(|v| v.iter().any(|s| trim(&s.url) == trim(u)))
    };
    // Unreachable: a DIFF when clients are sent there (the signing config names it).
    let unreachable = |report: &mut AuditReport, service: &str, named: bool, why: String| {
        if named && sc.is_some() {
            report.push(Verdict::Diff, service, format!("does not answer ({why}): clients are sent there"));
        } else {
            report.push(Verdict::Skip, service, format!("does not answer ({why}); not audited"));
        }
    };
    for l in tr.tlogs.iter().filter(|l| is_current(&l.public_key.valid_for, now)) {
        let service = format!("rekor {}", l.base_url);
        let in_sc = sc.is_some_and(|s| named(Some(&s.rekor_tlog_urls), &l.base_url));
        if sc.is_some() && !in_sc {
            report.push(Verdict::Skip, &service, "not named by the signing config (another instance); not audited");
            continue;
        }
        let Ok(listed) = STANDARD.decode(&l.public_key.raw_bytes) else { continue };
        let base = trim(&l.base_url);
        let live = match get(http, &format!("{base}/api/v1/log/publicKey")).await {
            Ok(pem) => pem,
            Err(e) => {
                unreachable(&mut report, &service, in_sc, e);
                continue;
            }
        };
        let live_spki = match sigstead_crypto::VerifierMaterial::parse(live.as_bytes()) {
            Ok(v) => v.spki_der,
            Err(e) => {
                report.push(Verdict::Diff, &service, format!("serves a public key that does not parse: {e}"));
                continue;
            }
        };
        if live_spki != listed {
            report.push(
                Verdict::Diff,
                &service,
                format!(
                    "the trusted root lists key {}, the live log serves key {}",
                    short_id(&listed),
                    short_id(&live_spki)
                ),
            );
            continue;
        }
        let info = get(http, &format!("{base}/api/v1/log"))
            .await
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()));
        let note = match &info {
            Ok(v) => v["signedTreeHead"].as_str().unwrap_or_default().to_string(),
            Err(e) => {
                unreachable(&mut report, &service, in_sc, e.clone());
                continue;
            }
        };
        match sigstead_note::verify_checkpoint_v1(&note, None, &listed) {
            Err(e) => report.push(
                Verdict::Diff,
                &service,
                format!("the live checkpoint does not verify with the listed key: {e}"),
            ),
            Ok(cp) => {
                let host = host_of(base);
                if cp.origin.as_str().split(" - ").next() != Some(host) {
                    report.push(
                        Verdict::Diff,
                        &service,
                        format!(
                            "the live checkpoint's origin {:?} does not name the listed URL's host {host}",
                            cp.origin.as_str()
                        ),
                    );
                } else {
                    report.push(
                        Verdict::Ok,
                        &service,
                        format!(
                            "serves the listed key {}; its checkpoint at size {} verifies, origin {:?}",
                            short_id(&listed),
                            cp.size,
                            cp.origin.as_str()
                        ),
                    );
                }
            }
        }
    }
    for l in tr.ctlogs.iter().filter(|l| is_current(&l.public_key.valid_for, now)) {
        let service = format!("ctlog {}", l.base_url);
        let Ok(listed) = STANDARD.decode(&l.public_key.raw_bytes) else { continue };
        let sth = match get(http, &format!("{}/ct/v1/get-sth", trim(&l.base_url))).await {
            Ok(t) => t,
            Err(e) => {
                unreachable(&mut report, &service, false, e);
                continue;
            }
        };
        let verdict = serde_json::from_str::<serde_json::Value>(&sth).map_err(|e| e.to_string()).and_then(|v| {
            let root: [u8; 32] = STANDARD
                .decode(v["sha256_root_hash"].as_str().unwrap_or_default())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or("no sha256_root_hash")?;
            let sig =
                STANDARD.decode(v["tree_head_signature"].as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
            let size = v["tree_size"].as_u64().ok_or("no tree_size")?;
            sigstead_ct::verify_tree_head(v["timestamp"].as_u64().unwrap_or(0), size, &root, &sig, &listed)
                .map(|()| size)
                .map_err(|e| e.to_string())
        });
        match verdict {
            Ok(size) => report.push(
                Verdict::Ok,
                &service,
                format!("its STH at size {size} verifies with the listed key {}", short_id(&listed)),
            ),
            Err(e) => report.push(
                Verdict::Diff,
                &service,
                format!("the live STH does not verify with the listed key {}: {e}", short_id(&listed)),
            ),
        }
    }
    let chains = [
        ("ca", &tr.certificate_authorities, sc.map(|s| &s.ca_urls), "/api/v1/rootCert"),
        ("tsa", &tr.timestamp_authorities, sc.map(|s| &s.tsa_urls), "/certchain"),
    ];
    for (kind, list, sc_urls, path) in chains {
        for c in list.iter().filter(|c| is_current(&c.valid_for, now)) {
            let service = format!("{kind} {}", c.uri);
            let in_sc = named(sc_urls, &c.uri);
            if sc.is_some() && !in_sc {
                report.push(Verdict::Skip, &service, "not named by the signing config (another instance); not audited");
                continue;
            }
            let listed = listed_chain(c);
            let live = match get(http, &format!("{}{path}", trim(&c.uri))).await {
                Ok(pem) => sigstead_crypto::pem_certificates(pem.as_bytes()),
                Err(e) => {
                    unreachable(&mut report, &service, in_sc, e);
                    continue;
                }
            };
            if live != listed {
                report.push(
                    Verdict::Diff,
                    &service,
                    format!(
                        "the trusted root lists {}, the live service serves {}",
                        chain_summary(&listed),
                        chain_summary(&live)
                    ),
                );
                continue;
            }
            match expiry_check(&listed, now) {
                Ok(v) => report.push(
                    Verdict::Ok,
                    &service,
                    format!("serves the listed chain ({}), {v}", chain_summary(&listed)),
                ),
                Err(e) => report.push(Verdict::Diff, &service, e),
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstead_trust::wire::{LogId, PublicKey, Service, TransparencyLogInstance};

    fn tlog(url: &str, key: &[u8], id: &str, start: &str) -> TransparencyLogInstance {
        TransparencyLogInstance {
            base_url: url.into(),
            hash_algorithm: "SHA2_256".into(),
            public_key: PublicKey {
                raw_bytes: STANDARD.encode(key),
                key_details: "PKIX_ECDSA_P256_SHA_256".into(),
                valid_for: TimeRange::from(start),
            },
            log_id: LogId { key_id: id.into() },
            checkpoint_key_id: None,
            operator: None,
        }
    }

    #[test]
    fn documents_alone_catch_wrong_log_ids_future_windows_and_unlisted_urls() {
        let now = parse_time("2026-12-07T00:00:00Z").unwrap();
        let key = b"not really a key but bytes".to_vec();
        let tr = TrustedRoot {
            media_type: sigstead_trust::wire::TRUSTED_ROOT_MEDIA_TYPE.into(),
            tlogs: vec![
                tlog("https://rekor.a", &key, &short_id(&key), "2026-01-01T00:00:00Z"),
                tlog("https://rekor.b", &key, "d3Jvbmc=", "2027-01-01T00:00:00Z"),
            ],
            certificate_authorities: vec![],
            ctlogs: vec![],
            timestamp_authorities: vec![],
        };
        let svc = |u: &str| Service {
            url: u.into(),
            major_api_version: 1,
            valid_for: TimeRange::from("2026-01-01T00:00:00Z"),
            operator: "x".into(),
        };
        let sc = SigningConfig {
            media_type: sigstead_trust::wire::SIGNING_CONFIG_MEDIA_TYPE.into(),
            ca_urls: vec![svc("https://ca.a")],
            oidc_urls: vec![],
            rekor_tlog_urls: vec![svc("https://rekor.a/")],
            tsa_urls: vec![],
            rekor_tlog_config: None,
            tsa_config: None,
        };
        let mut r = AuditReport::default();
        check_documents(&tr, Some(&sc), now, &mut r);
        let text: Vec<String> = r.findings.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|t| t.contains("rekor https://rekor.b: validFor starts in the future")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("logId d3Jvbmc= is not the SHA-256")), "{text:?}");
        assert!(
            text.iter().any(|t| t.contains("names the CA https://ca.a but the trusted root lists no current chain")),
            "{text:?}"
        );
        assert!(!text.iter().any(|t| t.contains("rekor.a")), "a trailing slash is the same URL: {text:?}");
        assert!(!r.is_clean());
    }
}
