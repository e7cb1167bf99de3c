"""The part planner on its own: cut units, parts under a budget."""

from __future__ import annotations

from mediabot.media.plan import CutUnit, plan_part


def _unit(start: float, size: int) -> CutUnit:
    return CutUnit(start_s=start, start_dts_s=start, size_bytes=size, packets=10)


def test_plan_fills_the_budget_but_never_the_incomplete_last_unit() -> None:
    units = [_unit(float(i), 100_000) for i in range(10)]
    assert plan_part(units, 350_000, at_eof=False) == 3
    assert plan_part(units[:3], 10_000_000, at_eof=False) is None
    assert plan_part(units[:3], 10_000_000, at_eof=True) == 3
    assert plan_part(units, 10_000_000, at_eof=False, target_bytes=250_000) == 3
    assert plan_part(units, 50_000, at_eof=True) == 1
