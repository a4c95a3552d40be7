"""``review list`` and ``review show`` output (in process): the list's columns, and an
event's data shown as sorted, indented JSON so two rows compare line by line."""

from __future__ import annotations

import pytest

from service.cli import build_parser
from service.review_cmd import _print_list, _print_row

ROW = {"Event_Uuid__c": "uuid-1", "Workspace_ID__c": "ws-1", "Event_Type__c": "Trial",
       "Retry_Count__c": 8, "Review_Reason__c": "gave up after 8 tries",
       "Event_Data__c": '{"z": 1, "a": 2}'}


def test_review_list_has_a_header_naming_each_column(capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    _print_list([ROW], 1, 0)
    header, row, footer = capsys.readouterr().out.splitlines()
    assert header.split() == ["EVENT", "UUID", "WORKSPACE", "TYPE", "TRIES", "REASON"]
    assert row.split()[:4] == ["uuid-1", "ws-1", "Trial", "8"]
    assert footer.startswith("1 need review")


def test_review_show_prints_event_data_as_sorted_indented_json(
        capsys: pytest.CaptureFixture[str]) -> None:
    _print_row(ROW)
    out = capsys.readouterr().out
    assert 'Event_Data__c: {\n  "a": 2,\n  "z": 1\n}' in out


def test_review_offset_is_a_whole_number_and_never_negative(
        capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["review", "list", "--emulator-info", "x.json",
                                      "--offset", "5"])
    assert args.offset == 5
    with pytest.raises(SystemExit):
        build_parser().parse_args(["review", "list", "--emulator-info", "x.json",
                                   "--offset", "-1"])
    assert "--offset" in capsys.readouterr().err
