//! HTTP-level tests of the Rekor v1 API: requests go through
//! `tower::ServiceExt::oneshot` into `sigstead_rekor::router`, which is backed
//! by a real SQLite log in a temporary directory and a freshly generated log key.
//!
//! Every accepted entry is checked the way clients check it (entry ID, ETag,
//! Location, SET, inclusion proof, signed checkpoint). Every refusal checks
//! the status, upstream's `{"code":N,"message":"..."}` body, and that the log
//! did not change (`GET /api/v1/log` is byte-for-byte the same before and after).
//! Tests of hostile input are named after the attack.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use base64::{engine::general_purpose::STANDARD, Engine};
use http_body_util::BodyExt;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sigstead_crypto::{EcdsaSigner, Signer as _};
use sigstead_merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash};
use sigstead_note::verify_checkpoint_v1;
use sigstead_rekor::config::BatchConfig;
use sigstead_rekor::RekorConfig;
use sigstead_rekor_types::wire;
use sigstead_rekor_types::{canonicalize, pae, set_payload};
use sigstead_server::HttpConfig;
use sigstead_tlog::LogStore as _;
use sigstead_tlog::{Faults, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;

/// `host[:port]` of the configured `public_url`: checkpoint origin host and signer name.
const HOST: &str = "rekor.test.example";
const ENTRIES: &str = "/api/v1/log/entries";
const JSON_CT: &str = "application/json";
const INTOTO: &str = "application/vnd.in-toto+json";

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

struct Rekor {
    app: Router,
    log_key: Arc<EcdsaSigner>,
    tree_id: u64,
    _dir: tempfile::TempDir,
}

/// A plain Rekor API router over a new SQLite log.
async fn start() -> Rekor {
    start_with(None).await
}

/// As [`start`]; with `Some(http)` the router is wrapped in the common
/// server layers (body limit, timeout, ops routes) exactly as `run` does.
async fn start_with(http: Option<HttpConfig>) -> Rekor {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RekorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: format!("https://{HOST}"),
        database_url: "sqlite://rekor.db".parse().unwrap(),
        log_name: "rekor".into(),
        signing_key: sigstead_keys::KeySource::file("key.pem", "key.pass"),
        batch: BatchConfig::default(),
        replication: Default::default(),
        http: http.clone().unwrap_or_default(),
        witnessing: Default::default(),
        monitor: None,
    };
    config.resolve(dir.path()).unwrap();
    let url = config.database_url.to_config_string();
    assert_eq!(url, format!("sqlite://{}", dir.path().join("rekor.db").display()));
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let log_key = Arc::new(EcdsaSigner::generate_p256());
    let rekor = sigstead_rekor::open_with(&config, store, log_key.clone(), Faults::none()).await.unwrap();
    let tree_id = rekor.tree_id();
    let app = match &http {
        Some(http) => sigstead_rekor::app(rekor, http),
        None => sigstead_rekor::router(rekor),
    };
    Rekor { app, log_key, tree_id, _dir: dir }
}

#[derive(Debug)]
struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Resp {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("response is not JSON ({e}): {:?}", self.text()))
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn assert_status(&self, want: u16) {
        assert_eq!(self.status.as_u16(), want, "unexpected status; body: {:?}", self.text());
    }

    fn assert_json_content_type(&self) {
        let ct = self.header(header::CONTENT_TYPE).unwrap_or_default();
        assert_eq!(ct.split(';').next().unwrap().trim(), JSON_CT, "content type of {:?}", self.text());
    }

    /// Asserts upstream's error shape: exactly `{"code": status, "message": "<non-empty>"}`
    /// served as JSON. Returns the message.
    fn assert_error(&self, status: u16) -> String {
        self.assert_status(status);
        self.assert_json_content_type();
        let v = self.json();
        let obj = v.as_object().expect("error body is an object");
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "message"], "error body {v}");
        assert_eq!(v["code"].as_u64(), Some(u64::from(status)), "error body {v}");
        let msg = v["message"].as_str().expect("message is a string").to_string();
        assert!(!msg.is_empty(), "empty error message");
        msg
    }

    /// 404 as upstream serves it: no body.
    fn assert_not_found(&self) {
        self.assert_status(404);
        assert!(self.body.is_empty(), "404 body {:?}", self.text());
    }
}

/// One accepted entry as the POST answered it.
#[derive(Debug, Clone)]
struct Logged {
    id: String,
    entry: Value,
    body: Vec<u8>,
    log_index: u64,
}

impl Logged {
    fn uuid(&self) -> &str {
        &self.id[16..]
    }
    fn body_json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

fn json_request(method: &str, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    b.body(Body::from(body)).unwrap()
}

impl Rekor {
    fn log_spki(&self) -> &[u8] {
        self.log_key.public_key_der()
    }

    fn log_id_hex(&self) -> String {
        hex::encode(sigstead_crypto::log_id(self.log_spki()))
    }

    async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Resp { status, headers, body }
    }

    async fn get(&self, path: &str) -> Resp {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    async fn post(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Resp {
        self.send(json_request("POST", path, content_type, body)).await
    }

    async fn post_json(&self, path: &str, v: &Value) -> Resp {
        self.post(path, Some(JSON_CT), serde_json::to_vec(v).unwrap()).await
    }

    /// `GET /api/v1/log`, with its signed tree head verified.
    async fn info(&self) -> Value {
        let r = self.get("/api/v1/log").await;
        r.assert_status(200);
        r.assert_json_content_type();
        let v = r.json();
        assert_eq!(v["treeID"], json!(self.tree_id.to_string()));
        assert_eq!(v["inactiveShards"], json!([]));
        let cp = verify_checkpoint_v1(v["signedTreeHead"].as_str().unwrap(), Some(HOST), self.log_spki())
            .expect("signedTreeHead verifies with the log key");
        assert_eq!(cp.origin.as_str(), format!("{HOST} - {}", self.tree_id));
        assert_eq!(Some(cp.size), v["treeSize"].as_u64());
        assert_eq!(hex::encode(cp.root_hash), v["rootHash"].as_str().unwrap());
        v
    }

    async fn tree_size(&self) -> u64 {
        self.info().await["treeSize"].as_u64().unwrap()
    }

    /// Sends `req`, asserts an upstream-shaped error with `status`, and that
    /// the log is exactly as before. Returns the error message.
    async fn assert_refused_req(&self, req: Request<Body>, status: u16) -> String {
        let before = self.info().await;
        let resp = self.send(req).await;
        let msg = resp.assert_error(status);
        assert!(resp.header(header::LOCATION).is_none());
        assert!(resp.header(header::ETAG).is_none());
        let after = self.info().await;
        assert_eq!(before, after, "a refused request changed the log");
        msg
    }

    async fn assert_refused(&self, content_type: Option<&str>, body: Vec<u8>, status: u16) -> String {
        self.assert_refused_req(json_request("POST", ENTRIES, content_type, body), status).await
    }

    async fn assert_entry_refused(&self, proposed: &Value, status: u16) -> String {
        self.assert_refused(Some(JSON_CT), serde_json::to_vec(proposed).unwrap(), status).await
    }

    /// Checks one `{entryID: LogEntry}` pair the way clients do and returns the decoded body.
    fn verify_entry(&self, id: &str, entry: &Value) -> (Vec<u8>, u64) {
        assert_eq!(id.len(), 80, "entry ID {id}");
        assert!(id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(id[..16], format!("{:016x}", self.tree_id));
        let mut keys: Vec<&str> = entry.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["body", "integratedTime", "logID", "logIndex", "verification"]);

        let body = STANDARD.decode(entry["body"].as_str().unwrap()).unwrap();
        let leaf = leaf_hash(&body);
        assert_eq!(id[16..], hex::encode(leaf), "entry ID is tree ID + leaf hash");
        assert_eq!(entry["logID"].as_str().unwrap(), self.log_id_hex());
        let index = entry["logIndex"].as_u64().unwrap();
        let integrated = entry["integratedTime"].as_i64().unwrap();
        let now = i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
            .unwrap();
        assert!((now - 600..=now + 5).contains(&integrated), "integratedTime {integrated} vs now {now}");

        let ip = &entry["verification"]["inclusionProof"];
        assert_eq!(ip["logIndex"].as_u64(), Some(index));
        let size = ip["treeSize"].as_u64().unwrap();
        assert!(index < size);
        let root = hash_of(&ip["rootHash"]);
        let cp = verify_checkpoint_v1(ip["checkpoint"].as_str().unwrap(), Some(HOST), self.log_spki())
            .expect("inclusionProof.checkpoint verifies with the log key");
        assert_eq!(cp.origin.as_str(), format!("{HOST} - {}", self.tree_id));
        assert_eq!(cp.size, size, "treeSize == checkpoint size");
        assert_eq!(cp.root_hash, root, "rootHash == checkpoint root");
        let hashes: Vec<Hash> = ip["hashes"].as_array().unwrap().iter().map(hash_of).collect();
        verify_inclusion(index, size, &leaf, &hashes, &root).expect("inclusion proof verifies");

        let set = STANDARD.decode(entry["verification"]["signedEntryTimestamp"].as_str().unwrap()).unwrap();
        let sig = DerSignature::from_bytes(&set).expect("SET is a DER ECDSA signature");
        let vk = VerifyingKey::from_public_key_der(self.log_spki()).unwrap();
        let log_id = sigstead_crypto::log_id(self.log_spki());
        vk.verify(&set_payload(&body, integrated, &log_id, index), &sig).expect("SET verifies over the JCS payload");
        assert!(
            vk.verify(&set_payload(&body, integrated, &log_id, index + 1), &sig).is_err(),
            "SET must bind the log index"
        );
        (body, index)
    }

    /// POSTs a proposed entry, asserts 201 with everything a client checks.
    async fn submit(&self, proposed: &Value) -> Logged {
        let resp = self.post_json(ENTRIES, proposed).await;
        self.check_created(&resp, &serde_json::to_vec(proposed).unwrap())
    }

    fn check_created(&self, resp: &Resp, request: &[u8]) -> Logged {
        resp.assert_status(201);
        resp.assert_json_content_type();
        let v = resp.json();
        let map = v.as_object().unwrap();
        assert_eq!(map.len(), 1, "one entry per response: {v}");
        let (id, entry) = map.iter().next().unwrap();
        assert_eq!(resp.header(header::ETAG), Some(id.as_str()), "ETag is the unquoted entry ID");
        assert_eq!(resp.header(header::LOCATION), Some(format!("{ENTRIES}/{id}").as_str()));
        let (body, log_index) = self.verify_entry(id, entry);
        assert!(log_index >= 1, "index 0 is the genesis entry");
        let canonical = canonicalize(request).expect("the request is valid");
        assert_eq!(
            String::from_utf8(body.clone()).unwrap(),
            String::from_utf8(canonical.body).unwrap(),
            "the leaf is the canonical body"
        );
        Logged { id: id.clone(), entry: entry.clone(), body, log_index }
    }

    /// The newest checkpoint must be the one the entry was proven against (no
    /// other writers in these tests).
    async fn assert_current(&self, logged: &Logged) {
        let info = self.info().await;
        let ip = &logged.entry["verification"]["inclusionProof"];
        assert_eq!(info["treeSize"], ip["treeSize"]);
        assert_eq!(info["rootHash"], ip["rootHash"]);
        assert_eq!(info["treeSize"].as_u64(), Some(logged.log_index + 1));
    }
}

fn hash_of(v: &Value) -> Hash {
    let s = v.as_str().expect("hash is a string");
    hex::decode(s).unwrap().try_into().unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn vectors() -> PathBuf {
    std::env::var("SIGSTEAD_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"))
}

// ---------------------------------------------------------------------------
// Submitters' keys and proposed entries
// ---------------------------------------------------------------------------

struct Key(SigningKey);

impl Key {
    fn new() -> Self {
        Self(SigningKey::random(&mut rand_core::OsRng))
    }
    fn spki_der(&self) -> Vec<u8> {
        self.0.verifying_key().to_public_key_der().unwrap().as_bytes().to_vec()
    }
    fn pem(&self) -> String {
        self.0.verifying_key().to_public_key_pem(LineEnding::LF).unwrap()
    }
    /// ECDSA P-256 / SHA-256, ASN.1 DER.
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let sig: Signature = self.0.sign(msg);
        sig.to_der().as_bytes().to_vec()
    }

    /// A self-signed certificate for this key whose SAN holds `email`.
    fn self_signed_cert_pem(&self, email: &str) -> String {
        let ecdsa_sha256 = seq(&[&tlv(0x06, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02])]);
        let name = seq(&[&tlv(0x31, &seq(&[&tlv(0x06, &[0x55, 0x04, 0x03]), &tlv(0x0C, b"sigstead http test")]))]);
        let validity = seq(&[&tlv(0x17, b"250101000000Z"), &tlv(0x17, b"350101000000Z")]);
        let san = seq(&[&tlv(0x81, email.as_bytes())]);
        let ext_san = seq(&[&tlv(0x06, &[0x55, 0x1D, 0x11]), &tlv(0x04, &san)]);
        let tbs = seq(&[
            &tlv(0xA0, &tlv(0x02, &[0x02])),
            &tlv(0x02, &[0x01, 0x23, 0x45]),
            &ecdsa_sha256,
            &name,
            &validity,
            &name,
            &self.spki_der(),
            &tlv(0xA3, &seq(&[&ext_san])),
        ]);
        let mut bits = vec![0u8];
        bits.extend(self.sign(&tbs));
        let cert = seq(&[&tbs, &ecdsa_sha256, &tlv(0x03, &bits)]);
        sigstead_crypto::pem_encode("CERTIFICATE", &cert)
    }
}

/// DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap());
    } else if len < 0x100 {
        out.extend([0x81, u8::try_from(len).unwrap()]);
    } else {
        out.push(0x82);
        out.extend(u16::try_from(len).unwrap().to_be_bytes());
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A (syntactically valid) 2048-bit RSA SubjectPublicKeyInfo as PEM.
fn rsa_public_key_pem() -> String {
    let alg = seq(&[&tlv(0x06, &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]), &tlv(0x05, &[])]);
    let mut modulus = vec![0x00];
    modulus.extend([0xC3; 256]);
    let rsa_key = seq(&[&tlv(0x02, &modulus), &tlv(0x02, &[0x01, 0x00, 0x01])]);
    let mut bits = vec![0u8];
    bits.extend(rsa_key);
    sigstead_crypto::pem_encode("PUBLIC KEY", &seq(&[&alg, &tlv(0x03, &bits)]))
}

// The proposed entries come from the shared wire builders
// (`sigstead_rekor_types::wire`); these wrappers only add this file's `Key`.

fn hashedrekord_raw(alg: &str, digest_hex: &str, sig_b64: &str, verifier_pem_b64: &str) -> Value {
    wire::hashedrekord_raw(alg, digest_hex, sig_b64, verifier_pem_b64).to_json()
}

/// A hashedrekord over `artifact`, signed by `key`, naming `verifier_pem`.
fn hashedrekord_with(key: &Key, artifact: &[u8], verifier_pem: &str) -> Value {
    wire::hashedrekord(&sha256_hex(artifact), &key.sign(artifact), verifier_pem).to_json()
}

fn hashedrekord(key: &Key, artifact: &[u8]) -> Value {
    hashedrekord_with(key, artifact, &key.pem())
}

/// A DSSE envelope (JSON text) over `payload`, one signature per key.
fn envelope(payload_type: &str, payload: &[u8], signers: &[&Key]) -> String {
    let message = pae(payload_type, payload);
    let sigs: Vec<Vec<u8>> = signers.iter().map(|k| k.sign(&message)).collect();
    wire::Envelope::new(payload_type, payload, &sigs).to_text()
}

fn dsse(envelope: &str, verifiers: &[&Key]) -> Value {
    let pems: Vec<String> = verifiers.iter().map(|k| k.pem()).collect();
    let pems: Vec<&str> = pems.iter().map(String::as_str).collect();
    wire::dsse(envelope, &pems).to_json()
}

fn statement(subject_digest: &str) -> Vec<u8> {
    wire::in_toto_statement("artifact.bin", subject_digest)
}

/// An intoto 0.0.2 proposed entry: payload and signatures double base64.
fn intoto_v002(key: &Key, payload: &[u8]) -> Value {
    wire::intoto_v002(payload, &key.sign(&pae(INTOTO, payload)), &key.pem()).to_json()
}

// ---------------------------------------------------------------------------
// Happy paths
// ---------------------------------------------------------------------------

#[tokio::test]
async fn fresh_log_holds_only_the_signed_genesis_entry() {
    let h = start().await;
    let info = h.info().await;
    assert_eq!(info["treeSize"], json!(1));
    let genesis = h.get(&format!("{ENTRIES}?logIndex=0")).await;
    genesis.assert_status(200);
    let v = genesis.json();
    let (id, entry) = v.as_object().unwrap().iter().next().unwrap();
    let (body, index) = h.verify_entry(id, entry);
    assert_eq!(index, 0);
    // A single-leaf tree's root is the leaf hash.
    assert_eq!(info["rootHash"].as_str().unwrap(), hex::encode(leaf_hash(&body)));
}

#[tokio::test]
async fn hashedrekord_with_public_key_is_logged_with_valid_set_proof_and_checkpoint() {
    let h = start().await;
    let key = Key::new();
    let artifact = b"hello, transparency";
    let logged = h.submit(&hashedrekord(&key, artifact)).await;
    assert_eq!(logged.log_index, 1, "first entry after genesis");
    assert_eq!(logged.entry["verification"]["inclusionProof"]["treeSize"], json!(2));
    h.assert_current(&logged).await;

    let body = logged.body_json();
    assert_eq!(body["kind"], "hashedrekord");
    assert_eq!(body["apiVersion"], "0.0.1");
    assert_eq!(body["spec"]["data"]["hash"], json!({"algorithm": "sha256", "value": sha256_hex(artifact)}));
    let stored_pem = STANDARD.decode(body["spec"]["signature"]["publicKey"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(String::from_utf8(stored_pem).unwrap(), key.pem());
}

#[tokio::test]
async fn hashedrekord_with_self_signed_certificate_is_logged_and_findable_by_email() {
    let h = start().await;
    let key = Key::new();
    let cert = key.self_signed_cert_pem("Alice@Example.com");
    // Clients may send CRLF PEM; the log stores the Go-style LF re-encoding.
    let crlf = cert.replace('\n', "\r\n");
    let logged = h.submit(&hashedrekord_with(&key, b"signed with a cert", &crlf)).await;
    h.assert_current(&logged).await;
    let body = logged.body_json();
    let stored_pem = STANDARD.decode(body["spec"]["signature"]["publicKey"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(String::from_utf8(stored_pem).unwrap(), cert);

    let found = h.post_json("/api/v1/index/retrieve", &json!({"email": "alice@example.com"})).await;
    found.assert_status(200);
    found.assert_json_content_type();
    assert_eq!(found.json(), json!([logged.id]));
}

#[tokio::test]
async fn upstream_sigstore_java_body_is_accepted_and_stored_byte_for_byte() {
    let h = start().await;
    let vector: Value =
        serde_json::from_slice(&std::fs::read(vectors().join("api/rekor-v1/sigstore-java-entry.json")).unwrap())
            .unwrap();
    let (upstream_uuid, upstream_entry) = vector.as_object().unwrap().iter().next().unwrap();
    let request = STANDARD.decode(upstream_entry["body"].as_str().unwrap()).unwrap();
    // A charset parameter on the media type is accepted.
    let resp = h.post(ENTRIES, Some("application/json; charset=utf-8"), request.clone()).await;
    let logged = h.check_created(&resp, &request);
    assert_eq!(logged.body, request, "upstream's canonical body round-trips");
    assert_eq!(logged.uuid(), &upstream_uuid[upstream_uuid.len() - 64..]);
    h.assert_current(&logged).await;
}

#[tokio::test]
async fn upstream_request_fixtures_are_accepted() {
    let h = start().await;
    for name in ["rekor-proposed-entry-hashedrekord.json", "rekor-proposed-entry-dsse.json"] {
        let request = std::fs::read(vectors().join("api/rekor-v1").join(name)).unwrap();
        let resp = h.post(ENTRIES, Some(JSON_CT), request.clone()).await;
        let logged = h.check_created(&resp, &request);
        h.assert_current(&logged).await;
    }
    assert_eq!(h.tree_size().await, 3);
}

#[tokio::test]
async fn dsse_envelope_is_logged_with_hashes_and_verifier() {
    let h = start().await;
    let key = Key::new();
    let subject = sha256_hex(b"the attested artifact");
    let payload = statement(&subject);
    let env = envelope(INTOTO, &payload, &[&key]);
    let logged = h.submit(&dsse(&env, &[&key])).await;
    h.assert_current(&logged).await;

    let body = logged.body_json();
    assert_eq!(body["kind"], "dsse");
    assert_eq!(body["apiVersion"], "0.0.1");
    let spec = &body["spec"];
    assert!(spec.get("proposedContent").is_none(), "envelope is not stored");
    assert_eq!(spec["envelopeHash"], json!({"algorithm": "sha256", "value": sha256_hex(env.as_bytes())}));
    assert_eq!(spec["payloadHash"], json!({"algorithm": "sha256", "value": sha256_hex(&payload)}));
    let env_json: Value = serde_json::from_str(&env).unwrap();
    assert_eq!(
        spec["signatures"],
        json!([{
            "signature": env_json["signatures"][0]["sig"],
            "verifier": STANDARD.encode(key.pem()),
        }])
    );

    // Findable by payload hash and by the in-toto subject digest.
    for hash in [sha256_hex(&payload), subject] {
        let r = h.post_json("/api/v1/index/retrieve", &json!({"hash": format!("sha256:{hash}")})).await;
        r.assert_status(200);
        assert_eq!(r.json(), json!([logged.id]));
    }
}

#[tokio::test]
async fn intoto_v002_double_base64_envelope_is_logged_without_payload() {
    let h = start().await;
    let key = Key::new();
    let payload = statement(&sha256_hex(b"npm package tarball"));
    let proposed = intoto_v002(&key, &payload);
    let logged = h.submit(&proposed).await;
    h.assert_current(&logged).await;

    let body = logged.body_json();
    assert_eq!(body["kind"], "intoto");
    assert_eq!(body["apiVersion"], "0.0.2");
    let content = &body["spec"]["content"];
    let sent = &proposed["spec"]["content"];
    assert!(content["envelope"].get("payload").is_none(), "payload is dropped");
    assert_eq!(content["envelope"]["payloadType"], INTOTO);
    assert_eq!(
        content["envelope"]["signatures"][0]["sig"], sent["envelope"]["signatures"][0]["sig"],
        "signature kept double-encoded as sent"
    );
    assert_eq!(content["hash"], sent["hash"], "client envelope hash kept as sent");
    assert_eq!(content["payloadHash"], json!({"algorithm": "sha256", "value": sha256_hex(&payload)}));
}

#[tokio::test]
async fn successive_entries_get_consecutive_indexes_and_proofs_against_their_checkpoint() {
    let h = start().await;
    let key = Key::new();
    for i in 1..=5u64 {
        let logged = h.submit(&hashedrekord(&key, format!("artifact {i}").as_bytes())).await;
        assert_eq!(logged.log_index, i);
        assert_eq!(logged.entry["verification"]["inclusionProof"]["treeSize"], json!(i + 1));
        h.assert_current(&logged).await;
    }
}

// ---------------------------------------------------------------------------
// Duplicates
// ---------------------------------------------------------------------------

#[tokio::test]
async fn duplicate_entry_is_refused_with_409_and_location_of_the_original() {
    let h = start().await;
    let key = Key::new();
    let proposed = hashedrekord(&key, b"only once");
    let logged = h.submit(&proposed).await;

    let before = h.info().await;
    let resp = h.post_json(ENTRIES, &proposed).await;
    let msg = resp.assert_error(409);
    assert_eq!(msg, format!("an equivalent entry already exists in the transparency log with UUID {}", logged.id));
    assert_eq!(resp.header(header::LOCATION), Some(format!("{ENTRIES}/{}", logged.id).as_str()));
    assert_eq!(h.info().await, before);

    // The Location resolves to the original entry (cosign v2's 409 path).
    let got = h.get(&format!("{ENTRIES}/{}", logged.id)).await;
    got.assert_status(200);
    assert_eq!(got.json()[&logged.id]["logIndex"].as_u64(), Some(logged.log_index));
}

#[tokio::test]
async fn duplicate_via_reencoded_pem_and_reordered_json_is_still_a_duplicate() {
    let h = start().await;
    let key = Key::new();
    let artifact = b"same statement, different bytes";
    let sig = STANDARD.encode(key.sign(artifact));
    let logged = h.submit(&hashedrekord_raw("sha256", &sha256_hex(artifact), &sig, &STANDARD.encode(key.pem()))).await;
    // Same key as CRLF PEM, fields in another order, extra whitespace.
    let crlf_pem = STANDARD.encode(key.pem().replace('\n', "\r\n"));
    let text = format!(
        r#"{{ "spec": {{ "signature": {{ "publicKey": {{ "content": "{crlf_pem}" }}, "content": "{sig}" }},
              "data": {{ "hash": {{ "value": "{}", "algorithm": "sha256" }} }} }},
            "kind": "hashedrekord", "apiVersion": "0.0.1" }}"#,
        sha256_hex(artifact)
    );
    let before = h.info().await;
    let resp = h.post(ENTRIES, Some(JSON_CT), text.into_bytes()).await;
    resp.assert_error(409);
    assert_eq!(resp.header(header::LOCATION), Some(format!("{ENTRIES}/{}", logged.id).as_str()));
    assert_eq!(h.info().await, before);
}

// ---------------------------------------------------------------------------
// Hostile and malformed submissions: 4xx, upstream error shape, log unchanged
// ---------------------------------------------------------------------------

#[tokio::test]
async fn signature_over_different_digest() {
    let h = start().await;
    let key = Key::new();
    let sig = STANDARD.encode(key.sign(b"the artifact that was signed"));
    let other = sha256_hex(b"the artifact the attacker wants logged");
    let proposed = hashedrekord_raw("sha256", &other, &sig, &STANDARD.encode(key.pem()));
    let msg = h.assert_entry_refused(&proposed, 400).await;
    assert!(msg.contains("signature"), "{msg}");
    let r = h.post_json("/api/v1/index/retrieve", &json!({"hash": format!("sha256:{other}")})).await;
    assert_eq!(r.json(), json!([]));
}

#[tokio::test]
async fn signature_by_other_key() {
    let h = start().await;
    let signer = Key::new();
    let victim = Key::new();
    // Signed by one key, attributed to another.
    let proposed = hashedrekord_with(&signer, b"impersonation", &victim.pem());
    let msg = h.assert_entry_refused(&proposed, 400).await;
    assert!(msg.contains("signature"), "{msg}");
}

#[tokio::test]
async fn truncated_signature() {
    let h = start().await;
    let key = Key::new();
    let artifact = b"truncated";
    let mut sig = key.sign(artifact);
    sig.truncate(sig.len() - 5);
    let proposed =
        hashedrekord_raw("sha256", &sha256_hex(artifact), &STANDARD.encode(&sig), &STANDARD.encode(key.pem()));
    h.assert_entry_refused(&proposed, 400).await;
}

#[tokio::test]
async fn empty_signature() {
    let h = start().await;
    let key = Key::new();
    let proposed = hashedrekord_raw("sha256", &sha256_hex(b"x"), "", &STANDARD.encode(key.pem()));
    h.assert_entry_refused(&proposed, 400).await;
}

#[tokio::test]
async fn bad_base64_signature() {
    let h = start().await;
    let key = Key::new();
    let proposed = hashedrekord_raw("sha256", &sha256_hex(b"x"), "MEUCIQ!!not*base64@@", &STANDARD.encode(key.pem()));
    let msg = h.assert_entry_refused(&proposed, 400).await;
    assert!(msg.contains("base64"), "{msg}");
}

#[tokio::test]
async fn malformed_json() {
    let h = start().await;
    for body in [
        &b"{not json"[..],
        b"{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{}",
        b"[]",
        b"null",
        b"\xff\xfe\x00",
    ] {
        h.assert_refused(Some(JSON_CT), body.to_vec(), 400).await;
    }
}

#[tokio::test]
async fn missing_or_null_fields() {
    let h = start().await;
    let key = Key::new();
    let good = hashedrekord(&key, b"fields");
    for pointer in ["/kind", "/apiVersion", "/spec", "/spec/data", "/spec/signature/publicKey"] {
        let mut v = good.clone();
        *v.pointer_mut(pointer).unwrap() = Value::Null;
        h.assert_entry_refused(&v, 400).await;
    }
}

#[tokio::test]
async fn unknown_kind() {
    let h = start().await;
    let proposed = json!({"apiVersion": "0.0.1", "kind": "jar-of-cookies", "spec": {}});
    // Upstream answers an unknown kind with 422 ("invalid kind value").
    let msg = h.assert_entry_refused(&proposed, 422).await;
    assert!(msg.contains("jar-of-cookies"), "{msg}");
}

#[tokio::test]
async fn unsupported_version() {
    let h = start().await;
    let key = Key::new();
    let mut proposed = hashedrekord(&key, b"future");
    proposed["apiVersion"] = json!("9.9.9");
    let msg = h.assert_entry_refused(&proposed, 400).await;
    assert!(msg.contains("9.9.9"), "{msg}");
    // dsse 0.0.2 does not exist either.
    let mut d = dsse(&envelope(INTOTO, b"{}", &[&key]), &[&key]);
    d["apiVersion"] = json!("0.0.2");
    h.assert_entry_refused(&d, 400).await;
}

#[tokio::test]
async fn wrong_content_type() {
    let h = start().await;
    let key = Key::new();
    let body = serde_json::to_vec(&hashedrekord(&key, b"valid but mislabelled")).unwrap();
    for ct in [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/jsonp"), None] {
        let msg = h.assert_refused(ct, body.clone(), 415).await;
        assert!(msg.contains("application/json"), "{msg}");
    }
}

#[tokio::test]
async fn empty_body() {
    let h = start().await;
    let msg = h.assert_refused(Some(JSON_CT), Vec::new(), 422).await;
    assert_eq!(msg, "proposedEntry in body is required");
}

/// A body larger than `http.max_body_bytes`, through the full server stack.
fn oversized_request(key: &Key, with_content_length: bool) -> Request<Body> {
    let mut v = hashedrekord(key, b"oversized");
    v["padding"] = json!("A".repeat(64 * 1024));
    let body = serde_json::to_vec(&v).unwrap();
    let mut b = Request::post(ENTRIES).header(header::CONTENT_TYPE, JSON_CT);
    if with_content_length {
        b = b.header(header::CONTENT_LENGTH, body.len());
    }
    b.body(Body::from(body)).unwrap()
}

fn small_limit() -> HttpConfig {
    HttpConfig { max_body_bytes: 4096, ..HttpConfig::default() }
}

/// Status and "nothing logged" half of `oversized_body`, which is ignored for
/// its error-body shape only.
#[tokio::test]
async fn oversized_body_is_refused_with_413_and_nothing_logged() {
    let h = start_with(Some(small_limit())).await;
    let key = Key::new();
    for with_content_length in [true, false] {
        let before = h.info().await;
        let resp = h.send(oversized_request(&key, with_content_length)).await;
        resp.assert_status(413);
        assert_eq!(h.info().await, before, "content-length: {with_content_length}");
    }
    // A normal entry still fits under the limit.
    let logged = h.submit(&hashedrekord(&key, b"small enough")).await;
    h.assert_current(&logged).await;
}

/// Upstream Rekor answers `{"code":413,"message":"request body exceeds
/// max_request_body_size limit of N bytes"}` (`logAndServeError`).
#[tokio::test]
async fn oversized_body() {
    let h = start_with(Some(small_limit())).await;
    let key = Key::new();
    h.assert_refused_req(oversized_request(&key, true), 413).await;
    h.assert_refused_req(oversized_request(&key, false), 413).await;
}

#[tokio::test]
async fn hash_length_mismatch() {
    let h = start().await;
    let key = Key::new();
    let artifact = b"length";
    let sig = STANDARD.encode(key.sign(artifact));
    let pem = STANDARD.encode(key.pem());
    let full = sha256_hex(artifact);
    for (alg, value) in [
        ("sha256", full[..40].to_string()),
        ("sha256", format!("{full}00")),
        ("sha512", full.clone()),
        ("sha384", full.clone()),
        ("sha256", format!("{}zz", &full[..62])),
        ("sha256", String::new()),
    ] {
        let msg = h.assert_entry_refused(&hashedrekord_raw(alg, &value, &sig, &pem), 400).await;
        assert!(msg.contains("hex"), "{alg} {value:?}: {msg}");
    }
}

#[tokio::test]
async fn sha1_algorithm() {
    let h = start().await;
    let key = Key::new();
    let artifact = b"sha1 is broken";
    let sha1_len_hex = &sha256_hex(artifact)[..40];
    let proposed =
        hashedrekord_raw("sha1", sha1_len_hex, &STANDARD.encode(key.sign(artifact)), &STANDARD.encode(key.pem()));
    let msg = h.assert_entry_refused(&proposed, 400).await;
    assert!(msg.contains("sha1"), "{msg}");
    let mut md5 = proposed.clone();
    md5["spec"]["data"]["hash"] = json!({"algorithm": "md5", "value": &sha1_len_hex[..32]});
    h.assert_entry_refused(&md5, 400).await;
}

#[tokio::test]
async fn dsse_signature_not_matching_verifier() {
    let h = start().await;
    let signer = Key::new();
    let listed = Key::new();
    let env = envelope(INTOTO, &statement(&sha256_hex(b"a")), &[&signer]);
    let msg = h.assert_entry_refused(&dsse(&env, &[&listed]), 400).await;
    assert!(msg.contains("signature"), "{msg}");
}

#[tokio::test]
async fn dsse_extra_signature_by_unlisted_key() {
    let h = start().await;
    let listed = Key::new();
    let unlisted = Key::new();
    // Every envelope signature must be verified by a listed verifier.
    let env = envelope(INTOTO, &statement(&sha256_hex(b"b")), &[&listed, &unlisted]);
    h.assert_entry_refused(&dsse(&env, &[&listed]), 400).await;
}

#[tokio::test]
async fn dsse_payload_swapped_after_signing() {
    let h = start().await;
    let key = Key::new();
    let env = envelope(INTOTO, &statement(&sha256_hex(b"good")), &[&key]);
    let mut v: Value = serde_json::from_str(&env).unwrap();
    v["payload"] = json!(STANDARD.encode(statement(&sha256_hex(b"evil"))));
    let tampered = serde_json::to_string(&v).unwrap();
    h.assert_entry_refused(&dsse(&tampered, &[&key]), 400).await;
}

#[tokio::test]
async fn dsse_unsigned_envelope() {
    let h = start().await;
    let key = Key::new();
    let env = envelope(INTOTO, b"{}", &[]);
    h.assert_entry_refused(&dsse(&env, &[&key]), 400).await;
    let no_verifiers = dsse(&envelope(INTOTO, b"{}", &[&key]), &[]);
    h.assert_entry_refused(&no_verifiers, 400).await;
}

#[tokio::test]
async fn intoto_v002_signature_by_other_key() {
    let h = start().await;
    let signer = Key::new();
    let victim = Key::new();
    let mut proposed = intoto_v002(&signer, &statement(&sha256_hex(b"c")));
    proposed["spec"]["content"]["envelope"]["signatures"][0]["publicKey"] = json!(STANDARD.encode(victim.pem()));
    h.assert_entry_refused(&proposed, 400).await;
}

#[tokio::test]
async fn intoto_v002_single_base64_signature() {
    let h = start().await;
    let key = Key::new();
    let payload = statement(&sha256_hex(b"d"));
    let mut proposed = intoto_v002(&key, &payload);
    // The raw DER signature base64'd once (a client that forgot the double encoding).
    proposed["spec"]["content"]["envelope"]["signatures"][0]["sig"] =
        json!(STANDARD.encode(key.sign(&pae(INTOTO, &payload))));
    h.assert_entry_refused(&proposed, 400).await;
}

/// RSA verifiers are accepted (PKCS#1 v1.5, as upstream); a signature that is
/// not by the key is not.
#[tokio::test]
async fn rsa_signature_forged() {
    let h = start().await;
    let proposed = hashedrekord_raw(
        "sha256",
        &sha256_hex(b"rsa"),
        &STANDARD.encode([0x5A; 256]),
        &STANDARD.encode(rsa_public_key_pem()),
    );
    let msg = h.assert_entry_refused(&proposed, 400).await;
    assert!(msg.contains("signature"), "{msg}");
}

#[tokio::test]
async fn pem_garbage_verifier() {
    let h = start().await;
    let key = Key::new();
    let artifact = b"garbage key";
    let sig = STANDARD.encode(key.sign(artifact));
    let digest = sha256_hex(artifact);
    let truncated_pem = {
        let pem = key.pem();
        let mut lines: Vec<&str> = pem.lines().collect();
        lines.remove(1);
        lines.join("\n") + "\n"
    };
    for verifier in [
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".to_string(),
        "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n".to_string(),
        "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n".to_string(),
        "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n".to_string(),
        "not a pem at all".to_string(),
        String::new(),
        truncated_pem,
    ] {
        let proposed = hashedrekord_raw("sha256", &digest, &sig, &STANDARD.encode(&verifier));
        h.assert_entry_refused(&proposed, 400).await;
    }
    // The verifier field itself not base64.
    let proposed = hashedrekord_raw("sha256", &digest, &sig, "%%%");
    h.assert_entry_refused(&proposed, 400).await;
}

// ---------------------------------------------------------------------------
// Reads: by index, by UUID
// ---------------------------------------------------------------------------

#[tokio::test]
async fn get_entry_by_log_index_returns_the_posted_entry() {
    let h = start().await;
    let key = Key::new();
    let a = h.submit(&hashedrekord(&key, b"first")).await;
    let b = h.submit(&hashedrekord(&key, b"second")).await;
    for logged in [&a, &b] {
        let r = h.get(&format!("{ENTRIES}?logIndex={}", logged.log_index)).await;
        r.assert_status(200);
        r.assert_json_content_type();
        let v = r.json();
        let map = v.as_object().unwrap();
        assert_eq!(map.len(), 1);
        let entry = &map[&logged.id];
        let (body, index) = h.verify_entry(&logged.id, entry);
        assert_eq!(body, logged.body);
        assert_eq!(index, logged.log_index);
        assert_eq!(entry["integratedTime"], logged.entry["integratedTime"]);
        assert_eq!(entry["logID"], logged.entry["logID"]);
        // Proven against the current tree, not the one at submission.
        assert_eq!(entry["verification"]["inclusionProof"]["treeSize"], json!(3));
    }
}

#[tokio::test]
async fn get_entry_by_log_index_out_of_range_or_invalid() {
    let h = start().await;
    let key = Key::new();
    h.submit(&hashedrekord(&key, b"one")).await;
    for idx in ["2", "999999", "9223372036854775807"] {
        h.get(&format!("{ENTRIES}?logIndex={idx}")).await.assert_not_found();
    }
    for query in ["", "?logIndex=", "?logIndex=-1", "?logIndex=abc", "?logIndex=1.5", "?other=1"] {
        h.get(&format!("{ENTRIES}{query}")).await.assert_error(422);
    }
    assert_eq!(h.tree_size().await, 2);
}

#[tokio::test]
async fn get_entry_by_uuid_in_both_forms() {
    let h = start().await;
    let key = Key::new();
    let logged = h.submit(&hashedrekord(&key, b"by uuid")).await;
    for form in [logged.id.clone(), logged.uuid().to_string(), logged.id.to_uppercase()] {
        let r = h.get(&format!("{ENTRIES}/{form}")).await;
        r.assert_status(200);
        r.assert_json_content_type();
        let v = r.json();
        let map = v.as_object().unwrap();
        assert_eq!(map.len(), 1);
        let (body, index) = h.verify_entry(&logged.id, &map[&logged.id]);
        assert_eq!(body, logged.body);
        assert_eq!(index, logged.log_index);
    }
}

#[tokio::test]
async fn get_entry_by_unknown_or_malformed_uuid() {
    let h = start().await;
    let key = Key::new();
    let logged = h.submit(&hashedrekord(&key, b"exists")).await;
    let unknown = hex::encode(leaf_hash(b"never logged"));
    let other_tree = format!("{:016x}{}", h.tree_id ^ 1, logged.uuid());
    for id in [unknown.clone(), format!("{:016x}{unknown}", h.tree_id), other_tree] {
        h.get(&format!("{ENTRIES}/{id}")).await.assert_not_found();
    }
    for id in [
        "xyz".to_string(),
        logged.uuid()[1..].to_string(),
        format!("{}0", logged.uuid()),
        "g".repeat(64),
        format!("{}{}", "z".repeat(16), logged.uuid()),
        format!("{}%20", &logged.uuid()[..61]),
    ] {
        h.get(&format!("{ENTRIES}/{id}")).await.assert_error(400);
    }
    assert_eq!(h.tree_size().await, 2);
}

// ---------------------------------------------------------------------------
// entries/retrieve
// ---------------------------------------------------------------------------

fn retrieved_ids(r: &Resp) -> Vec<String> {
    r.assert_status(200);
    r.assert_json_content_type();
    r.json()
        .as_array()
        .expect("retrieve answers an array")
        .iter()
        .map(|m| {
            let m = m.as_object().unwrap();
            assert_eq!(m.len(), 1);
            m.keys().next().unwrap().clone()
        })
        .collect()
}

#[tokio::test]
async fn retrieve_by_uuids_indexes_and_proposed_entries() {
    let h = start().await;
    let key = Key::new();
    let pa = hashedrekord(&key, b"retrieve a");
    let pb = hashedrekord(&key, b"retrieve b");
    let a = h.submit(&pa).await;
    let b = h.submit(&pb).await;
    let path = "/api/v1/log/entries/retrieve";

    let r = h.post_json(path, &json!({"entryUUIDs": [a.id, b.uuid()]})).await;
    assert_eq!(retrieved_ids(&r), vec![a.id.clone(), b.id.clone()]);
    let v = r.json();
    let (body, _) = h.verify_entry(&a.id, &v[0][&a.id]);
    assert_eq!(body, a.body);

    let r = h.post_json(path, &json!({"logIndexes": [b.log_index]})).await;
    assert_eq!(retrieved_ids(&r), vec![b.id.clone()]);

    let r = h.post_json(path, &json!({"entries": [pa]})).await;
    assert_eq!(retrieved_ids(&r), vec![a.id.clone()]);

    // The trailing-slash route behaves the same.
    let r = h.post_json(&format!("{path}/"), &json!({"entries": [pb], "logIndexes": [a.log_index]})).await;
    let mut ids = retrieved_ids(&r);
    ids.sort();
    let mut want = vec![a.id.clone(), b.id.clone()];
    want.sort();
    assert_eq!(ids, want);

    // Unknown UUIDs and indexes are simply absent.
    let unknown = hex::encode(leaf_hash(b"nope"));
    let r = h.post_json(path, &json!({"entryUUIDs": [unknown], "logIndexes": [99]})).await;
    assert!(retrieved_ids(&r).is_empty());
    assert_eq!(h.tree_size().await, 3);
}

#[tokio::test]
async fn retrieve_more_than_ten_is_refused_with_422() {
    let h = start().await;
    let key = Key::new();
    let a = h.submit(&hashedrekord(&key, b"limit")).await;
    let path = "/api/v1/log/entries/retrieve";
    let ten: Vec<u64> = vec![a.log_index; 10];
    let r = h.post_json(path, &json!({"logIndexes": ten})).await;
    assert_eq!(retrieved_ids(&r).len(), 10);

    let before = h.info().await;
    let eleven: Vec<u64> = vec![a.log_index; 11];
    h.post_json(path, &json!({"logIndexes": eleven})).await.assert_error(422);
    // The limit counts across the three lists.
    let mixed = json!({
        "entryUUIDs": vec![a.id.clone(); 4],
        "logIndexes": vec![a.log_index; 4],
        "entries": vec![hashedrekord(&key, b"limit"); 3],
    });
    h.post_json(path, &mixed).await.assert_error(422);
    assert_eq!(h.info().await, before);
}

#[tokio::test]
async fn retrieve_rejects_bad_requests() {
    let h = start().await;
    let path = "/api/v1/log/entries/retrieve";
    let before = h.info().await;
    h.post_json(path, &json!({"entryUUIDs": ["not-a-uuid"]})).await.assert_error(400);
    h.post(path, Some(JSON_CT), b"{oops".to_vec()).await.assert_error(400);
    h.post(path, Some("text/plain"), b"{}".to_vec()).await.assert_error(415);
    h.post_json(path, &json!({"logIndexes": [-1]})).await.assert_error(422);
    h.post_json(path, &json!({"entries": [{"kind": "nope", "apiVersion": "0.0.1", "spec": {}}]}))
        .await
        .assert_error(400);
    assert_eq!(h.info().await, before);
}

// ---------------------------------------------------------------------------
// Consistency proofs
// ---------------------------------------------------------------------------

async fn proof(h: &Rekor, query: &str) -> Resp {
    h.get(&format!("/api/v1/log/proof?{query}")).await
}

fn proof_hashes(v: &Value) -> Vec<Hash> {
    v["hashes"].as_array().unwrap().iter().map(hash_of).collect()
}

#[tokio::test]
async fn consistency_proofs_verify_between_observed_roots() {
    let h = start().await;
    let info1 = h.info().await;
    assert_eq!(info1["treeSize"], json!(1));
    let root1 = hash_of(&info1["rootHash"]);

    let key = Key::new();
    let first = h.submit(&hashedrekord(&key, b"c1")).await;
    let ip2 = &first.entry["verification"]["inclusionProof"];
    let (size2, root2) = (ip2["treeSize"].as_u64().unwrap(), hash_of(&ip2["rootHash"]));
    assert_eq!(size2, 2);
    for i in 2..=6 {
        h.submit(&hashedrekord(&key, format!("c{i}").as_bytes())).await;
    }
    let info = h.info().await;
    let (size, root) = (info["treeSize"].as_u64().unwrap(), hash_of(&info["rootHash"]));
    assert_eq!(size, 7);

    for (first_size, old_root) in [(1, root1), (size2, root2)] {
        let r = proof(&h, &format!("firstSize={first_size}&lastSize={size}")).await;
        r.assert_status(200);
        r.assert_json_content_type();
        let v = r.json();
        assert_eq!(hash_of(&v["rootHash"]), root);
        verify_consistency(first_size, size, &proof_hashes(&v), &old_root, &root).expect("consistency proof verifies");
    }

    // firstSize defaults to 1; an older lastSize is answered with that tree's root.
    let r = proof(&h, &format!("lastSize={size2}")).await;
    r.assert_status(200);
    let v = r.json();
    assert_eq!(hash_of(&v["rootHash"]), root2);
    verify_consistency(1, size2, &proof_hashes(&v), &root1, &root2).unwrap();

    // Same size: no hashes; treeID naming this log is accepted.
    let r = proof(&h, &format!("firstSize={size}&lastSize={size}&treeID={}", h.tree_id)).await;
    r.assert_status(200);
    assert_eq!(r.json()["hashes"], json!([]));
    assert_eq!(hash_of(&r.json()["rootHash"]), root);
}

#[tokio::test]
async fn consistency_proof_bad_sizes() {
    let h = start().await;
    let key = Key::new();
    h.submit(&hashedrekord(&key, b"p1")).await;
    h.submit(&hashedrekord(&key, b"p2")).await;
    let before = h.info().await;
    proof(&h, "firstSize=3&lastSize=2").await.assert_error(400);
    proof(&h, "firstSize=1&lastSize=4").await.assert_error(400);
    proof(&h, "firstSize=1&lastSize=1000000").await.assert_error(400);
    proof(&h, &format!("firstSize=1&lastSize=3&treeID={}", h.tree_id ^ 1)).await.assert_error(400);
    proof(&h, "firstSize=1").await.assert_error(422);
    proof(&h, "firstSize=0&lastSize=3").await.assert_error(422);
    proof(&h, "firstSize=1&lastSize=0").await.assert_error(422);
    proof(&h, "firstSize=x&lastSize=3").await.assert_error(422);
    assert_eq!(h.info().await, before);
}

// ---------------------------------------------------------------------------
// Public key
// ---------------------------------------------------------------------------

#[tokio::test]
async fn public_key_is_the_log_signer_pem() {
    let h = start().await;
    let r = h.get("/api/v1/log/publicKey").await;
    r.assert_status(200);
    assert_eq!(r.header(header::CONTENT_TYPE), Some("application/x-pem-file"));
    assert_eq!(r.text(), h.log_key.public_key_pem());
    let parsed = sigstead_crypto::VerifierMaterial::parse(&r.body).unwrap();
    assert_eq!(parsed.spki_der, h.log_spki());

    let r = h.get(&format!("/api/v1/log/publicKey?treeID={}", h.tree_id)).await;
    r.assert_status(200);
    assert_eq!(r.text(), h.log_key.public_key_pem());
    h.get(&format!("/api/v1/log/publicKey?treeID={}", h.tree_id ^ 1)).await.assert_error(400);
}

// ---------------------------------------------------------------------------
// index/retrieve
// ---------------------------------------------------------------------------

const SEARCH: &str = "/api/v1/index/retrieve";

async fn search(h: &Rekor, q: Value) -> Vec<String> {
    let r = h.post_json(SEARCH, &q).await;
    r.assert_status(200);
    r.assert_json_content_type();
    serde_json::from_value(r.json()).expect("search answers an array of IDs")
}

#[tokio::test]
async fn search_index_by_hash_public_key_and_email() {
    let h = start().await;
    let key = Key::new();
    let cert_key = Key::new();
    let artifact = b"searchable artifact";
    let digest = sha256_hex(artifact);
    let by_key = h.submit(&hashedrekord(&key, artifact)).await;
    let cert = cert_key.self_signed_cert_pem("bob@example.org");
    let by_cert = h.submit(&hashedrekord_with(&cert_key, b"cert artifact", &cert)).await;
    let mut both = vec![by_key.id.clone(), by_cert.id.clone()];
    both.sort();

    assert_eq!(search(&h, json!({"hash": format!("sha256:{digest}")})).await, vec![by_key.id.clone()]);
    assert_eq!(search(&h, json!({"hash": digest})).await, vec![by_key.id.clone()]);
    assert_eq!(search(&h, json!({"hash": format!("SHA256:{}", digest.to_uppercase())})).await, vec![by_key.id.clone()]);
    assert!(search(&h, json!({"hash": sha256_hex(b"unknown")})).await.is_empty());
    // Valid digests of algorithms that are not indexed find nothing.
    assert!(search(&h, json!({"hash": format!("sha1:{}", &digest[..40])})).await.is_empty());

    let pk = |pem: &str| json!({"publicKey": {"format": "x509", "content": STANDARD.encode(pem)}});
    assert_eq!(search(&h, pk(&key.pem())).await, vec![by_key.id.clone()]);
    // A certificate is found by its key, whether searched by certificate or key.
    assert_eq!(search(&h, pk(&cert)).await, vec![by_cert.id.clone()]);
    assert_eq!(search(&h, pk(&cert_key.pem())).await, vec![by_cert.id.clone()]);
    assert!(search(&h, pk(&Key::new().pem())).await.is_empty());

    assert_eq!(search(&h, json!({"email": "BOB@example.org"})).await, vec![by_cert.id.clone()]);
    assert!(search(&h, json!({"email": "mallory@example.org"})).await.is_empty());

    // Operators.
    let hash_and_email =
        |op: &str| json!({"hash": format!("sha256:{digest}"), "email": "bob@example.org", "operator": op});
    assert_eq!(search(&h, hash_and_email("or")).await, both);
    assert!(search(&h, hash_and_email("and")).await.is_empty());
    let mut q = pk(&key.pem());
    q["hash"] = json!(digest);
    q["operator"] = json!("and");
    assert_eq!(search(&h, q).await, vec![by_key.id.clone()]);
}

#[tokio::test]
async fn search_index_rejects_bad_queries() {
    let h = start().await;
    let key = Key::new();
    h.submit(&hashedrekord(&key, b"x")).await;
    let before = h.info().await;
    let content = STANDARD.encode(key.pem());
    for format in ["pgp", "minisign", "ssh", "tuf", "X509"] {
        let msg =
            h.post_json(SEARCH, &json!({"publicKey": {"format": format, "content": content}})).await.assert_error(400);
        assert!(msg.contains("not supported"), "{format}: {msg}");
    }
    h.post_json(SEARCH, &json!({"publicKey": {"format": "x509"}})).await.assert_error(400);
    h.post_json(SEARCH, &json!({"publicKey": {"format": "x509", "content": "%%%"}})).await.assert_error(400);
    h.post_json(SEARCH, &json!({"publicKey": {"format": "x509", "content": STANDARD.encode("garbage")}}))
        .await
        .assert_error(400);
    for hash in ["sha256:zz", "sha256:abcd", "md5:d41d8cd98f00b204e9800998ecf8427e", ""] {
        h.post_json(SEARCH, &json!({"hash": hash})).await.assert_error(422);
    }
    h.post_json(SEARCH, &json!({"hash": sha256_hex(b"x"), "operator": "xor"})).await.assert_error(422);
    h.post(SEARCH, Some(JSON_CT), b"{".to_vec()).await.assert_error(400);
    h.post(SEARCH, Some("text/plain"), b"{}".to_vec()).await.assert_error(415);
    assert_eq!(h.info().await, before);
}
