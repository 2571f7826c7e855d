"""market.db.get_or_404: the one get-by-id helper services use (issue 9)."""

import pytest

from market.db import get_or_404
from market.errors import NotFound
from models.organisations import Organisation


def test_returns_the_row(make_org):
    org = make_org()
    assert get_or_404(Organisation, org.id, "x") is org


@pytest.mark.parametrize("obj_id", [None, 987654])
def test_missing_row_or_id_is_not_found_with_the_message(app_ctx, obj_id):
    with pytest.raises(NotFound) as exc:
        get_or_404(Organisation, obj_id, "找不到该机构。")
    assert exc.value.message == "找不到该机构。"
    assert exc.value.http_status == 404


def test_default_message(app_ctx):
    with pytest.raises(NotFound) as exc:
        get_or_404(Organisation, 987654)
    assert exc.value.message
