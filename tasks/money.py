"""Money as task data holds it: yuan as a number, exact to the fen (0.01 yuan).

Arithmetic is done in Decimal and rounded half-up, as a cashier rounds; the result is a float with
at most two decimals so it stays JSON and form friendly.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
Amount = int | float | str


def to_decimal(value: Amount, what: str) -> Decimal:
    """Read a number from task data (a form gives int or text); refuse what is not an amount."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{what} must be a number, not {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{what} must be a number, not {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    return amount


def to_yuan(amount: Decimal) -> float:
    """Round to the fen, half-up, and hand back a plain number."""
    return float(amount.quantize(FEN, rounding=ROUND_HALF_UP))
