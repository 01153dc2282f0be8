"""Pages of a list view: newest first, `limit`, `before`, equal to encoding the page itself."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from robodine_edge.actors.storage.list_pages import MAX_VIEWS, ListViews, PageKey


def rows(*ids: int) -> list[dict[str, int | str]]:
    return [{"id": row_id, "name": f"row {row_id}"} for row_id in ids]


def test_a_page_is_served_from_the_whole_list_kept_once() -> None:
    views = ListViews()
    first = PageKey("tables", None, 2, None)
    assert views.get(first) is None
    assert orjson.loads(views.build(first, lambda: rows(1, 3, 2, 4))) == rows(4, 3)
    assert orjson.loads(views.get(PageKey("tables", None, 2, 3)) or b"") == rows(2, 1)
    assert views.get(PageKey("tables", "other filter", 2, None)) is None
    views.drop()
    assert views.get(first) is None


def test_paging_through_keeps_one_view_per_list() -> None:
    views = ListViews()
    for before in range(1, MAX_VIEWS + 5):
        views.build(PageKey("menu", None, 1, before), lambda: rows(*range(1, 30)))
    views.build(PageKey("inventory", None, 100, None), lambda: rows(5))
    assert views.get(PageKey("inventory", None, 100, None)) == orjson.dumps(rows(5))


@given(
    st.sets(st.integers(1, 500), max_size=40),
    st.integers(1, 50),
    st.one_of(st.none(), st.integers(1, 520)),
)
def test_a_page_equals_encoding_that_page(ids: set[int], limit: int, before: int | None) -> None:
    views = ListViews()
    body = views.build(PageKey("t", None, limit, before), lambda: rows(*ids))
    expected = [
        row for row in sorted(rows(*ids), key=lambda r: -int(r["id"])) if before is None or int(row["id"]) < before
    ]
    assert body == orjson.dumps(expected[:limit])
