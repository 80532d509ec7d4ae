"""The sandbox storefront's catalogue: a few demo products for trying the loop end to end.

Only served when STREETTEAM_SANDBOX_STORE is on (the embedded default). Prices are in the minor
unit of the demo programme's currency.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    slug: str
    name: str
    blurb: str
    price: int  # minor units
    colour: str  # swatch shown instead of a photo


PRODUCTS = (
    Product("trail-runners", "Trail Runners", "Grippy, light, made for mud.", 12900, "#2f6f4f"),
    Product("merino-tee", "Merino Tee", "Breathes on the climb, warm at the top.", 5900, "#b4572e"),
    Product("day-pack", "Day Pack 22L", "Room for lunch, a jacket and a map.", 8400, "#355c8c"),
    Product("trail-socks", "Trail Socks (3 pairs)", "Cushioned where it counts.", 1800, "#7a5c99"),
)
SHIPPING_FEE = 490
FREE_SHIPPING_FROM = 5000


def product(slug: str) -> Product | None:
    return next((p for p in PRODUCTS if p.slug == slug), None)


def shipping_for(net_amount: int) -> int:
    return 0 if net_amount >= FREE_SHIPPING_FROM else SHIPPING_FEE
