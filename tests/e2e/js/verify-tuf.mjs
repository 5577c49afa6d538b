#!/usr/bin/env node
// verify-tuf.mjs: bundle verification with sigstore 4.1.1 whose trust root comes
// from a TUF repository (sigstore.createVerifier with tufMirrorURL / tufRootPath /
// tufCachePath, i.e. @sigstore/tuf 4.0.2 on tuf-js), for tests/e2e/tuf.sh.
//
//   node verify-tuf.mjs --tuf-mirror-url URL --tuf-root-path 1.root.json
//                       --tuf-cache-path DIR --bundle FILE
//                       --certificate-identity EMAIL --certificate-oidc-issuer URL ARTIFACT
//
// The root path only seeds an empty cache (DIR/<encodeURIComponent(host+path)>/root.json);
// later runs on the same DIR start from the root the cache holds and refresh it.
// The SAN is matched as an unanchored regex by @sigstore/verify, so it is
// regex-escaped and anchored here. For DSSE bundles the in-toto subject must
// carry the artifact's sha256 (the library checks only the envelope).
//
// Exit status: 0 verified (prints "verified: root=<cached root version>
// trusted_root_sha256=<sha256 of the trusted_root.json target in the cache>"),
// 1 verification failed ("verification failed: ..."), 2 usage or input error,
// 3 TUF failure ("tuf failed: ..."): the trust root could not be obtained.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { createVerifier } from 'sigstore';

function die(code, prefix, msg) {
  console.error(`${prefix}: ${msg}`);
  process.exit(code);
}
const causes = (e) => {
  const out = [];
  for (let c = e; c; c = c.cause) out.push(c.message || String(c));
  return out.join(': ');
};

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      'tuf-mirror-url': { type: 'string' },
      'tuf-root-path': { type: 'string' },
      'tuf-cache-path': { type: 'string' },
      bundle: { type: 'string' },
      'certificate-identity': { type: 'string' },
      'certificate-oidc-issuer': { type: 'string' },
    },
  });
} catch (e) {
  die(2, 'usage', e.message);
}
const { values: opt, positionals } = parsed;
for (const k of ['tuf-mirror-url', 'tuf-root-path', 'tuf-cache-path', 'bundle', 'certificate-identity', 'certificate-oidc-issuer']) {
  if (!opt[k]) die(2, 'usage', `--${k} is required`);
}
if (positionals.length !== 1) die(2, 'usage', 'exactly one ARTIFACT');

let bundle, artifact;
try {
  bundle = JSON.parse(readFileSync(opt.bundle, 'utf8'));
  artifact = readFileSync(positionals[0]);
} catch (e) {
  die(2, 'usage', `cannot load input: ${e.message}`);
}

const escaped = opt['certificate-identity'].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
let verifier;
try {
  verifier = await createVerifier({
    tufMirrorURL: opt['tuf-mirror-url'],
    tufRootPath: opt['tuf-root-path'],
    tufCachePath: opt['tuf-cache-path'],
    certificateIdentityEmail: `^${escaped}$`,
    certificateIssuer: opt['certificate-oidc-issuer'],
    ctLogThreshold: 1,
    tlogThreshold: 1,
  });
} catch (e) {
  die(3, 'tuf failed', causes(e));
}
try {
  verifier.verify(bundle, artifact);
} catch (e) {
  die(1, 'verification failed', causes(e));
}
// For a DSSE bundle the library verifies the envelope, not the artifact: the
// in-toto statement must name the artifact (by sha256) as a subject.
const env = bundle.dsseEnvelope;
if (env) {
  let stmt;
  try {
    stmt = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
  } catch (e) {
    die(1, 'verification failed', `DSSE payload is not JSON: ${e.message}`);
  }
  const want = createHash('sha256').update(artifact).digest('hex');
  const subjects = Array.isArray(stmt.subject) ? stmt.subject : [];
  if (!subjects.some((s) => s?.digest?.sha256?.toLowerCase() === want)) {
    die(1, 'verification failed', `no in-toto subject has sha256 ${want}`);
  }
}

// What the cache now trusts (as @sigstore/tuf lays it out).
const url = new URL(opt['tuf-mirror-url']);
const repo = join(opt['tuf-cache-path'], encodeURIComponent(url.host + url.pathname.replace(/\/$/, '')));
let rootVersion = '?';
let trSha = '?';
try {
  rootVersion = JSON.parse(readFileSync(join(repo, 'root.json'), 'utf8')).signed.version;
  const tr = join(repo, 'targets', 'trusted_root.json');
  if (existsSync(tr)) trSha = createHash('sha256').update(readFileSync(tr)).digest('hex');
} catch (e) {
  console.error(`note: cannot read the TUF cache: ${e.message}`);
}
console.log(`verified: root=${rootVersion} trusted_root_sha256=${trSha}`);
