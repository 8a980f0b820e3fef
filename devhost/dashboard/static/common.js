// Shared helpers of the dashboard pages. Everything from data is inserted as text (textContent,
// setAttribute on a fixed list of attributes), never parsed as HTML.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const STATE_CLASSES = {
  running: "running", pending: "running", submitted: "running", provisioning: "running", accepted: "running",
  waiting: "waiting", awaiting_approval: "waiting", queued: "waiting",
  succeeded: "succeeded", passed: "succeeded", completed: "succeeded", approved: "succeeded",
  failed: "failed", rejected: "failed", terminated: "failed",
  canceled: "canceled",
};
const ENDED = new Set(["Completed", "Failed", "Terminated", "Canceled"]);
const SAFE_ATTRIBUTES = new Set([
  "class", "href", "title", "id", "colspan", "target", "rel", "role", "aria-label", "type",
  "x", "y", "x1", "x2", "y1", "y2", "width", "height", "points", "viewBox", "fill", "stroke",
  "stroke-width", "stroke-dasharray", "text-anchor", "font-size", "rx", "cx", "cy", "r",
]);

function setAttributes(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("data-")) node.setAttribute(name, String(value));
    else if (SAFE_ATTRIBUTES.has(name)) node.setAttribute(name, String(value));
    else throw new Error("attribute not allowed: " + name);
  }
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// h("td", {class: "x"}, "text", otherNode): an element whose string children are text nodes.
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  return append(node, children);
}

function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attrs);
  return append(node, children);
}

// Only same-origin paths the dashboard itself serves become links.
function safeHref(path, prefix) {
  return typeof path === "string" && path.startsWith(prefix) && !path.startsWith("//") ? path : null;
}

function runHref(runId) {
  return "/runs/" + encodeURIComponent(runId);
}

function stateBadge(state) {
  const text = state || "unknown";
  return h("span", {class: "badge " + (STATE_CLASSES[text.toLowerCase()] || "other")}, text.replace(/_/g, " "));
}

// What a run's badge says: its outcome once ended, "awaiting approval" while it waits for a person, else its state.
function runStateText(run, ended, outcome) {
  if (ended) return outcome || run.stage || run.runtimeStatus;
  return run.stage === "awaiting_approval" ? run.stage : run.state;
}

function parseTime(value) {
  const time = value ? Date.parse(value) : NaN;
  return Number.isNaN(time) ? null : time;
}

function formatTime(value) {
  const time = parseTime(value);
  if (time === null) return "–";
  const d = new Date(time);
  const today = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  const clock = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  return d.toDateString() === today.toDateString()
    ? clock
    : d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + clock;
}

function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  if (seconds < 10) return seconds.toFixed(1) + " s";
  if (seconds < 60) return Math.round(seconds) + " s";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return minutes + " min " + Math.round(seconds % 60) + " s";
  return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
}

// Seconds from `start` to `end`, or to now while it has not ended.
function elapsed(start, end) {
  const from = parseTime(start);
  if (from === null) return null;
  const to = parseTime(end);
  return Math.max(0, ((to === null ? Date.now() : to) - from) / 1000);
}

function setLive(ok, text) {
  const live = document.getElementById("live");
  live.textContent = text;
  live.className = "live " + (ok ? "ok" : "down");
}

function showError(message) {
  const error = document.getElementById("error");
  error.textContent = message || "";
  error.hidden = !message;
}

// Fetches JSON (GET unless `options` say otherwise); an answer that is not 2xx throws its `error` text.
async function fetchJson(url, options) {
  const headers = {accept: "application/json", ...((options && options.headers) || {})};
  const response = await fetch(url, {cache: "no-store", ...(options || {}), headers: headers});
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  if (!response.ok) {
    const message = body && typeof body.error === "string" ? body.error : "HTTP " + response.status;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return body;
}

// Calls `load` again and again: `load` returns the delay before the next call (ms). After a failure
// the delay grows up to 15 s, and the page says it is reconnecting; one success resets it.
function pollForever(load, onFailure) {
  let failures = 0;
  const tick = async () => {
    let delay;
    try {
      delay = await load();
      failures = 0;
      setLive(true, "live · updated " + formatTime(new Date().toISOString()));
    } catch (error) {
      failures += 1;
      delay = Math.min(15000, 1000 * 2 ** Math.min(failures, 4));
      setLive(false, "reconnecting…");
      if (onFailure) onFailure(error);
    }
    setTimeout(tick, delay);
  };
  tick();
}
