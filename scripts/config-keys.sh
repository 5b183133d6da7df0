#!/usr/bin/env bash
# The README's table of config keys, from the one table in Swift
# (Sources/AccessPaths/ConfigKey.swift), through `accessd --help-config-markdown`.
#
#   scripts/config-keys.sh   writes the table between the README's markers
#
# The test command needs no run of it: ConfigurationTests fails when the
# README shows another table (a key missing, one the code does not have, a
# default or a range that moved).
set -euo pipefail
cd "$(dirname "$0")/.."

accessd="${ACCESSD:-}"
if [ -z "$accessd" ]; then
    swift build --product accessd >&2
    accessd="$(swift build --show-bin-path)/accessd"
fi
table="$("$accessd" --help-config-markdown)"
python3 - "$table" <<'PY'
import sys
begin, end = "<!-- config keys: begin -->", "<!-- config keys: end -->"
text = open("README.md").read()
if text.count(begin) != 1 or text.count(end) != 1:
    sys.exit("README.md needs the markers %s and %s once each" % (begin, end))
head, rest = text.split(begin)
_, tail = rest.split(end)
open("README.md", "w").write(head + begin + "\n" + sys.argv[1] + "\n" + end + tail)
PY
echo "README.md: the table of $(grep -c '^| `' <<<"$table") config keys"
