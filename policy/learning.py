"""How a VW policy learns: the validated, structured subset of VW options an operator may set.

Options are fields, never free text, so no flag that reads or writes files (``-d``, ``-f``,
``--cache_file``, ``--readable_model``…) can be injected; :meth:`LearningSettings.vw_args`
renders them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, get_args

from policy.checks import check_int, check_range

CbType = Literal["ips", "dr", "mtr"]
CB_TYPES: tuple[CbType, ...] = get_args(CbType)
INTERACTION = re.compile(r"^[UA]{2,3}$")


@dataclass(frozen=True)
class LearningSettings:
    """VW ``--cb_adf`` learning options.

    Parameters
    ----------
    cb_type
        How VW estimates the cost of arms that were not shown: ``ips`` (inverse propensity),
        ``dr`` (doubly robust) or ``mtr`` (importance-weighted regression on the shown arm only).
    interactions
        Namespace products: ``UA`` is context × arm, ``AA`` arm × arm (factor-by-factor
        effects), ``UAA`` context × arm × arm.
    learning_rate, power_t, l2
        VW's ``-l``, ``--power_t`` and ``--l2``.
    clip_p
        VW's ``--clip_p``: logged probabilities below it count as it, so no example weighs more
        than ``1 / clip_p`` (0: no clipping). Once a policy serves greedily, explored arms are
        logged with probability ε/K and their importance weights dwarf everything else; clipping
        trades a little bias for far steadier learning from such logs.
    bit_precision
        Size of the weight table (``-b``), 2**bits weights.
    passes
        How many times training goes over the data.
    """

    cb_type: CbType = "mtr"
    interactions: tuple[str, ...] = ("UA",)
    learning_rate: float = 0.05
    power_t: float = 0.5
    l2: float = 0.0
    clip_p: float = 0.2
    bit_precision: int = 18
    passes: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "interactions", tuple(self.interactions))
        if self.cb_type not in CB_TYPES:
            raise ValueError(f"`cb_type` must be one of {', '.join(CB_TYPES)}, got {self.cb_type!r}")
        for item in self.interactions:
            if not isinstance(item, str) or not INTERACTION.match(item):
                raise ValueError(f"`interactions` holds 2-3 letters from U (context) and A (arm), got {item!r}")
        if len(set(self.interactions)) != len(self.interactions):
            raise ValueError("`interactions` lists an interaction twice")
        check_range("learning_rate", self.learning_rate, 1e-6, 10.0)
        check_range("power_t", self.power_t, 0.0, 1.0)
        check_range("l2", self.l2, 0.0, 1.0)
        check_range("clip_p", self.clip_p, 0.0, 0.5)
        check_int("bit_precision", self.bit_precision, 12, 24)
        check_int("passes", self.passes, 1, 20)

    def as_dict(self) -> dict[str, object]:
        """The settings as a JSON-compatible document; ``LearningSettings(**doc)`` reads it back."""
        return {**asdict(self), "interactions": list(self.interactions)}

    def vw_args(self) -> str:
        """The VW command line for these settings."""
        parts = ["--cb_adf", f"--cb_type {self.cb_type}"]
        parts += [f"--interactions {i}" for i in self.interactions]
        parts += [f"-l {self.learning_rate!r}", f"--power_t {self.power_t!r}", f"-b {self.bit_precision}"]
        if self.l2:
            parts.append(f"--l2 {self.l2!r}")
        if self.clip_p:
            parts.append(f"--clip_p {self.clip_p!r}")
        return " ".join(parts)


@dataclass(frozen=True)
class SearchSettings:
    """How a training cycle searches for better learning settings.

    The search tries the *starting* settings (the last ones it chose, else the experiment's
    ``training.vw``) and every setting that differs from them in exactly one option, taking
    that option's values from the lists below: a coordinate neighbourhood, so each cycle can
    move one step further along every option. Candidates are scored on a seeded random sample
    of at most ``max_events`` training examples cut into ``folds`` blocks in time: trained on
    the blocks before each later block and scored on it (:mod:`trainer.search`);
    candidates not started within ``budget_seconds`` are skipped.
    """

    enabled: bool = True
    learning_rates: tuple[float, ...] = (0.01, 0.05, 0.2, 0.5, 1.0)
    cb_types: tuple[CbType, ...] = CB_TYPES
    interactions: tuple[tuple[str, ...], ...] = (("UA",), ("UA", "AA"))
    l2: tuple[float, ...] = (0.0, 1e-6)
    clip_p: tuple[float, ...] = (0.0, 0.1, 0.2)
    passes: tuple[int, ...] = (1, 3)
    folds: int = 3
    max_events: int = 50_000
    budget_seconds: float = 300.0

    def __post_init__(self) -> None:
        for name in ("learning_rates", "cb_types", "l2", "clip_p", "passes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "interactions", tuple(tuple(i) for i in self.interactions))
        for option, values in self.options().items():
            if not 1 <= len(values) <= 10:
                raise ValueError(f"`search` must list 1 to 10 values of {option}, got {len(values)}")
            for value in values:
                try:
                    LearningSettings(**{option: value})
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"`search.{option}`: {exc}") from exc
        check_int("search.folds", self.folds, 2, 10)
        check_int("search.max_events", self.max_events, 100, 10_000_000)
        check_range("search.budget_seconds", self.budget_seconds, 1.0, 86_400.0)

    def options(self) -> dict[str, tuple[Any, ...]]:
        """Each searched :class:`LearningSettings` field and the values tried for it."""
        return {
            "learning_rate": self.learning_rates,
            "cb_type": self.cb_types,
            "interactions": self.interactions,
            "l2": self.l2,
            "clip_p": self.clip_p,
            "passes": self.passes,
        }

    def candidates(self, start: LearningSettings) -> list[LearningSettings]:
        """``start``, then each setting one option away from it, in option order, without
        repeats."""
        found = [start]
        for option, values in self.options().items():
            for value in values:
                settings = replace(start, **{option: value})
                if settings not in found:
                    found.append(settings)
        return found
