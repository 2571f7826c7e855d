"""English queries read through the glossary (market.search.english), on a small glossary of the test's own."""

from __future__ import annotations

import pytest

from market.search import english

GLOSSARY = """
- source: 测试
  terms:
    electron microscope: 电子显微镜
    scanning electron microscope: 扫描电子显微镜
    mass spectrometer: 质谱仪
    battery: 电池
    chi: 测试词
    elemental analysis: 元素分析
    cold chain: 冷链
    logistics: 物流
"""


@pytest.fixture(autouse=True)
def small_glossary(tmp_path, monkeypatch):
    path = tmp_path / "english.yaml"
    path.write_text(GLOSSARY, encoding="utf-8")
    monkeypatch.setattr(english, "GLOSSARY_FILE", path)
    english.glossary.cache_clear()
    english._known_words.cache_clear()
    yield
    english.glossary.cache_clear()
    english._known_words.cache_clear()


@pytest.mark.parametrize(("typed", "terms", "kept"), [
    ("electron microscope", ("电子显微镜",), ()),
    ("Electron Microscopes", ("电子显微镜",), ()),  # case and plural folded
    ("scanning electron microscopes", ("扫描电子显微镜",), ()),  # the longest phrase wins
    ("batteries", ("电池",), ()),
    ("elemental analyses", ("元素分析",), ()),
    ("cold chain logistics", ("冷链", "物流"), ()),
    ("we need a mass spectrometer for ICP-MS 600MHz work", ("质谱仪",), ("ICP-MS", "600MHz")),  # acronyms kept
    ("electron microscope electron microscopes", ("电子显微镜",), ()),  # a term once
])
def test_english_words_become_the_chinese_terms_of_the_glossary(typed, terms, kept):
    found = english.translate(typed)
    assert found is not None and (found.terms, found.kept) == (terms, kept)
    assert found.query == " ".join((*terms, *kept))


@pytest.mark.parametrize("typed", ["", "   ", "SEM", "Titan Krios", "扫描电镜", "electron 显微镜", "qwerty 123", "🙂",
                                   "dian chi ce shi"])  # pinyin (电池测试), though "dian" … are no English
def test_a_query_the_glossary_does_not_know_is_searched_as_typed(typed):
    assert english.translate(typed) is None


def test_a_word_the_index_holds_is_kept_but_never_a_function_word():
    index = {"krios", "for"}.__contains__
    found = english.translate("electron microscope for Krios", known=index)
    assert found is not None and found.kept == ("Krios",)


def test_the_shipped_glossary_loads_with_unique_lower_case_singular_keys():
    """The real file: every key unique and lower case ASCII, each value a short Chinese term."""
    import yaml

    english.GLOSSARY_FILE = english.Path(english.__file__).with_name("data") / "english.yaml"
    sections = yaml.safe_load(english.GLOSSARY_FILE.read_text(encoding="utf-8"))
    keys = [k for s in sections for k in s["terms"]]
    assert all(s.get("source") for s in sections)
    assert len(keys) == len(set(keys)) and len(keys) >= 300
    assert all(k == k.lower() and k.isascii() for k in keys)
    assert all(v and len(str(v)) <= 20 and english._CJK.search(str(v)) for s in sections for v in s["terms"].values())
