"""What the rules take from the configuration (``[apply]``), with the seed plan's defaults."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

DEFAULT_MRR_CEILING = Decimal("100000")


@dataclass(frozen=True)
class RuleSettings:
    """``trial_length_days``: a Trial without ``trial_expiration`` ends this many days after
    its event date (the seed plan assumes 30-day trials). ``mrr_ceiling``: a Conversion's MRR
    above it (or below 0) is not written and the Workspace goes to review. ``new_trial_task``:
    a new Workspace's owner also gets a "New self-serve trial" Task."""

    trial_length_days: int = 30
    mrr_ceiling: Decimal = DEFAULT_MRR_CEILING
    new_trial_task: bool = False
