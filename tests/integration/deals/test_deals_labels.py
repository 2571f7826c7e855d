"""One word table per enum (issue 9): a completed contract never reads 已使用, a rental has one name."""

from __future__ import annotations

import enum

from market.deals import labels
from models.deals import Booking, BookingStatus, Contract, ContractKind, ContractStatus


def test_every_enum_member_has_a_word():
    for enum_type, words in labels.LABELS.items():
        assert set(words) == set(enum_type), enum_type
        assert issubclass(enum_type, enum.StrEnum)


def test_a_status_word_belongs_to_its_enum(app_ctx):
    assert labels.status_label(Booking(status=BookingStatus.COMPLETED)) == "已使用"
    assert labels.status_label(Contract(status=ContractStatus.COMPLETED)) == "已履行"


def test_a_rental_has_one_name_in_deals_and_ledger(app_ctx, client):
    from market.ledger.views import template_helpers

    assert template_helpers()["ledger_kind"](ContractKind.RENTAL) == labels.kind_label("rental") == "仪器设施租用"
