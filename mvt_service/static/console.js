// The operator console: a small script over the same HTTP API the command line uses.
//
// The operator key is asked for once and kept in sessionStorage (this tab only, gone when it
// closes); it travels as `Authorization: Bearer`, never in a URL. Every change is sent with
// If-Match on the revision just read, after a confirmation, and lands in the audit log like any
// other API call.

const KEY = "mvt:operator-key";
const main = document.querySelector("main");

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/** A time as the reports write it: 1 December 2026, 20:28 UTC. */
function moment(iso) {
  const d = new Date(iso);
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

// One format per kind of number, as in the reports (replay/numbers.py).
const value = (x) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(3));
const count = (x) => (x === null || x === undefined ? "–" : Math.round(x).toLocaleString("en"));
const share = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)}%`);
const GROUPS = { bandit: "#1f77b4", holdout: "#ff7f0e", paused: "#8c8c8c" };
const SVG = "http://www.w3.org/2000/svg";

/** Round ticks (1, 2 or 5 times a power of ten apart) covering [low, high]. */
function ticks(low, high, most = 6) {
  if (!(high > low)) [low, high] = [low - 0.5, low + 0.5];
  const raw = (high - low) / (most - 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  let first = Math.floor(low / step + 1e-9), last = Math.ceil(high / step - 1e-9);
  while (last - first > most) {
    step *= 2;
    first = Math.floor(low / step + 1e-9);
    last = Math.ceil(high / step - 1e-9);
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return Array.from({ length: last - first + 1 }, (_, i) => {
    const v = (first + i) * step;
    return { v, label: v.toLocaleString("en", { minimumFractionDigits: decimals, maximumFractionDigits: decimals }) };
  });
}

function svg(tag, attributes = {}, text = "") {
  const node = document.createElementNS(SVG, tag);
  for (const [name, v] of Object.entries(attributes)) node.setAttribute(name, v);
  if (text) node.textContent = text;
  return node;
}

/** A line chart over the summary's time buckets: one line per group, an interval band where
 *  given, and a vertical mark at each change (promotion, rollback, pause). */
/** `least` is the smallest top of the scale: 5 for counts, so their ticks are whole. */
function chart(title, axis, traffic, changes, series, least, empty) {
  const width = 720, height = 240, left = 70, right = 20, top = 20, bottom = 40;
  const times = traffic.map((b) => new Date(b.start).getTime());
  const span = times.length > 1 ? times[times.length - 1] - times[0] + (times[1] - times[0]) : 1;
  // the scale fits the lines (and 0); an interval band beyond it is clipped, not allowed to squash them
  const points = Object.values(series).flatMap((pts) => pts.map((p) => p.y)).filter(Number.isFinite);
  if (points.length === 0) return element("figure", {}, element("figcaption", {}, title), element("p", {}, empty));
  const scale = ticks(Math.min(0, ...points), Math.max(...points, least));
  const lo = scale[0].v, hi = scale[scale.length - 1].v;
  const x = (t) => left + ((t - times[0]) / span) * (width - left - right);
  const y = (v) => height - bottom - ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * (height - top - bottom);
  const plot = svg("svg", { width, height, role: "img", "aria-label": title });
  for (const t of scale) {
    plot.append(svg("line", { x1: left, x2: width - right, y1: y(t.v), y2: y(t.v), stroke: "#eee" }));
    plot.append(svg("text", { x: left - 6, y: y(t.v) + 4, "font-size": 11, "text-anchor": "end" }, t.label));
  }
  const hours = Math.max(1, Math.round(span / 3600000));
  const every = hours <= 6 ? 1 : hours <= 24 ? 6 : 24;
  traffic.forEach((b, i) => {
    const d = new Date(b.start);
    if (i % every === 0) {
      const label = `${String(d.getUTCHours()).padStart(2, "0")}:00`;
      plot.append(svg("text", { x: x(times[i]), y: height - bottom + 16, "font-size": 11, "text-anchor": "middle" }, label));
    }
  });
  plot.append(svg("text", { x: (left + width - right) / 2, y: height - 6, "font-size": 12, "text-anchor": "middle" }, "time (UTC)"));
  plot.append(svg("text", { x: 14, y: height / 2, "font-size": 12, "text-anchor": "middle", transform: `rotate(-90 14 ${height / 2})` }, axis));
  for (const c of changes) {
    const t = new Date(c.ts).getTime();
    if (t < times[0]) continue;
    plot.append(svg("line", { x1: x(t), x2: x(t), y1: top, y2: height - bottom, stroke: "#9467bd", "stroke-dasharray": "4 3" }));
    plot.append(svg("title", {}, `${moment(c.ts)}: ${c.action}`));
  }
  const half = (times[1] - times[0] || 0) / 2;
  for (const [group, pts] of Object.entries(series)) {
    const color = GROUPS[group] || "#333";
    const band = pts.filter((p) => Number.isFinite(p.low) && Number.isFinite(p.high));
    if (band.length > 1) {
      const d = band.map((p) => `${x(p.t + half)},${y(p.high)}`).concat(band.slice().reverse().map((p) => `${x(p.t + half)},${y(p.low)}`));
      plot.append(svg("polygon", { points: d.join(" "), fill: color, opacity: 0.15 }));
    }
    const line = pts.filter((p) => Number.isFinite(p.y));
    plot.append(svg("polyline", { points: line.map((p) => `${x(p.t + half)},${y(p.y)}`).join(" "), fill: "none", stroke: color, "stroke-width": 2 }));
  }
  const legend = element(
    "p",
    { class: "legend" },
    Object.keys(series).map((g) => element("span", {}, element("span", { class: "swatch", style: `background:${GROUPS[g] || "#333"}` }), ` ${g}   `)),
    changes.length ? "· dashed lines: a change (promotion, rollback, pause, exploration, holdout)" : "",
  );
  return element("figure", {}, element("figcaption", {}, title), plot, legend);
}

function figures(found) {
  const groups = [...new Set(found.traffic.flatMap((b) => Object.keys(b.decisions)))];
  const at = (b) => new Date(b.start).getTime();
  const decisions = Object.fromEntries(groups.map((g) => [g, found.traffic.map((b) => ({ t: at(b), y: b.decisions[g] || 0 }))]));
  const rewards = Object.fromEntries(
    groups.map((g) => [g, found.traffic.filter((b) => b.reward[g]).map((b) => ({ t: at(b), y: b.reward[g].value, low: b.reward[g].low, high: b.reward[g].high }))]),
  );
  const h = found.health;
  const ratio = h.holdout_ratio;
  const health = table({ id: "health" }, null, [
    ["decisions in the window", count(h.decisions)],
    ["of them with a closed attribution window", count(h.closed)],
    ["given the default reward (no reward event)", share(h.default_reward_share)],
    ["reward events joined / late / before their decision", `${count(h.rewards_joined)} / ${count(h.rewards_late)} / ${count(h.rewards_early)}`],
    ["deferred decisions never activated", count(h.not_activated)],
    ["unreadable records", count(h.unreadable)],
    ["holdout: configured / observed (sample-ratio p-value)", ratio ? `${share(ratio.expected)} / ${share(ratio.observed)} (p = ${ratio.p_value.toPrecision(2)})` : "no holdout"],
    ["training: last cycle / failures in a row", `${found.training.last_finished ? moment(found.training.last_finished) : "never"} / ${found.training.failures}${found.training.last_error ? `: ${found.training.last_error}` : ""}`],
  ].map(([name, v]) => [{ th: name }, num(v)]));
  const segments = found.segments.map((s) =>
    table(
      { class: "segment" },
      ["value", "decisions", "mean reward", "95% interval", "arm shown most"],
      s.values.map((v) => [
        v.value,
        num(count(v.decisions)),
        num(value(v.reward.value)),
        num(`${value(v.reward.low)} to ${value(v.reward.high)}`),
        `${v.top_arm} (${share(v.top_arm_share)})`,
      ]),
      s.feature,
    ),
  );
  const importance = found.importance.length
    ? table(
        { id: "importance" },
        ["context feature", "decisions whose choice changes without it"],
        found.importance.map((f) => [
          f.feature,
          element("span", {}, element("span", { class: "bar", style: `width:${Math.round(200 * f.changed_share)}px` }), ` ${share(f.changed_share)}`),
        ]),
      )
    : element("p", {}, "No serving policy yet: nothing to weigh.");
  return element(
    "section",
    { id: "figures" },
    element("h2", {}, "The last 24 hours"),
    found.alerts.length ? element("ul", { class: "alerts" }, found.alerts.map((a) => element("li", {}, a))) : "",
    chart("Decisions per hour, by serving group", "decisions", found.traffic, found.changes, decisions, 5, "No decision in the last 24 hours."),
    chart(
      "Mean reward per decision, by serving group (95% intervals; decisions whose window has closed)",
      "reward per decision",
      found.traffic,
      found.changes,
      rewards,
      0.001,
      "No decision of the last 24 hours has a closed attribution window yet: its rewards may still come.",
    ),
    element("h3", {}, "Data health"),
    health,
    element("h3", {}, "Segments: reward and the arm shown most, by context feature"),
    segments.length ? segments : element("p", {}, "No categorical context feature with closed decisions yet."),
    element("h3", {}, "Which context features the serving policy's choices depend on"),
    importance,
  );
}

function key() {
  return sessionStorage.getItem(KEY);
}

async function api(method, path, body, revision) {
  const headers = { authorization: `Bearer ${key()}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (revision !== undefined) headers["if-match"] = `"${revision}"`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401 || response.status === 403) {
    sessionStorage.removeItem(KEY);
    const problem = await response.json();
    login(`Refused: ${problem.detail}`);
    throw new Error("refused");
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({ detail: response.statusText }));
    throw new Error(`${response.status} ${problem.detail}`);
  }
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

/** A table of `headers` and `rows` (lists of cells). A cell is its content, `num(x)` for a
 *  number (aligned right), `{ td: x, class: "…" }` for another class, or `{ th: x }`. */
function table(attributes, headers, rows, caption = "") {
  const cell = (c) =>
    c && typeof c === "object" && !(c instanceof Node)
      ? "th" in c
        ? element("th", {}, c.th)
        : element("td", { class: c.class }, c.td)
      : element("td", {}, c);
  return element(
    "table",
    attributes,
    caption ? element("caption", {}, caption) : "",
    headers ? element("thead", {}, element("tr", {}, headers.map((h) => element("th", {}, h)))) : "",
    element("tbody", {}, rows.map((row) => element("tr", {}, row.map(cell)))),
  );
}

const num = (x) => ({ td: x, class: "number" });

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function notice(text, kind = "error") {
  document.querySelector("#notice").replaceChildren(element("p", { class: kind, role: "status" }, text));
}

function login(message = "") {
  document.querySelector("#who").textContent = "";
  const form = element(
    "form",
    { id: "login", onsubmit: (event) => { event.preventDefault(); signIn(form.elements.key.value); } },
    element("h1", {}, "mvt console"),
    element("p", {}, "Sign in with an operator key. It is kept in this browser tab only."),
    element("label", { for: "key" }, "Operator key"),
    element("input", { id: "key", name: "key", type: "password", autocomplete: "current-password", required: true }),
    element("button", { type: "submit" }, "Sign in"),
    message ? element("p", { class: "error", role: "alert" }, message) : "",
  );
  show(form);
}

async function signIn(value) {
  sessionStorage.setItem(KEY, value);
  location.hash = "";
  await route();
}

function signOut() {
  sessionStorage.removeItem(KEY);
  login("Signed out.");
}

function status(experiment) {
  if (experiment.paused) return "paused: every visitor gets the default layout";
  return experiment.active_policy === null ? "serving: uniform random (no policy yet)" : `serving: policy v${experiment.active_policy}`;
}

async function experiments() {
  const rows = await api("GET", "/v1/experiments");
  const recent = await Promise.all(rows.map((e) => api("GET", `/v1/experiments/${encodeURIComponent(e.id)}/summary?hours=1`)));
  const pooled = (found) => {
    const all = found.traffic.flatMap((b) => Object.values(b.reward));
    const n = all.reduce((a, r) => a + r.n, 0);
    return n ? all.reduce((a, r) => a + r.n * r.value, 0) / n : null;
  };
  show(
    element("h1", {}, "Experiments"),
    rows.length === 0
      ? element("p", {}, "No experiment yet: create one with PUT /v1/experiments/{id}.")
      : table(
          { id: "experiments" },
          ["experiment", "status", "exploration ε", "arms enabled", "decisions, last hour", "mean reward, last hour", "alerts"],
          rows.map((e, i) => [
            element("a", { href: `#/experiments/${encodeURIComponent(e.id)}` }, e.id),
            status(e),
            num(e.exploration.epsilon.toFixed(2)),
            num(`${e.arms.filter((a) => a.enabled).length} of ${e.arms.length}`),
            num(count(recent[i].health.decisions)),
            num(value(pooled(recent[i]))),
            { td: recent[i].alerts.join("; "), class: "alert" },
          ]),
        ),
  );
}

async function change(description, method, path, body, revision) {
  if (!confirm(description)) return;
  notice("", "none");
  let outcome = [`Done: ${description}`, "done"];
  try {
    await api(method, path, body, revision);
  } catch (error) {
    if (error.message === "refused") return;
    outcome = [`Not done: ${error.message}`, "error"];
  }
  await route(false); // the page shows what is stored now, then says what happened
  notice(...outcome);
}

function candidateText(e, reports) {
  const c = e.candidate_policy;
  if (c === null || c === undefined) {
    return [
      element(
        "p",
        {},
        "No candidate now: no learner has been trained since what serves was promoted or activated, or the newest one's own evidence showed it worse than uniform random. Exploration is uniform random.",
      ),
    ];
  }
  const { epsilon, candidate_share: s } = e.exploration;
  const report = reports.find((r) => r.candidate_version === c);
  return [
    element(
      "p",
      { id: "candidate-share-text" },
      `v${c} is the candidate: its choice is shown to ${share(epsilon * s)} of visitors (${share(s)} of the exploration ε = ${epsilon}); the rest of the exploration is uniform random. The next training cycle judges it, as it is now, on the visitors served meanwhile, against the serving policy, and promotes it if the evidence is enough.`,
    ),
    element(
      "p",
      { id: "candidate-evidence" },
      report ? `The evidence so far, from the cycle that trained it: ${report.sentence}` : `v${c}'s replay report is not among the latest ten.`,
    ),
  ];
}

async function experiment(id) {
  const path = `/v1/experiments/${encodeURIComponent(id)}`;
  const [e, policies, audit, found, reports] = await Promise.all([
    api("GET", path),
    api("GET", `${path}/policies`),
    api("GET", `/v1/audit?experiment=${encodeURIComponent(id)}&limit=20`),
    api("GET", `${path}/summary?hours=24`),
    api("GET", `${path}/reports?limit=10`),
  ]);
  const epsilon = element("input", { id: "epsilon", type: "number", min: "0", max: "1", step: "0.01", value: e.exploration.epsilon });
  const controls = element(
    "section",
    { id: "controls" },
    element("h2", {}, "Controls"),
    element(
      "form",
      {
        onsubmit: (event) => {
          event.preventDefault();
          const value = Number(epsilon.value);
          change(`Set exploration of ${id} to ε = ${value.toFixed(2)}?`, "PATCH", `${path}/exploration`, { epsilon: value }, e.revision);
        },
      },
      element("label", { for: "epsilon" }, "Exploration ε "),
      epsilon,
      element("button", { type: "submit", id: "set-epsilon" }, "Set"),
    ),
    element(
      "form",
      {
        onsubmit: (event) => {
          event.preventDefault();
          const fraction = Number(event.target.elements.holdout.value);
          change(`Send ${share(fraction)} of ${id}'s visitors to the default layout as a holdout?`, "PATCH", `${path}/holdout`, { fraction }, e.revision);
        },
      },
      element("label", { for: "holdout" }, "Holdout share "),
      element("input", { id: "holdout", name: "holdout", type: "number", min: "0", max: "0.5", step: "0.01", value: e.holdout.fraction }),
      element("button", { type: "submit", id: "set-holdout" }, "Set"),
    ),
    element(
      "form",
      {
        onsubmit: (event) => {
          event.preventDefault();
          const value = Number(event.target.elements["candidate-share"].value);
          change(`Give ${share(value)} of ${id}'s exploration to the candidate's choices?`, "PATCH", `${path}/exploration`, { candidate_share: value }, e.revision);
        },
      },
      element("label", { for: "candidate-share" }, "Candidate share of exploration "),
      element("input", { id: "candidate-share", name: "candidate-share", type: "number", min: "0", max: "1", step: "0.05", value: e.exploration.candidate_share }),
      element("button", { type: "submit", id: "set-candidate-share" }, "Set"),
    ),
    e.paused
      ? element("button", { id: "resume", onclick: () => change(`Resume ${id}?`, "POST", `${path}/resume`, undefined, e.revision) }, "Resume")
      : element("button", { id: "pause", onclick: () => change(`Pause ${id}? Every visitor will get the default layout.`, "POST", `${path}/pause`, undefined, e.revision) }, "Pause"),
    table(
      { id: "arms" },
      ["arm", "shown"],
      e.arms.map((arm) => [
        `${arm.id}${arm.id === e.default_arm ? " (default)" : ""}`,
        element("input", {
          type: "checkbox",
          "aria-label": `show ${arm.id}`,
          checked: arm.enabled,
          disabled: arm.id === e.default_arm,
          onchange: (event) =>
            change(
              `${event.target.checked ? "Enable" : "Disable"} ${arm.id}?`,
              "PATCH",
              `${path}/arms/${encodeURIComponent(arm.id)}`,
              { enabled: event.target.checked },
              e.revision,
            ),
        }),
      ]),
    ),
  );
  const candidate = element("section", { id: "candidate" }, element("h2", {}, "Candidate"), ...candidateText(e, reports));
  const history = element(
    "section",
    { id: "policies" },
    element("h2", {}, "Policy history"),
    policies.length === 0
      ? element("p", {}, "No policy trained yet.")
      : table(
          {},
          ["version", "status", "trained", "why", ""],
          policies.map((p) => [
            num(`v${p.version}`),
            p.status,
            moment(p.trained_at),
            { td: p.reason, class: "why" },
            p.version === e.active_policy
              ? "serving"
              : element(
                  "button",
                  {
                    class: "activate",
                    "data-version": p.version,
                    onclick: () => change(`Serve v${p.version} of ${id} now (a rollback if it is older)?`, "POST", `${path}/policies/${p.version}/activate`),
                  },
                  `Serve v${p.version}`,
                ),
          ]),
        ),
  );
  const changes = element(
    "section",
    { id: "audit" },
    element("h2", {}, "Recent changes"),
    element("ul", {}, audit.map((a) => element("li", {}, `${moment(a.ts)}: ${a.action} by ${a.key_id}`))),
  );
  const report = element("section", { id: "report" }, element("h2", {}, "Latest replay report"));
  show(
    element("p", {}, element("a", { href: "#/" }, "← Experiments")),
    element("h1", {}, id),
    element("p", { id: "status" }, status(e), ` · revision ${e.revision} · default layout ${e.default_arm}`),
    controls,
    candidate,
    figures(found),
    history,
    report,
    changes,
  );
  try {
    const page = await api("GET", `${path}/reports/latest?format=html`);
    report.append(element("iframe", { title: "latest replay report", srcdoc: page, sandbox: "" }));
  } catch (error) {
    if (error.message !== "refused") report.append(element("p", {}, "No replay report yet: it comes with the first training cycle."));
  }
}

async function route(clear = true) {
  if (clear) notice("", "none");
  if (!key()) return login();
  document.querySelector("#who").replaceChildren(element("button", { id: "sign-out", onclick: signOut }, "Sign out"));
  const match = location.hash.match(/^#\/experiments\/(.+)$/);
  try {
    await (match ? experiment(decodeURIComponent(match[1])) : experiments());
  } catch (error) {
    if (error.message !== "refused") notice(error.message);
  }
}

window.addEventListener("hashchange", () => route());
route();
