"""Cancellations and returns (P3): the money side of the policy.

Whether a fee applies, and its rate (at least 10 % after 48 hours), is the return-policy DMN table's
decision, which an analyst edits; this module only does the arithmetic on the rate it is given.
"""
from __future__ import annotations

from tasks.money import Amount, to_decimal, to_yuan
from tasks.registry import business_function


@business_function
def cancellation_fee(price: Amount, fee_rate: Amount) -> float:
    """The cancellation fee in yuan: ``price × fee_rate``, rounded half-up to the fen."""
    amount = to_decimal(price, "price")
    rate = to_decimal(fee_rate, "fee rate")
    if amount < 0:
        raise ValueError(f"price cannot be negative: {price!r}")
    if not 0 <= rate <= 1:
        raise ValueError(f"fee rate must be between 0 and 1 (0.1 = 10 %), not {fee_rate!r}")
    return to_yuan(amount * rate)
