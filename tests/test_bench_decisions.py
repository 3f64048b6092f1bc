"""``bench/decisions.py`` (issue 12, item 1) runs: its core, on a fresh SQLite file with a tiny N, decides
each of the four steps on our side and completes the bare viewflow flow, and says so. The bench's bare
flow (``bench.bareflow``) is installed only by ``bench/settings.py``, never by the site's settings."""

import pytest

from bench import decisions


def production_apps() -> list[str]:
    from expediente import settings

    return list(settings.INSTALLED_APPS)


def test_the_bare_flow_is_not_installed_by_the_site_settings():
    from django.apps import apps

    from bench import settings as bench_settings

    assert not any("bareflow" in app for app in production_apps())
    assert not apps.is_installed("bench.bareflow")
    assert "bench.bareflow" in bench_settings.INSTALLED_APPS


@pytest.mark.slow
def test_the_decisions_bench_runs_on_sqlite(tmp_path):
    assert "bench.bareflow" not in production_apps()
    result = decisions.run_database(
        "sqlite", tmp_path, rounds=1, n=2, sizes=(4,), warmup=1, broker="memory://"
    )
    assert result["vendor"] == "sqlite"
    assert result["broker"] == "memory://"
    size = result["sizes"]["4"]
    for decision in decisions.DECISIONS:
        row = size[decision]
        assert row["ratio"][0] > 0 and row["cpu_ratio"][0] > 0
        assert row["ours_statements"][0] > 0 and row["bare_statements"][0] > 0
        assert row["ours_ms"][0] > 0 and row["bare_ms"][0] > 0
        # One round: the throughput ratio is the bare block's time per completion over ours (the
        # blocks have different sizes), and the CPU ratio ours over bare, per completion.
        assert row["ratio"][0] == pytest.approx(row["bare_ms"][0] / row["ours_ms"][0])
        assert row["cpu_ratio"][0] == pytest.approx(row["ours_cpu_ms"][0] / row["bare_cpu_ms"][0])
        # The bare flow's approve tasks reached DONE (and their processes finished).
        bare = 2 * decisions.BARE_FACTOR
        assert result["checks"]["bare"][decision] == {
            "tasks": bare,
            "tasks_done": bare,
            "processes_done": bare,
        }
        # Our cases moved to the state the decision leads to, with the next step's task open.
        state, step = decisions.EXPECTED[decision]
        assert result["checks"]["ours"][decision] == {
            "cases": 2,
            "states": [state],
            "next_step": step,
            "with_next_step_open": 2,
        }
        assert result["breakdown"][decision]["ours"] and result["breakdown"][decision]["bare"]
    assert decisions.EXPECTED["technical_evaluation"] == ("in_approval", "legal_report")
    # Each timed decision queued its notification for the broker after COMMIT (none ran in-process),
    # or, with a transactional outbox, left it to the relay (nothing on the broker yet).
    # Two of each decision; a payment confirmation owes the applicant's payment notice too, and a
    # budget certification the drawing of its two official documents.
    assert result["messages"]["expected"] == 14
    assert result["messages"]["queued"] in (0, 14)
    meta = {**decisions.machine(), "when": "now", "elapsed": 1.0}
    config = {"rounds": 1, "n": 2, "warmup": 1, "sizes": (4,), "broker_label": "memory://"}
    section = decisions.report(meta, {"sqlite": result}, "bench", (0.0, 0.0), config)
    assert section.startswith(decisions.START) and section.endswith(decisions.END)
    assert all(d in section for d in decisions.DECISIONS)
