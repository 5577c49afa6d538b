// Sigstead log explorer: checks an entry's inclusion in this browser.
//
// From /api/proof/{uuid} (body, inclusion proof, signed checkpoint) and
// /api/trust/logs (the Rekor log keys of the trusted root), with WebCrypto:
//   1. the RFC 6962 leaf hash of the body equals the entry UUID;
//   2. the inclusion proof leads from that leaf to a root (RFC 9162 2.1.3.2);
//   3. the signed checkpoint names that tree size and that root;
//   4. the checkpoint's signature verifies with the key the trusted root
//      lists for this log's URL (key hint = first 4 bytes of SHA-256(SPKI)).
// Nothing the server says is taken on trust but the trusted root's key; any
// failed step is shown with its reason.

const enc = new TextEncoder();

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(s) {
  if (typeof s !== "string" || s.length % 2 !== 0 || /[^0-9a-fA-F]/.test(s)) {
    throw new Error(`not hex: ${String(s).slice(0, 80)}`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
  return out;
}

function b64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function sha256(...parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    buf.set(p, off);
    off += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
}

const leafHash = (body) => sha256(Uint8Array.of(0), body);
const nodeHash = (l, r) => sha256(Uint8Array.of(1), l, r);

// RFC 9162 2.1.3.2: the root an inclusion proof leads to.
async function rootFromInclusion(index, size, leaf, proof) {
  if (!(index < size)) throw new Error(`leaf index ${index} is not below the tree size ${size}`);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new Error("the proof has more hashes than the tree needs");
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("the proof has fewer hashes than the tree needs");
  return r;
}

// A signed note: text (ending in "\n"), then a blank line, then "— name base64" lines.
function parseNote(note) {
  const cut = note.indexOf("\n\n");
  if (cut < 0) throw new Error("the checkpoint is not a signed note (no blank line)");
  const text = note.slice(0, cut + 1);
  const sigs = [];
  for (const line of note.slice(cut + 2).split("\n")) {
    if (line === "") continue;
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new Error(`malformed signature line: ${line.slice(0, 80)}`);
    const raw = b64(m[2]);
    if (raw.length < 5) throw new Error("signature line too short");
    sigs.push({ name: m[1], hint: raw.slice(0, 4), sig: raw.slice(4) });
  }
  const lines = text.split("\n");
  if (lines.length < 4) throw new Error("the checkpoint body has fewer than three lines");
  const size = Number(lines[1]);
  if (!/^[0-9]+$/.test(lines[1]) || !Number.isSafeInteger(size)) throw new Error(`bad tree size line: ${lines[1]}`);
  return { text, origin: lines[0], size, root: b64(lines[2]), sigs };
}

// ASN.1 DER ECDSA-Sig-Value -> IEEE P1363 r||s, as WebCrypto wants it.
function derToRaw(der, n) {
  let i = 0;
  const expect = (tag) => {
    if (der[i++] !== tag) throw new Error("the signature is not DER ECDSA");
  };
  const len = () => {
    let l = der[i++];
    if (l & 0x80) {
      const k = l & 0x7f;
      l = 0;
      for (let j = 0; j < k; j++) l = (l << 8) | der[i++];
    }
    return l;
  };
  expect(0x30);
  len();
  const out = new Uint8Array(2 * n);
  for (let part = 0; part < 2; part++) {
    expect(0x02);
    let l = len();
    let v = der.slice(i, i + l);
    i += l;
    while (v.length > n && v[0] === 0) v = v.slice(1);
    if (v.length > n) throw new Error("signature integer too long");
    out.set(v, part * n + (n - v.length));
  }
  return out;
}

async function verifyNoteSignature(text, sig, spki, details) {
  const data = enc.encode(text);
  if (/ED25519/i.test(details)) {
    const key = await crypto.subtle.importKey("spki", spki, { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, sig, data);
  }
  const p384 = /P384/i.test(details);
  const curve = p384 ? "P-384" : "P-256";
  const hash = p384 ? "SHA-384" : "SHA-256";
  const key = await crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: curve }, false, ["verify"]);
  return crypto.subtle.verify({ name: "ECDSA", hash }, key, derToRaw(sig, p384 ? 48 : 32), data);
}

const strip = (u) => String(u).replace(/\/+$/, "");

async function getJSON(url) {
  const r = await fetch(url, { headers: { accept: "application/json" }, cache: "no-store" });
  if (!r.ok) throw new Error(`${url} answered HTTP ${r.status}`);
  return r.json();
}

async function verifyEntry(section) {
  const result = document.getElementById("verify-result");
  const steps = document.getElementById("verify-steps");
  const step = (ok, text) => {
    const li = document.createElement("li");
    li.className = ok ? "ok" : "fail";
    li.textContent = `${ok ? "\u2714" : "\u2718"} ${text}`;
    steps.appendChild(li);
  };
  const fail = (reason) => {
    result.className = "fail";
    result.textContent = `\u2718 Verification failed: ${reason}`;
    section.dataset.verdict = "failed";
  };
  try {
    if (!window.crypto || !crypto.subtle) {
      throw new Error("WebCrypto is not available: browsers offer it only on secure origins (serve the explorer over HTTPS)");
    }
    const uuid = section.dataset.uuid;
    const [proof, trust] = await Promise.all([
      getJSON(`/api/proof/${encodeURIComponent(uuid)}`),
      getJSON("/api/trust/logs"),
    ]);
    const body = b64(proof.body);
    const leaf = await leafHash(body);
    const want = uuid.slice(-64).toLowerCase();
    if (hex(leaf) !== want) {
      step(false, `leaf hash of the body is ${hex(leaf)}, not the entry UUID ${want}`);
      throw new Error("the body does not hash to the entry UUID");
    }
    step(true, `leaf hash of the canonical body (SHA-256 of 0x00 \u2016 body) equals the entry UUID`);

    const hashes = proof.hashes.map(unhex);
    const root = await rootFromInclusion(proof.logIndex, proof.treeSize, leaf, hashes);
    step(true, `inclusion proof of ${hashes.length} hashes leads from leaf ${proof.logIndex} to root ${hex(root)} of a tree of ${proof.treeSize}`);

    const cp = parseNote(proof.checkpoint);
    if (cp.size !== proof.treeSize) {
      step(false, `the checkpoint is for tree size ${cp.size}, the proof for ${proof.treeSize}`);
      throw new Error("the checkpoint does not cover the proof's tree");
    }
    if (!equal(cp.root, root)) {
      step(false, `the checkpoint's root ${hex(cp.root)} differs from the recomputed root ${hex(root)}`);
      throw new Error("the inclusion proof does not lead to the checkpoint's root");
    }
    step(true, `checkpoint "${cp.origin}" names tree size ${cp.size} and the recomputed root`);

    const logs = (trust.tlogs || []).filter((l) => strip(l.baseUrl) === strip(proof.rekorUrl));
    if (logs.length === 0) {
      step(false, `the trusted root lists no log key for ${proof.rekorUrl}`);
      throw new Error("no log key for this log in the trusted root");
    }
    let verified = null;
    const tried = [];
    for (const log of logs) {
      const spki = b64(log.publicKey);
      const hint = (await sha256(spki)).slice(0, 4);
      for (const s of cp.sigs.filter((s) => equal(s.hint, hint))) {
        tried.push(log.logId);
        if (await verifyNoteSignature(cp.text, s.sig, spki, log.keyDetails)) {
          verified = { log, name: s.name };
          break;
        }
      }
      if (verified) break;
    }
    if (!verified) {
      const why = tried.length
        ? `the checkpoint signature does not verify with the log key ${tried.join(", ")}`
        : `no checkpoint signature is by a log key of the trusted root for ${proof.rekorUrl}`;
      step(false, why);
      throw new Error(why);
    }
    step(true, `checkpoint signature by "${verified.name}" verified with the log key ${verified.log.logId} of the trusted root (${trust.source})`);
    result.className = "ok";
    result.textContent = `\u2714 Inclusion proof verified: entry ${proof.logIndex} is in the log's tree of size ${proof.treeSize}, under a checkpoint signed by the log key from the trusted root.`;
    section.dataset.verdict = "verified";
  } catch (e) {
    fail(e && e.message ? e.message : String(e));
  }
}

const section = document.getElementById("verification");
if (section) verifyEntry(section);
