"""Built-in risk signals and flag policies: how late a customer pays and how far over its limit it is."""

from __future__ import annotations

from collections.abc import Sequence

from hub import hookimpl
from hub.model import Exposure, FlagCode, RiskFlag
from hub.risk import FlagPolicy, RiskContext, RiskSignal, SignalResult

# (days past due at least, points off the score)
_LATENESS_POINTS = ((91, 60.0), (61, 40.0), (31, 25.0), (1, 10.0))


class OverdueSignal(RiskSignal):
    name = "overdue"

    def evaluate(self, exposure: Exposure, context: RiskContext) -> SignalResult | None:
        dpd = exposure.max_days_past_due
        for threshold, points in _LATENESS_POINTS:
            if dpd >= threshold:
                return SignalResult(
                    self.name,
                    points,
                    f"oldest unpaid invoice is {dpd} days past due "
                    f"({exposure.overdue_amount} {exposure.currency} overdue in all)",
                )
        return None


class UtilisationSignal(RiskSignal):
    name = "utilisation"

    def evaluate(self, exposure: Exposure, context: RiskContext) -> SignalResult | None:
        u = exposure.utilisation
        if u is None or u <= 0.8:
            return None
        points = 30.0 if u > 1 else 15.0
        return SignalResult(
            self.name,
            points,
            f"owes {exposure.open_amount} {exposure.currency}, {u:.0%} of its {exposure.credit_limit} credit limit",
        )


class OverdueFlagPolicy(FlagPolicy):
    """``OVERDUE_30/60/90``: only the highest threshold passed, so a customer carries one overdue flag."""

    name = "overdue"

    def evaluate(self, exposure: Exposure, context: RiskContext) -> Sequence[RiskFlag]:
        dpd = exposure.max_days_past_due
        passed = [d for d in sorted(context.overdue_days) if dpd > d]
        if not passed:
            return []
        days = passed[-1]
        code = f"OVERDUE_{days}"
        return [
            RiskFlag(
                customer_id=exposure.customer_id,
                code=code,
                reason=f"an invoice is {dpd} days past due (more than {days}); "
                f"{exposure.overdue_amount} {exposure.currency} overdue",
            )
        ]


class OverLimitPolicy(FlagPolicy):
    name = "over-limit"

    def evaluate(self, exposure: Exposure, context: RiskContext) -> Sequence[RiskFlag]:
        limit = exposure.credit_limit
        if limit is None or exposure.open_amount <= limit:
            return []
        return [
            RiskFlag(
                customer_id=exposure.customer_id,
                code=FlagCode.OVER_LIMIT.value,
                reason=f"open {exposure.open_amount} {exposure.currency} exceeds the credit limit {limit}",
            )
        ]


@hookimpl
def hub_register_risk_signals() -> list[RiskSignal]:
    return [OverdueSignal(), UtilisationSignal()]


@hookimpl
def hub_register_flag_policies() -> list[FlagPolicy]:
    return [OverdueFlagPolicy(), OverLimitPolicy()]
