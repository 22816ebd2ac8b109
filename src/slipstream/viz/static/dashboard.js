// Slipstream dashboard page: Plotly charts fed by server-sent events (/api/events), the live
// camera and top-down frames of one worker (/api/live/<run>/<worker>), log tail and run inputs.
"use strict";

const CONFIG = { displaylogo: false, responsive: true };
const MARGIN = { l: 50, r: 10, t: 36, b: 36 };
let runNames = [];
let xStep = 1; // iteration axis tick spacing: whole iterations, at most ~10 ticks

function shortName(root) {
  const parts = root.split("/").filter((p) => p);
  return parts.slice(-1)[0] || root;
}

function layout(title, ytitle, extra) {
  return Object.assign(
    {
      title: { text: title, font: { size: 14 } },
      margin: MARGIN,
      xaxis: { title: { text: "iteration" }, rangemode: "tozero", tick0: 0, dtick: xStep },
      yaxis: { title: { text: ytitle } },
      legend: { orientation: "h", y: -0.25, font: { size: 10 } },
      uirevision: title,
    },
    extra || {}
  );
}

function line(name, x, y) {
  return { type: "scatter", mode: "lines+markers", name: name, x: x, y: y };
}

function perWorker(runs, key) {
  const traces = [];
  for (const run of runs) {
    for (const [w, s] of Object.entries(run.workers)) {
      const label = runs.length > 1 ? `${shortName(run.run)} worker ${w}` : `worker ${w}`;
      traces.push(line(label, s.iteration, s[key]));
    }
  }
  return traces;
}

function perRun(runs, group, key, suffix) {
  return runs.map((run) => {
    const label = (runs.length > 1 ? shortName(run.run) + " " : "") + (suffix || "");
    return line(label.trim() || key, run[group].iteration, run[group][key]);
  });
}

function lastIteration(runs) {
  let last = 0;
  for (const run of runs) {
    const lists = [run.evaluation.iteration, run.learner.iteration, run.speed.iteration];
    for (const s of Object.values(run.workers)) lists.push(s.iteration);
    for (const l of lists) if (l.length) last = Math.max(last, l[l.length - 1]);
  }
  return last;
}

function drawCharts(runs) {
  xStep = Math.max(1, Math.ceil((lastIteration(runs) + 1) / 10));
  const pct = { yaxis: { title: { text: "%" }, range: [0, 105] } };
  Plotly.react("chart-reward", perWorker(runs, "reward"), layout("Mean episode reward", "reward"), CONFIG);
  Plotly.react("chart-progress", perWorker(runs, "progress"), layout("Mean progress (training)", "%", pct), CONFIG);
  Plotly.react("chart-completion", perWorker(runs, "completion"), layout("Lap completion rate (training)", "%", pct), CONFIG);
  Plotly.react(
    "chart-eval-progress",
    perRun(runs, "evaluation", "progress", "progress").concat(perRun(runs, "evaluation", "completion", "laps")),
    layout("Evaluation: mean progress, laps completed", "%", pct),
    CONFIG
  );
  Plotly.react("chart-lap-time", perRun(runs, "evaluation", "best_lap_s", "best lap"), layout("Evaluation: best lap time", "s"), CONFIG);
  Plotly.react("chart-loss", perRun(runs, "learner", "surrogate_loss", "surrogate loss"), layout("Learner: surrogate loss", "loss"), CONFIG);
  Plotly.react("chart-entropy", perRun(runs, "learner", "entropy", "entropy"), layout("Learner: policy entropy", "entropy"), CONFIG);
  Plotly.react("chart-kl", perRun(runs, "learner", "kl_divergence", "KL"), layout("Learner: KL divergence", "KL"), CONFIG);
  Plotly.react(
    "chart-speed",
    perRun(runs, "speed", "rollout_steps_per_second", "rollout steps/s").concat(
      perRun(runs, "speed", "learner_samples_per_second", "learner samples/s")
    ),
    layout("Samples per second", "per second"),
    CONFIG
  );
}

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

function table(headers, rows) {
  const t = el("table");
  const head = el("tr");
  headers.forEach((h) => head.appendChild(el("th", h)));
  t.appendChild(head);
  for (const row of rows) {
    const tr = el("tr");
    row.forEach((c) => tr.appendChild(el("td", c === null || c === undefined ? "-" : c)));
    t.appendChild(tr);
  }
  return t;
}

function drawEvaluation(runs) {
  const box = document.getElementById("evaluation");
  box.replaceChildren();
  for (const run of runs) {
    const ev = run.latest_evaluation;
    if (runs.length > 1) box.appendChild(el("h3", shortName(run.run)));
    if (!ev) {
      const e = run.evaluation;
      const n = e.iteration.length;
      box.appendChild(
        el("p", n ? `in-training evaluation, iteration ${e.iteration[n - 1]}: progress ${e.progress[n - 1]}%, laps ${e.completion[n - 1]}%` : "none yet")
      );
      continue;
    }
    box.appendChild(el("p", `evaluation ${ev.timestamp}`));
    box.appendChild(table(["trial", "progress %", "time s", "status"], ev.trials.map((t) => [t.trial, t.progress, t.time_s, t.status])));
  }
}

function drawLog(runs) {
  const pre = document.getElementById("log");
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 5;
  pre.textContent = runs.map((r) => (runs.length > 1 ? `== ${r.run}\n` : "") + r.log.join("\n")).join("\n");
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

function drawInputs(runs) {
  const box = document.getElementById("inputs");
  box.replaceChildren();
  for (const run of runs) {
    const inputs = run.inputs || {};
    box.appendChild(el("h2", `Inputs of ${run.run}`));
    const grid = el("div", null, { class: "run-inputs" });
    const actions = el("div");
    actions.appendChild(el("h2", "Action space"));
    const meta = inputs.model_metadata;
    const space = meta && meta.action_space;
    if (Array.isArray(space)) {
      actions.appendChild(table(["#", "steering °", "speed m/s"], space.map((a, i) => [i, a.steering_angle, a.speed])));
    } else if (space) {
      actions.appendChild(el("pre", JSON.stringify(space, null, 1)));
    }
    if (meta) actions.appendChild(el("p", `${meta.neural_network || ""} ${meta.training_algorithm || ""} ${(meta.sensor || []).join(", ")}`));
    const reward = el("div");
    reward.appendChild(el("h2", "Reward function"));
    reward.appendChild(el("pre", inputs.reward_function || "(not written yet)"));
    const hp = el("div");
    hp.appendChild(el("h2", "Hyperparameters"));
    const h = inputs.hyperparameters;
    if (h && typeof h === "object") hp.appendChild(table(["name", "value"], Object.entries(h).map(([k, v]) => [k, JSON.stringify(v)])));
    if (inputs.training_params) hp.appendChild(el("pre", inputs.training_params));
    grid.append(actions, reward, hp);
    box.appendChild(grid);
  }
}

let lastInputs = "";
function onSnapshot(snap) {
  const runs = snap.runs;
  drawCharts(runs);
  drawEvaluation(runs);
  drawLog(runs);
  const inputs = JSON.stringify(runs.map((r) => r.inputs));
  if (inputs !== lastInputs) {
    lastInputs = inputs;
    drawInputs(runs);
  }
  const when = Math.max(...runs.map((r) => r.updated || 0));
  document.getElementById("status").textContent =
    "updated " + (when ? new Date(when * 1000).toLocaleTimeString() : "never");
}

function startEvents() {
  const source = new EventSource("api/events");
  source.onmessage = (event) => onSnapshot(JSON.parse(event.data));
  source.onerror = () => {
    document.getElementById("status").textContent = "disconnected, retrying...";
  };
}

// ---------------------------------------------------------------- live cars
let liveSource = null;
let framesSeen = 0;
let frameTimes = [];

function startLive() {
  if (liveSource) liveSource.close();
  const run = document.getElementById("live-run").value || "0";
  const worker = document.getElementById("live-worker").value || "0";
  liveSource = new EventSource(`api/live/${run}/${worker}`);
  liveSource.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.camera) document.getElementById("camera").src = "data:image/png;base64," + frame.camera;
    if (frame.topdown) document.getElementById("topdown").src = "data:image/jpeg;base64," + frame.topdown;
    framesSeen += 1;
    const now = performance.now();
    frameTimes.push(now);
    frameTimes = frameTimes.filter((t) => now - t < 2000);
    document.getElementById("live-info").textContent =
      `run ${run}, worker ${worker}: ${(frameTimes.length / 2).toFixed(1)} frames/s, ${framesSeen} frames`;
    document.body.dataset.frames = String(framesSeen);
  };
}

function stopLive() {
  if (liveSource) liveSource.close();
  liveSource = null;
  document.getElementById("live-info").textContent = "paused";
}

async function init() {
  const runs = await (await fetch("api/runs")).json();
  runNames = runs.map((r) => r.run);
  const select = document.getElementById("live-run");
  const list = document.getElementById("run-list");
  for (const r of runs) {
    select.appendChild(el("option", shortName(r.run), { value: r.id }));
    list.appendChild(el("span", r.run));
  }
  select.onchange = startLive;
  document.getElementById("live-worker").onchange = startLive;
  const toggle = document.getElementById("live-toggle");
  toggle.onclick = () => {
    if (liveSource) {
      stopLive();
      toggle.textContent = "Watch";
    } else {
      startLive();
      toggle.textContent = "Pause";
    }
  };
  startEvents();
  startLive();
}

init();
