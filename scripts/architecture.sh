#!/usr/bin/env bash
# The target graph of Package.swift, as docs/ARCHITECTURE.md shows it.
#
#   scripts/architecture.sh          writes the graph (Markdown, one line per target)
#                                    into docs/ARCHITECTURE.md between its markers
#   scripts/architecture.sh --print  prints it
#   scripts/architecture.sh --check  fails, with a diff, when docs/ARCHITECTURE.md
#                                    does not show the graph Package.swift declares
#
# The graph comes from `swift package dump-package`, so it is what SwiftPM
# builds; the test command's `--explicit-target-dependency-import-check error`
# makes every `import` line of Sources/ agree with it.
set -euo pipefail
cd "$(dirname "$0")/.."

graph() {
    swift package dump-package | python3 -c '
import json, sys
package = json.load(sys.stdin)
ours = {t["name"] for t in package["targets"]}
for target in package["targets"]:
    if target["type"] == "test":
        continue
    inside, outside = [], []
    for dependency in target["dependencies"]:
        if "byName" in dependency:
            name = dependency["byName"][0]
        elif "target" in dependency:
            name = dependency["target"][0]
        else:
            outside.append(dependency["product"][0])
            continue
        (inside if name in ours else outside).append(name)
    line = "- `%s` (%s)" % (target["name"], target["type"])
    line += ": " + ", ".join("`%s`" % n for n in sorted(inside)) if inside else ": nothing of ours"
    if outside:
        line += "; " + ", ".join(sorted(outside))
    print(line)
'
}

if [ "${1:-}" = "--check" ]; then
    want="$(graph)"
    have="$(sed -n '/<!-- target graph: begin -->/,/<!-- target graph: end -->/p' docs/ARCHITECTURE.md | sed '1d;$d')"
    if [ "$want" != "$have" ]; then
        echo "docs/ARCHITECTURE.md does not show the target graph of Package.swift; run scripts/architecture.sh (it writes it between the markers):" >&2
        diff <(echo "$have") <(echo "$want") >&2 || true
        exit 1
    fi
    echo "docs/ARCHITECTURE.md shows the target graph of Package.swift ($(grep -c . <<<"$want") targets)"
elif [ "${1:-}" = "--print" ]; then
    graph
else
    graph >.build/architecture-graph.txt
    python3 - docs/ARCHITECTURE.md .build/architecture-graph.txt <<'PY'
import sys
path, graph = sys.argv[1], open(sys.argv[2]).read()
text = open(path).read()
begin, end = "<!-- target graph: begin -->\n", "<!-- target graph: end -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(path, "w").write(head + begin + graph + end + tail)
PY
    echo "docs/ARCHITECTURE.md: the target graph of Package.swift written"
fi
