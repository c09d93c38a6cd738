"""The one place money changes unit: cents (Stripe) <-> micro-dollars (ledger) <-> text.

The ledger counts micro-dollars (1e-6 USD) in integers so a 1k-token call priced at a
fraction of a cent is exact; purchases are whole cents. Rounding is half-up, stated here.
"""

from decimal import ROUND_HALF_UP, Decimal

MICROS_PER_CENT = 10_000
MICROS_PER_DOLLAR = 1_000_000


def cents_to_micros(cents: int) -> int:
    return cents * MICROS_PER_CENT


def micros_to_cents_floor(micros: int) -> int:
    """Whole cents contained in an amount (used where we must not over-charge)."""
    return micros // MICROS_PER_CENT


def micros_to_cents_ceil(micros: int) -> int:
    """Whole cents needed to cover an amount (a debt of 0.3 cents is charged as 1 cent)."""
    return -((-micros) // MICROS_PER_CENT)


def dollars_to_cents(dollars: Decimal) -> int:
    """An amount typed in dollars, which must already be whole cents."""
    cents = dollars * 100
    if cents != cents.to_integral_value():
        raise ValueError("Amounts are whole cents.")
    return int(cents)


def percent_of_cents(cents: int, percent: Decimal) -> int:
    """`percent`% of an amount in cents, rounded half-up to the cent (bonus credits)."""
    return int((Decimal(cents) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def price_micros(units: int, micros_per_million: int) -> int:
    """Cost of `units` tokens at a price per million, rounded half-up to the micro-dollar.

    Integer arithmetic (exact, and a few times faster than Decimal on the ingest path):
    for non-negative a/b, half-up rounding is floor((2a + b) / 2b)."""
    if units < 0 or micros_per_million < 0:
        raise ValueError("Units and prices are never negative.")
    return (2 * units * micros_per_million + 1_000_000) // 2_000_000


def micros_to_decimal(micros: int) -> Decimal:
    return Decimal(micros) / MICROS_PER_DOLLAR


def format_usd(micros: int, *, places: int = 2) -> str:
    """$1,234.56 (or -$3.10); `places` > 2 shows sub-cent usage costs."""
    value = micros_to_decimal(abs(micros)).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
    )
    sign = "-" if micros < 0 and value != 0 else ""
    return f"{sign}${value:,.{places}f}"


def decimal_dollars_to_micros(dollars: Decimal) -> int:
    """A Decimal dollar amount with at most 6 places, as micro-dollars (exact)."""
    micros = dollars * MICROS_PER_DOLLAR
    if micros != micros.to_integral_value():
        raise ValueError("At most 6 decimal places.")
    return int(micros)


def cents_to_decimal(cents: int) -> Decimal:
    """Whole cents as a Decimal dollar amount with two places (for form initial values)."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))
def micros_to_plain(micros: int) -> str:
    """Dollars with all six decimals and no symbol, e.g. "-0.000150" (API and CSV)."""
    return f"{micros_to_decimal(micros).quantize(Decimal('0.000001')):f}"
