// mvt browser client: a dependency-free ES module, served by the service at /v1/client.js.
//
//   import { createClient } from "https://mvt.example/v1/client.js";
//   const mvt = createClient({ url: "https://mvt.example", key: "client-key", timeoutMs: 300 });
//   const decision = await mvt.decide({ experiment: "home", context: { device: "mobile" },
//                                       fallback: "hero=big,cta=green,headline=value" });
//   show(decision.action);                      // within timeoutMs, always
//   mvt.reward(decision.eventId, 1);            // a click, by beacon
//
// decide() never waits longer than timeoutMs: on a timeout or any error it resolves with the
// page's fallback layout (eventId null: nothing was logged, nothing to reward). The event id of
// the last decision of each experiment is kept in sessionStorage and in a first-party cookie
// (mvt_<experiment>), so the page's later steps and the order back end can send the reward.

const STORAGE_PREFIX = "mvt:event:";

/** The cookie name that carries an experiment's event id (experiment ids are cookie-safe). */
export function cookieName(experiment) {
  return `mvt_${experiment}`;
}

export function createClient({ url, key = null, timeoutMs = 300, cookieDays = 1 } = {}) {
  if (!url) throw new Error("mvt: createClient needs the service's url");
  const base = url.replace(/\/+$/, "");
  const query = key ? `?key=${encodeURIComponent(key)}` : "";

  function remember(experiment, eventId) {
    try {
      sessionStorage.setItem(STORAGE_PREFIX + experiment, eventId);
    } catch (_) {
      // storage may be disabled: the cookie still carries it
    }
    const maxAge = Math.round(cookieDays * 86400);
    document.cookie = `${cookieName(experiment)}=${encodeURIComponent(eventId)}; path=/; max-age=${maxAge}; SameSite=Lax`;
  }

  /** The event id of this visit's last decision of `experiment`, or null. */
  function eventId(experiment) {
    try {
      const kept = sessionStorage.getItem(STORAGE_PREFIX + experiment);
      if (kept) return kept;
    } catch (_) {
      // fall through to the cookie
    }
    const prefix = `${cookieName(experiment)}=`;
    const found = document.cookie.split("; ").find((c) => c.startsWith(prefix));
    return found ? decodeURIComponent(found.slice(prefix.length)) : null;
  }

  /** Ask for a layout; resolves within timeoutMs with {action, eventId, probability,
   *  policyVersion, fallback}. */
  async function decide({ experiment, context = {}, fallback, visitor, deferActivation = false }) {
    const served = { action: fallback, eventId: null, probability: null, policyVersion: null, fallback: true };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const body = { experiment, context, defer_activation: deferActivation };
      if (visitor) body.visitor = visitor;
      const headers = { "content-type": "application/json" };
      if (key) headers.authorization = `Bearer ${key}`;
      const response = await fetch(`${base}/v1/decisions`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!response.ok) return { ...served, error: `HTTP ${response.status}` };
      const answer = await response.json();
      remember(experiment, answer.event_id);
      return {
        action: answer.action,
        eventId: answer.event_id,
        probability: answer.probability,
        policyVersion: answer.policy_version,
        fallback: false,
      };
    } catch (error) {
      return { ...served, error: String(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Send a body by beacon (text/plain: no preflight, survives the page unloading), or by
   *  fetch with keepalive where beacons are unavailable or refused. */
  function send(path, body) {
    const target = `${base}${path}${query}`;
    const text = JSON.stringify(body);
    if (navigator.sendBeacon && navigator.sendBeacon(target, new Blob([text], { type: "text/plain" }))) {
      return Promise.resolve(true);
    }
    return fetch(target, { method: "POST", headers: { "content-type": "text/plain" }, body: text, keepalive: true })
      .then((response) => response.ok)
      .catch(() => false);
  }

  /** Post a reward for a decision (its event id, or an experiment whose kept id is used). */
  function reward(eventIdOrExperiment, value, { rewardId, experiment } = {}) {
    const id = experiment ? eventId(experiment) : eventIdOrExperiment;
    if (!id) return Promise.resolve(false);
    const body = { event_id: id, reward: value };
    if (rewardId) body.reward_id = rewardId;
    return send("/v1/rewards", body);
  }

  /** Record that a deferred decision's layout was shown. */
  function activate(id) {
    return id ? send(`/v1/decisions/${encodeURIComponent(id)}/activate`, {}) : Promise.resolve(false);
  }

  return { decide, reward, activate, eventId };
}
