// Browser tests of the log explorer: playwright-core driving Debian's
// Chromium against the running stack. Prints one `PASS name` or
// `FAIL name: reason` line per check (explorer.sh counts them).
//
// Environment: EXPLORER (the explorer's URL), TAMPERED, FORGED (hostile
// proxies in front of it, see tamper_proxy.py), IDENTITY, ISSUER, DIGEST
// (hex), INDEX (of the cosign entry), CTLOG, REKOR (URLs), SHOTS (a
// directory for the screenshots), CHROMIUM (the browser binary).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const EXPLORER = env("EXPLORER");
const TAMPERED = env("TAMPERED");
const FORGED = env("FORGED");
const IDENTITY = env("IDENTITY");
const ISSUER = env("ISSUER");
const DIGEST = env("DIGEST");
const INDEX = env("INDEX");
const CTLOG = env("CTLOG");
const REKOR = env("REKOR");
const SHOTS = env("SHOTS");
mkdirSync(SHOTS, { recursive: true });

let failures = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`PASS ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${String(e && e.message ? e.message : e).replace(/\s+/g, " ").slice(0, 400)}`);
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(what);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const allowed = new Set([EXPLORER, TAMPERED, FORGED].map((u) => new URL(u).origin));
const foreign = [];
const consoleErrors = [];
async function newContext(opts = {}) {
  const ctx = await browser.newContext(opts);
  ctx.on("request", (r) => {
    const u = new URL(r.url());
    if (u.protocol === "data:") return;
    if (!allowed.has(u.origin)) foreign.push(r.url());
    // Each page may only load from its own origin.
    const page = r.frame()?.page();
    const pageUrl = page?.url();
    if (pageUrl && pageUrl.startsWith("http") && new URL(pageUrl).origin !== u.origin) foreign.push(`${r.url()} from ${pageUrl}`);
  });
  ctx.on("page", (p) => p.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text())));
  return ctx;
}

const ctx = await newContext({ viewport: { width: 1280, height: 900 } });
const page = await ctx.newPage();
page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
let uuid = "";

async function verdict(p) {
  await p.waitForSelector("#verification[data-verdict]", { timeout: 20000 });
  return {
    verdict: await p.getAttribute("#verification", "data-verdict"),
    text: (await p.textContent("#verify-result")) || "",
    steps: await p.$$eval("#verify-steps li", (l) => l.map((x) => `${x.className}: ${x.textContent}`)),
  };
}

await check("home_page_shows_the_log", async () => {
  const resp = await page.goto(EXPLORER + "/");
  expect(resp.status() === 200, `status ${resp.status()}`);
  const csp = resp.headers()["content-security-policy"] || "";
  expect(csp.includes("default-src 'none'") && csp.includes("script-src 'self'"), `CSP: ${csp}`);
  const size = Number(await page.textContent("#tree-size"));
  expect(size > Number(INDEX), `tree size ${size} does not cover index ${INDEX}`);
  await page.screenshot({ path: `${SHOTS}/home.png`, fullPage: true });
});

async function resultIndexes(p) {
  return p.$$eval("table.results tbody tr td:nth-child(2) a", (as) => as.map((a) => a.textContent.trim()));
}

await check("search_by_identity", async () => {
  await page.goto(EXPLORER + "/");
  await page.fill("#q", IDENTITY);
  await page.selectOption("#kind", "identity");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  const idx = await resultIndexes(page);
  expect(idx.includes(INDEX), `index ${INDEX} not in ${JSON.stringify(idx)}`);
  const row = await page.textContent(`table.results tbody tr:has(a:text-is("${INDEX}"))`);
  expect(row.includes(IDENTITY) && row.includes(ISSUER) && row.includes(DIGEST), `row lacks identity/issuer/digest: ${row}`);
  expect(new URL(page.url()).searchParams.get("q") === IDENTITY, `URL is not stable: ${page.url()}`);
  uuid = (await page.getAttribute(`table.results a:text-is("${INDEX}")`, "href")).split("/").pop();
  await page.screenshot({ path: `${SHOTS}/search-identity.png`, fullPage: true });
});

await check("search_by_digest", async () => {
  await page.goto(`${EXPLORER}/search?q=sha256:${DIGEST}`);
  const idx = await resultIndexes(page);
  expect(idx.includes(INDEX), `index ${INDEX} not in ${JSON.stringify(idx)}`);
  await page.screenshot({ path: `${SHOTS}/search-digest.png`, fullPage: true });
});

await check("search_by_index", async () => {
  await page.goto(EXPLORER + "/");
  await page.fill("#q", INDEX);
  await Promise.all([page.waitForNavigation(), page.press("#q", "Enter")]);
  const idx = await resultIndexes(page);
  expect(idx.length === 1 && idx[0] === INDEX, `expected only ${INDEX}: ${JSON.stringify(idx)}`);
});

await check("search_by_issuer", async () => {
  await page.goto(`${EXPLORER}/search?kind=issuer&q=${encodeURIComponent(ISSUER)}`);
  const idx = await resultIndexes(page);
  expect(idx.includes(INDEX), `index ${INDEX} not in ${JSON.stringify(idx)}`);
});

await check("search_by_uuid", async () => {
  expect(uuid.length === 80, `no uuid from the identity search: ${uuid}`);
  await page.goto(`${EXPLORER}/search?q=${uuid}`);
  const idx = await resultIndexes(page);
  expect(idx.length === 1 && idx[0] === INDEX, `expected only ${INDEX}: ${JSON.stringify(idx)}`);
});

await check("search_empty_and_error_states", async () => {
  await page.goto(`${EXPLORER}/search?q=nobody-${Date.now()}@example.com`);
  const empty = (await page.textContent(".empty")) || "";
  expect(empty.includes("No published entry matches"), `empty state: ${empty}`);
  const resp = await page.goto(`${EXPLORER}/search?q=hello`);
  expect(resp.status() === 400, `status ${resp.status()}`);
  const err = (await page.textContent("[role=alert]")) || "";
  expect(err.includes("cannot tell what"), `error state: ${err}`);
  const missing = await page.goto(`${EXPLORER}/entry/${"0".repeat(64)}`);
  expect(missing.status() === 404, `missing entry: ${missing.status()}`);
  await page.screenshot({ path: `${SHOTS}/not-found.png`, fullPage: true });
});

await check("entry_page_decodes_the_certificate", async () => {
  await page.goto(`${EXPLORER}/entry/${uuid}`);
  const kind = (await page.textContent("#kind")) || "";
  expect(kind.includes("hashedrekord") && kind.includes("0.0.1"), `kind: ${kind}`);
  const san = (await page.textContent(".san")) || "";
  expect(san.includes(IDENTITY), `SAN: ${san}`);
  const iss = (await page.textContent(".oidc-issuer")) || "";
  expect(iss.includes(ISSUER), `issuer: ${iss}`);
  const ext = await page.$$eval("table.exts tbody tr", (rows) => rows.map((r) => r.textContent));
  expect(ext.some((r) => r.startsWith("Issuer") && r.includes("1.3.6.1.4.1.57264.1.8") && r.includes(ISSUER)), `extensions: ${JSON.stringify(ext)}`);
  const sct = (await page.textContent(".sct")) || "";
  expect(sct.includes(`issued by the CT log ${CTLOG}`), `SCT: ${sct}`);
  const key = (await page.textContent(".key-type")) || "";
  expect(key === "ECDSA P-256", `key type: ${key}`);
  const digest = (await page.textContent("#digest")) || "";
  expect(digest.includes(DIGEST), `digest: ${digest}`);
  const raw = await page.getAttribute(`a[href$="/api/v1/log/entries/${uuid}"]`, "href");
  expect(raw === `${REKOR}/api/v1/log/entries/${uuid}`, `raw JSON link: ${raw}`);
});

await check("entry_inclusion_proof_verified_in_the_browser", async () => {
  await page.goto(`${EXPLORER}/entry/${uuid}`);
  const v = await verdict(page);
  expect(v.verdict === "verified", `${v.text} ${JSON.stringify(v.steps)}`);
  expect(v.text.includes("Inclusion proof verified"), v.text);
  expect(v.steps.length === 4 && v.steps.every((s) => s.startsWith("ok:")), JSON.stringify(v.steps));
  await page.screenshot({ path: `${SHOTS}/entry.png`, fullPage: true });
});

await check("entry_page_at_phone_width", async () => {
  const phone = await newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
  const p = await phone.newPage();
  await p.goto(`${EXPLORER}/entry/${uuid}`);
  const v = await verdict(p);
  expect(v.verdict === "verified", v.text);
  const [sw, cw] = await p.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  if (sw > cw + 1) {
    const wide = await p.evaluate((cw) => [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > cw + 1 && !e.closest(".scroll, pre"))
      .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}.${e.className}`), cw);
    await p.screenshot({ path: `${SHOTS}/entry-phone-overflow.png`, fullPage: true });
    throw new Error(`horizontal overflow at phone width: ${sw} > ${cw}: ${wide.join(", ")}`);
  }
  await p.screenshot({ path: `${SHOTS}/entry-phone.png`, fullPage: true });
  await phone.close();
});

await check("keyboard_navigation", async () => {
  await page.goto(EXPLORER + "/");
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement.className);
  expect(first === "skip", `first Tab stop is ${first}, not the skip link`);
  let onSearch = false;
  for (let i = 0; i < 8 && !onSearch; i++) {
    await page.keyboard.press("Tab");
    onSearch = await page.evaluate(() => document.activeElement.id === "q");
  }
  expect(onSearch, "the search box is not reachable by Tab");
  await page.keyboard.type(IDENTITY);
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  const idx = await resultIndexes(page);
  expect(idx.includes(INDEX), `keyboard search: ${JSON.stringify(idx)}`);
});

await check("tampered_proof_shown_as_failure", async () => {
  const p = await ctx.newPage();
  await p.goto(`${TAMPERED}/entry/${uuid}`);
  const v = await verdict(p);
  expect(v.verdict === "failed", `verdict ${v.verdict}: ${v.text}`);
  expect(v.text.includes("the inclusion proof does not lead to the checkpoint's root"), v.text);
  await p.screenshot({ path: `${SHOTS}/entry-tampered-proof.png`, fullPage: true });
  await p.close();
});

await check("checkpoint_signed_by_another_key_shown_as_failure", async () => {
  const p = await ctx.newPage();
  await p.goto(`${FORGED}/entry/${uuid}`);
  const v = await verdict(p);
  expect(v.verdict === "failed", `verdict ${v.verdict}: ${v.text}`);
  expect(v.text.includes("the checkpoint signature does not verify with the log key"), v.text);
  await p.screenshot({ path: `${SHOTS}/entry-forged-checkpoint.png`, fullPage: true });
  await p.close();
});

await check("trust_page_shows_tuf_versions_and_expiry", async () => {
  await page.goto(`${EXPLORER}/trust`);
  const roles = await page.$$eval("#tuf-roles tbody tr", (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  const names = roles.map((r) => r[0]);
  for (const want of ["root", "targets", "snapshot", "timestamp"]) expect(names.includes(want), `role ${want} missing: ${JSON.stringify(roles)}`);
  for (const r of roles) expect(/^\d+$/.test(r[1]) && /^-?\d+\.\d$/.test(r[3]) && r[2].includes("T"), `row ${JSON.stringify(r)}`);
  const roots = await page.$$eval("#tuf-roots tbody tr th", (c) => c.map((x) => x.textContent));
  expect(roots.includes("1"), `root versions: ${JSON.stringify(roots)}`);
  const tlogs = (await page.textContent("#tlogs")) || "";
  expect(tlogs.includes(REKOR), `tlogs: ${tlogs}`);
  const cts = (await page.textContent("#ctlogs")) || "";
  expect(cts.includes(CTLOG), `ctlogs: ${cts}`);
  await page.screenshot({ path: `${SHOTS}/trust.png`, fullPage: true });
});

await check("nothing_loads_from_another_origin", async () => {
  expect(foreign.length === 0, `requests to other origins: ${foreign.slice(0, 5).join(", ")}`);
  const unexpected = consoleErrors.filter((m) => !/status of 40[04]/.test(m));
  expect(unexpected.length === 0, `console errors: ${unexpected.slice(0, 3).join(" | ")}`);
});

await browser.close();
process.exit(failures ? 1 : 0);
