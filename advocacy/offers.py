"""How a programme's offers read to people ("20% off orders over €30.00")."""

from advocacy.models import Programme, RewardKind
from kernel.money import format_money


def offer_summary(programme: Programme) -> str:
    """The shopper's offer: "20% off" / "€10.00 off", with the minimum order if there is one."""
    if programme.shopper_reward_kind == RewardKind.PERCENT:
        text = f"{programme.shopper_reward_percent.normalize():f}% off"
    else:
        text = f"{format_money(programme.shopper_reward_amount, programme.currency)} off"
    if programme.shopper_min_order:
        text += f" orders over {format_money(programme.shopper_min_order, programme.currency)}"
    return text


def reward_summary(programme: Programme) -> str:
    """What an advocate earns per referred sale: "10% of each sale" / "€5.00 per sale"."""
    if programme.advocate_reward_kind == RewardKind.PERCENT:
        return f"{programme.advocate_reward_percent.normalize():f}% of each sale"
    return f"{format_money(programme.advocate_reward_amount, programme.currency)} per sale"
