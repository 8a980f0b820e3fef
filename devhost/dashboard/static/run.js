// The run page: overview, the commands the run accepts, stage timeline, validation, loss curve, smoke
// test, events and report links.
"use strict";

const RUNNING_REFRESH_MS = 2000;
const ENDED_REFRESH_MS = 10000;
const runId = decodeURIComponent(window.location.pathname.replace(/^\/runs\//, ""));

function field(label, ...value) {
  return [h("dt", {}, label), h("dd", {}, ...value)];
}

function renderOverview(page) {
  const run = page.run;
  const ended = page.ended;
  const fields = [
    field("State", stateBadge(runStateText(run, ended, page.outcome))),
    field("Stage", (run.stage || "–").replace(/_/g, " ")),
    field("Family", run.family || "–"),
    field("Started", formatTime(run.createdTime)),
    field("Duration", formatSeconds(elapsed(run.createdTime, ended ? run.lastUpdatedTime : null))),
    field("Detail", run.detail || "–"),
  ];
  if (run.jobName) fields.push(field("Training job", h("code", {}, run.jobName)));
  if (run.deploymentName) fields.push(field("Deployment", h("code", {}, run.deploymentName)));
  if (page.reason) fields.push(field("Outcome", h("b", {}, page.outcome || ""), ": ", page.reason));
  document.getElementById("overview").replaceChildren(h("dl", {class: "facts"}, ...fields.flat()));
}

const COMMAND_LABELS = {approve: "Approve", reject: "Reject", cancel: "Cancel run", retry: "Retry"};
const COMMANDS_WITH_REASON = new Set(["reject", "cancel"]);
let commandInFlight = false;

function renderCommands(page) {
  const box = document.getElementById("commands");
  const commands = (page.commands || []).filter((command) => command in COMMAND_LABELS);
  if (box.dataset.commands === commands.join(" ")) return;  // the same buttons: keep them (and their focus)
  box.dataset.commands = commands.join(" ");
  box.replaceChildren(...commands.map((command) => {
    const button = h("button", {type: "button", class: "command " + command, "data-command": command},
      COMMAND_LABELS[command]);
    button.addEventListener("click", () => sendCommand(command));
    return button;
  }));
}

// Sends one command through the dashboard (which passes it to the HTTP API) and says what came of it.
async function sendCommand(command) {
  if (commandInFlight) return;
  let reason = null;
  if (COMMANDS_WITH_REASON.has(command)) {
    reason = window.prompt(COMMAND_LABELS[command] + " " + runId + "? Reason (optional):", "");
    if (reason === null) return;
  }
  commandInFlight = true;
  const result = document.getElementById("command-result");
  result.className = "small";
  result.textContent = "sending " + command + "…";
  try {
    const body = await fetchJson("/data/runs/" + encodeURIComponent(runId) + "/" + command, {
      method: "POST",
      headers: {"content-type": "application/json"},
      body: JSON.stringify(reason ? {reason: reason} : {}),
    });
    result.className = "small ok";
    result.textContent = body && typeof body.result === "string" ? body.result : command + " sent";
  } catch (error) {
    result.className = "small error";
    result.textContent = command + " refused: " + error.message;
  } finally {
    commandInFlight = false;
  }
}

function renderTimeline(page) {
  const stages = page.stages || [];
  const box = document.getElementById("timeline");
  if (!stages.length) {
    box.replaceChildren(h("p", {class: "muted"}, "No stage has started yet."));
    return;
  }
  const start = parseTime(stages[0].startedAt);
  const lastEnd = parseTime(stages[stages.length - 1].endedAt);
  const end = Math.max(start + 1, page.ended && lastEnd !== null ? lastEnd : Date.now());
  const labelWidth = 130, barWidth = 520, durationWidth = 90, rowHeight = 26;
  const width = labelWidth + barWidth + durationWidth;
  const scale = (time) => labelWidth + ((time - start) / (end - start)) * barWidth;
  const chart = s("svg", {class: "timeline", width: width, height: stages.length * rowHeight + 8,
    viewBox: "0 0 " + width + " " + (stages.length * rowHeight + 8), role: "img", "aria-label": "stage timeline"});
  stages.forEach((stage, index) => {
    const y = index * rowHeight + 4;
    const from = parseTime(stage.startedAt) ?? start;
    const to = parseTime(stage.endedAt) ?? end;
    const seconds = stage.seconds ?? elapsed(stage.startedAt, stage.endedAt);
    const x = scale(from);
    const bar = Math.max(3, scale(to) - x);
    const state = stage.endedAt ? stage.state : "running";
    chart.append(
      s("g", {class: "stage-row", "data-stage": stage.stage},
        s("title", {}, stage.stage + " · " + stage.state + (stage.detail ? " · " + stage.detail : "")),
        s("text", {x: 0, y: y + 16, class: "label"}, stage.stage.replace(/_/g, " ")),
        s("rect", {x: x, y: y + 3, width: bar, height: rowHeight - 8, rx: 3,
          class: "bar " + (STATE_CLASSES[state] || "other")}),
        s("text", {x: labelWidth + barWidth + 8, y: y + 16, class: "duration"}, formatSeconds(seconds)),
      ),
    );
  });
  box.replaceChildren(chart);
}

function renderValidation(validation) {
  const box = document.getElementById("validation");
  if (!validation) return;
  const cost = validation.estimatedCostUsd;
  const facts = [
    field("Verdict", stateBadge(validation.valid ? "passed" : "failed")),
    field("Examples", validation.examples ?? "–",
      validation.validExamples !== null && validation.validExamples !== undefined
        ? " (" + validation.validExamples + " valid)" : ""),
    field("Errors", validation.errors),
    field("Warnings", validation.warnings),
    field("Billable tokens", validation.billableTokens ?? "–",
      validation.tokenCountExact === false ? " (estimated)" : ""),
    field("Training cost", cost === null || cost === undefined ? "–" : "$" + cost.toFixed(4) + " (estimate)"),
  ];
  const parts = [h("dl", {class: "facts"}, ...facts.flat())];
  if (validation.findings && validation.findings.length) {
    parts.push(h("table", {class: "grid findings"},
      h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, "code"), h("th", {}, "line"), h("th", {}, "message"))),
      h("tbody", {}, ...validation.findings.map((finding) => h("tr", {},
        h("td", {}, stateBadge(finding.severity === "error" ? "failed" : "waiting")),
        h("td", {}, h("code", {}, finding.code || "")),
        h("td", {}, finding.line ?? ""),
        h("td", {class: "message"}, finding.message),
      )))));
  }
  box.replaceChildren(...parts);
}

function renderLoss(loss) {
  const box = document.getElementById("loss");
  if (!loss || !loss.points || !loss.points.length) return;
  const width = 460, height = 240, left = 44, right = 12, top = 24, bottom = 32;
  const values = loss.points.flatMap((p) => [p.train, p.validation]).filter((v) => typeof v === "number");
  if (!values.length) return;
  const xs = loss.points.map((p) => p.x);
  const minX = Math.min(...xs), maxX = Math.max(...xs, minX + 1);
  // The y axis spans the losses seen (with a margin), so a curve that moves little is still readable.
  const high = Math.max(...values), low = Math.min(...values);
  const margin = (high - low) * 0.08 || Math.abs(high) * 0.1 || 1;
  const maxY = high + margin, minY = Math.max(0, low - margin);
  const spanY = maxY - minY || 1;
  const px = (x) => left + ((x - minX) / (maxX - minX)) * (width - left - right);
  const py = (y) => height - bottom - ((y - minY) / spanY) * (height - top - bottom);
  const chart = s("svg", {class: "loss", width: width, height: height, viewBox: "0 0 " + width + " " + height,
    role: "img", "aria-label": "loss curve"});
  chart.append(
    s("line", {x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, class: "axis"}),
    s("line", {x1: left, y1: top, x2: left, y2: height - bottom, class: "axis"}),
    s("text", {x: left - 6, y: py(maxY) + 4, "text-anchor": "end", class: "tick"}, maxY.toFixed(2)),
    s("text", {x: left - 6, y: py(minY) + 4, "text-anchor": "end", class: "tick"}, minY.toFixed(2)),
    s("text", {x: left, y: height - 10, class: "tick"}, String(minX)),
    s("text", {x: width - right, y: height - 10, "text-anchor": "end", class: "tick"}, loss.xLabel + " " + maxX),
  );
  const series = [["train", "train"], ["validation", "validation"]];
  series.forEach(([key, label], index) => {
    const points = loss.points.filter((p) => typeof p[key] === "number");
    if (!points.length) return;
    chart.append(s("polyline", {class: "series " + key, fill: "none",
      points: points.map((p) => px(p.x).toFixed(1) + "," + py(p[key]).toFixed(1)).join(" ")}));
    if (points.length <= 40) {
      for (const p of points) chart.append(s("circle", {class: "dot " + key, cx: px(p.x), cy: py(p[key]), r: 2.5}));
    }
    chart.append(s("text", {x: left + 10 + index * 90, y: 14, class: "legend " + key}, "— " + label));
  });
  const source = loss.source === "summary" ? "from the run summary" : "from training events (so far)";
  box.replaceChildren(chart, h("p", {class: "muted small"}, loss.points.length + " points, " + source));
}

function renderSmoke(smoke) {
  const box = document.getElementById("smoke");
  if (!smoke) return;
  const facts = [
    field("Verdict", stateBadge(smoke.passed ? "passed" : "failed")),
    field("Score", typeof smoke.score === "number" ? smoke.score.toFixed(3) : "–",
      smoke.metric ? " (" + smoke.metric + ")" : ""),
    field("Probes", smoke.probeCount),
  ];
  const parts = [h("dl", {class: "facts"}, ...facts.flat())];
  if (smoke.failures && smoke.failures.length) {
    parts.push(h("ul", {class: "failures"}, ...smoke.failures.map((failure) => h("li", {}, failure))));
  }
  if (smoke.probes && smoke.probes.length) {
    parts.push(h("table", {class: "grid probes"},
      h("thead", {}, h("tr", {}, ...["probe", "source", "result", "latency", "score", "reply"].map((t) => h("th", {}, t)))),
      h("tbody", {}, ...smoke.probes.map((probe) => h("tr", {},
        h("td", {}, probe.name),
        h("td", {}, probe.source),
        h("td", {title: (probe.failures || []).join("; ")}, stateBadge(probe.passed ? "passed" : "failed")),
        h("td", {}, typeof probe.latencyMs === "number" ? Math.round(probe.latencyMs) + " ms" : "–"),
        h("td", {}, typeof probe.score === "number" ? probe.score.toFixed(3) : "–"),
        h("td", {class: "message"}, probe.reply || ""),
      )))));
  }
  box.replaceChildren(...parts);
}

function factsText(facts) {
  const text = Object.entries(facts || {})
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => key + "=" + (typeof value === "string" ? value : JSON.stringify(value)))
    .join("  ");
  return text.length > 400 ? text.slice(0, 400) + "…" : text;
}

function renderEvents(page) {
  const box = document.getElementById("events");
  if (!page.eventsAvailable) {
    box.replaceChildren(h("p", {class: "muted"}, "This dashboard has no event source (it reads events from the devhost's broker)."));
    return;
  }
  if (!page.events.length) return;
  box.replaceChildren(h("table", {class: "grid events"},
    h("thead", {}, h("tr", {}, ...["#", "time", "type", "state", "facts"].map((t) => h("th", {}, t)))),
    h("tbody", {}, ...page.events.map((event) => h("tr", {"data-event-type": event.type},
      h("td", {}, event.sequence),
      h("td", {}, formatTime(event.time)),
      h("td", {}, h("code", {}, event.type)),
      h("td", {}, stateBadge(event.state)),
      h("td", {class: "message"}, factsText(event.facts)),
    )))));
}

function renderReports(page) {
  const links = (page.reports || [])
    .map((report) => [report, safeHref(report.href, "/reports/")])
    .filter(([, href]) => href)
    .map(([report, href]) => h("li", {}, h("a", {href: href, target: "_blank", rel: "noopener noreferrer"}, report.name)));
  document.getElementById("reports").replaceChildren(
    ...(links.length ? links : [h("li", {class: "muted"}, "No reports written yet.")]));
  document.getElementById("notes").replaceChildren(...(page.notes || []).map((note) => h("li", {}, note)));
}

async function load() {
  try {
    const page = await fetchJson("/data/runs/" + encodeURIComponent(runId));
    showError("");
    document.title = runId + " · Phi-3 fine-tuning ops";
    renderOverview(page);
    renderCommands(page);
    renderTimeline(page);
    renderValidation(page.validation);
    renderLoss(page.loss);
    renderSmoke(page.smoke);
    renderEvents(page);
    renderReports(page);
    return page.ended ? ENDED_REFRESH_MS : RUNNING_REFRESH_MS;
  } catch (error) {
    showError(error.message);
    if (!error.status || error.status >= 500) throw error;
    return ENDED_REFRESH_MS;
  }
}

document.getElementById("run-id").textContent = runId;
pollForever(load);
