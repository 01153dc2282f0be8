"""A request without a query string shares one frozen instance of its query model's
defaults; a model with a required parameter never takes that shortcut."""

from __future__ import annotations

import pydantic
import pytest

from robodine_edge.http.routing import _defaults
from robodine_edge.http.schemas import PageQuery, QueryModel


class Needs(QueryModel):
    table_id: int


def test_defaults_are_shared_and_frozen() -> None:
    first = _defaults(PageQuery)
    assert first is _defaults(PageQuery) and first.limit == 100 and first.before is None
    with pytest.raises(pydantic.ValidationError):
        first.limit = 5


def test_a_required_parameter_has_no_defaults() -> None:
    assert _defaults(Needs) is None
