"""`mvt experiments`: operator controls of a running service."""

from __future__ import annotations

import argparse
import urllib.parse
from typing import Any

from mvt_service.cli.common import CommandError, call_api, print_table
from mvt_service.settings import Settings


def experiments(args: argparse.Namespace, settings: Settings) -> int:
    """Operator commands against a running service (MVT_URL, MVT_API_KEY)."""
    url = args.url or "http://127.0.0.1:8000"
    if args.action == "list":
        rows = call_api(url, "GET", "/v1/experiments")
        print_table(
            [
                "experiment",
                "arms",
                "epsilon",
                "candidate share",
                "holdout",
                "paused",
                "policy",
                "candidate",
                "revision",
            ],
            [
                [
                    e["id"],
                    f"{sum(a['enabled'] for a in e['arms'])}/{len(e['arms'])}",
                    e["exploration"]["epsilon"],
                    e["exploration"]["candidate_share"],
                    e["holdout"]["fraction"],
                    "yes" if e["paused"] else "no",
                    f"v{e['active_policy']}" if e["active_policy"] else "-",
                    f"v{e['candidate_policy']}" if e["candidate_policy"] else "-",
                    e["revision"],
                ]
                for e in rows
            ],
        )
        return 0
    if not args.experiment:
        raise CommandError(f"`mvt experiments {args.action}` needs an experiment id")
    exploration = _exploration(args.action, args.value)
    if args.action in ("pause", "resume", "show") and args.value is not None:
        raise CommandError(f"`mvt experiments {args.action}` takes an experiment id only, got also {args.value!r}")
    base = f"/v1/experiments/{args.experiment}"
    current = call_api(url, "GET", base)
    revision = f'"{current["revision"]}"'  # the change applies only to what was just read
    if exploration is not None:
        current = call_api(url, "PATCH", f"{base}/exploration", exploration, if_match=revision)
    elif args.action in ("pause", "resume"):
        current = call_api(url, "POST", f"{base}/{args.action}", if_match=revision)
    elif args.action in ("disable-arm", "enable-arm"):
        if args.value is None:
            raise CommandError(f"give the arm id, e.g. `mvt experiments {args.action} home ARM`")
        arm = urllib.parse.quote(args.value, safe="")
        current = call_api(
            url, "PATCH", f"{base}/arms/{arm}", {"enabled": args.action == "enable-arm"}, if_match=revision
        )
    elif args.action == "activate":
        if args.value is None or not args.value.lstrip("v").isdigit():
            raise CommandError("give the policy version, e.g. `mvt experiments activate home 3`")
        policy = call_api(url, "POST", f"{base}/policies/{int(args.value.lstrip('v'))}/activate")
        print(f"{args.experiment}: policy v{policy['version']} is active ({policy['reason']})")
        return 0
    print_experiment(current)
    return 0


EXPLORATION = {"set-epsilon": ("epsilon", "0.1"), "set-candidate-share": ("candidate_share", "0.5")}
"""The exploration setting each action changes, and an example value."""


def _exploration(action: str, value: str | None) -> dict[str, float] | None:
    """The exploration change of `set-epsilon` or `set-candidate-share` (None for another
    action), checked before anything is sent."""
    if action not in EXPLORATION:
        return None
    name, example = EXPLORATION[action]
    try:
        number = float(value) if value is not None else None
    except ValueError:
        number = None
    if number is None or not 0.0 <= number <= 1.0:
        got = "nothing" if value is None else repr(value)
        what = name.replace("_", " ")
        raise CommandError(
            f"{what} must be a number from 0 to 1, e.g. `mvt experiments {action} home {example}`; got {got}"
        )
    return {name: number}


def print_experiment(e: dict[str, Any]) -> None:
    print(f"experiment  {e['id']} (revision {e['revision']})")
    print(f"state       {'PAUSED: every visitor gets the default arm' if e['paused'] else 'running'}")
    policy = f"v{e['active_policy']}" if e["active_policy"] else "none yet (uniform)"
    candidate = f", candidate v{e['candidate_policy']}" if e["candidate_policy"] else ""
    print(f"policy      {policy}{candidate}")
    exploration = e["exploration"]
    print(
        f"exploration epsilon {exploration['epsilon']} (candidate share {exploration['candidate_share']}), "
        f"holdout {e['holdout']['fraction']}"
    )
    reward = e["reward"]
    print(f"reward      {reward['aggregate']} within {reward['window_seconds']} s, default {reward['default']}")
    print()
    print_table(
        ["arm", "enabled", "default", "features"],
        [
            [
                a["id"],
                "yes" if a["enabled"] else "no",
                "yes" if a["id"] == e["default_arm"] else "",
                ", ".join(f"{k}={v}" for k, v in a["features"].items()),
            ]
            for a in e["arms"]
        ],
    )
