"""Signals advocacy sends for others to act on (it imports nothing of referrals, decision 0002)."""

from django.dispatch import Signal

# A manager paused, banned or reactivated an advocate (`services.advocate_status_change`).
# Sent inside the change's transaction with advocate, actor, before, after and reason, so a
# receiver's audit row commits or rolls back with the change.
advocate_status_changed = Signal()
