#!/usr/bin/env python3
"""Checks the shape of the code (docs/design.md, "The map"):

  - no cycle among the files of src/: neither between headers (includes)
    nor between sources (one calls or reads what another defines, seen in
    the objects of a build with nm);
  - each layer uses only the layers below it (LAYERS, below);
  - only the GC context (src/gc/) includes bdwgc's headers;
  - no file of src/ or bench/ longer than 500 lines, no function longer
    than 80 (the code is clang-formatted: a function runs from its
    signature at column 0 to the "}" at column 0).

usage: scripts/check-layout.py BUILD_DIR    (a configured and built tree)
Exits 1 and says what is wrong, 0 when all holds."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_FILE, MAX_FUNCTION = 500, 80

# From the top down; a file may use its own layer and those below it.
LAYERS = [
    ("attach", ["src/attach/"]),
    ("lifecycle", ["src/gt.c", "src/options.c"]),
    ("worker", ["src/worker/"]),
    ("delivery", ["src/delivery/"]),
    ("backends", ["src/backends/"]),
    ("gc", ["src/gc/"]),
    ("core", ["src/"]),
]
# A backend is reached through the table only (delivery/backend.c), and
# backends see nothing of delivery but its backend.h.
ALLOWED_UP = {("backends", "src/delivery/backend.h")}

problems = []


def layer_of(path):
    for i, (name, prefixes) in enumerate(LAYERS):
        if any(path == p or (p.endswith("/") and path.startswith(p))
               for p in prefixes):
            return i, name
    return len(LAYERS), "?"


def sources(top, exts):
    for d, _, files in os.walk(os.path.join(ROOT, top)):
        for f in sorted(files):
            if f.endswith(exts):
                yield os.path.relpath(os.path.join(d, f), ROOT)


def includes(path):
    out = []
    with open(os.path.join(ROOT, path)) as f:
        for line in f:
            m = re.match(r'\s*#\s*include\s+([<"])([^>"]+)[>"]', line)
            if m:
                out.append((m.group(1), m.group(2)))
    return out


def resolve(path, name):
    for base in (os.path.dirname(path), "src"):
        cand = os.path.normpath(os.path.join(base, name))
        if os.path.exists(os.path.join(ROOT, cand)):
            return cand
    return None


def check_gc_headers():
    for path in sources("src", (".c", ".h")):
        for kind, name in includes(path):
            if kind == "<" and (name == "gc.h" or name.startswith("gc/")):
                if not path.startswith("src/gc/"):
                    problems.append(f"{path}: includes <{name}> outside src/gc/")


def function_lengths(path):
    lines = open(os.path.join(ROOT, path)).read().split("\n")
    start = None
    for i, line in enumerate(lines):
        if start is None and re.match(r"[A-Za-z_][^;]*\(", line) and \
                not line.startswith(("typedef", "struct", "enum", "#")):
            start = i
        if start is not None and line.endswith(";") and not line.startswith(
                " ") and "(" in lines[start] and i == start:
            start = None  # a prototype on one line
        if line == "}" and start is not None:
            yield lines[start].split("(")[0].split()[-1].lstrip("*"), \
                start + 1, i - start + 1
            start = None
        elif start is not None and line.startswith("}"):
            start = None  # the end of an initializer, not a function


def check_sizes():
    for top in ("src", "bench"):
        for path in sources(top, (".c", ".h")):
            n = sum(1 for _ in open(os.path.join(ROOT, path)))
            if n > MAX_FILE:
                problems.append(f"{path}: {n} lines (at most {MAX_FILE})")
            if path.endswith(".c"):
                for fn, line, length in function_lengths(path):
                    if length > MAX_FUNCTION:
                        problems.append(f"{path}:{line}: {fn} is {length} "
                                        f"lines (at most {MAX_FUNCTION})")


def cycles(graph):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def check_edges(kind, graph):
    for comp in cycles(graph):
        problems.append(f"{kind} cycle: " + " <-> ".join(comp))
    for a, targets in sorted(graph.items()):
        la, na = layer_of(a)
        for b in sorted(targets):
            lb, nb = layer_of(b)
            if lb < la and (na, b) not in ALLOWED_UP:
                problems.append(f"{a} ({na}) uses {b} ({nb}), a layer above")


def include_graph():
    graph = {}
    for path in sources("src", (".c", ".h")):
        for kind, name in includes(path):
            target = resolve(path, name) if kind == '"' else None
            if target and target != path:
                graph.setdefault(path, set()).add(target)
    return graph


def object_graph(build):
    objdir = os.path.join(build, "CMakeFiles", "gt_objects.dir")
    defined, used = {}, {}
    for d, _, files in os.walk(objdir):
        for f in files:
            if not f.endswith(".c.o"):
                continue
            obj = os.path.join(d, f)
            src = os.path.relpath(obj, objdir)[:-2]
            if not os.path.exists(os.path.join(ROOT, src)):
                continue  # left by a file that was moved
            nm = subprocess.run(["nm", obj], capture_output=True, text=True,
                                check=True).stdout
            for line in nm.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] == "U":
                    used.setdefault(src, set()).add(parts[1])
                elif len(parts) == 3 and parts[1] in "TDBRCV":
                    defined[parts[2]] = src
    if not used:
        problems.append(f"no objects under {objdir}: build first")
    graph = {}
    for src, syms in used.items():
        for s in syms:
            if s in defined and defined[s] != src:
                graph.setdefault(src, set()).add(defined[s])
    return graph


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    check_gc_headers()
    check_sizes()
    check_edges("include", include_graph())
    check_edges("call", object_graph(sys.argv[1]))
    for p in problems:
        print(p)
    print(f"check-layout: {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
