"""Structured logs: with --log-format json every line is one JSON object, errors included."""

from __future__ import annotations

import json
import logging

import pytest

from node.core import logs


@pytest.mark.expect_logged_errors  # it logs an error to see how the line looks
def test_json_lines_carry_time_level_logger_message_and_error(capsys):
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        logs.configure("INFO", "json")
        logging.getLogger("chapterhouse.inbox").info("stored %d activities", 3)
        logging.getLogger("chapterhouse.debug").debug("not shown at INFO")
        try:
            raise ValueError("bad ballot")
        except ValueError:
            logging.getLogger("chapterhouse.polls").exception("counting failed")
    finally:
        root.handlers[:], root.level = saved_handlers, saved_level
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(entry["level"], entry["logger"], entry["message"]) for entry in lines] == [
        ("info", "chapterhouse.inbox", "stored 3 activities"),
        ("error", "chapterhouse.polls", "counting failed"),
    ]
    assert lines[0]["time"].endswith("+00:00") and "error" not in lines[0]
    assert "ValueError: bad ballot" in lines[1]["error"]
