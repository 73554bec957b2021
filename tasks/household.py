"""Collective household register (P6): what a renewal costs.

The household-card deposit (600 yuan) is deliberately not here: it is a number an analyst may
change, so the diagram holds it (a form default or a script value), and refunding it is a yes/no on
the card and pledge coming back, which a gateway decides. No Python computes anything there.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from tasks.money import Amount, to_decimal, to_yuan
from tasks.periods import Moment, local_date
from tasks.registry import business_function


def _years_later(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@business_function
def renewal_fees_owed(paid_until_iso: Moment, today_iso: Moment, yearly_fee: Amount) -> dict[str, Any]:
    """What a renewal costs: every fee year begun since the fees were paid is owed in full.

    Paid until 2025-06-30 and renewing on 2026-07-15: the years from 2025-07-01 and 2026-07-01 have
    begun, so two fees are owed and the register is then paid until 2027-06-30. Returns
    ``{"years": n, "amount": yuan, "paid_until": ISO date after paying}``; nothing owed when the
    paid period has not ended.
    """
    fee = to_decimal(yearly_fee, "yearly fee")
    if fee < 0:
        raise ValueError(f"yearly fee cannot be negative: {yearly_fee!r}")
    paid_until = local_date(paid_until_iso, "paid until")
    today = local_date(today_iso, "today")
    years = 0
    while _years_later(paid_until, years) < today:
        years += 1
    return {
        "years": years,
        "amount": to_yuan(fee * years),
        "paid_until": _years_later(paid_until, years).isoformat(),
    }
