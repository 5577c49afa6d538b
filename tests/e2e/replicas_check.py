"""Checks what `sigstead bench rekor --record` saw against Rekor replicas.

    replicas_check.py RECORD.jsonl KILLS.txt URL [URL...]

RECORD.jsonl has one line per acknowledged entry (replica, uuid, logIndex,
the receipt's treeSize and rootHash, unix_ms); KILLS.txt one line per leader
kill: `unix_ms replica`. URLs are the replicas alive now. Prints one
`PASS name` / `FAIL name: why` line per check and, last, a JSON line with the
figures (failover times in ms).

Checks:
  * no log index was acknowledged for two different entries;
  * every acknowledged entry is served by every replica, by log index, with
    its uuid (retrieve, 10 per request);
  * every replica serves the same newest checkpoint;
  * every checkpoint a receipt carried is consistent with that newest one
    (RFC 9162 consistency proofs from the replicas, verified here);
  * after each leader kill, acknowledgements resume within 5 s.
"""

import concurrent.futures
import hashlib
import json
import os
import sys
import urllib.request


def fetch(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def consistent(first, second, proof, first_root, second_root):
    """RFC 9162 section 2.1.4.2, verifying a consistency proof."""
    if first == second:
        return not proof and first_root == second_root
    if first == 0 or first > second:
        return False
    if first & (first - 1) == 0:
        proof = [first_root] + proof
    if not proof:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def main():
    record, kills_file, urls = sys.argv[1], sys.argv[2], sys.argv[3:]
    acks = [json.loads(line) for line in open(record) if line.strip()]
    kills = [tuple(int(x) for x in line.split()) for line in open(kills_file) if line.strip()]
    failed = 0

    def check(name, ok, why=""):
        nonlocal failed
        if ok:
            print(f"PASS {name}")
        else:
            failed += 1
            print(f"FAIL {name}: {why}")

    by_index = {}
    clash = []
    for a in acks:
        prev = by_index.setdefault(a["logIndex"], a["uuid"])
        if prev != a["uuid"]:
            clash.append(a["logIndex"])
    check(f"no_index_acknowledged_twice({len(acks)}_acks)", not clash, f"indexes {clash[:5]}")

    # Every acknowledged entry, from every replica (10 per request, the
    # API's limit; 8 requests in flight).
    missing = {}
    indexes = sorted(by_index)

    def absent(url, chunk):
        got = fetch(f"{url}/api/v1/log/entries/retrieve", {"logIndexes": chunk})
        served = {}
        for e in got:
            for uuid, body in e.items():
                served[body["logIndex"]] = uuid
        return sum(1 for ix in chunk if not served.get(ix, "").endswith(by_index[ix][-64:]))

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for url in urls:
            chunks = [indexes[i : i + 10] for i in range(0, len(indexes), 10)]
            missing[url] = sum(pool.map(lambda c, u=url: absent(u, c), chunks))
    check("every_acknowledged_entry_on_every_replica", all(v == 0 for v in missing.values()), json.dumps(missing))

    heads = [fetch(f"{url}/api/v1/log") for url in urls]
    sizes = {h["treeSize"] for h in heads}
    roots = {h["rootHash"] for h in heads}
    check("every_replica_serves_the_same_newest_checkpoint", len(sizes) == 1 and len(roots) == 1, f"{sizes} {roots}")
    newest = max(heads, key=lambda h: h["treeSize"])
    size, root = newest["treeSize"], bytes.fromhex(newest["rootHash"])

    seen = sorted({(a["treeSize"], a["rootHash"]) for a in acks})
    step = max(1, len(seen) // 300)
    sample = seen[::step] + seen[-1:]
    bad = []
    for n, (s, r) in enumerate(sample):
        url = urls[n % len(urls)]
        p = fetch(f"{url}/api/v1/log/proof?firstSize={s}&lastSize={size}")
        if not consistent(s, size, [bytes.fromhex(h) for h in p["hashes"]], bytes.fromhex(r), root):
            bad.append(s)
    check(f"receipt_checkpoints_form_one_history({len(sample)}_of_{len(seen)}_checked)", not bad, f"sizes {bad[:5]}")

    times = sorted((a["unix_ms"], a["replica"]) for a in acks)
    failovers = []
    for kill_ms, victim in kills:
        after = [t for t, r in times if t >= kill_ms and r != victim and t <= kill_ms + 20000]
        gap, last = 0, kill_ms
        for t in after:
            gap = max(gap, t - last)
            last = t
        if not after:
            gap = 20000
        failovers.append(gap)
    if kills:
        bound = int(os.environ.get("RESUME_BOUND_MS", "5000"))
        check(f"writes_resume_within_{bound // 1000}s_after_each_leader_kill(max_{max(failovers)}ms)", max(failovers) <= bound,
              f"failover gaps {failovers}")
    failovers.sort()
    figures = {"acknowledged": len(acks), "tree_size": size, "kills": len(kills), "failover_ms": failovers}
    if failovers:
        figures["failover_p50_ms"] = failovers[len(failovers) // 2]
        figures["failover_max_ms"] = failovers[-1]
    print(json.dumps(figures))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
