"""VW learning settings: rendering and validation."""

from __future__ import annotations

import pytest

from policy.learning import LearningSettings


def test_defaults_render_the_documented_command_line() -> None:
    assert LearningSettings().vw_args() == (
        "--cb_adf --cb_type mtr --interactions UA -l 0.05 --power_t 0.5 -b 18 --clip_p 0.2"
    )


def test_every_option_renders() -> None:
    settings = LearningSettings(
        cb_type="dr",
        interactions=("UA", "AA", "UAA"),
        learning_rate=0.1,
        power_t=0.0,
        l2=1e-6,
        clip_p=0.1,
        bit_precision=20,
        passes=3,
    )
    assert settings.vw_args() == (
        "--cb_adf --cb_type dr --interactions UA --interactions AA --interactions UAA "
        "-l 0.1 --power_t 0.0 -b 20 --l2 1e-06 --clip_p 0.1"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cb_type": "dm"}, "`cb_type` must be one of ips, dr, mtr"),
        ({"interactions": ["UA -f /tmp/x"]}, "`interactions` holds 2-3 letters"),
        ({"interactions": ["U"]}, "`interactions` holds 2-3 letters"),
        ({"interactions": ["UA", "UA"]}, "lists an interaction twice"),
        ({"learning_rate": 0}, "`learning_rate` must be in"),
        ({"learning_rate": float("nan")}, "`learning_rate` must be in"),
        ({"power_t": 1.5}, "`power_t` must be in"),
        ({"l2": -1}, "`l2` must be in"),
        ({"bit_precision": 30}, "`bit_precision` must be an integer in"),
        ({"bit_precision": 18.0}, "`bit_precision` must be an integer in"),
        ({"passes": 0}, "`passes` must be an integer in"),
    ],
)
def test_invalid_settings_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LearningSettings(**kwargs)
