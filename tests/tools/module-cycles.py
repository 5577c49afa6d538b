#!/usr/bin/env python3
"""Finds import cycles between the top-level modules of each workspace crate.

A module `a` depends on `b` when `a.rs` (or `a/…`) names `crate::b` (in a
`use` or a path). A cycle means two modules that can only be understood
together; the layout keeps every crate's modules a directed acyclic graph.
Prints each cycle and exits 1 if any; prints the module count otherwise.
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2]) / "services"
failed = False
modules_seen = 0
for cargo in sorted(root.rglob("Cargo.toml")):
    src = cargo.parent / "src"
    if not src.is_dir():
        continue
    files = {}
    for f in src.glob("*.rs"):
        if f.stem not in ("lib", "main"):
            files[f.stem] = f.read_text()
    for d in src.iterdir():
        if d.is_dir():
            files[d.name] = "\n".join(p.read_text() for p in d.rglob("*.rs"))
    modules_seen += len(files)
    graph = {}
    for name, text in files.items():
        # Code only: doc links and comments are not dependencies.
        text = re.sub(r"//[^\n]*", "", text)
        # `use crate::{a, b::c}` and `crate::a::…` paths.
        deps = set(re.findall(r"crate::([a-z_][a-z0-9_]*)", text))
        for group in re.findall(r"crate::\{([^}]*)\}", text):
            deps.update(re.findall(r"(?:^|,)\s*([a-z_][a-z0-9_]*)", group))
        graph[name] = {d for d in deps if d in files and d != name}
    # Tarjan-free: DFS for back edges, report each cycle once.
    reported = set()
    def visit(node, stack, on_stack):
        global failed
        for nxt in sorted(graph[node]):
            if nxt in on_stack:
                cycle = stack[stack.index(nxt):] + [nxt]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    print(f"cycle in {cargo.parent.relative_to(root.parent)}: {' -> '.join(cycle)}")
                    failed = True
            elif nxt not in done:
                stack.append(nxt); on_stack.add(nxt)
                visit(nxt, stack, on_stack)
                stack.pop(); on_stack.discard(nxt)
        done.add(node)
    done = set()
    for n in sorted(graph):
        if n not in done:
            visit(n, [n], {n})
if failed:
    sys.exit(1)
print(f"no module import cycles ({modules_seen} modules)")
