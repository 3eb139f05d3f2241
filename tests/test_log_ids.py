"""Matrix ids in nio's log lines: the localpart (usually a person's name) never shows."""

from __future__ import annotations

import logging

import pytest

import bot.matrix.session  # noqa: F401 - installs the filter on nio's loggers
from bot.ops.logs import keep_content_out_of_logs


@pytest.mark.parametrize(
    "line",
    [
        "Missing Olm session for user @jan.jansen:example.org and device PHONE",
        "Error decrypting megolm event for room !dmroom:example.org from @jan.jansen:example.org",
        "User @jan.jansen:example.org (device PHONE) key query failed: {'keys': 1}",
        "@jan.jansen:example.org requested a key",
    ],
)
def test_nio_warnings_name_nobody(line: str, caplog: pytest.LogCaptureFixture):
    keep_content_out_of_logs("INFO")
    from nio.crypto.olm_machine import logger

    with caplog.at_level(logging.WARNING):
        logger.warning(line)
    [record] = [r for r in caplog.records if r.name == logger.name]
    logged = record.getMessage()
    for secret in ("jan", "jansen", "example.org", "dmroom", "keys"):
        assert secret not in logged, logged
    assert logged.endswith("(details withheld)")
    assert "<user>" in logged or "<room>" in logged
