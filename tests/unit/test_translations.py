"""Every string the code marks for translation has an English translation.

The Chinese source strings are extracted in-process exactly as ``make messages`` does (babel.cfg, keywords
babel's defaults plus ``_l``) and compared with the English catalogue, which is the only place the
translations live. After adding or changing a string: ``make messages``, then fill its msgstr in
``market/translations/en/LC_MESSAGES/messages.po``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "market/translations/en/LC_MESSAGES/messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}  # the Makefile's `pybabel extract -k _l`

PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%%")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Translations that quote Chinese on purpose: examples of Chinese synonyms for the (Chinese) search index.
CHINESE_KEPT = {
    "搜索时，一组中的任何一个词都会同时查找其他词（例如 SEM 也会找到“扫描电镜”）。修改在 30 秒内生效，无需重建索引。",
    "用逗号分隔同义的词，例如：SEM, 扫描电镜, 扫描电子显微镜",
}


def _ids(message_id) -> tuple[str, ...]:
    return message_id if isinstance(message_id, tuple) else (message_id,)


def _strings(message_string) -> tuple[str, ...]:
    return message_string if isinstance(message_string, tuple) else (message_string,)


@pytest.fixture(scope="module")
def extracted() -> dict[tuple[str, str | None], list[str]]:
    """(msgid, msgctxt) -> where it occurs, for every message in the code."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[tuple[str, str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        msgid = _ids(message)[0]
        if msgid:
            found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def catalog():
    with PO.open("rb") as f:
        return read_po(f)


def test_extraction_finds_the_code_strings(extracted):
    # guards against a babel.cfg or keyword change that silently extracts nothing
    assert len(extracted) > 1000
    assert ("登录", None) in extracted  # template: {{ _('登录') }}
    assert ("机构类型", None) in extracted  # Python: _l("机构类型")
    assert ("付款凭证", None) in extracted  # Python: N_("付款凭证")
    assert ("预约", "deals section") in extracted  # template and Python: pgettext("deals section", "预约")


def test_every_code_string_has_an_english_translation(extracted, catalog):
    problems = []
    for (msgid, context), where in sorted(extracted.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        message = catalog.get(msgid, context=context)
        if message is None:
            problems.append(f"not in the catalogue (run `make messages`): {msgid!r} at {where[0]}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif not all(s.strip() for s in _strings(message.string)):
            problems.append(f"untranslated: {msgid!r} at {where[0]}")
    assert not problems, "\n".join(problems)


def test_translations_keep_placeholders_and_markup(catalog):
    problems = []
    for message in catalog:
        if not message.id:
            continue
        source = _ids(message.id)
        for text in _strings(message.string):
            if sorted(PLACEHOLDER.findall(source[-1] if len(source) > 1 else source[0])) != sorted(PLACEHOLDER.findall(text)):
                problems.append(f"placeholders differ: {source[0]!r} -> {text!r}")
            if sorted(TAG.findall(source[0])) != sorted(TAG.findall(text)):
                problems.append(f"markup differs: {source[0]!r} -> {text!r}")
            if CJK.search(text) and source[0] not in CHINESE_KEPT:
                problems.append(f"Chinese left in the translation: {source[0]!r} -> {text!r}")
    assert not problems, "\n".join(problems)


def test_catalogue_has_no_stale_entries(extracted, catalog):
    stale = sorted(m.id for m in catalog if m.id and (_ids(m.id)[0], m.context) not in extracted)
    assert not stale, f"no longer in the code (run `make messages`): {stale}"
    assert not catalog.obsolete, f"obsolete entries left: {list(catalog.obsolete)}"


def test_industry_names_of_the_classification_data_are_marked():
    # The names come from a YAML file the extractor cannot read; market/orgs/labels.py lists them.
    from market.orgs.labels import INDUSTRY_NAMES

    data = yaml.safe_load((ROOT / "market/domain/sme_classification.yaml").read_text(encoding="utf-8"))
    names = {industry["name"] for standard in data["standards"] for industry in standard["industries"].values()}
    assert names == set(INDUSTRY_NAMES)


def test_the_art9_rubric_of_the_events_plan_is_marked():
    # The labels and rubric come from market/events/plan.yaml, which the extractor cannot read.
    from market.events.labels import RUBRIC_WORDS

    data = yaml.safe_load((ROOT / "market/events/plan.yaml").read_text(encoding="utf-8"))
    words = {w for c in data["art9_demo"]["criteria"].values() for w in (c["label"], c["rubric"])}
    assert words == set(RUBRIC_WORDS)


def test_the_policy_clauses_of_the_parameters_are_marked():
    # The clauses are quoted in market/subsidies/parameters.yaml; market/subsidies/claims_labels.py lists them.
    from market.subsidies.claims_labels import CLAUSE_WORDS

    data = yaml.safe_load((ROOT / "market/subsidies/parameters.yaml").read_text(encoding="utf-8"))
    clauses = {rule["clause"] for rule in data["rules"].values()} | {data["closing_clause"]}
    assert clauses == set(CLAUSE_WORDS)
