"""Switchable misbehaviour: what real SP-API does on a bad day, on demand and reproducibly."""

from __future__ import annotations

from dataclasses import dataclass

FAULTS_HELP = (
    "Comma-separated faults: throttle=P (spurious 429s below the published rate), "
    "errors=P (500/503), slow=P:SECONDS, drop=P (connection dropped mid-response), "
    "expire-tokens=N (every access token expires after N calls), late-postings "
    "(finance transactions appear up to 48 h after their postedDate), redirect=P (302 to a "
    "sign-in page instead of the answer). P is a probability 0-1."
)


@dataclass(frozen=True)
class FaultOptions:
    """All off by default. Probabilities are drawn from a seeded RNG, so runs repeat."""

    throttle_rate: float = 0.0
    error_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.0
    drop_rate: float = 0.0
    expire_tokens_after: int | None = None
    late_postings: bool = False
    redirect_rate: float = 0.0
    seed: int = 0


def parse_faults(spec: str, seed: int = 0) -> FaultOptions:
    """Parse the `--faults` text; a ValueError names the part it could not read."""
    values: dict[str, object] = {"seed": seed}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, raw = part.partition("=")
        try:
            if name == "throttle":
                values["throttle_rate"] = _probability(raw)
            elif name == "errors":
                values["error_rate"] = _probability(raw)
            elif name == "slow":
                rate, _, seconds = raw.partition(":")
                values["slow_rate"] = _probability(rate)
                values["slow_seconds"] = float(seconds or "1")
            elif name == "drop":
                values["drop_rate"] = _probability(raw)
            elif name == "expire-tokens":
                values["expire_tokens_after"] = int(raw)
            elif name == "late-postings":
                values["late_postings"] = True
            elif name == "redirect":
                values["redirect_rate"] = _probability(raw)
            else:
                raise ValueError("unknown fault")
        except ValueError as exc:
            raise ValueError(f"cannot read fault {part!r}: {exc}") from None
    return FaultOptions(**values)  # type: ignore[arg-type]


def _probability(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError("probability must be between 0 and 1")
    return value
