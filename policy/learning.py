"""How a VW policy learns: the validated, structured subset of VW options an operator may set.

Options are fields, never free text, so no flag that reads or writes files (``-d``, ``-f``,
``--cache_file``, ``--readable_model``…) can be injected; :meth:`LearningSettings.vw_args`
renders them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

CB_TYPES = ("ips", "dr", "mtr")
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
    bit_precision
        Size of the weight table (``-b``), 2**bits weights.
    passes
        How many times training goes over the data.
    """

    cb_type: str = "mtr"
    interactions: tuple[str, ...] = ("UA",)
    learning_rate: float = 0.5
    power_t: float = 0.5
    l2: float = 0.0
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
        _check_range("learning_rate", self.learning_rate, 1e-6, 10.0)
        _check_range("power_t", self.power_t, 0.0, 1.0)
        _check_range("l2", self.l2, 0.0, 1.0)
        _check_int("bit_precision", self.bit_precision, 12, 24)
        _check_int("passes", self.passes, 1, 20)

    def vw_args(self) -> str:
        """The VW command line for these settings."""
        parts = ["--cb_adf", f"--cb_type {self.cb_type}"]
        parts += [f"--interactions {i}" for i in self.interactions]
        parts += [f"-l {self.learning_rate!r}", f"--power_t {self.power_t!r}", f"-b {self.bit_precision}"]
        if self.l2:
            parts.append(f"--l2 {self.l2!r}")
        return " ".join(parts)


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"`{name}` must be in [{low:g}, {high:g}], got {value!r}")


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"`{name}` must be an integer in [{low}, {high}], got {value!r}")
