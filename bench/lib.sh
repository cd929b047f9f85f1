# Shared by bench/run*.sh (source it from the repository root).
doc=docs/BENCHMARKS.md

# The machine, for the "Measured ... on ..." line of every section.
bench_machine() {
  echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
}

# replace_section HEADING FILE: FILE's content becomes the body of
# "## HEADING" in docs/BENCHMARKS.md (up to the next "## " heading).
replace_section() {
  awk -v head="## $1" -v body="$2" '
    $0 == head { print; print ""; while ((getline line < body) > 0) print line; print ""; skip = 1; next }
    skip && /^## / { skip = 0 }
    !skip { print }' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
}
