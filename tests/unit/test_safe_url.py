"""Redirect targets after login and language switch: only paths on this site (issue 8, item 3)."""

import pytest

from market.auth.safe_url import local_path, safe_next

HOST = "http://market.example.cn/"

OFF_SITE = [
    "//evil.example",
    "//evil.example/phish",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example/phish",
    "/%09/evil.example/phish",  # the reported one, as the browser receives it after one decoding
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/ /evil.example",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "/\u3000/evil.example",  # ideographic space
    "／／evil.example",  # full-width solidus, normalised by NFKC
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%5c/evil.example",
    "https://evil.example/",
    "http://evil.example",
    "HTTP://evil.example",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://market.example.cn/x",
    "https://market.example.cn/x",  # our host but another scheme
    "http://market.example.cn.evil.example/x",
    "http://market.example.cn@evil.example/x",
    "//market.example.cn/x",
    "evil.example",
    "relative/path",
    "?next=//evil.example",
    "#fragment",
    "",
    None,
]

ON_SITE = [
    ("/", "/"),
    ("/auth/account", "/auth/account"),
    ("/search/?q=%E6%99%BA%E8%83%BD&page=2", "/search/?q=%E6%99%BA%E8%83%BD&page=2"),
    ("/listings/L1#top", "/listings/L1"),
    ("/a//b", "/a//b"),
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_off_site_targets_are_refused(target):
    assert local_path(target, HOST) is None
    assert safe_next(target, "/home", HOST) == "/home"


@pytest.mark.parametrize(("target", "expected"), ON_SITE)
def test_paths_on_this_site_are_kept(target, expected):
    assert local_path(target) == expected


def test_absolute_url_of_this_site_is_reduced_to_its_path_only_when_the_host_is_given():
    assert local_path("http://market.example.cn/listings?x=1", HOST) == "/listings?x=1"
    assert local_path("http://market.example.cn/listings?x=1") is None
