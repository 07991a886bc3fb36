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
  show(
    element("h1", {}, "Experiments"),
    rows.length === 0
      ? element("p", {}, "No experiment yet: create one with PUT /v1/experiments/{id}.")
      : element(
          "table",
          { id: "experiments" },
          element("thead", {}, element("tr", {}, ["experiment", "status", "exploration ε", "arms enabled", "revision"].map((h) => element("th", {}, h)))),
          element(
            "tbody",
            {},
            rows.map((e) =>
              element(
                "tr",
                {},
                element("td", {}, element("a", { href: `#/experiments/${encodeURIComponent(e.id)}` }, e.id)),
                element("td", {}, status(e)),
                element("td", { class: "number" }, e.exploration.epsilon.toFixed(2)),
                element("td", { class: "number" }, `${e.arms.filter((a) => a.enabled).length} of ${e.arms.length}`),
                element("td", { class: "number" }, e.revision),
              ),
            ),
          ),
        ),
  );
}

async function change(description, method, path, body, revision) {
  if (!confirm(description)) return;
  try {
    await api(method, path, body, revision);
    notice(`Done: ${description}`, "done");
  } catch (error) {
    if (error.message !== "refused") notice(`Not done: ${error.message}`);
  }
  await route(false);
}

async function experiment(id) {
  const path = `/v1/experiments/${encodeURIComponent(id)}`;
  const [e, policies, audit] = await Promise.all([
    api("GET", path),
    api("GET", `${path}/policies`),
    api("GET", `/v1/audit?experiment=${encodeURIComponent(id)}&limit=20`),
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
    e.paused
      ? element("button", { id: "resume", onclick: () => change(`Resume ${id}?`, "POST", `${path}/resume`, undefined, e.revision) }, "Resume")
      : element("button", { id: "pause", onclick: () => change(`Pause ${id}? Every visitor will get the default layout.`, "POST", `${path}/pause`, undefined, e.revision) }, "Pause"),
    element(
      "table",
      { id: "arms" },
      element("thead", {}, element("tr", {}, element("th", {}, "arm"), element("th", {}, "shown"))),
      element(
        "tbody",
        {},
        e.arms.map((arm) =>
          element(
            "tr",
            {},
            element("td", {}, arm.id, arm.id === e.default_arm ? " (default)" : ""),
            element(
              "td",
              {},
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
            ),
          ),
        ),
      ),
    ),
  );
  const history = element(
    "section",
    { id: "policies" },
    element("h2", {}, "Policy history"),
    policies.length === 0
      ? element("p", {}, "No policy trained yet.")
      : element(
          "table",
          {},
          element("thead", {}, element("tr", {}, ["version", "status", "trained", "why", ""].map((h) => element("th", {}, h)))),
          element(
            "tbody",
            {},
            policies.map((p) =>
              element(
                "tr",
                {},
                element("td", { class: "number" }, `v${p.version}`),
                element("td", {}, p.status),
                element("td", {}, moment(p.trained_at)),
                element("td", { class: "why" }, p.reason),
                element(
                  "td",
                  {},
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
                ),
              ),
            ),
          ),
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
