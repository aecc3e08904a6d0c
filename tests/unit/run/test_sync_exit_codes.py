"""The exit codes a scheduler alerts on (docs/cli.md, "Failures and exit codes"), their order
when several hold (1 > 4 > 3 > 0), and the plain lines a partial cycle prints."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ml_connector.flow.plan import PlanSummary
from ml_connector.flow.post.outbox import PostSummary
from ml_connector.pipeline import SyncReport
from ml_connector.run.commands.sync import (
    _one_line,
    attention_lines,
    exit_code,
    print_report,
    report_json,
)

STARTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _report(
    *,
    rejected: int = 0,
    waiting: int = 0,
    regions: dict[str, str] | None = None,
    refused: tuple[str, ...] = (),
    **post: int | str | bool | None,
) -> SyncReport:
    report = SyncReport(connection="shop", started=STARTED)
    report.post = PostSummary(rejected=rejected, **post)  # type: ignore[arg-type]
    report.plan = PlanSummary(waiting=waiting)
    report.region_failures = dict(regions or {})
    report.regions_refused = set(refused)
    return report


@pytest.mark.parametrize(
    ("report", "code"),
    [
        (_report(), 0),
        (_report(waiting=5), 3),
        (_report(retry=1), 4),
        (_report(unconfirmed=2), 4),
        (_report(waiting_on_import=3), 4),
        (_report(left_for_next_cycle=7), 4),
        (_report(oracle_unreachable="Oracle unreachable: connection refused"), 4),
        (_report(regions={"FE": "Amazon's login service (LWA): cannot reach …"}), 4),
        # A refused credential never heals by itself: 1, even with nothing else wrong.
        (_report(regions={"FE": "Amazon refused the refresh token"}, refused=("FE",)), 1),
        (_report(left_for_next_cycle=7, oracle_unreachable="…", oracle_refused=True), 1),
        (_report(waiting=5, retry=2, refused=("NA",)), 1),
        (_report(retry=1, waiting=5), 4),  # partial outranks the review queue
        (_report(rejected=1, retry=1, waiting=5), 1),  # a rejection outranks both
    ],
)
def test_exit_code_per_situation(report: SyncReport, code: int) -> None:
    assert exit_code([report]) == code
    answer = report_json(report)
    assert (answer["ok"], answer["exit_code"]) == (code == 0, code)


def test_run_once_reports_the_most_urgent_cycle() -> None:
    assert exit_code([_report(waiting=1), _report(retry=2), _report()]) == 4
    assert exit_code([_report(waiting=1), _report(rejected=1)]) == 1
    assert exit_code([]) == 0


def test_a_partial_cycle_says_what_it_left() -> None:
    report = _report(
        regions={"FE": "Amazon refused the refresh token for FE (invalid_grant): …"},
        left_for_next_cycle=37,
        oracle_unreachable="Oracle unreachable: cannot reach h:443: connection refused",
        unconfirmed=3,
        waiting_on_import=2,
    )
    assert attention_lines(report) == [
        "region FE not synced: Amazon refused the refresh token for FE (invalid_grant): …",
        "Oracle unreachable: cannot reach h:443: connection refused: "
        "37 documents left for the next cycle",
        "3 documents sent without an answer from Oracle: the next cycle looks each up before "
        "sending it again",
        "2 documents wait for an Oracle import that may still create them: the next cycle checks",
    ]
    assert _one_line(report).startswith(
        "shop: posted 0, held 0, rejected 0, retry 0, waiting for review 0; region FE not synced"
    )
    answer = json.loads(json.dumps(report_json(report)))
    assert answer["left_for_next_cycle"] == 37
    assert answer["region_failures"] == {"FE": report.region_failures["FE"]}
    assert (answer["unconfirmed"], answer["waiting_on_import"]) == (3, 2)


def test_the_breakers_own_count_is_not_repeated() -> None:
    line = "Oracle unreachable: read timeout — 12 documents left for the next cycle"
    report = _report(left_for_next_cycle=12, oracle_unreachable=line)
    assert attention_lines(report) == [line]
    assert attention_lines(_report(left_for_next_cycle=4)) == [
        "4 documents left for the next cycle"
    ]


def test_the_summary_table_shows_unconfirmed_and_waiting_on_import(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_report(_report(unconfirmed=3, waiting_on_import=2))
    shown = capsys.readouterr().out
    assert "sent, answer lost (looked up next cycle)" in shown
    assert "waiting for an Oracle import to finish" in shown
    print_report(_report())
    quiet = capsys.readouterr().out
    assert "answer lost" not in quiet
    assert "Oracle import" not in quiet


def test_refused_oracle_credentials_name_the_command_that_fixes_them() -> None:
    line = (
        "Oracle's identity domain: refused the client id or secret — 207 documents left for "
        "the next cycle"
    )
    report = _report(left_for_next_cycle=207, oracle_unreachable=line, oracle_refused=True)
    assert attention_lines(report) == [
        line,
        "Oracle refused the credentials: no later cycle gets past that. Store the right secret "
        "with `ml-connector connection set-secret shop --oracle-secret-env VARIABLE` "
        "(`--oracle-private-key-file FILE` for jwt_assertion), then check it with "
        "`ml-connector connection test shop`",
    ]
    answer = report_json(report)
    assert (answer["exit_code"], answer["oracle_refused"], answer["regions_refused"]) == (
        1,
        True,
        [],
    )
    unreachable = report_json(_report(left_for_next_cycle=3, oracle_unreachable="Oracle …"))
    assert (unreachable["exit_code"], unreachable["oracle_refused"]) == (4, False)
