"""From what a user typed to a Whoosh query: normalise, find synonyms, segment, build clauses.

A query is a list of *concepts*. A synonym found in the query (longest match first) is one concept
whose variants are the whole synonym group; every other word jieba finds is a concept of its own.
Each variant matches a field through its jieba term (whole word) or the phrase of its bigrams
(any substring), with boosts title > tags > description > metadata.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from whoosh import query as Q

from . import pinyin as py
from .analysis import bigram_tokens, cut, init_jieba, jieba_analyzer
from .text import normalize

MAX_QUERY_CHARS = 200  # a 1,000-character paste is cut here: ranking needs no more
MAX_CONCEPTS = 24

FIELD_BOOSTS = {"title": 3.0, "all": 1.0}  # a title match also matches `all`: 4 in total
MEMBER_BOOSTS = {"all": 2.0}  # a category's members (see ``variant_query``)


@dataclasses.dataclass
class Strategy:
    """The knobs the relevance benchmark compares (see bench/relevance.py)."""

    jieba: bool = True
    bigram: bool = True
    synonyms: bool = True
    combine: str = "or"  # "and": every concept; "or": any, ranked by coordination
    coord: float | None = 0.9  # Or(scale=...) coordination bonus
    jieba_weight: float = 1.0
    bigram_weight: float = 1.0
    synonym_weight: float = 0.8
    jieba_fields: tuple[str, ...] = ("title", "all")
    pinyin: bool = True  # pinyin / initials / homophone typos (py_* and in_* fields)
    pinyin_weight: float = 0.8
    compounds: bool = True  # a long word also searched as its head noun and modifiers
    head_weight: float = 0.5
    modifier_weight: float = 0.1
    coverage: float = 2.0  # score x (rarity-weighted share of the concepts matched) ** coverage
    hyponyms: bool = True  # a category word (显微镜, 质谱) also matches its members (电镜, SEM, LC-MS)
    hyponym_weight: float = 0.6
    max_variants: bool = True  # a concept scores its best-matching synonym, not the sum of all
    kinds: bool = True  # listings of a kind the query names (数据, 场景, 中试基地 …) first
    # a long name also searched as the known concept it ends with (SynonymTable.head_of): "typed"
    # (True) from what was typed, "all" from its synonyms too (GC-MS -> 气相色谱质谱 -> 质谱), False never
    lexicon_heads: bool | str = True
    fill: bool = True  # fewer than ten matches: related listings after them (services._related)
    # ... and a query naming only a kind of listing (揭榜挂帅, 中试基地 出租) then lists that kind (services._kind_listings)
    kind_browse: bool = True
    related_heads: bool = True  # ... also the listings of the concept a query word is a kind of (siblings)
    generic_split: bool = True  # ... and before matches of only a sentence's common words (检测, 数据)
    # several known concepts (lexicon terms, categories) matching ten listings or more: the first ten
    # hold this many listings of each (its best ones moved up), not ten of one concept; 0: off
    spread: int = 3
    # a sentence's plain words weigh less the more common they are in the language (``_filler_weight``)
    filler_freq: bool = True
    # a family word also matches the groups naming it inside a combined name (SynonymTable._joins)
    containing: bool = True
    # a long name's lexicon head also brings the family that head is a kind of (weight head_weight ** 2)
    broader_heads: bool = True
    # two lexicon terms overlapping in what was typed are both concepts (企业诚信档案: 企业诚信, 诚信档案)
    overlaps: bool = True
    # ... and before matches of only a long word's modifiers (高效 of 高效液相色谱仪)
    modifier_split: bool = True
    # a lexicon name of Latin letters then Chinese (GMP车间) is also searched as its two parts (as heads)
    mixed_parts: bool = True
    # ... the bigrams of a synonym too (TEM -> 透射电子显微镜 -> 显微 …; not for a short Chinese word)
    loosen_synonyms: bool = True
    # ... and of the Chinese of a Latin + Chinese name that has no Chinese one (X光机 = X射线机: 射线机)
    loosen_mixed: bool = True
    # ... the categories a one-word query is a member of (X光探伤 -> 无损检测) and their members: siblings
    related_parents: bool = True
    # ... the weight of a common word (数据库, 检测, 平台 …: ``services._generic``) among the matches' words
    # the related listings are found by (pseudo-relevance feedback); 1.0: as any other word
    feedback_generic: float = 0.5
    # a long word ending with a common head (实验动物中心, 食品安全检测: 中心, 检测) is searched as what
    # comes before it (实验动物, 食品安全: at the head's weight), the common head only as a modifier
    generic_stems: bool = True
    # shared pinyin initials, a word typed pinyin and a family's members are decided by how many
    # listings of the index name each term (services.term_frequency), not by the lexicon alone
    index_counts: bool = True
    # a typed word right before pinyin joins the word the pinyin sounds like when together they are a
    # lexicon term (3d dayin -> 3d打印 = 增材制造; gmp chejian -> gmp车间)
    joined_pinyin: bool = True
    # a query naming a task (尺寸全检, 老化试验, 烘干) also finds the families that do it (data/purposes.yaml),
    # as members of the word naming the task, at this weight and capped under the listings naming it
    purposes: bool = True
    purpose_weight: float = 0.5
    # a sentence's words of no content by their part of speech (下个月, 一遍, 一批: ``function_word``) weigh 0.25
    function_words: bool = True
    # in a sentence, the verb right after a purpose marker (来, 用来, 用于, 以便, 为了: ``purpose_verbs``)
    # says what the data is for, not what is sought: it weighs as a function word, its object does not
    purpose_verbs: bool = True
    # the related listings are also found by the words the best matches' descriptions stress against the
    # whole index (``services._description_terms``: a relevance model learnt from the corpus, no word list),
    # a third feedback list counted at this weight in the CombSUM; 0: off
    description_feedback: float = 0.5
    # in a query of several concepts, the weak matches (under services.ABOUT_STRONG of the best score) re-ordered
    # by score x (1 + this x how much each is about what the best matches are about, learnt from their text:
    # ``services._about_order``); 0: off
    about_weak: float = 1.0
    # in a sentence, a word jieba's HMM glued from characters the dictionary does not hold together (想租个, 要测,
    # 能代) and the index does not hold either is read as its dictionary words, not as a homophone typo
    glued_words: bool = True
    # a name no listing names, shorter than COMPOUND_MIN and ending with a common head (质谱分析), is also searched
    # as its stem (质谱)
    short_stems: bool = True
    # a Latin name typed without its separators is the lexicon's (or a mined) term with them: bsl2 = BSL-2, lcms = LC-MS
    latin_spellings: bool = True
    # the words of how a resource is offered (TRANSACTION_WORDS: 租赁, 预约, 计费) count as common words of a request
    # (services._generic): 无尘车间出租 is a request for clean rooms, not for anything rented
    transaction_words: bool = True
    # ... and weighs as a function word beside a word naming what is sought (中试基地租赁: the pilot bases, not the rest)
    offer_light: bool = True
    # a category word jieba would split (热分析 -> 热 + 分析) is one concept with its members (TGA, DSC …)
    category_terms: bool = True
    # a lone character of a query joins the word next to it when the index holds them together (热真空, 电阻焊)
    lone_chars: bool = True
    # once a word typed by sound names a word of the index (gongjiao -> 公交), its other readings (共焦) weigh this much
    other_readings: float = 0.25
    # an instrument named by its category word and 仪 (色谱仪, 光谱仪) is any instrument of that category: the category
    # word is one of its names (制备型液相色谱系统 is a 色谱仪 without saying so)
    instrument_stems: bool = True
    # a task's families are left out when a word of the query finds them already (they would count twice), but not
    # when that word is a common head (试验 of 底盘 耐久 试验 "finds" 疲劳试验机 as it finds every 试验)
    purposes_past_generic: bool = True
    # a request (a sentence, or several words) has its first page re-ordered by meaning (``semantic.reorder``): places
    # after the first SEMANTIC_KEEP, among the first SEMANTIC_POOL of a page of SEMANTIC_FETCH, by (1 - w) x place +
    # w x closeness of the listing's sentence embedding to the request's; 0: off
    semantic: float = 0.5
    # a query with no Chinese in it is searched as the Chinese the English glossary gives its words (``english``)
    english: bool = True


DEFAULT = Strategy()
# Reading text other than the search box's query (the matches' words for feedback, a listing's own title for its
# similar box, a saved search for its alerts, a suggestion's check): the methods measured on such text. Those added
# for what users type (task purposes, a sentence's fillers, purpose verbs and glued particles, short stems, Latin
# respellings, category words, lone characters, instruments' category words, light words of the offer) were measured
# on the search box only.
LITERAL = Strategy(purposes=False, function_words=False, purpose_verbs=False, glued_words=False, short_stems=False,
                   latin_spellings=False, category_terms=False, lone_chars=False, instrument_stems=False,
                   offer_light=False, semantic=0.0, english=False)

# Words that carry no need in a natural sentence ("我想找一台能做…的设备").
STOPWORDS = frozenset(
    """的 了 和 与 及 或 在 是 有 我 我们 你 你们 他们 公司 想 想要 要 需要 需 希望 找 寻找 查找 找到
    一个 一台 一套 一些 有没有 没有 哪里 哪儿 哪个 哪些 什么 怎么 如何 可以 能 能够 可 做 进行 用 用于 使用 提供
    帮 帮忙 请问 一下 吗 呢 吧 啊 为 对 把 被 给 从 到 向 这 那 这个 那个 本 其 等 及其 相关 方面 关于 以及
    个 台 套 次 些 多 很 比较 最 也 都 还 就 又 让 能否 是否 有关 针对 开展 服务 合作
    我司 本公司 本单位 我单位 我方 团队 目前 现在 正在 计划 打算 准备 急需 寻求 求助 能不能 可不可以
    有无 哪家 哪位 哪里能 怎样 怎么样 比如 例如 之类 等等 用来 用以 以便 为了 一种 某种 某个 这种 这类
    一家 一款 一位 咨询 了解 联系 对接 找找 看看 推荐 麻烦""".split()
)

# Words naming a kind of listing (market/search/labels.py KIND_LABELS); a query holding one ranks
# listings of that kind first (services.KIND_PREFERENCE), the others still follow.
_DATA = ("database", "public_data")
KIND_WORDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("数据", "数据集", "数据库", "数据资源", "数据服务", "数据接口"), _DATA),
    **dict.fromkeys(("公共数据", "开放数据", "政府数据", "政务数据", "公开数据"), ("public_data",)),
    **dict.fromkeys(("场景", "应用场景", "场景需求", "需求", "揭榜挂帅"), ("scenario",)),
    **dict.fromkeys(("仪器", "设备", "仪器设备", "大型仪器", "科研仪器"), ("instrument",)),
    **dict.fromkeys(("平台", "实验室", "场地", "测试场", "共享平台", "服务平台"), ("facility",)),
    **dict.fromkeys(("中试", "中试基地", "中试平台", "中试线", "中试车间", "中试生产线"), ("pilot_base",)),
}

_ASCII = re.compile(r"[0-9a-z]")
_WORDLIKE = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff]")


@dataclasses.dataclass
class Concept:
    variants: tuple[str, ...]
    synonym: bool = False
    pinyin: tuple[str, ...] | None = None  # fuzzy syllables to match the py_* fields
    initials: tuple[str, ...] | None = None  # letters to match the in_* fields (zpy)
    typo: bool = False  # its characters are not in the index: matched by their pinyin
    role: str = ""  # "head" / "modifier": a part of a longer word of the query
    narrower: tuple[str, ...] = ()  # members of the category the concept names (SynonymTable.narrower)
    weight: float = 1.0  # < 1: a common word of the language in a long request (``_filler_weight``)
    purpose: tuple[str, ...] = ()  # families that do the task the concept names (``_attach_purposes``)
    sounded: bool = False  # its pinyin names a word of the index (``_sounded_word``), one of its variants

    @property
    def text(self) -> str:
        return self.variants[0]


@dataclasses.dataclass
class ParsedQuery:
    text: str  # normalised
    concepts: list[Concept]
    corrected: bool = False  # a homophone typo was replaced by a term (SynonymTable.correct_homophones)

    @property
    def highlight_terms(self) -> list[str]:
        return [v for c in self.concepts for v in (*c.variants, *c.narrower)]

    @property
    def kinds(self) -> frozenset[str]:
        """The listing kinds the query names (数据 -> database, public_data; 场景 -> scenario …):
        the grading rules' "a query naming a kind wants that kind first"."""
        out: set[str] = set()
        for c in self.concepts:
            if c.role:
                continue
            for v in c.variants:
                out.update(KIND_WORDS.get(v, ()))
        return frozenset(out)

    @property
    def is_request(self) -> bool:
        """A request of several words (SENTENCE_CONCEPTS or more, not counting the parts of one), not a name."""
        return len([c for c in self.concepts if not c.role]) >= SENTENCE_CONCEPTS

    @property
    def needs_suggestion(self) -> bool:
        """Something typed was matched only by its sound (pinyin, a homophone typo)."""
        return self.corrected or any(c.typo or (c.pinyin is not None and not c.synonym) for c in self.concepts)


CJK_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_CJK_TAIL = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+$")
HEAD_SUFFIXES = "仪机器计台镜箱炉"  # 质谱 + 仪: an instrument suffix belongs to the head
MAX_NARROWER = 32  # member terms added to one concept
MAX_NARROWER_GROUPS = 30  # a head shared by more groups is generic (数据 ends 气象数据, 人口数据 …)
# Heads that end many unrelated names: a listing is not a "member" of 数据 or 检测.
GENERIC_HEADS = frozenset(
    """数据 数据库 数据集 检测 测试 分析 材料 服务 平台 系统 技术 设备 中心 试验 加工 管理 信息 工艺 制造
    产业 研发 监测 认证 计算 识别 实验室 基地 场景 应用 工程 模型 产品 处理 开发 设计 测量 控制 网络 能源
    安全 经济 资源 交通 工作站 测试仪 分析仪 试验机 试验箱 测量仪 检测仪 成像 装置 仪器 机器 系统集成
    服务平台 公共服务 合作 项目 方案 需求 建设 运营 监管 治理 融合 创新 转化 研究""".split()
)

# Words of how a resource is offered on this marketplace, not of what is sought: every instrument is booked by the
# hour and every base is rented, so 中试基地租赁 asks for pilot bases and 按小时计费的仪器 for instruments.
TRANSACTION_WORDS = frozenset(
    """租赁 出租 租用 租借 预约 计费 收费 价格 费用 报价 免费 便宜 优惠 小时 机时 排队 外包 代工 委托 申请 对外开放""".split()
)
GENERIC_HEADS_LONGEST = tuple(sorted(GENERIC_HEADS, key=len, reverse=True))


def common_word(word: str) -> bool:
    """A common head (检测, 平台) or a word naming a kind of listing (数据, 场景): it names no need of its own."""
    return word in GENERIC_HEADS or word in KIND_WORDS


# Latin members that are also units of measure (100 ml, 5 kg, 10 ms): never searched as a member.
UNIT_LIKE = frozenset("ml dl kg mg ms mm cm um nm km kw mw kv hz db ps fs ns pa mpa gb tb mb".split())


def _covers(word: str, term: str) -> bool:
    """Does a search for ``word`` already find ``term`` (a substring; a whole Latin word)?"""
    if _ASCII.match(word[0]):
        return word in re.findall(r"[0-9a-z]+", term) or word == term
    return word in term


_categories: dict[str, tuple[str, ...]] | None = None


def categories() -> dict[str, tuple[str, ...]]:
    """Category word -> its members, from data/categories.yaml (normalised; loaded once)."""
    global _categories
    if _categories is None:
        import yaml

        from .analysis import DATA_DIR

        got: dict[str, list[str]] = {}
        for section in yaml.safe_load((DATA_DIR / "categories.yaml").read_text(encoding="utf-8")) or []:
            for word, members in (section.get("categories") or {}).items():
                bucket = got.setdefault(normalize(str(word)), [])
                bucket.extend(m for m in (normalize(str(x)) for x in members or []) if m and m not in bucket)
        _categories = {w: tuple(ms) for w, ms in got.items()}
    return _categories


_category_scan: tuple[int, dict[str, list[str]]] | None = None


def category_at(text: str, i: int, synonyms: SynonymTable) -> str | None:
    """The longest category word (data/categories.yaml) starting at ``text[i]`` that is not a term of
    ``synonyms`` (those are matched as terms) and is more than one jieba word (热分析 is 热 + 分析, 成分分析 成分 +
    分析): a class the query names, with its members, where jieba would keep only a part of it."""
    global _category_scan
    from .analysis import dictionary_version

    if _category_scan is None or _category_scan[0] != dictionary_version():  # jieba's words decide what splits
        scan: dict[str, list[str]] = {}
        for word in sorted(categories(), key=len, reverse=True):
            if _CJK_ONLY.match(word) and len(cut(word, hmm=False)) > 1:
                scan.setdefault(word[0], []).append(word)
        _category_scan = (dictionary_version(), scan)
    for word in _category_scan[1].get(text[i], ()):
        if text.startswith(word, i) and word not in synonyms.groups:
            return word
    return None


_purposes: dict[str, tuple[str, ...]] | None = None


def purposes() -> dict[str, tuple[str, ...]]:
    """Task phrase -> the families of instruments, facilities, services and data that do it, from
    data/purposes.yaml (normalised; loaded once). What a family is used for, not what it is called:
    尺寸/全检 -> 三坐标测量机, 影像测量仪; 老化 -> 老化试验箱, 高低温试验箱; 烘干 -> 干燥设备."""
    global _purposes
    if _purposes is None:
        import yaml

        from .analysis import DATA_DIR

        got: dict[str, list[str]] = {}
        for section in yaml.safe_load((DATA_DIR / "purposes.yaml").read_text(encoding="utf-8")) or []:
            for phrase, families in (section.get("purposes") or {}).items():
                bucket = got.setdefault(normalize(str(phrase)), [])
                bucket.extend(f for f in (normalize(str(x)) for x in families or []) if f and f not in bucket)
        _purposes = {p: tuple(fs) for p, fs in got.items() if p}
    return _purposes


class SynonymTable:
    """Normalised term -> its group, with a longest-match scanner."""

    def __init__(self, groups: list[list[str]]):
        # Groups sharing a term are one group (a mined NMR = 核磁共振波谱仪 joins NMR = 核磁共振):
        # union-find over terms, members in first-seen order.
        parent: dict[str, str] = {}

        def find(t: str) -> str:
            while parent[t] != t:
                parent[t] = parent[parent[t]]
                t = parent[t]
            return t

        order: list[str] = []
        for group in groups:
            norm = tuple(dict.fromkeys(normalize(str(t)) for t in group if t and normalize(str(t))))
            if len(norm) < 2:
                continue
            for term in norm:
                if term not in parent:
                    parent[term] = term
                    order.append(term)
            root = find(norm[0])
            for term in norm[1:]:
                other = find(term)
                if other != root:
                    parent[other] = root
        members: dict[str, list[str]] = {}
        for term in order:
            members.setdefault(find(term), []).append(term)
        self.groups: dict[str, tuple[str, ...]] = {}
        for terms in members.values():
            for term in terms:
                self.groups[term] = tuple(terms)
        self.by_first: dict[str, list[str]] = {}
        for term in sorted(self.groups, key=len, reverse=True):
            self.by_first.setdefault(term[0], []).append(term)
        # Head-noun index for hyponyms: every Chinese ending of a term (扫描电子显微镜 -> 显微镜,
        # 子显微镜 …; 质谱仪 -> 质谱 too) -> the groups holding such a term, in group order.
        self._by_sound: dict[str, str] | None = None  # fuzzy pinyin -> term (correct_homophones)
        self._by_syllables: dict[str, list[str]] | None = None  # the same for every length (sounding)
        self._by_initials: dict[str, list[str]] | None = None  # pinyin initials -> terms (by_initials)
        self._sound_max = 0
        self._squeezed: dict[str, str] | None = None  # a Latin term without its separators -> it (respell_latin)
        self._group_list: list[tuple[str, ...]] = list(dict.fromkeys(self.groups.values()))
        self._by_head: dict[str, list[int]] = {}
        self._containing: dict[str, tuple[int, ...]] = {}
        self._inner: dict[str, list[int]] | None = None  # inner pieces of terms -> groups (``containing``)
        for gi, terms in enumerate(self._group_list):
            heads: set[str] = set()
            for term in terms:
                for stem in (term, term[:-1] if term[-1:] and term[-1] in HEAD_SUFFIXES else ""):
                    tail = _CJK_TAIL.search(stem)
                    if not tail:
                        continue
                    run = tail.group()
                    # a member has a modifier of two characters or more: 扫描+电镜, 液相+色谱, not
                    # 比+表面 (specific surface area is no kind of surface)
                    heads.update(run[-k:] for k in range(2, len(run) - 1) if run[-k:] != term)
            for head in heads:
                self._by_head.setdefault(head, []).append(gi)

    def respell_latin(self, text: str) -> str:
        """``text`` with each Latin word the table lacks, written without the hyphens, dots, slashes or plus
        signs of a term the table has, written as that term: bsl2 -> bsl-2, lcms -> lc-ms, pm25 -> pm2.5.
        The same name typed without its separators (a user seldom types them) is the same name."""
        if self._squeezed is None:
            squeezed: dict[str, str | None] = {}
            for term in self.groups:
                if term.isascii() and _SEPARATORS.search(term):
                    key = _SEPARATORS.sub("", term)
                    if len(key) >= 3 and key not in self.groups:
                        # two terms squeezing alike (a-b, ab-) name nothing for sure
                        squeezed[key] = term if squeezed.get(key, term) == term else None
            self._squeezed = {k: v for k, v in squeezed.items() if v}
        if not self._squeezed:
            return text

        def respell(m: re.Match) -> str:
            word = m.group()
            return word if word in self.groups else self._squeezed.get(word, word)

        return _LATIN_WORD.sub(respell, text)

    def sounding(self, syls: tuple[str, ...] | list[str]) -> str | None:
        """The Chinese term of the table (two characters or more) with exactly these fuzzy
        syllables: dian jin -> 电镜, zi pu yi -> 质谱仪 (the first of a group wins)."""
        got = self.all_sounding(syls)
        return got[0] if got else None

    def all_sounding(self, syls: tuple[str, ...] | list[str]) -> list[str]:
        """Every Chinese term of the table with exactly these fuzzy syllables, in table order
        (che jian -> 车检 …; ``sounding`` takes the first)."""
        if self._by_syllables is None:
            self._by_syllables = {}
            for term in self.groups:
                if len(term) >= 2 and _CJK_ONLY.match(term):
                    self._by_syllables.setdefault(" ".join(py.word_syllables(term)), []).append(term)
        return self._by_syllables.get(" ".join(syls), []) if len(syls) >= 2 else []

    def by_initials(self, letters: tuple[str, ...] | list[str], freq=None) -> str | None:
        """The Chinese term (three characters or more) whose pinyin initials are ``letters``, if
        the terms with those initials all belong to one group: wrj -> 无人机; zpy -> 质谱仪. If they
        belong to several (tsdj: 透射电镜, 台式电镜; gjj: 共聚焦, 公积金) and ``freq(term) -> int`` (the
        listings of the index naming it) is given, the group the index names at least INITIALS_LEAD
        times as often as any other: what the initials most likely stand for here."""
        if self._by_initials is None:
            got: dict[str, list[str]] = {}
            for term in self.groups:
                if len(term) >= 3 and _CJK_ONLY.match(term):
                    got.setdefault("".join(s[:1] for s in py.word_syllables(term)), []).append(term)
            self._by_initials = got
        terms = self._by_initials.get("".join(letters), [])
        groups = {self.groups[t] for t in terms}
        if len(groups) == 1:
            return terms[0]
        if freq is None or not groups:
            return None
        return _most_named(terms, self.groups, freq)

    def correct_homophones(self, text: str, known) -> str:
        """``text`` with each run of three or more Chinese characters that sounds exactly like a
        term of the table (fuzzy pinyin), but is neither that term, a word of the language nor in
        the index, replaced by the term: 和磁共振 -> 核磁共振, 拉曼光普 -> 拉曼光谱, 液相色普 -> 液相色谱."""
        if self._by_sound is None:
            self._by_sound = {}
            for term in self.groups:
                if len(term) >= 3 and _CJK_ONLY.match(term):
                    self._by_sound.setdefault(" ".join(py.word_syllables(term)), term)
            self._sound_max = max((len(t) for t in self._by_sound.values()), default=0)
        if not self._by_sound:
            return text

        out = text
        for m in CJK_RUNS.finditer(text):
            run = m.group()
            syls = py.word_syllables(run)
            if len(run) < 3 or len(syls) != len(run):
                continue
            i = 0
            while i < len(run) - 2:
                for n in range(min(self._sound_max, len(run) - i), 2, -1):
                    sub = run[i : i + n]
                    term = self._by_sound.get(" ".join(syls[i : i + n]))
                    if term and term != sub and sub not in self.groups and not language_word(sub) \
                            and not known(sub) and _kept_in_place(sub, term):
                        out = out.replace(sub, term, 1)
                        i += n
                        break
                else:
                    i += 1
        return out

    def _joins(self, word: str, term: str) -> bool:
        """Does ``term`` join ``word`` (as the head of its first part) to another named thing? 色谱
        in 气相色谱-质谱联用仪 and in 液相色谱质谱联用仪 (followed by 质谱, a term), 质谱 in ICP-MS's
        电感耦合等离子体质谱-… Not a word starting the name (无人驾驶 in 无人驾驶航空器, 冷链 in 冷链配送:
        modifiers of another head), not one followed by a plain noun (民用无人驾驶 + 航空器: not a family of
        two groups or more, nor a shipped category), not its
        end (a head: ``narrower`` has those already)."""
        runs = CJK_RUNS.findall(term)
        for n, run in enumerate(runs):
            i = run.find(word, 1)
            while i > 0:
                end = i + len(word)
                if end == len(run):
                    if n < len(runs) - 1 and "-" in term:  # 气相色谱-质谱: the head of a first part
                        return True
                elif any(t in categories() or len(self._by_head.get(t, ())) >= 2
                         for t in (run[end:end + k] for k in range(2, len(run) - end + 1))):
                    return True  # followed by a named family (质谱, 串联质谱): a combination of two
                i = run.find(word, i + 1)
        return False

    def containing(self, word: str) -> tuple[int, ...]:
        """The groups with a term holding the Chinese ``word`` inside a longer name (not as its whole
        Chinese run): 色谱 -> 气相色谱-质谱联用仪 (= 气质联用仪), 冷链 -> 冷链配送 (= 低温配送). What a
        search for the word finds by substring in a listing naming the term, it then also finds in a
        listing naming only the term's synonyms."""
        got = self._containing.get(word)
        if got is None:
            if self._inner is None:  # built once: every inner piece of every Chinese run -> its groups
                inner: dict[str, set[int]] = {}
                for gi, terms in enumerate(self._group_list):
                    for t in terms:
                        for run in CJK_RUNS.findall(t):
                            for i in range(1, len(run) - 1):
                                for j in range(i + 2, len(run) + 1):
                                    inner.setdefault(run[i:j], set()).add(gi)
                self._inner = {k: sorted(v) for k, v in inner.items()}
            got = tuple(gi for gi in self._inner.get(word, ())
                        if any(self._joins(word, t) for t in self._group_list[gi]))
            if len(self._containing) < 20000:
                self._containing[word] = got
        return got

    def narrower(self, words: tuple[str, ...] | list[str], limit: int = MAX_NARROWER,
                 containing: bool = True, freq=None) -> tuple[str, ...]:
        """Terms of the groups whose terms end with one of ``words`` (their head noun): the members
        of the category ``words`` name. 显微镜 -> 电镜, SEM, 透射电镜, AFM, 共聚焦显微镜 …; 质谱 -> LC-MS,
        ICP-MS, 气质联用 …. A term that already contains one of ``words`` is left out (the word itself
        finds it), and so are generic heads (数据, 检测, 平台 …) and categories with too many groups:
        they name no family a user means."""
        own = tuple(dict.fromkeys(w for w in words if w))  # ordered: the cut at ``limit`` is stable
        keys: list[str] = []
        for w in own:
            if len(w) < 2 or not _CJK_ONLY.match(w) or w in GENERIC_HEADS:
                continue
            keys.append(w)
            if w[-1] in HEAD_SUFFIXES and len(w) >= 3 and w[:-1] not in GENERIC_HEADS:
                keys.append(w[:-1])
        out: list[str] = []
        for w in own:  # the shipped categories first (data/categories.yaml): members named otherwise
            for member in categories().get(w, ()):
                for term in (member, *self.groups.get(member, ())):
                    if term not in out and term not in own and term not in UNIT_LIKE \
                            and not any(_covers(x, term) for x in own):
                        out.append(term)
        gids: list[int] = []
        for key in keys:
            got = self._by_head.get(key, ())
            if freq is not None and len(got) > MAX_NARROWER_GROUPS:
                got = self._named(got, freq)  # a family by what the index holds, not the lexicon's size
            if len(got) > MAX_NARROWER_GROUPS:
                continue
            gids.extend(got)
        if containing:  # then the groups naming the word inside a longer name (冷链 -> 冷链配送 = 低温配送)
            for key in keys:  # a known family only (a term, a head, a category): not 训练 in 预训练大模型
                if key not in self.groups and key not in self._by_head and key not in categories():
                    continue
                got = self.containing(key)
                if len(got) <= MAX_NARROWER_GROUPS:
                    gids.extend(got)
        for gi in dict.fromkeys(gids):
            terms = self._group_list[gi]
            if set(own).intersection(terms):
                continue  # the word's own group: its synonyms, not its members
            for term in terms:
                if term not in out and term not in UNIT_LIKE and not any(_covers(w, term) for w in own):
                    out.append(term)
        if freq is not None:  # the members no listing names take no place under ``limit``
            out = [t for t in out if freq(t) > 0]
        return tuple(out[:limit])

    def _named(self, gids, freq) -> list[int]:
        """The groups of ``gids`` with a term some listing of the index names (``freq``)."""
        return [gi for gi in gids if any(freq(t) > 0 for t in self._group_list[gi])]

    def parents(self, variants: tuple[str, ...] | list[str]) -> list[str]:
        """The shipped category words (data/categories.yaml) having one of ``variants`` as a member:
        X射线探伤 -> 无损检测; 冷链 -> 物流. The broader concepts a word is a kind of, named otherwise."""
        own = set(variants)
        return [w for w, members in categories().items() if w not in own and own.intersection(members)]

    def head_of(self, variants: tuple[str, ...] | list[str]) -> str | None:
        """The known concept a long name is a kind of: the longest proper Chinese ending (two
        characters or more, an instrument suffix such as 仪 dropped) of one of ``variants`` that is a
        term of the table or a shipped category word, outside the names' own group and not a generic
        head. 场发射扫描电子显微镜 -> 扫描电子显微镜 (SEM); 钙钛矿太阳能电池 -> 太阳能电池; GC-MS (气相色谱质谱)
        -> 质谱. A head noun from the table, not from jieba: it brings its synonyms and members."""
        own = set(variants)
        best: str | None = None
        for v in variants:
            tail = _CJK_TAIL.search(v)
            if not tail or len(tail.group()) < 3:
                continue
            run = tail.group()
            for stem in (run, run[:-1] if run[-1] in HEAD_SUFFIXES else ""):
                for k in range(len(stem) - 1, 1, -1):
                    cand = stem[-k:]
                    if cand == v or cand in own or cand in GENERIC_HEADS or (best and len(best) >= k):
                        continue
                    if (cand in self.groups and not own.intersection(self.groups[cand])) or cand in categories():
                        best = cand
                        break
        return best

    def match_at(self, text: str, i: int) -> str | None:
        for term in self.by_first.get(text[i], ()):
            if not text.startswith(term, i):
                continue
            end = i + len(term)
            if _ASCII.match(term[0]) and i > 0 and _ASCII.match(text[i - 1]):
                continue
            if _ASCII.match(term[-1]) and end < len(text) and _ASCII.match(text[end]):
                continue
            return term
        return None

    def words(self) -> list[str]:
        return list(self.groups)


EMPTY_SYNONYMS = SynonymTable([])
INITIALS_LEAD = 2  # how much more often the index must name one group than any other (by_initials)


_TYPED_TAIL = re.compile(r"([0-9a-z]+|[\u3400-\u4dbf\u4e00-\u9fff]+) ?$")


def _kept_in_place(typed: str, term: str) -> bool:
    """Whether more than half of what was typed is the term's own characters in place: a homophone typo is a
    wrong character or two picked from the input method (色普仪 for 色谱仪, 和磁共振 for 核磁共振), not a run
    of other words that only sounds alike (想找一 of 想找一台 is not 相噪仪)."""
    return len(typed) == len(term) and 2 * sum(a == b for a, b in zip(typed, term, strict=True)) > len(typed)


def _typed_before_pinyin(text: str, spans: list[tuple[int, int, Concept]], synonyms: SynonymTable) -> None:
    """A typed word right before pinyin that, with the word the pinyin sounds like, makes a lexicon
    term: the pinyin concept also names that term and its synonyms (3d dayin -> 3d打印 = 增材制造;
    gmp chejian -> gmp车间). ``_join_spans`` does this for two pinyin words; here the first is typed."""
    starts = {lo for lo, _hi, _c in spans}
    ends = {hi for _lo, hi, _c in spans}
    for lo, _hi, concept in spans:
        if not concept.pinyin:
            continue
        m = _TYPED_TAIL.search(text[:lo])
        if not m or m.end() in ends or m.start() in starts:  # the word before is pinyin itself
            continue
        word = next((v for v in concept.variants[1:] if _CJK_ONLY.match(v)), None)
        for tail in (m.group(1)[-k:] for k in range(len(m.group(1)), 0, -1)):
            term = tail + word if word else ""
            if term in synonyms.groups:
                concept.variants = tuple(dict.fromkeys((*concept.variants, term, *synonyms.groups[term])))
                break


def _sounded_word(syls: tuple[str, ...], synonyms: SynonymTable, sounds, freq) -> str | None:
    """The word typed pinyin (or a homophone typo) stands for: the lexicon's first term with these
    syllables, else the index's most frequent title word with them (``sounds``). With ``freq``, any
    of those the index names at least INITIALS_LEAD times as often as the lexicon's first term wins:
    chejian in a corpus of workshops is 车间 (its titles' word), not the lexicon's 车检."""
    terms = synonyms.all_sounding(syls)
    heard = sounds(syls) if sounds is not None else None
    if not terms or freq is None:
        return terms[0] if terms else heard
    first = freq(terms[0])
    best, best_n = terms[0], first
    for cand in dict.fromkeys((*terms[1:], *([heard] if heard else []))):
        n = freq(cand)
        if n > best_n and n >= INITIALS_LEAD * first:
            best, best_n = cand, n
    return best


def _most_named(terms: list[str], groups: dict[str, tuple[str, ...]], freq) -> str | None:
    """The term of ``terms`` whose group the index names most (its most frequent term's count),
    if at least INITIALS_LEAD times as often as any other group's; else None."""
    best: dict[tuple[str, ...], tuple[int, str]] = {}
    for t in terms:
        n = freq(t)
        if n > best.get(groups[t], (-1, ""))[0]:
            best[groups[t]] = (n, t)
    ranked = sorted(best.values(), reverse=True)
    if not ranked or ranked[0][0] <= 0:
        return None
    runner = ranked[1][0] if len(ranked) > 1 else 0
    return ranked[0][1] if ranked[0][0] >= INITIALS_LEAD * max(runner, 0) and ranked[0][0] > runner else None


_LATIN = re.compile(r"[a-z]+")
_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_CJK_ONLY = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]+$")
MAX_ATTACHED = 2  # Chinese characters typed next to pinyin that join it (dian镜, 扫描dianjing)
_MIXED = re.compile(r"^([a-z][a-z0-9]+)-?([\u3400-\u4dbf\u4e00-\u9fff]{2,})$")  # gmp车间, not x射线, not 工业ct
_SEPARATORS = re.compile(r"[-./+]")
_LATIN_WORD = re.compile(r"(?<![a-z0-9.\-/+])[a-z0-9]+(?![a-z0-9.\-/+])")  # a run of letters and digits alone
COMPOUND_MIN = 5  # a word of at least this many characters is also searched as head + modifiers


_JOINED_LATIN = re.compile(r"[0-9a-z][-/]$")
_JOINED_LATIN_AFTER = re.compile(r"[-/][0-9a-z]")


def _pinyin_spans(text: str, synonyms: SynonymTable, known) -> list[tuple[int, int, Concept]]:
    """Latin runs that are pinyin (dianjing, sepu) or initials (zpy), with Chinese typed next to them.

    A run that is a synonym or a word of the index (sem, gpu, ai) stays a word, and so does a run that begins a
    longer term of the table (lc of lc-ms, gmp of gmp车间) or is joined to another Latin run (ab-cd, x/y): an
    abbreviation, not initials (lc is not 临床).
    """
    out: list[tuple[int, int, Concept]] = []
    covered = 0  # the end of the last term of the table begun by a run
    for m in _LATIN.finditer(text):
        word = m.group()
        if m.start() < covered:
            continue
        if word in synonyms.groups or (known is not None and known(word)):
            segs = py.segment(word)
            if segs is not None:  # pu (PU), gan (GaN): a word, unless it joins pinyin next to it (_join_spans)
                out.append((m.start(), m.end(), Concept((word,), pinyin=segs, role=MAYBE_PINYIN)))
            continue
        term = synonyms.match_at(text, m.start())
        if term and len(term) > len(word):
            covered = m.start() + len(term)
            continue
        if (m.start() > 0 and text[m.start() - 1].isdigit()) or (m.end() < len(text) and text[m.end()].isdigit()):
            continue  # 5g, x86: not pinyin
        if _JOINED_LATIN.search(text[max(0, m.start() - 2):m.start()]) or _JOINED_LATIN_AFTER.match(text, m.end()):
            continue  # lc-ms, hplc/ms: one abbreviation
        segs = py.segment(word)
        if segs is None:
            if 2 <= len(word) <= 6:
                out.append((m.start(), m.end(), Concept((word,), initials=tuple(word))))
            continue
        lo, hi = m.start(), m.end()
        while lo > 0 and m.start() - lo < MAX_ATTACHED and _CJK_CHAR.match(text[lo - 1]):
            lo -= 1
        while hi < len(text) and hi - m.end() < MAX_ATTACHED and _CJK_CHAR.match(text[hi]):
            hi += 1
        syls = (*py.word_syllables(text[lo : m.start()]), *segs, *py.word_syllables(text[m.end() : hi]))
        if out and out[-1][1] > lo:  # two runs sharing the characters between them: keep the first
            continue
        out.append((lo, hi, Concept((text[lo:hi],), pinyin=syls)))
    return out


MAYBE_PINYIN = "maybe-pinyin"  # the role of a span that is a word unless it joins its pinyin neighbours


def words_as_typed(spans: list[tuple[int, int, Concept]]) -> list[tuple[int, int, Concept]]:
    """``spans`` less the runs that are words of their own unless joined (``MAYBE_PINYIN``)."""
    return [sp for sp in spans if sp[2].role != MAYBE_PINYIN]


MAX_JOINED_SPANS = 8  # pinyin words joined into one term at most (sao miao dian zi xian wei jing: 7)


def _join_spans(text: str, spans: list[tuple[int, int, Concept]], synonyms: SynonymTable, sounds=None):
    """Neighbouring pinyin words (only spaces between) that together sound like one term of the
    table are one concept: kongqi zhiliang -> 空气质量, lenglian wuliu -> 冷链物流, tou she dian jing -> 透射电镜,
    not 空气 + 质量 (a listing of 质量 alone is no answer; the related listings after few matches loosen it
    again). From each word, the longest such run: syllables typed apart (tou she) need not be a term on
    their own for the whole to be one. A run sounding like no term may sound like a title word of the index
    (``sounds``: shu ju -> 数据), as one pinyin word may (``_sounded_word``)."""
    out: list[tuple[int, int, Concept]] = []
    i = 0
    while i < len(spans):
        lo, hi, concept = spans[i]
        run = [concept.pinyin] if concept.pinyin and concept.role in ("", MAYBE_PINYIN) else []
        j = i
        while run and j + 1 < len(spans) and j + 1 - i < MAX_JOINED_SPANS:
            nlo, _nhi, nxt = spans[j + 1]
            if not nxt.pinyin or nxt.role not in ("", MAYBE_PINYIN) or text[spans[j][1]:nlo].strip():
                break
            run.append(nxt.pinyin)
            j += 1
        joined = None
        while j > i:  # the longest run from here that sounds like a term
            syls = tuple(syl for p in run[: j - i + 1] for syl in p)
            if synonyms.sounding(syls) or (sounds is not None and sounds(syls)):
                joined = (lo, spans[j][1], Concept((text[lo : spans[j][1]],), pinyin=syls))
                break
            j -= 1
        if joined:
            out.append(joined)
            i = j + 1
        else:
            if concept.role != MAYBE_PINYIN:  # a word typed as such (pu, gan) stays one when it joins nothing
                out.append((lo, hi, concept))
            i += 1
    return out


SENTENCE_CONCEPTS = 4  # a request of this many words (not the parts of one) is read as a sentence
FILLER_FREQ = 5000  # jieba's dictionary count above which a plain word of a sentence weighs less
# (2,000 cost the development set 训练 in "GPU算力训练大模型"; 5,000 and 10,000 measured alike)


# Parts of speech that carry no need in a request (jieba's dictionary tags, after the ICTCLAS/PKU
# tag set): time words (下个月, 明年), numerals and measure words (一遍, 一批, 零下), pronouns (本地).
# Adverbs (d) and locatives (f) are left out: 实时 and 附近 are tagged so and can be the need itself
# (公交线路与站点实时数据: weighing 实时 down cost that query half its recall).
FUNCTION_TAGS = frozenset("t tg m mq q r rr rz".split())
FUNCTION_WEIGHT = 0.25  # = the floor of ``_filler_weight``


@functools.cache
def _tagged_words() -> tuple[frozenset[str], frozenset[str]]:
    """jieba's general dictionary read once (~0.3 s): its words of no content (FUNCTION_TAGS) and its verbs
    (VERB_TAGS). The language's tags, not the index's; only the words of those tags are kept."""
    import jieba

    function, verbs = set(), set()
    with jieba.get_dict_file() as f:
        for line in f:
            parts = line.decode("utf-8").split()
            if len(parts) >= 3:
                if parts[2] in FUNCTION_TAGS:
                    function.add(parts[0])
                elif parts[2] in VERB_TAGS:
                    verbs.add(parts[0])
    return frozenset(function), frozenset(verbs)


def language_word(word: str) -> bool:
    """Is ``word`` in jieba's dictionary (the language's words, and the shipped lexicon's once taught)?"""
    import jieba

    init_jieba()
    return bool(jieba.dt.FREQ.get(word))


def function_word(word: str) -> bool:
    """Is ``word`` tagged in jieba's general dictionary as a word of no content (FUNCTION_TAGS)?"""
    return word in _tagged_words()[0]


# Markers of a purpose clause: "…的数据来预测通关时效", "用于监测", "以便评估". The verb after one names what
# the request is for; what is sought is the head need before it and the object after the verb.
PURPOSE_MARKERS = frozenset("来 用来 用以 以 以便 便于 用于 为了 为".split())
VERB_TAGS = frozenset("v vn".split())  # jieba's verbs and verbal nouns (预测 is vn, 监测 vn, 评估 v)


def verb(word: str) -> bool:
    """Is ``word`` tagged in jieba's general dictionary as a verb (VERB_TAGS)?"""
    return word in _tagged_words()[1]


def purpose_verbs(text: str) -> set[str]:
    """The verbs right after a purpose marker in ``text`` (数据来预测通关时效 -> {预测}): the word jieba
    cuts next, if the language tags it a verb. 以 and 为 also head other phrases (以数据为准), so a
    noun after a marker is never taken."""
    words = [w.strip() for w in cut(text)]
    words = [w for w in words if w]
    return {nxt for marker, nxt in zip(words, words[1:], strict=False) if marker in PURPOSE_MARKERS and verb(nxt)}


def _filler_weight(word: str) -> float:
    """A sentence's plain word (not a lexicon term) weighed by how common it is in the language:
    (FILLER_FREQ / its count in jieba's general dictionary) ** 0.5, between 0.25 and 1. 时候, 地方,
    情况, 知道 (counts of 30,000 to 50,000) weigh 0.3-0.4, a need's own words (断口, 粒径, 墒情, 天线 …:
    under 2,000) keep 1. The dictionary is the language's, not the index's: no corpus tunes it."""
    import jieba

    init_jieba()  # the dictionary's counts are there only once jieba is loaded (a first query may come here first)
    freq = jieba.dt.FREQ.get(word, 0)
    if freq <= FILLER_FREQ or word in KIND_WORDS or word in GENERIC_HEADS:
        return 1.0
    return max(0.25, (FILLER_FREQ / freq) ** 0.5)


MAX_PURPOSE = 16  # family names (with their synonyms) a task adds to the concept naming it
_purpose_scan: dict[str, list[str]] | None = None


def _purpose_spans(text: str) -> list[str]:
    """The task phrases of data/purposes.yaml in ``text``, longest match first, left to right."""
    global _purpose_scan
    if _purpose_scan is None:
        scan: dict[str, list[str]] = {}
        for key in sorted(purposes(), key=len, reverse=True):
            scan.setdefault(key[0], []).append(key)
        _purpose_scan = scan
    out: list[str] = []
    i = 0
    while i < len(text):
        for key in _purpose_scan.get(text[i], ()):
            if text.startswith(key, i):
                out.append(key)
                i += len(key)
                break
        else:
            i += 1
    return out


def _attach_purposes(text: str, concepts: list[Concept], synonyms: SynonymTable, add, past_generic: bool = False) -> None:
    """A request describing a task (想把冲压件的尺寸全检一遍, 需要做老化寿命试验, 航拍) names what it
    needs done, not the instrument that does it: each task phrase of data/purposes.yaml gives the concept
    naming it (the most specific word of the query inside the phrase, or the phrase itself as a new
    concept) the families that do the task (三坐标测量机, 影像测量仪 …, with their synonyms). They are
    searched like a category's members (``concept_query``): lighter, never adding up, under the
    listings that name the task, and a listing matching them covers that need of the sentence."""
    # the names the query's words find (a family among them would count twice); with ``past_generic`` not those of a
    # common head or a kind word, which "finds" a family only as it finds every listing ending so
    named = [v for c in concepts if not c.initials
             and not (past_generic and common_word(c.text)) for v in c.variants]
    for key in _purpose_spans(text):
        families = purposes()[key]
        if any(c.synonym and key in c.text and key != c.text for c in concepts):
            continue  # part of a longer known name (细胞 of 流式细胞仪): a thing named, not a task
        cands = [c for c in concepts if not c.role and not c.initials and not c.pinyin
                 and (c.text in key or key in c.text)]
        specific = [c for c in cands if not common_word(c.text)]
        if specific:
            target = max(specific, key=lambda c: len(c.text))
        elif cands:
            target = max(cands, key=lambda c: len(c.text))
        else:
            target = Concept((key,))
            add(target)
            if target not in concepts:
                continue
        out = list(target.purpose)
        # each family first, then their synonyms: one family's many names do not crowd out the next
        for name in (*families, *(t for f in families for t in synonyms.groups.get(f, ()))):
            if len(out) >= MAX_PURPOSE:
                break
            # not a family a word of the query finds already: it would count twice (扫描电镜 断口: the SEMs
            # are that word's, not 断口's)
            if name in out or name in target.narrower or name in UNIT_LIKE \
                    or any(_covers(v, name) for v in named):
                continue
            out.append(name)
        target.purpose = tuple(out)


def _compound_parts(word: str) -> tuple[str, list[str]] | None:
    """(head, modifiers) of a long Chinese word, from jieba's sub-words (search mode).

    The head is the longest sub-word ending the word (with an instrument suffix such as 仪):
    电感耦合等离子体质谱 -> 质谱; 核磁共振波谱仪 -> 波谱仪. The modifiers are the longest sub-words
    before it (电感, 耦合, 等离子).
    """
    import jieba

    if len(word) < COMPOUND_MIN or not _CJK_ONLY.match(word):
        return None
    subs = {p for p in jieba.cut_for_search(word) if 1 < len(p) < len(word)}
    head = ""
    for p in subs:
        if word.endswith(p) and len(p) > len(head):
            head = p
        elif word[-1] in HEAD_SUFFIXES and word[:-1].endswith(p) and len(p) + 1 > len(head):
            head = p + word[-1]
    if not head or len(head) >= len(word) - 1:
        return None
    before = word[: len(word) - len(head)]
    inside = [p for p in subs if p in before]
    modifiers = [p for p in inside if not any(p != o and p in o for o in inside) and p not in STOPWORDS]
    modifiers.sort(key=before.find)
    return head, modifiers


def _unglued(word: str, known) -> tuple[str, ...] | None:
    """The dictionary words of a word jieba's HMM made up in a sentence (not in its dictionary, not in the index)
    from a request word (STOPWORDS: 想, 要, 能 …) or a function word (个) and what follows or precedes it:
    想租个 -> 想 租 个, 要测 -> 要 测, 能代 -> 能 代. Read as a homophone typo, its sound finds listings it never
    meant (要测 sounds as 遥测). A typo of a name (电境, 色普) holds no such word and stays one. None: not such
    a word."""

    if len(word) < 2 or not _CJK_ONLY.match(word) or known(word) or language_word(word):
        return None
    pieces = tuple(cut(word, hmm=False))
    return pieces if any(p in STOPWORDS or function_word(p) for p in pieces) else None


def _join_lone_chars(words: list[str], occurs) -> list[str]:
    """``words`` with each lone Chinese character that is no request or function word joined to the word after
    it, or else before it, when the index holds the two together (``occurs``): 热 + 真空 -> 热真空, 电阻 + 焊 ->
    电阻焊, 同轴 + 度 -> 同轴度. A lone character is dropped from a query of several words, and without it 电阻焊
    searched resistors and 热真空 every vacuum; 看 + 金属 is not joined (no listing says 看金属)."""
    out = list(words)
    i = 0
    while i < len(out):
        c = out[i]
        if len(c) == 1 and _CJK_ONLY.match(c) and c not in STOPWORDS and not function_word(c):
            nxt = out[i + 1] if i + 1 < len(out) else ""
            prev = out[i - 1] if i else ""
            if len(nxt) > 1 and _CJK_ONLY.match(nxt) and nxt not in STOPWORDS and occurs(c + nxt):
                out[i : i + 2] = [c + nxt]
                continue
            if len(prev) > 1 and _CJK_ONLY.match(prev) and prev not in STOPWORDS and occurs(prev + c):
                out[i - 1 : i + 1] = [prev + c]
                i -= 1
                continue
        i += 1
    return out


def _generic_stem(word: str, head: str) -> str | None:
    """What a long word names before a common head (``GENERIC_HEADS``: 中心, 检测, 平台 …), if that is
    a word of two characters or more: 实验动物中心 -> 实验动物, 食品安全检测 -> 食品安全. Searched as the
    word's head, it finds the listings about that thing (a 动物实验 platform, an ICP-MS for food) before
    every other 中心 or 检测; the common head alone says little about what is meant."""
    if head not in GENERIC_HEADS or not word.endswith(head):
        return None
    stem = word[: -len(head)]
    return stem if len(stem) >= 2 and _CJK_ONLY.match(stem) and stem not in GENERIC_HEADS else None


def parse(q: str | None, synonyms: SynonymTable = EMPTY_SYNONYMS, strategy: Strategy | None = None, *,
          known=None, sounds=None, occurs=None, freq=None) -> ParsedQuery:
    """The concepts of a query, read by the methods ``strategy`` switches on (``LITERAL`` when none is given).

    ``known(word) -> bool`` says whether the index holds a word (its bigrams, or an ASCII word):
    with it, Latin runs that are not words become pinyin/initials and Chinese words the index does
    not hold are matched by their sound (a homophone typo). Without it (no index at hand) Latin
    runs that are pinyin are still matched both ways.

    ``occurs(text) -> bool`` says whether the index holds that exact run of characters (its bigrams
    consecutive); a homophone typo is corrected only if what was typed does not occur (without it,
    ``known``: every bigram somewhere, which 和磁 + 磁共 + 共振 may well be).

    ``freq(term) -> int`` counts the listings naming a term (at most): pinyin initials that several
    groups share stand for the one the index names most (``SynonymTable.by_initials``).

    ``strategy.purposes``: a task phrase of the query (尺寸全检, 老化, 航拍 …) also brings the families that
    do it (``_attach_purposes``; data/purposes.yaml), unless it is part of a longer known name.

    ``strategy.function_words``: in a sentence, a plain word the language tags as a time word, numeral, measure
    word or pronoun (FUNCTION_TAGS: 下个月, 一批, 一遍, 本地) weighs FUNCTION_WEIGHT, like the commonest
    fillers, however rare it is in the dictionary (``_filler_weight`` weighs by frequency only).

    ``strategy.purpose_verbs``: in a sentence, the plain verb right after a purpose marker (``purpose_verbs``:
    数据来预测通关时效 -> 预测) weighs FUNCTION_WEIGHT too: it says what the data is for; its object
    (通关时效) and the head need (港口, 海关, 数据) keep their weights.

    ``sounds(syllables) -> word | None`` names the word of the index with exactly those (fuzzy)
    syllables: pinyin and homophone typos are then also searched as that word, with its synonyms
    and members (dianjing -> 电镜, SEM, 透射电镜 …), not only through the pinyin of titles and tags.
    """
    strategy = strategy or LITERAL
    # a sentence's word weights are the filler weighting's (``build`` reads them only with ``filler_freq``)
    function_words = strategy.filler_freq and strategy.function_words
    purpose_verbs_down = strategy.filler_freq and strategy.purpose_verbs
    init_jieba()
    text = normalize(q)[:MAX_QUERY_CHARS]
    concepts: list[Concept] = []
    seen: set[str] = set()

    def add(concept: Concept) -> None:
        key = concept.variants[0]
        if key not in seen and len(concepts) < MAX_CONCEPTS:
            seen.add(key)
            concepts.append(concept)

    if strategy.synonyms and strategy.latin_spellings:
        text = synonyms.respell_latin(text)
    spans: list[tuple[int, int, Concept]] = []
    typed = text  # before the pinyin spans are cut out (``_typed_before_pinyin``)
    if strategy.pinyin:
        spans = _pinyin_spans(text, synonyms if strategy.synonyms else EMPTY_SYNONYMS, known)
        spans = _join_spans(text, spans, synonyms, sounds) if strategy.synonyms else words_as_typed(spans)
        for _lo, _hi, concept in spans:
            add(concept)
        for lo, hi, _c in reversed(spans):  # the rest of the query is read as words
            text = text[:lo] + " " + text[hi:]
    corrected = False
    if strategy.pinyin and strategy.synonyms and known is not None:
        fixed = synonyms.correct_homophones(text, occurs or known)
        corrected, text = fixed != text, fixed
    plain: list[str] = []
    buf: list[str] = []
    i = 0
    pieces: list[tuple[str, str | None]] = []  # (plain text, None) or ("", synonym term)
    while i < len(text):
        term = synonyms.match_at(text, i) if strategy.synonyms else None
        if strategy.category_terms and strategy.synonyms:
            cat = category_at(text, i, synonyms)
            if cat and (not term or len(cat) > len(term)):
                term = cat
        if term:
            if buf:
                pieces.append(("".join(buf), None))
                buf = []
            pieces.append(("", term))
            end = i + len(term)
            if strategy.overlaps and _CJK_ONLY.match(term):
                # a second term starting inside this one and reaching past it: both are meant
                # (企业诚信档案 = 企业诚信 + 诚信档案, not 企业诚信 + 档案)
                reach = None
                for j in range(i + 1, end - 1):  # sharing two characters or more (公交车 + 车辆: one)
                    other = synonyms.match_at(text, j)
                    if other and j + len(other) > end and _CJK_ONLY.match(other) \
                            and (reach is None or j + len(other) > reach[0]):
                        reach = (j + len(other), other)
                if reach:
                    pieces.append(("", reach[1]))
                    end = reach[0]
            i = end
        else:
            buf.append(text[i])
            i += 1
    if buf:
        pieces.append(("".join(buf), None))

    for chunk, term in pieces:
        if term is not None:
            group = synonyms.groups.get(term)
            if group is None:  # a category word (``category_at``): its members come as narrower terms
                add(Concept((term,)))
                continue
            add(Concept((term, *[t for t in group if t != term]), True))
            continue
        words = [w.strip() for w in cut(chunk)]
        if strategy.lone_chars and occurs is not None:
            words = _join_lone_chars(words, occurs)
        plain.extend(w for w in words if w and _WORDLIKE.search(w) and w not in STOPWORDS)
    # In a sentence, lone characters are mostly particles and measure words: keep them only if
    # they are all there is.
    multi = [w for w in plain if len(w) > 1]
    if strategy.glued_words and known is not None and len(concepts) + len(multi) >= SENTENCE_CONCEPTS:
        multi = [p for w in multi for p in (_unglued(w, known) or (w,)) if len(p) > 1]
    for w in multi if multi or concepts else plain:
        concept = Concept((w,))
        if strategy.pinyin and known is not None and _CJK_ONLY.match(w) and len(w) > 1 and not known(w) \
                and not language_word(w):  # not in the index nor a word of the language: a typo
            concept.pinyin = tuple(py.word_syllables(w))
            concept.typo = True
        add(concept)
    if strategy.pinyin and strategy.synonyms:
        for concept in concepts:
            if concept.initials:  # wrj -> 无人机 when exactly one group of the table has such a term
                word = synonyms.by_initials(concept.initials, freq)
                if word:
                    concept.variants = tuple(dict.fromkeys((*concept.variants, *synonyms.groups[word])))
    if strategy.pinyin:
        for concept in concepts:
            if concept.pinyin:
                word = _sounded_word(concept.pinyin, synonyms if strategy.synonyms else EMPTY_SYNONYMS, sounds, freq)
                if word and word not in concept.variants:
                    group = synonyms.groups.get(word, ()) if strategy.synonyms else ()
                    concept.variants = tuple(dict.fromkeys((*concept.variants, word, *group)))
                concept.sounded = bool(word)
        if strategy.synonyms and strategy.joined_pinyin:
            _typed_before_pinyin(typed, spans, synonyms)
    if strategy.instrument_stems and strategy.synonyms:
        _add_instrument_stems(concepts, synonyms)
    if strategy.compounds and strategy.mixed_parts:
        for concept in list(concepts):  # a Latin + Chinese name (GMP车间, SPF级 …) is also its two parts:
            # a listing writing GMP中试车间 or SPF 级动物房 names both without the name itself
            m = _MIXED.match(concept.text) if concept.synonym and not concept.role else None
            if m:
                for part in m.groups():
                    add(Concept((part,), role="head"))
    if strategy.compounds:
        for concept in list(concepts):
            if strategy.lexicon_heads and strategy.synonyms and not concept.role and not concept.initials:
                head = synonyms.head_of(concept.variants[:8] if strategy.lexicon_heads == "all" else concept.variants[:1])
                if head:
                    group = synonyms.groups.get(head, ())
                    bare = (head[:-1],) if head.endswith("仪") and len(head) >= 3 else ()  # 质谱仪 is also 质谱
                    add(Concept(tuple(dict.fromkeys((head, *bare, *group))), synonym=bool(group), role="head"))
                    if strategy.broader_heads:  # and the family that head is a kind of, lighter: 扫描电子显微镜 -> 电子显微镜
                        up = synonyms.head_of((head, *bare, *group)[:8])
                        if up and up not in concept.variants:
                            upgroup = synonyms.groups.get(up, ())
                            add(Concept(tuple(dict.fromkeys((up, *upgroup))), synonym=bool(upgroup), role="broader"))
                    got = _compound_parts(concept.text)  # jieba's modifiers still count
                    for m in got[1] if got else ():
                        if m not in head:
                            add(Concept((m,), role="modifier"))
                    continue
            got = _compound_parts(concept.text)
            if got is None and strategy.generic_stems and strategy.short_stems and occurs is not None \
                    and not any(occurs(v) for v in concept.variants if _CJK_ONLY.match(v)):
                # a short name no listing names, ending with a common head (质谱分析, 基因检测; or its pinyin,
                # zhipu fenxi), is also the name before it: a mass spectrometer is one for 质谱分析
                word = concept.text if _CJK_ONLY.match(concept.text) else \
                    next((v for v in concept.variants if _CJK_ONLY.match(v)), "") if concept.pinyin is not None else ""
                tail = next((h for h in GENERIC_HEADS_LONGEST if word.endswith(h) and len(word) - len(h) >= 2), None)
                stem = _generic_stem(word, tail) if tail else None
                if stem:
                    group = synonyms.groups.get(stem, ()) if strategy.synonyms else ()
                    add(Concept(tuple(dict.fromkeys((stem, *group))), synonym=bool(group), role="head"))
                    add(Concept((tail,), role="modifier"))
            if got is None:
                continue
            head, modifiers = got
            stem = _generic_stem(concept.text, head) if strategy.generic_stems else None
            if stem:  # 实验动物 + 中心: the specific part is the head, the common one only a modifier
                group = synonyms.groups.get(stem, ()) if strategy.synonyms else ()
                add(Concept(tuple(dict.fromkeys((stem, *group))), synonym=bool(group), role="head"))
                # an instrument's class (测量仪, 分析仪: siblings) stays a head; a place or a service
                # (中心, 检测) becomes a modifier
                add(Concept((head,), role="head" if head[-1] in HEAD_SUFFIXES else "modifier"))
                for m in modifiers:
                    add(Concept((m,), role="modifier"))
                continue
            # 质谱仪 is also 质谱: 气相色谱质谱联用仪 is one without saying 质谱仪
            bare = head[:-1] if head.endswith("仪") and len(head) >= 3 else None
            add(Concept((head, bare) if bare else (head,), role="head"))
            for m in modifiers:
                add(Concept((m,), role="modifier"))
    sentence = len([c for c in concepts if not c.role]) >= SENTENCE_CONCEPTS
    if sentence:
        for concept in concepts:
            if not (concept.role or concept.synonym or concept.pinyin or concept.initials):
                concept.weight = _filler_weight(concept.text)
                if function_words and not common_word(concept.text) \
                        and function_word(concept.text):
                    concept.weight = min(concept.weight, FUNCTION_WEIGHT)
        purpose = purpose_verbs(text) if purpose_verbs_down else set()
        for concept in concepts:
            if concept.text in purpose and not (concept.role or concept.synonym or concept.pinyin
                                                or concept.initials) \
                    and not common_word(concept.text):
                concept.weight = min(concept.weight, FUNCTION_WEIGHT)
    if strategy.transaction_words and strategy.offer_light \
            and any(c.text not in TRANSACTION_WORDS and not c.role for c in concepts):
        for concept in concepts:
            if concept.text in TRANSACTION_WORDS:
                concept.weight = min(concept.weight, FUNCTION_WEIGHT)
    if strategy.hyponyms and strategy.synonyms:
        for concept in concepts:
            if concept.initials or concept.role == "modifier":
                continue
            concept.narrower = synonyms.narrower(concept.variants, containing=strategy.containing, freq=freq)
    if strategy.purposes and strategy.synonyms:
        _attach_purposes(text, concepts, synonyms, add, strategy.purposes_past_generic)
    return ParsedQuery(text=normalize(q)[:MAX_QUERY_CHARS], concepts=concepts, corrected=corrected)


def _add_instrument_stems(concepts: list[Concept], synonyms: SynonymTable) -> None:
    """色谱仪 -> 色谱: an instrument named as its category word (data/categories.yaml) and 仪 is any instrument of
    that category, so the category word (and its synonyms) is one of the concept's names. Only 仪: 镜, 机, 箱 …
    change what a word names (光谱 is no 光谱镜)."""
    for concept in list(concepts):
        if concept.role or concept.initials:
            continue
        for v in concept.variants:
            stem = v[:-1]
            if len(v) >= 3 and v.endswith("仪") and _CJK_ONLY.match(v) and stem not in GENERIC_HEADS \
                    and stem in categories():
                concept.variants = tuple(dict.fromkeys((*concept.variants, stem, *synonyms.groups.get(stem, ()))))
                break


_jieba_term_cache: dict[str, str | None] = {}


def _jieba_term(word: str) -> str | None:
    """The jieba field's token for a whole word (stemmed like the index), or None if it splits."""
    if word in _jieba_term_cache:
        return _jieba_term_cache[word]
    init_jieba()
    result = None
    if len(cut(word, hmm=False)) == 1:
        toks = [t.text for t in jieba_analyzer()(word)]
        result = max(toks, key=len) if toks else None
    if len(_jieba_term_cache) < 50000:
        _jieba_term_cache[word] = result
    return result


def variant_query(variant: str, strategy: Strategy = DEFAULT, member: bool = False) -> Q.Query | None:
    """``member``: a category's member term, searched as the phrase of its bigrams in ``all`` only
    (title, tags, description): one leaf instead of four, and it finds every listing the whole
    word would; members rank under the listings naming the category anyway."""
    subs: list[Q.Query] = []
    grams = bigram_tokens(variant) if strategy.bigram or member else []
    jterm = _jieba_term(variant) if strategy.jieba and not member else None
    for field, boost in (MEMBER_BOOSTS if member else FIELD_BOOSTS).items():
        if jterm and field in strategy.jieba_fields:
            subs.append(Q.Term(f"{field}_j", jterm, boost=boost * strategy.jieba_weight))
        if len(grams) == 1:
            subs.append(Q.Term(f"{field}_g", grams[0], boost=boost * strategy.bigram_weight))
            if len(grams[0]) == 1 and not _ASCII.match(grams[0]):
                subs.append(Q.Prefix(f"{field}_g", grams[0], boost=boost * strategy.bigram_weight * 0.5))
        elif len(grams) > 1:
            # A phrase scores the sum of its bigrams: divide, so long words do not drown short ones.
            subs.append(Q.Phrase(f"{field}_g", grams, boost=boost * strategy.bigram_weight / len(grams)))
    if not subs:
        return None
    return Q.Or(subs)


def pinyin_query(syls: tuple[str, ...], fields: tuple[str, str], weight: float) -> Q.Query:
    subs: list[Q.Query] = []
    for field, boost in zip(fields, FIELD_BOOSTS.values(), strict=True):
        if len(syls) == 1:
            subs.append(Q.Term(field, syls[0], boost=boost * weight))
        else:
            subs.append(Q.Phrase(field, list(syls), boost=boost * weight / len(syls)))
    return Q.Or(subs)


def concept_query(concept: Concept, strategy: Strategy = DEFAULT) -> Q.Query | None:
    variants = concept.variants if strategy.synonyms else concept.variants[:1]
    subs = []
    for i, v in enumerate(variants):
        q = variant_query(v, strategy)
        if q is not None:
            if i:  # what the user typed ranks a little above its synonyms
                q = Q.Or(q.subqueries, boost=strategy.synonym_weight)
                if strategy.max_variants:
                    q.market_alt = i  # fast.run: a concept counts once, by its best-matching name
            subs.append(q)
    if strategy.hyponyms and strategy.synonyms:
        for i, v in enumerate(concept.narrower, start=1):
            q = variant_query(v, strategy, member=True)
            if q is not None:
                if len(q.subqueries) == 1:  # Whoosh drops the boost of a one-clause Or: on the leaf
                    member = q.subqueries[0].copy()
                    member.boost *= strategy.hyponym_weight
                else:
                    member = Q.Or(q.subqueries, boost=strategy.hyponym_weight)
                member.market_alt = 1000 + i  # fast.run: members do not add up (see ``alternatives``)
                member.market_capped = True  # and never outrank the best listing naming the word
                subs.append(member)
    if strategy.purposes and strategy.synonyms:
        for i, v in enumerate(concept.purpose, start=1):  # the families doing the task it names: like members
            q = variant_query(v, strategy, member=True)
            if q is not None:
                if len(q.subqueries) == 1:
                    fam = q.subqueries[0].copy()
                    fam.boost *= strategy.purpose_weight
                else:
                    fam = Q.Or(q.subqueries, boost=strategy.purpose_weight)
                fam.market_alt = 2000 + i
                fam.market_capped = True
                subs.append(fam)
    if strategy.pinyin and concept.pinyin:
        # once the sound names a word of the index (gongjiao -> 公交), its other readings (共焦) weigh less
        readings = strategy.other_readings if concept.sounded else 1.0
        subs.append(pinyin_query(concept.pinyin, ("py_t", "py_a"), strategy.pinyin_weight * readings))
    if strategy.pinyin and concept.initials:
        subs.append(pinyin_query(concept.initials, ("in_t", "in_a"), strategy.pinyin_weight))
    if not subs:
        return None
    weight = {"head": strategy.head_weight, "modifier": strategy.modifier_weight,
              "broader": strategy.head_weight ** 2}.get(concept.role, 1.0)
    if strategy.filler_freq:
        weight *= concept.weight
    if not strategy.compounds and concept.role:
        return None
    # (Whoosh's DisjunctionMax scored documents matching one variant far too high: plain Or.)
    if len(subs) == 1 and weight == 1.0:
        return subs[0]
    return Q.Or(subs, boost=weight)


def build(parsed: ParsedQuery, strategy: Strategy = DEFAULT) -> Q.Query | None:
    """The Whoosh query for ``parsed`` (None: nothing searchable, i.e. browse everything)."""
    kept = [(c, q) for c in parsed.concepts if (q := concept_query(c, strategy)) is not None]
    clauses = [q for _c, q in kept]
    if not clauses:
        return None
    if len(clauses) == 1:
        return clauses[0]
    if strategy.combine == "and":
        return Q.And(clauses)
    q = Q.Or(clauses, scale=strategy.coord)
    q.market_concepts = True  # each subquery is one concept: fast.run may weigh their coverage
    q.market_concept_list = [c for c, _q in kept]  # the concept of each subquery (services._spread)
    return q
