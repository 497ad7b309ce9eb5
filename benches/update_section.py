"""Replace the text between `<!-- BEGIN name -->` and `<!-- END name -->` in BENCHMARKS.md (or another document
of the repository's root) with a file's content.

    python3 benches/update_section.py NAME FILE [DOCUMENT]

The benchmark scripts call this so that the tables in BENCHMARKS.md are the ones they measured, never typed.
"""
import pathlib
import sys

name, src = sys.argv[1], pathlib.Path(sys.argv[2])
doc = pathlib.Path(__file__).resolve().parent.parent / (sys.argv[3] if len(sys.argv) > 3 else "BENCHMARKS.md")
text = doc.read_text()
begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
if begin not in text or end not in text:
    sys.exit(f"{doc.name} has no section markers for {name!r}")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
body = src.read_text().strip("\n")
tmp = doc.with_suffix(".md.tmp")
tmp.write_text(f"{head}{begin}\n{body}\n{end}{tail}")
tmp.replace(doc)
print(f"{doc.name}: section {name} updated from {src}")
