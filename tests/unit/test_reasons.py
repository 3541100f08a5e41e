"""The reason catalog: complete, documented, and used consistently."""

from __future__ import annotations

import re
from pathlib import Path

from commutepass.domain.reasons import CATALOG, catalog_markdown
from commutepass.policies import builtin_policies

ROOT = Path(__file__).resolve().parents[2]


def test_every_code_the_engine_emits_is_in_the_catalog() -> None:
    source = (ROOT / "src/commutepass/domain/decisions.py").read_text(encoding="utf-8")
    used = set(re.findall(r'Reason\.of\(\s*"([A-Z_0-9]+)"', source))
    used |= {"POPUP_" + code for code in re.findall(r'"(TRAVEL_[A-Z_]+)"', source)}
    assert used, "the pattern found no reason codes"
    assert used <= set(CATALOG), sorted(used - set(CATALOG))


def test_docs_list_every_code_as_generated() -> None:
    documented = (ROOT / "docs/reasons.md").read_text(encoding="utf-8")
    assert documented == catalog_markdown(builtin_policies().policies), (
        "run: commutepass reasons --markdown > docs/reasons.md"
    )
    for code in CATALOG:
        assert f"`{code}`" in documented


def test_every_text_exists_in_both_languages() -> None:
    for code, text in CATALOG.items():
        assert text.zh and text.en, code
        assert bool(text.remedy_zh) == bool(text.remedy_en), code
        placeholders_zh = set(re.findall(r"{(\w+)}", text.zh + text.remedy_zh))
        placeholders_en = set(re.findall(r"{(\w+)}", text.en + text.remedy_en))
        assert placeholders_zh == placeholders_en, code
