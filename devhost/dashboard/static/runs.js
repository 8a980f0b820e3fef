// The runs page: every run the HTTP API lists, filtered by state and family, refreshed every 2 s.
"use strict";

const REFRESH_MS = 2000;
const form = document.getElementById("filters");
const stateFilter = document.getElementById("filter-state");
const familyFilter = document.getElementById("filter-family");
const families = new Set();

function readFiltersFromUrl() {
  const params = new URLSearchParams(window.location.search);
  const state = params.get("state") || "";
  if ([...stateFilter.options].some((option) => option.value === state)) stateFilter.value = state;
  familyFilter.value = params.get("family") || "";
}

function currentFilters() {
  const params = new URLSearchParams();
  if (stateFilter.value) params.set("state", stateFilter.value);
  if (familyFilter.value.trim()) params.set("family", familyFilter.value.trim());
  return params;
}

function runRow(run) {
  const ended = ENDED.has(run.runtimeStatus);
  const seconds = elapsed(run.createdTime, ended ? run.lastUpdatedTime : null);
  return h("tr", {"data-run-id": run.runId, "data-stage": run.stage || "", "data-state": run.state || ""},
    h("td", {}, h("a", {href: runHref(run.runId), class: "run-link"}, run.runId)),
    h("td", {class: "state"}, stateBadge(runStateText(run, ended, null))),
    h("td", {class: "stage"}, (run.stage || "–").replace(/_/g, " ")),
    h("td", {class: "family"}, run.family || "–"),
    h("td", {}, formatTime(run.createdTime)),
    h("td", {class: "duration"}, formatSeconds(seconds)),
    h("td", {class: "detail muted"}, run.detail || ""),
  );
}

function render(body) {
  const runs = Array.isArray(body.runs) ? body.runs : [];
  document.querySelector("#runs tbody").replaceChildren(...runs.map(runRow));
  document.getElementById("empty").hidden = runs.length > 0;
  document.getElementById("count").textContent = runs.length === 1 ? "1 run" : runs.length + " runs";
  for (const run of runs) if (run.family) families.add(run.family);
  document.getElementById("families").replaceChildren(...[...families].sort().map((f) => h("option", {}, f)));
}

async function load() {
  const query = currentFilters().toString();
  try {
    render(await fetchJson("/data/runs" + (query ? "?" + query : "")));
    showError("");
  } catch (error) {
    showError(error.message);
    if (!error.status || error.status >= 500) throw error;
  }
  return REFRESH_MS;
}

function onFiltersChanged() {
  const query = currentFilters().toString();
  window.history.replaceState(null, "", query ? "?" + query : window.location.pathname);
  load().catch(() => {});
}

readFiltersFromUrl();
form.addEventListener("submit", (event) => { event.preventDefault(); onFiltersChanged(); });
stateFilter.addEventListener("change", onFiltersChanged);
familyFilter.addEventListener("input", onFiltersChanged);
pollForever(load);
