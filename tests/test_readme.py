"""The README stays true and short: its check table matches the registry, its commands exist, it links every doc."""

import re
from pathlib import Path

from smoke import registry
from smoke.model import Phase

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
ROW = re.compile(r"^\| `([a-z-]+)` \| (P\d) \| ([a-z-]+) \|", re.M)


def test_the_check_table_lists_every_pre_deploy_check_with_its_severity_and_scope():
    table = README[README.index("<!-- checks:start -->") : README.index("<!-- checks:end -->")]
    rows = {m.group(1): (m.group(2), m.group(3)) for m in ROW.finditer(table)}
    assert rows == {c.id: (c.severity.value, c.scope) for c in registry.for_phase(Phase.PRE)}


def test_the_two_commands_exist_and_ci_runs_the_test_command():
    assert "scripts/try-it" in README and "scripts/test" in README
    assert (ROOT / "scripts/try-it").stat().st_mode & 0o111
    assert "exec scripts/test" in (ROOT / ".ci/run").read_text()


def test_the_readme_links_every_page_in_docs():
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert [p for p in pages if f"(docs/{p}" not in README] == []


def test_the_readme_stays_about_two_screens_outside_its_generated_tables():
    generated = re.compile(r"<!-- action-(inputs|outputs):start -->.*?<!-- action-\1:end -->", re.S)
    # 250 lines: today's ~215 plus room for a few more sections; past it, move text into docs/.
    assert len(generated.sub("", README).splitlines()) <= 250
