"""Listing descriptions: Markdown rendered, then sanitised with nh3."""

import pytest

from market.listings.markup import plain_excerpt, render_markdown


def test_markdown_is_rendered():
    html = str(render_markdown("## 参数\n\n- 分辨率 **0.8 nm**\n- [说明书](https://example.cn/a.pdf)\n\n| 项 | 值 |\n|---|---|\n| 电压 | 300 kV |"))
    assert "<h2>参数</h2>" in html and "<strong>0.8 nm</strong>" in html and "<td>300 kV</td>" in html
    assert 'href="https://example.cn/a.pdf"' in html and 'rel="nofollow noopener noreferrer"' in html


@pytest.mark.parametrize(
    "source, forbidden",
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src=x onerror="alert(1)">', "onerror"),
        ("[点我](javascript:alert(1))", 'href="javascript:'),  # left as plain text, never a link
        ('<a href="https://x.cn" onclick="steal()">x</a>', "onclick"),
        ("<iframe src='https://evil.cn'></iframe>", "<iframe"),
        ("<style>body{display:none}</style>", "<style"),
        ('<p style="position:fixed">x</p>', "style="),
    ],
)
def test_dangerous_html_is_removed(source, forbidden):
    assert forbidden not in str(render_markdown(source))


def test_empty_and_excerpt():
    assert str(render_markdown(None)) == ""
    assert plain_excerpt("# 标题\n\n正文**加粗**" + "字" * 200, 20).endswith("…")
    assert "<" not in plain_excerpt("<b>粗</b> <script>x()</script>文字")


# ---------------------------------------------------------------- bounded work (issue 8, item 1)
import time  # noqa: E402

from market.listings import markup  # noqa: E402

N = 20000
ADVERSARIAL = {
    "open brackets": "[" * N,
    "stars": "*" * N,
    "underscores": "_" * N,
    "backticks": "`" * N,
    "angles": "<" * N,
    "quote markers": ">" * N,
    "images": "![" * (N // 2),
    "link openers": "[a](" * (N // 4),
    "open parens": "(" * N,
    "nested lists": "".join("  " * i + "- a\n" for i in range(N // 60)),
    "bullets on one line": "- " * (N // 2),
    "emphasis": "*a" * (N // 2),
    "strong": "**a" * (N // 3),
    "code spans": "`a" * (N // 2),
    "entities": "&#" * (N // 2),
    "closed links": "[]()" * (N // 4),
    "table rows": "a|b\n-|-\n" + "a|b\n" * (N // 4 - 2),
    "list items": "- a\n" * (N // 4),
    "largest table allowed": "a|b\n-|-\n" + "a|b\n" * (markup.MAX_STRUCTURE // 2 - 2),
    "longest list allowed": "- a\n" * markup.MAX_STRUCTURE,
    "wide table": "|a" * 1300 + "\n" + "|-" * 1300 + "\n" + "|a" * 1300,
    "html tags": "<div>" * (N // 5),
    "balanced brackets": "[" * (N // 2) + "]" * (N // 2),
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_description_renders_without_blowing_up(name):
    """A pathological description of 20,000 characters renders in well under a second of CPU (about 20–200 ms
    here): what this guards against is super-linear parsing, which takes seconds to minutes on such input, not
    a few milliseconds that the machine's load moves (a 200 ms bound failed once at 211 ms under load)."""
    text = ADVERSARIAL[name][:N]
    markup.render.cache_clear()
    best = min(_cpu_time(markup.render, text) for _ in range(2))
    assert best < 1.0, f"{name}: {best * 1000:.0f} ms"


def _cpu_time(fn, arg) -> float:
    start = time.process_time()  # CPU of this process: other jobs on the machine do not count
    fn(arg)
    markup.render.cache_clear()
    return time.process_time() - start


@pytest.mark.parametrize("name", ["open brackets", "images", "link openers", "open parens", "quote markers",
                                  "nested lists", "bullets on one line", "balanced brackets", "table rows", "list items"])
def test_pathological_nesting_is_refused_with_a_clear_message(app, name):
    with app.test_request_context(), pytest.raises(markup.MarkupTooComplex) as err:
        markup.check(ADVERSARIAL[name])
    assert "描述中的标记嵌套过深" in err.value.message or "描述的结构过于复杂" in err.value.message
    # shown, if it is in the database already, as escaped text, never raising
    html = markup.render(ADVERSARIAL[name])
    assert html.startswith("<p>") and "<ul>" not in html and "<table>" not in html


@pytest.mark.parametrize("text", [
    "## 参数\n\n- 分辨率 [说明书](https://a.cn/x_(1).pdf)\n  - 嵌套\n    - 三层\n\n> 引用\n> > 两层",
    "函数 f(g(h(x))) 与数组 a[b[c]]",
    "\\[" * 100,  # escaped brackets are text
    "]" * 1000 + ")" * 1000,
])
def test_ordinary_descriptions_pass_the_check(text):
    markup.check(text)


def test_excerpt_comes_from_stored_html():
    html = markup.render("# 标题\n\n正文**加粗** <script>x()</script>" + "字" * 200)
    text = markup.excerpt(html, 20)
    assert text.startswith("标题 正文加粗") and text.endswith("…") and "<" not in text


@pytest.mark.parametrize("text", [
    "\n" * N, " \n" * (N // 2), "[" * N, "![" * (N // 2), "[](" * (N // 3), "[a](" * (N // 4), "#" * N,
    *ADVERSARIAL.values(),
])
def test_search_plain_text_of_a_description_is_linear(text):
    """The search index and every search result's snippet reduce the description with a regex."""
    from market.search.text import plain_text

    start = time.process_time()
    plain_text(text[:N])
    assert time.process_time() - start < 0.05


def test_search_plain_text_still_drops_markup():
    from market.search.text import plain_text

    assert plain_text("## 参数\n- 分辨率 **0.8 nm** [说明书](https://a.cn/x.pdf) ![图](a.png)\n1. 第一") == "参数 分辨率 0.8 nm 说明书 第一"
