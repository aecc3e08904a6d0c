"""The seller's product catalog: what the generator sells and what the demo maps to accounts.

The connector needs a SKU → account mapping file; the demo derives it from this catalog (and
drops one SKU on purpose), so the catalog is part of the simulator's public surface.
"""

from __future__ import annotations

import csv
import random
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict

# (sku prefix, title, category, list price in USD, unit cost in USD). A prefix that already
# ends in its variant (a full SKU such as THÉ-VERT-100G) is used as the SKU as it stands. The
# accented SKU is there on purpose: EU report documents are windows-1252, and a connector that
# guesses their charset reads that SKU as another one.
_PRODUCTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("MUG", "Stoneware Coffee Mug 350 ml", "Kitchen", "12.50", "3.10"),
    ("THÉ-VERT-100G", "Thé vert bio 100 g", "Kitchen", "34.99", "11.20"),
    ("KNIFE", "Chef Knife 20 cm", "Kitchen", "45.00", "14.75"),
    ("BOARD", "Bamboo Cutting Board", "Kitchen", "19.99", "5.40"),
    ("PAN", "Non-Stick Frying Pan 28 cm", "Kitchen", "39.95", "13.60"),
    ("TOWEL", "Linen Tea Towel Set of 3", "Home", "16.49", "4.05"),
    ("CANDLE", "Soy Wax Candle Cedar", "Home", "22.00", "6.30"),
    ("LAMP", "LED Desk Lamp Dimmable", "Home", "49.99", "18.25"),
    ("CLOCK", "Wooden Wall Clock 30 cm", "Home", "29.90", "9.80"),
    ("PILLOW", "Memory Foam Pillow", "Home", "36.50", "12.00"),
    ("BOTTLE", "Insulated Water Bottle 750 ml", "Sports", "24.95", "6.90"),
    ("MAT", "Yoga Mat 6 mm", "Sports", "27.99", "8.15"),
    ("BAND", "Resistance Band Set", "Sports", "18.75", "4.40"),
    ("ROPE", "Speed Jump Rope", "Sports", "11.99", "2.60"),
    ("GLOVES", "Cycling Gloves Pair", "Sports", "21.49", "6.20"),
    ("CABLE", "USB-C Cable 2 m", "Electronics", "9.99", "1.80"),
    ("CHARGER", "65 W USB-C Charger", "Electronics", "32.99", "11.50"),
    ("HUB", "7-in-1 USB-C Hub", "Electronics", "44.90", "16.30"),
    ("MOUSE", "Wireless Mouse Silent", "Electronics", "19.49", "5.95"),
    ("STAND", "Aluminium Laptop Stand", "Electronics", "38.00", "12.40"),
    ("NOTE", "Dot Grid Notebook A5", "Office", "13.99", "3.25"),
    ("PEN", "Gel Pen Set of 12", "Office", "8.99", "1.95"),
    ("FOLDER", "Expanding File Folder", "Office", "15.50", "4.10"),
    ("TAPE", "Washi Tape Set of 20", "Office", "10.99", "2.30"),
    ("BRUSH", "Dog Grooming Brush", "Pets", "14.99", "3.70"),
    ("BOWL", "Stainless Pet Bowl Pair", "Pets", "17.95", "4.85"),
    ("LEASH", "Reflective Dog Leash 1.5 m", "Pets", "16.99", "4.20"),
    ("PLANTER", "Ceramic Planter 15 cm", "Garden", "21.99", "6.60"),
    ("SHEARS", "Pruning Shears", "Garden", "26.49", "8.90"),
    ("SEEDS", "Herb Seed Kit", "Garden", "12.99", "2.85"),
    ("GLASS", "Borosilicate Glass Set of 4", "Kitchen", "27.50", "8.70"),
    ("SCALE", "Digital Kitchen Scale", "Kitchen", "23.99", "7.10"),
)

_FULL_SKUS = frozenset({"THÉ-VERT-100G"})
_ASIN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CSV_COLUMNS = ("sku", "asin", "title", "category", "price", "currency", "unit_cost")


class CatalogEntry(BaseModel):
    """One SKU the seller sells. Prices are the USD list price; marketplaces convert it."""

    model_config = ConfigDict(frozen=True)

    sku: str
    asin: str
    title: str
    category: str
    price: Decimal
    currency: str = "USD"
    unit_cost: Decimal | None = None


def generate_catalog(rng: random.Random, size: int = 30) -> list[CatalogEntry]:
    """Pick `size` products (20-32) and give them stable SKUs and ASINs drawn from `rng`."""
    size = max(1, min(size, len(_PRODUCTS)))
    chosen = rng.sample(range(len(_PRODUCTS)), size)
    entries: list[CatalogEntry] = []
    for index in sorted(chosen):
        prefix, title, category, price, cost = _PRODUCTS[index]
        variant = rng.randint(1, 9)
        asin = "B0" + "".join(rng.choice(_ASIN_ALPHABET) for _ in range(8))
        entries.append(
            CatalogEntry(
                sku=prefix if prefix in _FULL_SKUS else f"{prefix}-{variant:02d}",
                asin=asin,
                title=title,
                category=category,
                price=Decimal(price),
                unit_cost=Decimal(cost),
            )
        )
    return entries


def write_catalog_csv(entries: list[CatalogEntry], path: Path) -> None:
    """Write the catalog as CSV (header: sku,asin,title,category,price,currency,unit_cost)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for entry in entries:
            writer.writerow(
                [
                    entry.sku,
                    entry.asin,
                    entry.title,
                    entry.category,
                    str(entry.price),
                    entry.currency,
                    "" if entry.unit_cost is None else str(entry.unit_cost),
                ]
            )
