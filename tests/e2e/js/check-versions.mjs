#!/usr/bin/env node
// check-versions.mjs: checks that node_modules holds exactly the versions pinned in
// package.json (and, for information, lists the copies @sigstore/cli 0.8.1 nests for
// itself). Prints one line "name@version ..."; exit 1 on any mismatch.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const readVersion = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
const pins = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')).dependencies;

const bad = [];
const top = [];
for (const [name, want] of Object.entries(pins)) {
  const dir = join(here, 'node_modules', name);
  const have = existsSync(dir) ? readVersion(dir) : 'missing';
  top.push(`${name}@${have}`);
  if (have !== want) bad.push(`${name}: want ${want}, have ${have}`);
}
const cliDir = join(here, 'node_modules', '@sigstore', 'cli', 'node_modules');
const nested = ['sigstore', '@sigstore/sign', '@sigstore/verify', '@sigstore/tuf', '@sigstore/bundle', '@sigstore/core', '@sigstore/protobuf-specs']
  .filter((n) => existsSync(join(cliDir, n)))
  .map((n) => `${n}@${readVersion(join(cliDir, n))}`);

console.log(`node ${process.version}; ${top.join(' ')}; @sigstore/cli nests: ${nested.join(' ') || 'none'}`);
if (bad.length) {
  console.error(`version mismatch: ${bad.join('; ')}`);
  process.exit(1);
}
