"""Collect prepares each copy's programme as the copy arrives (while the
workers read), as if it counted with its own pair row, and the end reuses that
unless the copy does not count that way: the registry's row differs from the
copy's own, the copy is not listed, a later version replaces it. The payload
must be exactly the one made without any preparation, wherever the registry
comes in the stream."""
from __future__ import annotations

import pytest

from test_collect_rules import collect_facts, copy, pair, registry

from xlflow.consolidate import collect as C
from xlflow.consolidate import collect_stream as CS
from xlflow.consolidate.facts import SUPERSEDED

DONE = [{"direction": "A", "completion": "выполнено", "due_date": "2025-10-01", "done_date": "2025-10-02"}]


def _files(registry_last: bool) -> list:
    one, two, three = pair("П-1", "Н-1", "У-1"), pair("П-2", "Н-2", "У-2"), pair("П-3", "Н-3", "У-3")
    group = [pair("Г-4", "Н-1", f"У-4{i}", gtype="группа") for i in range(2)]
    reg_rows = [dict(two, mentoring_form="учитель – учитель", kind="виртуальное (дистанционное)", mode="онлайн"),
                dict(one, group_type="группа"), three, *group]
    copies = [copy(one, name="a.xlsx"),  # its registry row says «группа»
              copy(two, name="b.xlsx", passport={"status": "завершена"}),  # form, kind and mode differ
              copy(three, name="c.xlsx"), copy(three, name="c2.xlsx", roadmap=DONE),  # a later version wins
              copy(group[0], name="d.xlsx"), copy(dict(group[1], mode="очный"), name="e.xlsx"),
              copy(pair("П-9", "Н-9", "У-9"), name="f.xlsx", roadmap=DONE)]  # unlisted
    reg = registry(reg_rows, mentors=["Н-1", "Н-2", "Н-3"], mentees=["У-1", "У-2", "У-3", "У-40"])
    return [*copies, reg] if registry_last else [reg, *copies]


def _unprepared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CS.StreamCollect, "prepared", lambda self, e, record, cells, wanted: None)


@pytest.mark.parametrize("registry_last", [True, False])
def test_prepared_copies_give_the_payload_made_without_them(monkeypatch, registry_last):
    prepared = collect_facts(_files(registry_last))
    _unprepared(monkeypatch)
    plain = collect_facts(_files(registry_last))
    assert prepared.payload == plain.payload and prepared.exit_code == plain.exit_code
    assert prepared.status("c.xlsx") == SUPERSEDED


def test_the_registry_row_counts_where_it_differs_from_the_copys_own():
    result = collect_facts(_files(registry_last=True))
    rows = {r["programme_id"]: r for r in result.table("programmes")}
    assert (rows["П-2"]["mentoring_form"], rows["П-2"]["kind"], rows["П-2"]["mode"]) == (
        "учитель – учитель", "виртуальное (дистанционное)", "онлайн")
    assert rows["П-1"]["group_type"] == "группа" and rows["П-2"]["status"] == "завершена"
    assert (rows["П-9"]["in_registry"], rows["П-1"]["in_registry"]) == (False, True)
    assert [r["programme_id"] for r in result.table("programmes")] == ["П-2", "П-1", "П-3", "Г-4", "Г-4", "П-9"]
    assert [r["done"] for r in result.table("roadmap_programmes")] == [0, 0, 1, 0, 0, 1]
    forms = {r["value"]: r["programmes"] for r in result.table("breakdown") if r["dimension"] == "mentoring_form"}
    assert forms == {"педагог – педагог": 5, "учитель – учитель": 1}
    assert result.figures["copies_unlisted"] == 1 and C.UNLISTED_COPY in result.codes()
