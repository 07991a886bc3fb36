"""The simulation's learning curve and figures as a self-contained HTML page (inline SVG)."""

from __future__ import annotations

from html import escape

from simulator.run import SimulationResult

WIDTH, HEIGHT, PAD = 720, 320, 50
SERIES = (
    ("oracle", "oracle (best layout per visitor)", "#2ca02c"),
    ("bandit", "mvt bandit", "#1f77b4"),
    ("best_fixed", "best fixed layout (A/B/n winner)", "#ff7f0e"),
    ("uniform", "uniform random", "#8c8c8c"),
)


def render_simulation(result: SimulationResult) -> str:
    curve = result.curve
    values = [v for key, _, _ in SERIES for v in getattr(curve, key)]
    lo, hi = min(values) * 0.95, max(values) * 1.05
    n = max(curve.visitors)

    def xy(visitors: int, value: float) -> str:
        x = PAD + (visitors / n) * (WIDTH - 2 * PAD)
        y = HEIGHT - PAD - (value - lo) / (hi - lo) * (HEIGHT - 2 * PAD)
        return f"{x:.1f},{y:.1f}"

    lines = "".join(
        f'<polyline fill="none" stroke="{color}" stroke-width="2.5" points="'
        + " ".join(xy(v, r) for v, r in zip(curve.visitors, getattr(curve, key)))
        + '"/>'
        for key, _, color in SERIES
    )
    ticks = "".join(
        f'<text x="{PAD - 6}" y="{HEIGHT - PAD - i / 4 * (HEIGHT - 2 * PAD) + 4:.1f}" font-size="11" '
        f'text-anchor="end">{lo + (hi - lo) * i / 4:.3g}</text>'
        for i in range(5)
    )
    ticks += "".join(
        f'<text x="{PAD + i / 4 * (WIDTH - 2 * PAD):.1f}" y="{HEIGHT - PAD + 16}" font-size="11" '
        f'text-anchor="middle">{round(n * i / 4):,}</text>'
        for i in range(5)
    )
    legend = "".join(f'<span style="color:{color}">■</span> {escape(label)} &nbsp; ' for _, label, color in SERIES)
    f = result.final
    policies = ", ".join(f"v{p['version']} {p['status']}" for p in sorted(result.policies, key=lambda p: p["version"]))
    covered, checked = result.replay_coverage
    cycles = "".join(
        f"<tr><td>{c.visitors:,}</td><td>{escape(c.status)}</td><td>v{c.served_version}</td>"
        f"<td>{c.true_value:.4f} ({c.fraction_of_oracle:.1%})</td><td>{c.attributed_value:.4f}</td>"
        + (
            "<td>–</td><td>–</td>"
            if c.estimate is None
            else f"<td>{c.estimate['value']:.4f} [{c.estimate['low']:.4f}, {c.estimate['high']:.4f}]</td>"
            f"<td>{'yes' if c.covered else 'no'}</td>"
        )
        + "</tr>"
        for c in result.cycles
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mvt simulation: {result.visitors:,} visitors</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 2rem; max-width: 60rem; color: #222; }}
td {{ padding: .2rem .8rem; }} td:last-child {{ text-align: right; }}</style></head><body>
<h1>Simulated shop: {result.visitors:,} visitors in {result.seconds:.0f} s</h1>
<p>Mean true expected reward per visitor, by blocks of visitors.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="learning curve">
<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>
<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>{ticks}{lines}
<text x="{WIDTH / 2}" y="{HEIGHT - 10}" font-size="12" text-anchor="middle">visitors</text></svg>
<p>{legend}</p>
<h2>The final greedy policy (v{f["policy_version"]}) on fresh visitors</h2>
<table>
<tr><td>its expected reward</td><td>{f["greedy"]:.4f}</td></tr>
<tr><td>share of the oracle's</td><td>{f["fraction_of_oracle"]:.1%}</td></tr>
<tr><td>uplift over the best fixed layout ({escape(result.best_fixed_layout)})</td>
<td>{f["uplift_over_best_fixed"]:+.1%}</td></tr>
<tr><td>oracle / best fixed / uniform</td><td>{f["oracle"]:.4f} / {f["best_fixed"]:.4f} / {f["uniform"]:.4f}</td></tr>
</table>
<p>Policies: {escape(policies) or "none trained"}.</p>
<h2>Training cycles: replay against the truth</h2>
<p>After each cycle, the served policy's greedy choice on fresh visitors (its true value) next to the
cycle's replay estimate of it. Replay estimates the reward that arrives within the attribution
window, a share {result.attributed_share:.0%} of the true value; its interval held that share of the
truth in {covered} of {checked} cycles.</p>
<table><tr><th>visitors</th><th>learner</th><th>serving</th><th>true value (of oracle)</th>
<th>within the window</th><th>replay estimate</th><th>inside</th></tr>{cycles}</table>
</body></html>
"""
