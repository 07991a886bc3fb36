"""The simulation's learning curve and figures as a self-contained HTML page (inline SVG)."""

from __future__ import annotations

from html import escape

from replay import numbers
from simulator.run import SimulationResult

WIDTH, HEIGHT, PAD, LEFT = 780, 340, 50, 80
SERIES = (
    ("oracle", "oracle (best layout per visitor)", "#2ca02c"),
    ("bandit", "mvt bandit", "#1f77b4"),
    ("best_fixed", "best single layout (what an A/B/n test would ship; true value)", "#ff7f0e"),
    ("uniform", "uniform random", "#8c8c8c"),
)


def render_simulation(result: SimulationResult) -> str:
    curve = result.curve
    values = [v for key, _, _ in SERIES for v in getattr(curve, key)]
    ys = numbers.ticks(min(values), max(values))
    xs = numbers.ticks(0, max(curve.visitors))
    lo, hi, n = ys[0], ys[-1], xs[-1]

    def px(visitors: float) -> float:
        return LEFT + (visitors / n) * (WIDTH - LEFT - PAD)

    def py(value: float) -> float:
        return HEIGHT - PAD - (value - lo) / (hi - lo) * (HEIGHT - 2 * PAD)

    def xy(visitors: int, value: float) -> str:
        return f"{px(visitors):.1f},{py(value):.1f}"

    lines = "".join(
        f'<polyline fill="none" stroke="{color}" stroke-width="2.5" points="'
        + " ".join(xy(v, r) for v, r in zip(curve.visitors, getattr(curve, key)))
        + '"/>'
        for key, _, color in SERIES
    )
    ticks = "".join(
        f'<line x1="{LEFT}" y1="{py(v):.1f}" x2="{WIDTH - PAD}" y2="{py(v):.1f}" stroke="#eee"/>'
        f'<text x="{LEFT - 6}" y="{py(v) + 4:.1f}" font-size="11" text-anchor="end">'
        f"{numbers.tick_label(v, ys[1] - ys[0])}</text>"
        for v in ys
    )
    ticks += "".join(
        f'<text x="{px(v):.1f}" y="{HEIGHT - PAD + 16}" font-size="11" text-anchor="middle">'
        f"{numbers.tick_label(v, xs[1] - xs[0])}</text>"
        for v in xs
    )
    marks = "".join(
        f'<line x1="{px(c.visitors):.1f}" y1="{PAD}" x2="{px(c.visitors):.1f}" y2="{HEIGHT - PAD}" '
        + (
            f'stroke="#1f77b4" stroke-width="1.5"/><text x="{px(c.visitors):.1f}" y="{PAD - 4}" '
            f'font-size="10" fill="#1f77b4" text-anchor="middle">promoted</text>'
            if c.status == "active"
            else 'stroke="#ccc" stroke-dasharray="3 3"/>'
        )
        for c in result.cycles
    )
    legend = "".join(f'<span style="color:{color}">■</span> {escape(label)} &nbsp; ' for _, label, color in SERIES)
    f = result.final
    policies = ", ".join(f"v{p['version']} {p['status']}" for p in sorted(result.policies, key=lambda p: p["version"]))
    covered, checked = result.replay_coverage
    cycles = "".join(
        f"<tr><td>{c.visitors:,}</td><td>{escape(c.status)}</td><td>{_served(c.served_version)}</td>"
        f"<td>{numbers.value(c.true_value)} ({numbers.share(c.fraction_of_oracle)})</td>"
        f"<td>{numbers.value(c.attributed_value)}</td>"
        + (
            "<td>–</td><td>–</td>"
            if c.estimate is None
            else f"<td>{numbers.value(c.estimate['value'])} "
            f"({numbers.interval(c.estimate['low'], c.estimate['high'])})</td>"
            f"<td>{'yes' if c.covered else 'no'}</td>"
        )
        + "</tr>"
        for c in result.cycles
    )
    final_title = (
        f"The final greedy policy (v{f['policy_version']})"
        if f["policy_version"]
        else "No policy was promoted: uniform random serves"
    )
    honesty = (
        f"Its interval held that share of the truth in {covered} of {checked} cycles."
        if checked
        else "No cycle had a replay estimate of the served policy to check."
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mvt simulation: {result.visitors:,} visitors</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 2rem; max-width: 60rem; color: #222; }}
td {{ padding: .2rem .8rem; white-space: nowrap; }} td:last-child {{ text-align: right; }}
.note {{ color: #666; font-size: .9rem; }}</style></head><body>
<h1>Simulated shop: {result.visitors:,} visitors in {result.seconds:.0f} s</h1>
<p>Mean true expected reward per visitor, by blocks of visitors.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="learning curve">
{ticks}{marks}
<line x1="{LEFT}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>
<line x1="{LEFT}" y1="{PAD}" x2="{LEFT}" y2="{HEIGHT - PAD}" stroke="#999"/>{lines}
<text x="{(LEFT + WIDTH - PAD) / 2}" y="{HEIGHT - 12}" font-size="12" text-anchor="middle">visitors</text>
<text x="16" y="{HEIGHT / 2}" font-size="12" text-anchor="middle"
 transform="rotate(-90 16 {HEIGHT / 2})">true reward per visitor</text></svg>
<p>{legend}</p>
<p class="note">Dashed lines: training cycles; blue lines: a cycle that promoted its learner.</p>
<h2>{final_title} on fresh visitors</h2>
<table>
<tr><td>its expected reward per visitor</td><td>{numbers.value(f["greedy"])}</td></tr>
<tr><td>share of the oracle's</td><td>{numbers.share(f["fraction_of_oracle"])}</td></tr>
<tr><td>uplift over the best single layout ({escape(result.best_fixed_layout)})</td>
<td>{f["uplift_over_best_fixed"]:+.1%}</td></tr>
<tr><td>oracle / best single layout / uniform random</td>
<td>{numbers.value(f["oracle"])} / {numbers.value(f["best_fixed"])} / {numbers.value(f["uniform"])}</td></tr>
</table>
<p>Policies: {escape(policies) or "none trained"}.</p>
<h2>Training cycles: replay against the truth</h2>
<p>After each cycle, the served policy's greedy choice on fresh visitors (its true value) next to the
cycle's replay estimate of it. Replay estimates the reward that arrives within the attribution
window, a share {result.attributed_share:.0%} of the true value. {honesty}</p>
<table><tr><th>visitors</th><th>learner</th><th>serving</th><th>true value (of oracle)</th>
<th>within the window</th><th>replay estimate</th><th>inside</th></tr>{cycles}</table>
</body></html>
"""


def _served(version: int) -> str:
    return f"v{version}" if version else "uniform random"
