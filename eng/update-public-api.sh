#!/usr/bin/env bash
# Regenerates PublicAPI.Unshipped.txt of the C# packages from the current code, for review in the diff.
#
# The C# packages (src/FusionCache.CSharp, src/FusionCache.Redis, src/FusionCache.Hosting) declare their public surface
# in PublicAPI.Shipped.txt (what a released version had) and PublicAPI.Unshipped.txt (what was added since), read by
# Microsoft.CodeAnalysis.PublicApiAnalyzers (wired in src/Directory.Build.props): a build with warnings as errors fails
# on a public type or member that is not declared (RS0016) or a declared one that is gone (RS0017). After a deliberate
# change of the API:
#
#     eng/update-public-api.sh            # every C# project under src/
#     eng/update-public-api.sh src/FusionCache.Redis/FusionCache.Redis.csproj
#     git diff -- 'src/*/PublicAPI.Unshipped.txt'   # review: each + or - line is a change of the public API
#
# How: it resets each project's Unshipped file to "#nullable enable", builds the projects with the analyzer's
# findings as warnings, and writes every symbol the analyzer reports as undeclared (RS0016, whose message carries the
# exact line of the file) into Unshipped, sorted. A Shipped entry whose symbol is gone (RS0017) becomes a "*REMOVED*"
# line in Unshipped. A project's surface must be the same on each target framework (net8.0 and net10.0): the script
# stops if it is not. Last, it builds again with warnings as errors and shows what is left for a person to decide
# (RS0026/RS0027 on overloads with optional parameters, which the C# projects suppress member by member).
#
# Merging branches that both changed the API: take either side's Unshipped file, then run this script on the merge.
# At a release, move the Unshipped lines into Shipped by hand (and drop the *REMOVED* lines with their Shipped lines).
# The F# core is not C#: its baseline is src/FusionCache.Core/PublicAPI.txt, checked by tests/Api/PublicApiTests.cs
# (regenerate that one with FUSION_UPDATE_API=1 dotnet test tests --filter FullyQualifiedName~PublicApiTests).
#
# Needs: the dotnet SDK, python3 and a restorable feed. Options: CONFIGURATION=Debug|Release (default Release).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
configuration="${CONFIGURATION:-Release}"

if [ "$#" -gt 0 ]; then
  projects=("$@")
else
  mapfile -t projects < <(ls src/*/*.csproj)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for project in "${projects[@]}"; do
  [ -f "$project" ] || { echo "no such project: $project" >&2; exit 2; }
  dir="$(dirname "$project")"
  [ -f "$dir/PublicAPI.Shipped.txt" ] || printf '#nullable enable\n' > "$dir/PublicAPI.Shipped.txt"
  printf '#nullable enable\n' > "$dir/PublicAPI.Unshipped.txt"
done

# One build of each project (its references come along); the rewritten Unshipped files make each one compile again.
for project in "${projects[@]}"; do
  echo "building $project (the analyzer's findings as warnings)..."
  dotnet build "$project" -c "$configuration" -tl:off -nologo -v:q \
    -p:TreatWarningsAsErrors=false \
    "-flp:logfile=$work/warnings.log;warningsonly;append;verbosity=quiet" >/dev/null || {
      echo "the build failed (not because of the public API): run dotnet build $project" >&2; exit 1; }
done

python3 - "$work/warnings.log" "$root" "${projects[@]}" <<'PY'
import os, re, sys
log, root, projects = sys.argv[1], sys.argv[2], sys.argv[3:]
pattern = re.compile(r"warning (RS0016|RS0017): Symbol '(.*)' is (?:not part of the declared public API|part of the declared API, but is either not public or could not be found).*\[(.*?\.csproj)(?:::TargetFramework=([^\]]*))?\]\s*$")
found = {}  # project -> framework -> set of lines
for raw in open(log, encoding="utf-8", errors="replace"):
    m = pattern.search(raw.rstrip("\n"))
    if not m: continue
    rule, symbol, project, framework = m.groups()
    line = symbol if rule == "RS0016" else "*REMOVED*" + symbol
    found.setdefault(os.path.realpath(project), {}).setdefault(framework or "", set()).add(line)
failed = False
for project in projects:
    path = os.path.realpath(os.path.join(root, project))
    per_framework = found.get(path, {})
    surfaces = list(per_framework.values())
    lines = set().union(*surfaces) if surfaces else set()
    if any(s != lines for s in surfaces):
        failed = True
        print(f"{project}: the public surface differs between target frameworks:", file=sys.stderr)
        for framework, s in sorted(per_framework.items()):
            for l in sorted(lines - s): print(f"  not on {framework}: {l}", file=sys.stderr)
        continue
    unshipped = os.path.join(os.path.dirname(path), "PublicAPI.Unshipped.txt")
    with open(unshipped, "w", encoding="utf-8", newline="\n") as f:
        f.write("#nullable enable\n")
        for l in sorted(lines, key=lambda s: (s.startswith("*REMOVED*"), s)): f.write(l + "\n")
    print(f"{os.path.relpath(unshipped, root)}: {len(lines)} entries")
sys.exit(1 if failed else 0)
PY

# What the analyzer still reports (all projects, whatever depends on what): RS0026/RS0027 and the like are for a person.
echo "checking: building again..."
for project in "${projects[@]}"; do
  dotnet build "$project" -c "$configuration" -tl:off -nologo -v:q -p:TreatWarningsAsErrors=false \
    "-flp:logfile=$work/check.log;warningsonly;append;verbosity=quiet" >/dev/null
done
left="$(grep -oE "warning RS[0-9]+: .*" "$work/check.log" \
  | sed -E 's/ \(https?:[^)]*\)//; s/::TargetFramework=[^]]*\]/]/; s#\['"$root"'/#[#' | sort -u || true)"
if [ -n "$left" ]; then
  echo "$left"
  echo "the analyzer still reports the above: fix them, or suppress one with a justification in the project" >&2
  exit 1
fi
echo "done: review git diff -- 'src/*/PublicAPI.Unshipped.txt'"
