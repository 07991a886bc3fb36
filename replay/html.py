"""A replay report as one self-contained HTML page: the verdict in plain words, a chart of every
policy's estimated value with its interval, and a table a product manager can read."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from replay import numbers

ROW = 26
PLOT = 420
CHAR = 7.2
"""Width in pixels that a label's character may take at the chart's 12 px font (generous: a label
is never clipped)."""
COLORS = {"candidate": "#1f77b4", "active": "#ff7f0e", "logging": "#555555", "uniform": "#8c8c8c", "fixed": "#2ca02c"}


def scored_by(report: dict[str, Any]) -> str:
    """Which version scored the report's events, in words."""
    judged = report.get("judged_version", report["candidate_version"])
    if judged == report["candidate_version"]:
        return "each scored by a learner that had not learned it"
    return f"each scored by candidate v{judged} as it was offered"


def verdict_sentence(report: dict[str, Any]) -> str:
    """The verdict in words a product manager can act on: about the version the cycle judged (its
    learner, or the candidate that learner continues) and what is offered next."""
    trained = report["candidate_version"]
    judged = report.get("judged_version", trained)
    name = f"learner v{judged}" if judged == trained else f"candidate v{judged}"
    active = f"v{report['active_version']}" if report["active_version"] is not None else "uniform random layouts"
    after = "" if judged == trained else f" Learner v{trained}, which continues it, is the candidate now."
    if report["verdict"]["promoted"]:
        return f"Promoted: {name} now serves decisions in place of {active}.{after}"
    return f"Not promoted: {active} keeps serving decisions; {name} was not promoted.{after}"


def _chart(policies: list[dict[str, Any]], metric: str) -> str:
    points = [(p, p["estimates"][metric]) for p in policies]
    finite = [v for _, e in points for v in (e["low"], e["high"], e["value"]) if math.isfinite(v)]
    scale = numbers.ticks(min(finite), max(finite)) if finite else [0.0, 1.0]
    lo, hi = scale[0], scale[-1]
    label = round(CHAR * max(len(p["name"]) for p in policies)) + 16

    def x(v: float) -> float:
        v = min(max(v, lo), hi)
        return label + (v - lo) / (hi - lo) * PLOT

    height = ROW * len(points) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label + PLOT + 30}" height="{height}" '
        f'role="img" aria-label="estimated value of each policy by {metric.upper()}">'
    ]
    for v in scale:
        parts.append(
            f'<line x1="{x(v):.1f}" y1="10" x2="{x(v):.1f}" y2="{height - 25}" stroke="#e5e5e5"/>'
            f'<text x="{x(v):.1f}" y="{height - 8}" font-size="11" text-anchor="middle">'
            f"{numbers.tick_label(v, scale[1] - scale[0])}</text>"
        )
    for i, (policy, e) in enumerate(points):
        y = 20 + i * ROW
        color = COLORS.get(policy["kind"], "#333")
        parts.append(
            f'<text x="{label - 8}" y="{y + 4}" font-size="12" text-anchor="end">{escape(policy["name"])}</text>'
        )
        parts.append(
            f'<line x1="{x(e["low"]):.1f}" y1="{y}" x2="{x(e["high"]):.1f}" y2="{y}" stroke="{color}" '
            f'stroke-width="2"/>'
        )
        parts.append(f'<circle cx="{x(e["value"]):.1f}" cy="{y}" r="4.5" fill="{color}"/>')
    parts.append("</svg>")
    return "".join(parts)


RULES = {
    "superiority": "new learning settings must show they are better: promoted only if the interval's lower "
    "end is above {threshold}",
    "non-inferiority": "a continuing update of the serving policy must not be worse: promoted unless the "
    "interval's lower end is below {threshold}",
}


def comparison_sentence(report: dict[str, Any]) -> str:
    """The gate's comparison once, in words: the estimated difference, its interval, and what
    the rule asks of it; and, when the gate read more events than this cycle's (a learner judged
    over several cycles), which events the table below holds and the difference on them."""
    c = report["comparison"]
    d = c["difference"]
    if not c.get("events"):
        why = report["verdict"]["reason"].removeprefix(f"{c['rule']}: ")
        return f"No evidence yet for the {c['rule']} rule: {why}."
    level = f"{report['confidence']:.0%}"
    rule = RULES.get(c["rule"], "{threshold}").format(threshold=numbers.difference(c.get("threshold", 0.0)))
    events, cycle = c.get("events", 0), c.get("cycle")
    text = (
        f"{c['candidate']} − {c['active']}: {numbers.difference(d['value'])} per visitor ({level} interval "
        f"{numbers.difference(d['low'])} to {numbers.difference(d['high'])}, valid however many cycles look at it), "
        f"estimated by "
        f"{c['metric'].upper()} over {events:,} events. The rule is {c['rule']}: {rule}."
    )
    if cycle and cycle["events"] != events:
        text += (
            f" Those {events:,} events are every one the gate has read, cycle after cycle, for this learner and "
            "the versions it continues; "
            f"the table holds this cycle's {cycle['events']:,} alone, on which the difference is "
            f"{numbers.difference(cycle['value'])} per visitor."
        )
    return text


def _search_section(search: dict[str, Any] | None, level: str) -> str:
    """The policy search's table: every learning setting tried, its estimate, and the one chosen."""
    if not search:
        return ""
    rows = "".join(
        f"<tr><td>{'<b>chosen</b>' if t['chosen'] else escape(t['status'])}</td><td>{escape(t['vw_args'])}</td>"
        f"<td>{t['passes']}</td>"
        + (
            f"<td>{numbers.value(t['estimate']['value'])}</td>"
            f"<td>{numbers.interval(t['estimate']['low'], t['estimate']['high'])}</td>"
            if t["estimate"]
            else "<td>–</td><td>–</td>"
        )
        + f"<td>{t['seconds']:.1f}</td></tr>"
        for t in search["trials"]
    )
    return (
        f"<h2>Policy search: which learning settings trained the candidate</h2><p>{escape(search['method'])} "
        f"({search['seconds']:.1f} s).</p><table><thead><tr><th>status</th><th>VW settings</th><th>passes</th>"
        f"<th>{search['metric'].upper()}</th><th>{level} interval</th><th>seconds</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def render_report(report: dict[str, Any]) -> str:
    """Render a stored replay report (as produced by the trainer) to a standalone HTML page."""
    metric = report["comparison"]["metric"] if report.get("comparison") else "dr"
    level = f"{report['confidence']:.0%}"
    policies = report["policies"]
    split = report["split"]
    rows = "".join(
        f"<tr><td><span class='dot' style='background:{COLORS.get(p['kind'], '#333')}'></span>{escape(p['name'])}</td>"
        f"<td>{numbers.value(p['estimates'][metric]['value'])}</td>"
        f"<td>{numbers.interval(p['estimates'][metric]['low'], p['estimates'][metric]['high'])}</td>"
        f"<td>{numbers.value(p['estimates']['ips']['value'])}</td>"
        f"<td>{numbers.value(p['estimates']['snips']['value'])}</td>"
        f"<td>{numbers.count(p['ess'])}</td><td>{numbers.weight(p['max_weight'])}</td></tr>"
        for p in policies
    )
    comparison = report.get("comparison")
    difference = f"<p>{escape(comparison_sentence(report))}</p>" if comparison else ""
    fixed = [p for p in policies if p["kind"] == "fixed"]
    best_fixed = max(fixed, key=lambda p: p["estimates"][metric]["value"]) if fixed else None
    best_fixed_line = (
        (
            f"<p>The best single layout, as estimated from this log (what a classic A/B/n test would "
            f"ship), is <b>{escape(best_fixed['name'].removeprefix('always '))}</b> at "
            f"{numbers.value(best_fixed['estimates'][metric]['value'])} per visitor.</p>"
        )
        if best_fixed
        else ""
    )
    chart = _chart(policies, metric) if policies else "<p>No held-out events: nothing to chart.</p>"
    online = report.get("online")
    online_line = ""
    if online:
        b, h, d = online["bandit"], online["holdout"], online["difference"]
        online_line = (
            f"<h2>Online: bandit traffic against the holdout group</h2><p>Mean reward of the bandit's "
            f"visitors {numbers.value(b['value'])} ({b['n']:,} visitors) against {numbers.value(h['value'])} "
            f"for the holdout group shown the default layout ({h['n']:,} visitors): a difference of "
            f"<b>{numbers.difference(d['value'])}</b> ({level} interval {numbers.interval(d['low'], d['high'])}), "
            f"measured live, not estimated.</p>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Replay report: {escape(report["experiment"])}, learner v{report["candidate_version"]}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 60rem; }}
.verdict {{ font-size: 1.25rem; padding: .75rem 1rem; border-radius: 6px;
           background: {"#e6f4ea" if report["verdict"]["promoted"] else "#fdecea"}; }}
table {{ border-collapse: collapse; margin-top: 1rem; }}
td, th {{ padding: .3rem .7rem; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }}
td:first-child, th:first-child {{ text-align: left; }}
.dot {{ display: inline-block; width: .7rem; height: .7rem; border-radius: 50%; margin-right: .4rem; }}
.note {{ color: #666; font-size: .9rem; }}
</style></head><body>
<h1>Replay report: {escape(report["experiment"])}</h1>
<p class="note">{numbers.moment(report["created_at"])} · learner v{report["candidate_version"]} ·
{escape(str(report.get("mode", "new")))} on {split["events"]:,} events, {escape(scored_by(report))} ·
exploration ε = {report["epsilon"]:g}</p>
<p class="verdict">{escape(verdict_sentence(report))}</p>
{difference}
{best_fixed_line}
<h2>Estimated reward per visitor ({metric.upper()}, {level} intervals)</h2>
{chart}
{online_line}
{_search_section(report.get("search"), level)}
<table><thead><tr><th>policy</th><th>{metric.upper()}</th><th>{level} interval</th><th>IPS</th><th>SNIPS</th>
<th>effective sample size</th><th>max weight</th></tr></thead><tbody>{rows}</tbody></table>
<p class="note">Each policy's value is estimated counterfactually from the logged decisions and their
probabilities. IPS reweights logged rewards; SNIPS normalises those weights; DR adds a reward model
({escape(report["reward_model"].removeprefix("DR reward model: "))}). A small effective sample size
or a large maximum weight means the estimate rests on few events.</p>
</body></html>
"""
