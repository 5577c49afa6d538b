#!/usr/bin/env node
// verify.mjs: offline bundle verification with @sigstore/verify 3.1.1, for
// tests/e2e/js.sh. No TUF and no network: the trust root is a trusted_root.json file.
//
//   node verify.mjs --trusted-root FILE --bundle FILE
//                   --certificate-identity EMAIL_OR_URI --certificate-oidc-issuer URL
//                   [--predicate-type URI] [ARTIFACT]
//
// * message-signature bundles need ARTIFACT (the signed bytes);
// * DSSE bundles (dsse 0.0.1 and intoto 0.0.2 log entries) are verified over the
//   envelope; when ARTIFACT is given the envelope must carry an in-toto Statement
//   with a subject whose sha256 is the artifact's, and --predicate-type, when
//   given, must equal the statement's predicateType (as cosign verify-blob-attestation
//   checks; @sigstore/verify itself does not look inside the payload).
//
// Policy: @sigstore/verify matches the SAN as an UNANCHORED JavaScript regex, so the
// identity is regex-escaped and anchored (^...$) here; the issuer (extension
// 1.3.6.1.4.1.57264.1.8, else .1.1) is compared for equality. Thresholds: at
// least 1 SCT, 1 tlog entry, 1 verified timestamp (the library defaults, given
// explicitly).
//
// Exit status: 0 verified (prints "verified: ..."), 1 verification failed (prints
// "verification failed: ..." on stderr), 2 usage or input error.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';

function usage(msg) {
  console.error(`verify.mjs: ${msg}`);
  console.error('usage: node verify.mjs --trusted-root FILE --bundle FILE --certificate-identity ID --certificate-oidc-issuer URL [--predicate-type URI] [ARTIFACT]');
  process.exit(2);
}
function rejected(msg) {
  console.error(`verification failed: ${msg}`);
  process.exit(1);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      'trusted-root': { type: 'string' },
      bundle: { type: 'string' },
      'certificate-identity': { type: 'string' },
      'certificate-oidc-issuer': { type: 'string' },
      'predicate-type': { type: 'string' },
    },
  });
} catch (e) {
  usage(e.message);
}
const { values: opt, positionals } = parsed;
for (const k of ['trusted-root', 'bundle', 'certificate-identity', 'certificate-oidc-issuer']) {
  if (!opt[k]) usage(`--${k} is required`);
}
if (positionals.length > 1) usage('at most one ARTIFACT');
const artifactPath = positionals[0];

// Inputs that cannot be read or parsed are usage errors (exit 2), so that a
// negative test cannot pass because of a typo in a path.
let trustedRoot, bundle, artifact;
try {
  trustedRoot = TrustedRoot.fromJSON(JSON.parse(readFileSync(opt['trusted-root'], 'utf8')));
  artifact = artifactPath === undefined ? undefined : readFileSync(artifactPath);
} catch (e) {
  usage(`cannot load input: ${e.message}`);
}
try {
  bundle = bundleFromJSON(JSON.parse(readFileSync(opt.bundle, 'utf8')));
} catch (e) {
  // A malformed bundle is a rejection, but an unreadable file is a usage error.
  if (e.code === 'ENOENT' || e instanceof SyntaxError) usage(`cannot load bundle: ${e.message}`);
  rejected(`invalid bundle: ${e.message}`);
}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
const policy = {
  subjectAlternativeName: `^${escapeRegExp(opt['certificate-identity'])}$`,
  extensions: { issuer: opt['certificate-oidc-issuer'] },
};

const content = bundle.content.$case;
if (content === 'messageSignature' && artifact === undefined) usage('a message-signature bundle needs ARTIFACT');

try {
  const verifier = new Verifier(toTrustMaterial(trustedRoot), {
    ctlogThreshold: 1,
    tlogThreshold: 1,
    timestampThreshold: 1,
  });
  const entity = toSignedEntity(bundle, content === 'messageSignature' ? artifact : undefined);
  const signer = verifier.verify(entity, policy);

  // The library checks the policy only when a policy field is set; make sure the
  // identity it reports really is the one asked for.
  const id = signer.identity ?? {};
  if (id.subjectAlternativeName !== opt['certificate-identity'] || id.extensions?.issuer !== opt['certificate-oidc-issuer']) {
    rejected(`signer identity ${id.subjectAlternativeName} / ${id.extensions?.issuer} is not the one asked for`);
  }

  if (content === 'dsseEnvelope' && (artifact !== undefined || opt['predicate-type'])) {
    const env = bundle.content.dsseEnvelope;
    if (env.payloadType !== 'application/vnd.in-toto+json') rejected(`DSSE payloadType is ${env.payloadType}, not in-toto`);
    let stmt;
    try {
      stmt = JSON.parse(Buffer.from(env.payload).toString('utf8'));
    } catch (e) {
      rejected(`DSSE payload is not JSON: ${e.message}`);
    }
    if (opt['predicate-type'] && stmt.predicateType !== opt['predicate-type']) {
      rejected(`predicateType is ${stmt.predicateType}, expected ${opt['predicate-type']}`);
    }
    if (artifact !== undefined) {
      const want = createHash('sha256').update(artifact).digest('hex');
      const subjects = Array.isArray(stmt.subject) ? stmt.subject : [];
      if (!subjects.some((s) => s?.digest?.sha256?.toLowerCase() === want)) {
        rejected(`no in-toto subject has sha256 ${want} (subjects: ${JSON.stringify(subjects)})`);
      }
    }
  }

  const tlog = bundle.verificationMaterial.tlogEntries
    .map((e) => `${e.kindVersion?.kind}/${e.kindVersion?.version}@${e.logIndex}`)
    .join(',');
  console.log(`verified: ${content} bundle ${opt.bundle} (${bundle.mediaType}; tlog ${tlog}) signed by ${id.subjectAlternativeName} (issuer ${id.extensions?.issuer})`);
} catch (e) {
  rejected(`${e.code ? e.code + ': ' : ''}${e.message}`);
}
