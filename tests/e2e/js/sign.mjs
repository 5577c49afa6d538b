#!/usr/bin/env node
// sign.mjs: keyless signing with the sigstore-js libraries (sigstore 4.1.1 /
// @sigstore/sign 4.1.1), for tests/e2e/js.sh.
//
//   node sign.mjs blob --token FILE (--fulcio-url URL --rekor-url URL | --signing-config FILE)
//                      --bundle OUT ARTIFACT
//       message signature over ARTIFACT -> Rekor v1 hashedrekord 0.0.1
//   node sign.mjs attest --token FILE (--fulcio-url URL --rekor-url URL | --signing-config FILE)
//                      --predicate-type URI [--predicate FILE] --bundle OUT ARTIFACT
//       DSSE envelope (payloadType application/vnd.in-toto+json) over an in-toto
//       Statement v1 whose only subject is ARTIFACT (name = basename, sha256 digest)
//       -> Rekor v1 dsse 0.0.1 (fixed URLs) or whatever the signing config selects
//
// --fulcio-url/--rekor-url use the `sigstore` package's sign()/attest() entry points
// (always Rekor v1); --signing-config uses @sigstore/sign's
// bundleBuilderFromSigningConfig (signing_config.v0.2.json, parsed with
// @sigstore/protobuf-specs) and @sigstore/bundle's bundleToJSON.
// The identity token is read from --token (trailing whitespace stripped).
// Writes the bundle JSON to --bundle; prints a one-line summary on stdout.
// Exit status: 0 signed, 1 signing failed, 2 usage error.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

import { bundleToJSON } from '@sigstore/bundle';
import { SigningConfig } from '@sigstore/protobuf-specs';
import { bundleBuilderFromSigningConfig } from '@sigstore/sign';
import * as sigstore from 'sigstore';

const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const TIMEOUT_MS = 20000;

function usage(msg) {
  console.error(`sign.mjs: ${msg}`);
  console.error('usage: node sign.mjs blob|attest --token FILE (--fulcio-url URL --rekor-url URL | --signing-config FILE) [--predicate-type URI] [--predicate FILE] --bundle OUT ARTIFACT');
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      token: { type: 'string' },
      'fulcio-url': { type: 'string' },
      'rekor-url': { type: 'string' },
      'signing-config': { type: 'string' },
      'predicate-type': { type: 'string' },
      predicate: { type: 'string' },
      bundle: { type: 'string' },
    },
  });
} catch (e) {
  usage(e.message);
}
const { values: opt, positionals } = parsed;
if (positionals.length !== 2) usage('expected a mode (blob|attest) and one ARTIFACT');
const [mode, artifactPath] = positionals;
if (mode !== 'blob' && mode !== 'attest') usage(`unknown mode ${mode}`);
if (!opt.token) usage('--token is required');
if (!opt.bundle) usage('--bundle is required');
const fixedURLs = opt['fulcio-url'] !== undefined || opt['rekor-url'] !== undefined;
if (fixedURLs === (opt['signing-config'] !== undefined)) {
  usage('give either --fulcio-url and --rekor-url, or --signing-config');
}
if (fixedURLs && !(opt['fulcio-url'] && opt['rekor-url'])) usage('--fulcio-url needs --rekor-url and vice versa');
if (mode === 'attest' && !opt['predicate-type']) usage('attest needs --predicate-type');

const token = readFileSync(opt.token, 'utf8').trim();
const artifact = readFileSync(artifactPath);

// The data that gets signed: the artifact itself, or an in-toto statement about it.
let data = artifact;
if (mode === 'attest') {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: basename(artifactPath), digest: { sha256: createHash('sha256').update(artifact).digest('hex') } }],
    predicateType: opt['predicate-type'],
    predicate: opt.predicate ? JSON.parse(readFileSync(opt.predicate, 'utf8')) : {},
  };
  data = Buffer.from(JSON.stringify(statement));
}

async function signFixedURLs() {
  const options = {
    fulcioURL: opt['fulcio-url'],
    rekorURL: opt['rekor-url'],
    identityToken: token,
    tlogUpload: true,
    timeout: TIMEOUT_MS,
    retry: { retries: 0 },
  };
  return mode === 'blob'
    ? sigstore.sign(data, options)
    : sigstore.attest(data, INTOTO_PAYLOAD_TYPE, options);
}

async function signWithSigningConfig() {
  const signingConfig = SigningConfig.fromJSON(JSON.parse(readFileSync(opt['signing-config'], 'utf8')));
  const builder = bundleBuilderFromSigningConfig({
    signingConfig,
    identityProvider: { getToken: async () => token },
    bundleType: mode === 'blob' ? 'messageSignature' : 'dsseEnvelope',
    fetchOptions: { timeout: TIMEOUT_MS, retry: { retries: 0 } },
  });
  const bundle = await builder.create(mode === 'blob' ? { data } : { data, type: INTOTO_PAYLOAD_TYPE });
  return bundleToJSON(bundle);
}

try {
  const json = fixedURLs ? await signFixedURLs() : await signWithSigningConfig();
  writeFileSync(opt.bundle, JSON.stringify(json, null, 2) + '\n');
  const entries = json.verificationMaterial?.tlogEntries ?? [];
  const kinds = entries.map((e) => `${e.kindVersion?.kind}/${e.kindVersion?.version}@${e.logIndex ?? 0}`);
  console.log(`signed ${artifactPath} (${mode}) -> ${opt.bundle} [${json.mediaType}; tlog ${kinds.join(',') || 'none'}]`);
  if (entries.length === 0) {
    console.error('sign.mjs: the bundle has no transparency log entry');
    process.exit(1);
  }
} catch (e) {
  // @sigstore/sign's InternalError carries the HTTP failure in `cause`.
  console.error(`sign.mjs: signing failed: ${e.code ? e.code + ': ' : ''}${e.message}`);
  for (let c = e.cause; c; c = c.cause) {
    console.error(`  caused by: ${c.code ? c.code + ': ' : ''}${c.statusCode ? 'HTTP ' + c.statusCode + ': ' : ''}${c.message}`);
  }
  process.exit(1);
}
