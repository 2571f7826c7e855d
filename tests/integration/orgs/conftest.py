"""Fixtures for the organisations tests."""

from __future__ import annotations

import io

import pytest

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def registration():
    """A valid Registration; override fields by keyword."""
    from market.orgs.services import Registration
    from market.orgs.uscc import make_valid_uscc

    def make(**fields):
        data = dict(
            name="长春测试科技有限公司", uscc=make_valid_uscc(424242), kind="sme", admin_name="测试管理员",
            admin_email="boss@example.cn", password="Strong2026pw", licence=io.BytesIO(PDF),
            licence_filename="执照.pdf", in_district=True, industry="software_it", employees=50,
            revenue_cny=20_000_000, address="长春新区某路 1 号",
        )
        data.update(fields)
        return Registration(**data)

    return make
