//! The offline verification kit (`sigstead kit export`): for one site,
//! everything its verifiers need, taken from the TUF repository and verified
//! from a pinned root on the way, so that what the site receives is exactly
//! what a TUF client of the live repository would trust.
//!
//! Layout of the kit directory (also listed in its `README.txt`):
//!
//! | path | for |
//! |---|---|
//! | `trusted_root.json`, `signing_config.v0.2.json` | cosign `--trusted-root`, sigstore-go, `sigstead kit verify` |
//! | `trust_config.json` | sigstore-python `--trust-config` (a ClientTrustConfig) |
//! | `tuf/repository/` | the TUF repository as a mirror directory: serve it with any static file server, then `cosign initialize --mirror URL --root tuf/root.json` |
//! | `tuf/root.json` | the pinned initial root clients bootstrap from |
//! | `tuf/repository.tar.gz`, `tuf/repository.tar.gz.b64` | the repository in the layout policy-controller's `TrustRoot` `spec.repository.mirrorFS` reads (entries under `repository/`) |
//! | `pem/` | `fulcio-chain.pem`, `fulcio-root.pem`, `rekor.pub`, `ctfe.pub`, `tsa-chain.pem`: the current keys and chains, for CRI-O / OpenShift `policy.json` and `SIGSTORE_*` variables |
//! | `admission/` | Kyverno Helm values + `ClusterPolicy` (TUF, and keys inline) + `ImageValidatingPolicy` (trusted root inline), policy-controller `TrustRoot` (mirrorFS, remote) + `ClusterImagePolicy`, Flux `OCIRepository` with its trusted-root Secret, containers `policy.json` + `registries.d`, filled in with the site's values |
//!
//! Checks before anything is written: every TUF file verifies from the
//! pinned root ([`crate::mirror`]); the tarball is read back and verified
//! again as policy-controller would read it; the trusted root parses, each
//! log key parses and its log ID is the SHA-256 of the key, each certificate
//! parses; the signing config parses; the legacy targets, when the
//! repository has them, hold the same keys as the trusted root.

use crate::repo_dir::RepoDir;
use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sigstead_trust::{SigningConfig, TrustedRoot};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The site values the admission configurations are filled in with.
#[derive(Debug, Clone)]
pub struct Site {
    /// Image references the policies cover (a glob, e.g. `registry.example.internal/**`).
    pub images: String,
    /// The OIDC issuer every signature's certificate must name.
    pub issuer: String,
    /// A regular expression the certificate's subject (SAN) must match.
    pub subject_regexp: String,
    /// The e-mail identity for containers `policy.json` (its `fulcio` block
    /// matches an e-mail SAN only); without one, `policy.json` is not written.
    pub subject_email: Option<String>,
    /// The TUF repository as the site's verifiers reach it (the live server or
    /// the site's own mirror).
    pub tuf_url: String,
    /// Where `pem/` is installed on the verifier hosts (paths in `policy.json`).
    pub install_dir: String,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct KitReport {
    pub root_version: u64,
    pub targets_version: u64,
    /// Paths written, relative to the kit directory.
    pub files: Vec<String>,
}

/// The current (first open-window) entries of a trusted root, as DER.
#[derive(Debug, Clone)]
pub struct Current {
    pub rekor_url: String,
    pub rekor_key: Vec<u8>,
    pub ct_key: Option<Vec<u8>>,
    pub ca_url: Option<String>,
    /// Intermediate(s) first, root last.
    pub ca_chain: Vec<Vec<u8>>,
    /// Leaf first.
    pub tsa_chain: Vec<Vec<u8>>,
}

fn b64(s: &str, what: &str) -> anyhow::Result<Vec<u8>> {
    STANDARD.decode(s).with_context(|| format!("{what} is not base64"))
}

/// Checks `root` as a verifier would read it and returns its current entries.
pub fn check_trusted_root(root: &TrustedRoot) -> anyhow::Result<Current> {
    anyhow::ensure!(
        root.media_type == sigstead_trust::TRUSTED_ROOT_MEDIA_TYPE,
        "trusted root media type {:?}, want {:?}",
        root.media_type,
        sigstead_trust::TRUSTED_ROOT_MEDIA_TYPE
    );
    for (kind, logs) in [("tlog", &root.tlogs), ("ctlog", &root.ctlogs)] {
        for l in logs {
            let key = b64(&l.public_key.raw_bytes, &format!("{kind} {} key", l.base_url))?;
            let parsed = sigstead_crypto::PublicKey::from_spki_der(&key)
                .with_context(|| format!("{kind} {}: the public key does not parse", l.base_url))?;
            let id = b64(&l.log_id.key_id, &format!("{kind} {} log ID", l.base_url))?;
            // Rekor v2 logs (Ed25519, C2SP signed-note checkpoints) name their key
            // by a signed-note key ID, not by the SHA-256 of the SPKI.
            let v2 = kind == "tlog" && matches!(parsed, sigstead_crypto::PublicKey::Ed25519(_));
            anyhow::ensure!(
                v2 || id == sigstead_crypto::log_id(&key),
                "{kind} {}: the log ID is not the SHA-256 of its key",
                l.base_url
            );
        }
    }
    for (kind, cas) in
        [("certificate authority", &root.certificate_authorities), ("timestamp authority", &root.timestamp_authorities)]
    {
        for ca in cas {
            anyhow::ensure!(!ca.cert_chain.certificates.is_empty(), "{kind} {} has no certificates", ca.uri);
            for c in &ca.cert_chain.certificates {
                sigstead_crypto::VerifierMaterial::from_certificate_der(&b64(&c.raw_bytes, kind)?)
                    .with_context(|| format!("{kind} {}: a certificate does not parse", ca.uri))?;
            }
        }
    }
    let open = |end: &Option<String>| end.is_none();
    let rekor = root
        .tlogs
        .iter()
        .find(|l| open(&l.public_key.valid_for.end))
        .ok_or_else(|| anyhow::anyhow!("the trusted root lists no current Rekor log"))?;
    let ct = root.ctlogs.iter().find(|l| open(&l.public_key.valid_for.end));
    let ca = root.certificate_authorities.iter().find(|c| open(&c.valid_for.end));
    let tsa = root.timestamp_authorities.iter().find(|c| open(&c.valid_for.end));
    let chain = |c: &sigstead_trust::CertificateAuthority| -> anyhow::Result<Vec<Vec<u8>>> {
        c.cert_chain.certificates.iter().map(|x| b64(&x.raw_bytes, "certificate")).collect()
    };
    Ok(Current {
        rekor_url: rekor.base_url.clone(),
        rekor_key: b64(&rekor.public_key.raw_bytes, "rekor key")?,
        ct_key: ct.map(|l| b64(&l.public_key.raw_bytes, "ct key")).transpose()?,
        ca_url: ca.map(|c| c.uri.clone()),
        ca_chain: ca.map(chain).transpose()?.unwrap_or_default(),
        tsa_chain: tsa.map(chain).transpose()?.unwrap_or_default(),
    })
}

fn pem_chain(ders: &[Vec<u8>]) -> String {
    ders.iter().map(|d| sigstead_crypto::pem_encode("CERTIFICATE", d)).collect()
}

/// `text` indented by `n` spaces on every line (for YAML block scalars).
fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines().map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n")
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// The tarball of a repository's files in policy-controller's `mirrorFS`
/// layout: a gzipped tar whose entries are `repository/<path>`.
pub fn repository_tarball(files: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut dirs = std::collections::BTreeSet::new();
    for path in files.keys() {
        let mut p = Path::new(path).parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_path_buf());
            p = d.parent();
        }
    }
    let mut dir_header = |name: &str| -> anyhow::Result<()> {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(0);
        h.set_path(name)?;
        h.set_cksum();
        tar.append(&h, std::io::empty())?;
        Ok(())
    };
    dir_header("repository/")?;
    for d in &dirs {
        dir_header(&format!("repository/{}/", d.display()))?;
    }
    for (path, bytes) in files {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(u64::try_from(bytes.len()).expect("file size fits u64"));
        h.set_mtime(0);
        h.set_path(format!("repository/{path}"))?;
        h.set_cksum();
        tar.append(&h, bytes.as_slice())?;
    }
    Ok(tar.into_inner()?.finish()?)
}

/// The files of a `mirrorFS` tarball, with the `repository/` prefix removed
/// (as policy-controller does); entries that would leave it are refused.
pub fn read_repository_tarball(bytes: &[u8]) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut files = BTreeMap::new();
    for entry in tar.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let rel = path
            .strip_prefix("repository/")
            .filter(|r| sigstead_tuf::repo::valid_target_name(r))
            .ok_or_else(|| anyhow::anyhow!("tarball entry {path:?} is not under repository/"))?
            .to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data)?;
        files.insert(rel, data);
    }
    Ok(files)
}

/// Verifies a repository held in memory from `root1`, as a client would.
fn verify_offline(root1: &[u8], files: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<sigstead_tuf::client::TrustedSet> {
    let mut fetch = |p: &str| -> Result<Option<Vec<u8>>, String> { Ok(files.get(p).cloned()) };
    let (set, _) = sigstead_tuf::client::refresh(root1, &BTreeMap::new(), time::OffsetDateTime::now_utc(), &mut fetch)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(set)
}

struct Writer {
    out: PathBuf,
    files: Vec<String>,
}

impl Writer {
    fn put(&mut self, rel: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let p = self.out.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
        self.files.push(rel.to_string());
        Ok(())
    }
}

/// Exports the kit for the repository at `url` (verified from `root1`) into `out`.
pub async fn export(
    http: reqwest::Client,
    url: &str,
    root1: Vec<u8>,
    out: &Path,
    site: &Site,
) -> anyhow::Result<KitReport> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let repo = RepoDir::new(out.join("tuf/repository"));
    let report = crate::mirror::mirror(http, url, root1.clone(), &repo, |_, _| {}).await?;
    let all = repo.load_files()?;
    let set = verify_offline(&root1, &all).context("the mirrored repository does not verify")?;
    let (_, targets) = crate::editor::current_target_files(&repo)?;
    let get = |name: &str| {
        targets.get(name).cloned().ok_or_else(|| anyhow::anyhow!("the repository publishes no {name} target"))
    };
    let tr_bytes = get("trusted_root.json")?;
    let sc_bytes = get("signing_config.v0.2.json")?;
    let tr: TrustedRoot = serde_json::from_slice(&tr_bytes).context("trusted_root.json")?;
    let sc: SigningConfig = serde_json::from_slice(&sc_bytes).context("signing_config.v0.2.json")?;
    anyhow::ensure!(
        sc.media_type == sigstead_trust::SIGNING_CONFIG_MEDIA_TYPE,
        "signing config media type {:?}",
        sc.media_type
    );
    let cur = check_trusted_root(&tr)?;
    // A repository with legacy targets must say the same as its trusted root.
    for t in sigstead_trust::legacy::legacy_targets(&tr) {
        if let Some(served) = targets.get(&t.name) {
            anyhow::ensure!(*served == t.bytes, "the legacy target {} differs from the trusted root's key", t.name);
        }
    }

    let mut w = Writer { out: out.to_path_buf(), files: Vec::new() };
    w.files.extend(all.keys().map(|p| format!("tuf/repository/{p}")));
    w.put("trusted_root.json", &tr_bytes)?;
    w.put("signing_config.v0.2.json", &sc_bytes)?;
    w.put("trust_config.json", &serde_json::to_vec_pretty(&sigstead_trust::client_trust_config(&tr, &sc))?)?;
    w.put("tuf/root.json", &root1)?;
    let tarball = repository_tarball(&all)?;
    let back = read_repository_tarball(&tarball)?;
    anyhow::ensure!(back == all, "the repository tarball does not read back as the repository");
    verify_offline(&root1, &back).context("the repository tarball does not verify")?;
    w.put("tuf/repository.tar.gz", &tarball)?;
    w.put("tuf/repository.tar.gz.b64", STANDARD.encode(&tarball).as_bytes())?;

    let rekor_pem = sigstead_crypto::pem_encode("PUBLIC KEY", &cur.rekor_key);
    w.put("pem/rekor.pub", rekor_pem.as_bytes())?;
    let ct_pem = cur.ct_key.as_deref().map(|k| sigstead_crypto::pem_encode("PUBLIC KEY", k));
    if let Some(p) = &ct_pem {
        w.put("pem/ctfe.pub", p.as_bytes())?;
    }
    let fulcio_chain = pem_chain(&cur.ca_chain);
    if !cur.ca_chain.is_empty() {
        w.put("pem/fulcio-chain.pem", fulcio_chain.as_bytes())?;
        w.put("pem/fulcio-root.pem", pem_chain(&cur.ca_chain[cur.ca_chain.len() - 1..]).as_bytes())?;
    }
    if !cur.tsa_chain.is_empty() {
        w.put("pem/tsa-chain.pem", pem_chain(&cur.tsa_chain).as_bytes())?;
    }

    let root_b64 = STANDARD.encode(&root1);
    let tarball_b64 = STANDARD.encode(&tarball);
    w.put("admission/kyverno-values.yaml", kyverno_values(site, &root_b64).as_bytes())?;
    w.put("admission/kyverno-clusterpolicy.yaml", kyverno_bundle_policy(site).as_bytes())?;
    if let (Some(ct), false) = (&ct_pem, cur.ca_chain.is_empty()) {
        w.put(
            "admission/kyverno-clusterpolicy-keys.yaml",
            kyverno_keys_policy(site, &cur, &fulcio_chain, &rekor_pem, ct).as_bytes(),
        )?;
    }
    w.put(
        "admission/policy-controller-trustroot.yaml",
        policy_controller_trustroot(&root_b64, &tarball_b64).as_bytes(),
    )?;
    w.put(
        "admission/policy-controller-trustroot-remote.yaml",
        policy_controller_trustroot_remote(site, &root_b64).as_bytes(),
    )?;
    w.put("admission/policy-controller-clusterimagepolicy.yaml", policy_controller_cip(site, &cur).as_bytes())?;
    let tr_text = String::from_utf8(tr_bytes.clone()).context("trusted_root.json is not UTF-8")?;
    w.put("admission/flux-ocirepository.yaml", flux_ocirepository(site, &tr_text).as_bytes())?;
    w.put("admission/kyverno-imagevalidatingpolicy.yaml", kyverno_image_validating_policy(site, &tr_text).as_bytes())?;
    if let (Some(email), false) = (&site.subject_email, cur.ca_chain.is_empty()) {
        w.put("admission/containers-policy.json", &containers_policy(site, email)?)?;
        w.put("admission/containers-registries.d-sigstead.yaml", registries_d(site).as_bytes())?;
    }
    let readme = readme(&report, site, &w.files);
    w.put("README.txt", readme.as_bytes())?;
    Ok(KitReport {
        root_version: set.root().version,
        targets_version: set.targets().map_or(0, |t| t.version),
        files: w.files,
    })
}

/// The registry part of an image glob (`registry.example.internal/**` →
/// `registry.example.internal`), for configurations keyed by registry.
fn registry_scope(images: &str) -> String {
    images.trim_end_matches(['*', '/']).to_string()
}

fn kyverno_values(site: &Site, root_b64: &str) -> String {
    format!(
        "# Helm values for the kyverno chart: Kyverno's Sigstore verification trusts this\n\
         # site's TUF repository instead of the public instance (type: SigstoreBundle).\n\
         #   helm upgrade --install kyverno kyverno/kyverno -n kyverno -f kyverno-values.yaml\n\
         # Generated by `sigstead kit export`.\n\
         features:\n  tuf:\n    enabled: true\n    mirror: {mirror}\n    # base64 of tuf/root.json (the pinned initial root)\n    rootRaw: {root_b64}\n",
        mirror = q(&site.tuf_url)
    )
}

fn kyverno_bundle_policy(site: &Site) -> String {
    format!(
        "# Kyverno: admit only images carrying a Sigstore bundle (cosign 3) whose certificate\n\
         # was issued by this site's CA to the identity below. Trust material comes from\n\
         # the TUF repository set in kyverno-values.yaml. Generated by `sigstead kit export`.\n\
         apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: sigstead-verify-images\nspec:\n  webhookTimeoutSeconds: 30\n  background: false\n  rules:\n    - name: signed-through-sigstead\n      match:\n        any:\n          - resources:\n              kinds: [Pod]\n      verifyImages:\n        - type: SigstoreBundle\n          failureAction: Enforce\n          imageReferences:\n            - {images}\n          mutateDigest: true\n          verifyDigest: true\n          required: true\n          attestors:\n            - count: 1\n              entries:\n                - keyless:\n                    issuer: {issuer}\n                    subjectRegExp: {subject}\n",
        images = q(&site.images),
        issuer = q(&site.issuer),
        subject = q(&site.subject_regexp)
    )
}

fn kyverno_keys_policy(site: &Site, cur: &Current, fulcio_chain: &str, rekor_pem: &str, ct_pem: &str) -> String {
    format!(
        "# Kyverno: the same rule for cosign 2 style signatures (`.sig` tags), with the\n\
         # site's trust material in the policy itself: the CA chain, the Rekor key and the\n\
         # CT log key (no TUF). Generated by `sigstead kit export`.\n\
         apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: sigstead-verify-images-keys\nspec:\n  webhookTimeoutSeconds: 30\n  background: false\n  rules:\n    - name: signed-through-sigstead\n      match:\n        any:\n          - resources:\n              kinds: [Pod]\n      verifyImages:\n        - type: Cosign\n          failureAction: Enforce\n          imageReferences:\n            - {images}\n          mutateDigest: true\n          verifyDigest: true\n          required: true\n          attestors:\n            - count: 1\n              entries:\n                - keyless:\n                    issuer: {issuer}\n                    subjectRegExp: {subject}\n                    roots: |-\n{roots}\n                    rekor:\n                      url: {rekor_url}\n                      pubkey: |-\n{rekor}\n                    ctlog:\n                      pubkey: |-\n{ct}\n",
        images = q(&site.images),
        issuer = q(&site.issuer),
        subject = q(&site.subject_regexp),
        roots = indent(fulcio_chain, 22),
        rekor_url = q(&cur.rekor_url),
        rekor = indent(rekor_pem, 24),
        ct = indent(ct_pem, 24),
    )
}

fn policy_controller_trustroot(root_b64: &str, tarball_b64: &str) -> String {
    format!(
        "# policy-controller: this site's trust material as a serialized TUF repository\n\
         # (no network needed). Refresh it before tuf/repository's timestamp.json expires\n\
         # (`sigstead tuf status --repo tuf/repository`). Generated by `sigstead kit export`.\n\
         apiVersion: policy.sigstore.dev/v1alpha1\nkind: TrustRoot\nmetadata:\n  name: sigstead\nspec:\n  repository:\n    root: {root_b64}\n    mirrorFS: {tarball_b64}\n    targets: targets\n"
    )
}

fn policy_controller_trustroot_remote(site: &Site, root_b64: &str) -> String {
    format!(
        "# policy-controller: this site's trust material from its TUF repository server.\n\
         # Generated by `sigstead kit export`.\n\
         apiVersion: policy.sigstore.dev/v1alpha1\nkind: TrustRoot\nmetadata:\n  name: sigstead\nspec:\n  remote:\n    mirror: {mirror}\n    root: {root_b64}\n    targets: targets\n",
        mirror = q(&site.tuf_url)
    )
}

fn policy_controller_cip(site: &Site, cur: &Current) -> String {
    let ca = cur.ca_url.as_deref().unwrap_or("https://fulcio.example.internal");
    format!(
        "# policy-controller: admit only images signed through this site's Sigstead by the\n\
         # identity below (namespaces labelled policy.sigstore.dev/include: \"true\").\n\
         # Trust material: the `sigstead` TrustRoot. `ctlog` is the Rekor setting in this API.\n\
         # Generated by `sigstead kit export`.\n\
         apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: sigstead-signed-images\nspec:\n  mode: enforce\n  images:\n    - glob: {images}\n  authorities:\n    - name: cosign-bundle\n      signatureFormat: bundle\n      keyless:\n        url: {ca}\n        trustRootRef: sigstead\n        identities:\n          - issuer: {issuer}\n            subjectRegExp: {subject}\n      ctlog:\n        url: {rekor}\n        trustRootRef: sigstead\n    - name: cosign-legacy\n      keyless:\n        url: {ca}\n        trustRootRef: sigstead\n        identities:\n          - issuer: {issuer}\n            subjectRegExp: {subject}\n      ctlog:\n        url: {rekor}\n        trustRootRef: sigstead\n",
        images = q(&site.images),
        ca = q(ca),
        issuer = q(&site.issuer),
        subject = q(&site.subject_regexp),
        rekor = q(&cur.rekor_url),
    )
}

fn flux_ocirepository(site: &Site, trusted_root: &str) -> String {
    format!(
        "# Flux: verify OCI artifacts signed keylessly through this site's Sigstead, against\n\
         # the site's trusted root (source-controller's verify.trustedRootSecretRef: a Secret\n\
         # with a trusted_root.json key). Replace the repository URL and tag.\n\
         # Generated by `sigstead kit export`.\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: sigstead-trusted-root\n  namespace: flux-system\ntype: Opaque\nstringData:\n  trusted_root.json: |-\n{root}\n\
         ---\n\
         apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: sigstead-signed\n  namespace: flux-system\nspec:\n  interval: 10m\n  url: {url}\n  ref:\n    tag: latest\n  verify:\n    provider: cosign\n    trustedRootSecretRef:\n      name: sigstead-trusted-root\n    matchOIDCIdentity:\n      - issuer: {issuer}\n        subject: {subject}\n",
        root = indent(trusted_root, 4),
        url = q(&format!("oci://{}/app", registry_scope(&site.images))),
        issuer = q(&format!("^{}$", regex_escape(&site.issuer))),
        subject = q(&site.subject_regexp),
    )
}

/// Kyverno's ImageValidatingPolicy (policies.kyverno.io/v1beta1) with the
/// trusted root inline (`attestors[].cosign.trustedRoot`): no TUF, no
/// chart settings; for Kyverno versions that have this API.
fn kyverno_image_validating_policy(site: &Site, trusted_root: &str) -> String {
    format!(
        "# Kyverno ImageValidatingPolicy: admit only Pods whose images carry a signature\n\
         # made through this site's Sigstead by the identity below, verified against the\n\
         # site's trusted root given inline (no TUF). Generated by `sigstead kit export`.\n\
         apiVersion: policies.kyverno.io/v1beta1\nkind: ImageValidatingPolicy\nmetadata:\n  name: sigstead-verify-images\nspec:\n  validationActions: [Deny]\n  matchConstraints:\n    resourceRules:\n      - apiGroups: [\"\"]\n        apiVersions: [v1]\n        operations: [CREATE, UPDATE]\n        resources: [pods]\n  matchImageReferences:\n    - glob: {images}\n  attestors:\n    - name: sigstead\n      cosign:\n        keyless:\n          identities:\n            - issuer: {issuer}\n              subjectRegExp: {subject}\n        trustedRoot:\n          value: |-\n{root}\n  validations:\n    - expression: >-\n        images.containers.map(image, verifyImageSignatures(image, [attestors.sigstead])).all(e, e > 0)\n      message: every image must be signed through Sigstead by the expected identity\n",
        images = q(&site.images),
        issuer = q(&site.issuer),
        subject = q(&site.subject_regexp),
        root = indent(trusted_root, 12),
    )
}

/// Escapes the regular-expression metacharacters of `s`.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// containers-policy.json(5): `sigstoreSigned` with `fulcio` (CA file, OIDC
/// issuer, e-mail subject) and `rekorPublicKeyPath`, for the site's registry;
/// everything else is rejected.
fn containers_policy(site: &Site, email: &str) -> anyhow::Result<Vec<u8>> {
    let dir = site.install_dir.trim_end_matches('/');
    let scope = registry_scope(&site.images);
    let policy = serde_json::json!({
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                scope: [{
                    "type": "sigstoreSigned",
                    "fulcio": {
                        "caPath": format!("{dir}/fulcio-chain.pem"),
                        "oidcIssuer": site.issuer,
                        "subjectEmail": email,
                    },
                    "rekorPublicKeyPath": format!("{dir}/rekor.pub"),
                    "signedIdentity": {"type": "matchRepository"},
                }]
            },
            "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}
        }
    });
    let mut bytes = serde_json::to_vec_pretty(&policy)?;
    bytes.write_all(b"\n")?;
    Ok(bytes)
}

/// registries.d(5): read sigstore signatures from the registry itself
/// (cosign's `.sig` tags) for the site's registry.
fn registries_d(site: &Site) -> String {
    format!(
        "# containers-registries.d(5): look for cosign signatures (sigstore attachments)\n\
         # in the registry. Install as /etc/containers/registries.d/sigstead.yaml.\n\
         docker:\n  {scope}:\n    use-sigstore-attachments: true\n",
        scope = registry_scope(&site.images)
    )
}

fn readme(report: &crate::mirror::MirrorReport, site: &Site, files: &[String]) -> String {
    let mut s = format!(
        "Sigstead offline verification kit\n\n\
         TUF repository: root version {}, targets version {} (from {}).\n\
         Every file below was verified from the pinned root tuf/root.json before it was written.\n\
         Policies are filled in for images {}, issuer {}, subject {}.\n\n\
         Verify a bundle with this kit alone (no network):\n\
         \x20 sigstead kit verify . --bundle B --artifact A --identity-regexp RE --issuer ISSUER\n\
         \x20 cosign verify-blob --trusted-root trusted_root.json --bundle B --certificate-identity-regexp RE --certificate-oidc-issuer ISSUER A\n\
         \x20 sigstore --trust-config trust_config.json verify identity --bundle B --cert-identity ID --cert-oidc-issuer ISSUER A\n\
         Serve tuf/repository with any static file server for TUF clients (cosign initialize --mirror URL --root tuf/root.json).\n\
         The repository's timestamp expires: `sigstead tuf status --repo tuf/repository --min-days N` says when.\n\nFiles:\n",
        report.root_version, report.targets_version, site.tuf_url, site.images, site.issuer, site.subject_regexp
    );
    for f in files.iter().filter(|f| !f.starts_with("tuf/repository/")) {
        s.push_str(&format!("  {f}\n"));
    }
    s.push_str("  tuf/repository/ (the TUF mirror)\n");
    s
}

/// Writes the kit directory `dir` as one gzipped tarball at `out`.
pub fn tar_directory(dir: &Path, out: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all("sigstead-kit", dir)?;
    tar.into_inner()?.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirror_tarball_reads_back_with_its_prefix_and_refuses_escapes() {
        let files = BTreeMap::from([
            ("1.root.json".to_string(), b"{}".to_vec()),
            ("targets/abc.trusted_root.json".to_string(), b"x".to_vec()),
            ("timestamp.json".to_string(), b"t".to_vec()),
        ]);
        let t = repository_tarball(&files).unwrap();
        assert_eq!(read_repository_tarball(&t).unwrap(), files);
        // The entries are under repository/, directories first (policy-controller's CompressFS layout).
        let mut names = Vec::new();
        let mut a = tar::Archive::new(flate2::read::GzDecoder::new(t.as_slice()));
        for e in a.entries().unwrap() {
            names.push(e.unwrap().path().unwrap().to_string_lossy().into_owned());
        }
        assert_eq!(names[..2], ["repository/", "repository/targets/"]);
        assert!(names.iter().all(|n| n.starts_with("repository/")));
        // An entry outside repository/ is refused.
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut b = tar::Builder::new(gz);
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        h.set_path("etc/passwd").unwrap();
        h.set_cksum();
        b.append(&h, b"x".as_slice()).unwrap();
        let bad = b.into_inner().unwrap().finish().unwrap();
        assert!(read_repository_tarball(&bad).unwrap_err().to_string().contains("not under repository/"));
    }

    #[test]
    fn a_trusted_root_with_a_wrong_log_id_is_refused() {
        let k = sigstead_crypto::EcdsaSigner::generate_p256();
        let s = sigstead_trust::Services {
            rekor: sigstead_trust::LogKey {
                url: "https://rekor.internal".into(),
                spki: sigstead_crypto::Signer::public_key_der(&k).to_vec(),
            },
            ct: None,
            ca: None,
            tsa: None,
            oidc_urls: vec![],
        };
        let (mut tr, _) = sigstead_trust::build(&s, "2026-01-01T00:00:00Z");
        assert!(check_trusted_root(&tr).is_ok());
        tr.tlogs[0].log_id.key_id = STANDARD.encode([0u8; 32]);
        assert!(check_trusted_root(&tr).unwrap_err().to_string().contains("log ID is not the SHA-256"));
    }

    /// The public-good trusted root passes the checks a kit makes (so it can
    /// be federated with `trust-documents --include`).
    #[test]
    fn the_public_good_trusted_root_passes_the_kit_checks() {
        let dir = std::env::var("SIGSTEAD_VECTORS")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors").to_string());
        let tr: TrustedRoot =
            serde_json::from_slice(&std::fs::read(format!("{dir}/public-good/targets/trusted_root.json")).unwrap())
                .unwrap();
        let cur = check_trusted_root(&tr).unwrap();
        assert!(cur.ct_key.is_some() && !cur.ca_chain.is_empty() && !cur.tsa_chain.is_empty());
    }

    #[test]
    fn yaml_blocks_are_indented_and_scalars_quoted() {
        assert_eq!(indent("a\nb\n", 2), "  a\n  b");
        assert_eq!(q("^x\"y$"), "\"^x\\\"y$\"");
        assert_eq!(registry_scope("registry.example.internal/**"), "registry.example.internal");
        assert_eq!(regex_escape("https://a.b"), "https://a\\.b");
    }
}
