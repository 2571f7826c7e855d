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
        ("[点我](javascript:alert(1))", "javascript:"),
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
