#!/usr/bin/env python3
"""include-cycles.py - the include rules of relayprobe's source folders.

  python3 scripts/include-cycles.py [ROOT]

1. Folders: common/ includes only common/; wire/ only common/ and wire/;
   agent/, controller/ and cli/ only common/, wire/ and themselves.
2. Modules: no two modules of one folder include each other, directly or
   around a circle. A module is a .c and its .h by basename; a header with
   no .c of its own (ctl_internal.h, an interface) is no module: including
   it counts as including what it includes.
Prints every breach and exits 1 when there is one."""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
ALLOWED = {"common": {"common"}, "wire": {"common", "wire"}}
for top in ("agent", "controller", "cli"):
    ALLOWED[top] = {"common", "wire", top}
INC = re.compile(r'#include "([^"]+\.h)"')


def sources(folder):
    out = []
    for d, _, names in os.walk(os.path.join(ROOT, folder)):
        out += [os.path.join(d, n) for n in names if n.endswith((".c", ".h"))]
    return out


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return [m.group(1) for m in map(INC.match, f) if m]


headers = {}  # header name -> folder
for folder in ALLOWED:
    for p in sources(folder):
        if p.endswith(".h"):
            headers[os.path.basename(p)] = folder

bad = 0
for folder, ok in ALLOWED.items():
    for p in sources(folder):
        for h in includes(p):
            if h in headers and headers[h] not in ok:
                print(f"{os.path.relpath(p, ROOT)}: includes {headers[h]}/{h}")
                bad += 1

for folder in ALLOWED:
    files = {os.path.basename(p): p for p in sources(folder)}
    inc = {f: [h for h in includes(p) if h in files] for f, p in files.items()}

    coded = {f.rsplit(".", 1)[0] for f in files if f.endswith(".c")}

    def deps(f, stack=()):
        """The modules f depends on, through header-only files."""
        out = set()
        for h in inc[f]:
            base = h.rsplit(".", 1)[0]
            if base in coded:
                out.add(base)
            elif h not in stack:
                out |= deps(h, stack + (h,))
        return out

    graph = {}
    for f in inc:
        base = f.rsplit(".", 1)[0]
        if base in coded:
            graph.setdefault(base, set()).update(deps(f) - {base})
    seen = set()

    def walk(n, path):
        for k in sorted(graph.get(n, ())):
            if k in path:
                cyc = path[path.index(k):]
                key = tuple(sorted(cyc))
                if key not in seen:
                    seen.add(key)
                    print(f"{folder}/: include circle " + " -> ".join(cyc + [k]))
            elif len(path) < 12:
                walk(k, path + [k])

    for n in sorted(graph):
        walk(n, [n])
    bad += len(seen)

sys.exit(1 if bad else 0)
