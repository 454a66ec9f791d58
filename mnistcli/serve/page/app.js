// mnistcli serve: the drawing pad, the live reading and the run picker. No libraries, nothing from elsewhere.
"use strict";

// The pen's width as a fraction of the pad's height: a digit drawn over most of the pad then has strokes as thick,
// relative to its height, as MNIST's (about 2.5 px in a 20 px box).
const PEN = 0.085;
const DEBOUNCE_MS = 150; // a reading is asked for this long after the last change...
const MAX_WAIT_MS = 450; // ...or at the latest this long after the first unread change (live while drawing)

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const result = document.getElementById("result");
const runSelect = document.getElementById("run");
const runInfo = document.getElementById("run-info");
const undoButton = document.getElementById("undo");
const clearButton = document.getElementById("clear");
const fileInput = document.getElementById("file");
const dropZone = document.getElementById("drop");

const strokes = []; // each stroke: [[x, y], ...] as fractions of the pad's width and height
let stroke = null; // the stroke being drawn
let penId = null; // the pointer drawing it (a second finger is ignored)
let upload = null; // {blob, name, url} when the last thing to read is an uploaded file, not the pad
let runs = new Map(); // id -> run row from /api/runs
let runId = null;

// ---- drawing ---------------------------------------------------------------------------------------------------

function fitPad() {
  const box = pad.getBoundingClientRect();
  const scale = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(box.width * scale));
  const height = Math.max(1, Math.round(box.height * scale));
  if (pad.width !== width || pad.height !== height) {
    pad.width = width;
    pad.height = height;
  }
  redraw();
}

function redraw() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
  for (const s of strokes) drawStroke(s, 0);
}

function drawStroke(points, from) {
  ctx.strokeStyle = "#fff";
  ctx.fillStyle = "#fff";
  ctx.lineWidth = PEN * pad.height;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  if (points.length === 1) {
    const [x, y] = points[0];
    ctx.beginPath();
    ctx.arc(x * pad.width, y * pad.height, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  const start = Math.max(0, from - 1);
  ctx.moveTo(points[start][0] * pad.width, points[start][1] * pad.height);
  for (let i = start + 1; i < points.length; i++) ctx.lineTo(points[i][0] * pad.width, points[i][1] * pad.height);
  ctx.stroke();
}

function pointOf(event) {
  const box = pad.getBoundingClientRect();
  const x = (event.clientX - box.left) / box.width;
  const y = (event.clientY - box.top) / box.height;
  return [Math.min(1, Math.max(0, x)), Math.min(1, Math.max(0, y))];
}

pad.addEventListener("pointerdown", (event) => {
  if (penId !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  penId = event.pointerId;
  if (upload) forgetUpload();
  stroke = [pointOf(event)];
  strokes.push(stroke);
  drawStroke(stroke, 0);
  updateButtons();
  schedule();
});

pad.addEventListener("pointermove", (event) => {
  if (event.pointerId !== penId || !stroke) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  const from = stroke.length;
  for (const e of events.length ? events : [event]) stroke.push(pointOf(e));
  drawStroke(stroke, from);
  schedule();
});

function endStroke(event) {
  if (event.pointerId !== penId) return;
  penId = null;
  stroke = null;
  schedule();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function undo() {
  if (!strokes.length) return;
  strokes.pop();
  redraw();
  updateButtons();
  strokes.length ? schedule() : showEmpty();
}

function clearPad() {
  strokes.length = 0;
  stroke = null;
  penId = null;
  if (upload) forgetUpload();
  redraw();
  updateButtons();
  showEmpty();
}

function updateButtons() {
  undoButton.disabled = strokes.length === 0;
  clearButton.disabled = strokes.length === 0 && !upload;
}

undoButton.addEventListener("click", undo);
clearButton.addEventListener("click", clearPad);
document.addEventListener("keydown", (event) => {
  if (event.target.matches("select, textarea, input:not([type=file])")) return; // keys that control has a use for
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  } else if (event.key === "Escape") {
    clearPad();
  }
});

// ---- uploads -------------------------------------------------------------------------------------------------

function useFile(file) {
  if (!file) return;
  if (upload) URL.revokeObjectURL(upload.url);
  strokes.length = 0;
  redraw();
  upload = { blob: file, name: file.name || "upload", url: URL.createObjectURL(file) };
  updateButtons();
  readNow();
}

function forgetUpload() {
  URL.revokeObjectURL(upload.url);
  upload = null;
  fileInput.value = "";
}

fileInput.addEventListener("change", () => useFile(fileInput.files[0]));
dropZone.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropZone.classList.add("dragging");
});
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  useFile(event.dataTransfer.files[0]);
});

// ---- reading: debounced, one request in flight, answers to stale requests dropped ---------------------------

let timer = null;
let firstChange = 0;
let inFlight = false;
let again = false;
let asked = 0;

// #result's data-pending says whether a reading is still to come (tests wait on it; screen readers get aria-busy).
function showPending() {
  result.dataset.pending = timer !== null || inFlight ? "true" : "false";
}

function schedule() {
  const now = performance.now();
  if (timer === null) firstChange = now;
  clearTimeout(timer);
  const wait = Math.max(0, Math.min(DEBOUNCE_MS, firstChange + MAX_WAIT_MS - now));
  timer = setTimeout(readNow, wait);
  showPending();
}

function padBlob() {
  return new Promise((resolve) => pad.toBlob(resolve, "image/png"));
}

async function readNow() {
  clearTimeout(timer);
  timer = null;
  if (inFlight) {
    again = true;
    return;
  }
  if (!upload && !strokes.length) {
    showEmpty();
    return;
  }
  inFlight = true;
  showPending();
  again = false;
  const number = ++asked;
  result.setAttribute("aria-busy", "true");
  result.dataset.state = result.dataset.state === "done" ? "done" : "reading";
  const query = new URLSearchParams({ inputs: "true" });
  if (runId) query.set("run", runId);
  let request;
  if (upload) {
    const form = new FormData();
    form.append("image", upload.blob, upload.name);
    request = { method: "POST", body: form };
  } else {
    query.set("invert", "false"); // the pad draws light ink on black, as MNIST's digits are
    request = { method: "POST", body: await padBlob(), headers: { "Content-Type": "image/png" } };
  }
  const source = upload ? { name: upload.name, url: upload.url } : null;
  try {
    const response = await fetch(`/api/predict?${query}`, request);
    const answer = await response.json();
    if (number === asked && (upload || strokes.length)) {
      response.ok ? showReading(answer, source) : showError(answer.error || `error ${response.status}`);
    }
  } catch (error) {
    if (number === asked) showError(`The server did not answer (${error.message}). Is mnistcli serve still running?`);
  } finally {
    inFlight = false;
    result.removeAttribute("aria-busy");
    if (again) schedule();
    showPending();
  }
}

// ---- showing a reading ---------------------------------------------------------------------------------------

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

const percent = (p) => `${(100 * p).toFixed(p >= 0.995 || p < 0.0005 ? 0 : 1)}%`;
const ordinal = (n) => n + ({ 1: "st", 2: "nd", 3: "rd" }[n] || "th");

function showEmpty() {
  asked++; // an answer still on its way is for a drawing that is gone
  clearTimeout(timer);
  timer = null;
  showPending();
  result.dataset.state = "empty";
  result.dataset.number = "";
  result.replaceChildren(element("p", { class: "placeholder", text: "Draw on the pad: the reading appears here as you draw." }));
}

function showError(message) {
  result.dataset.state = "error";
  result.dataset.number = "";
  result.replaceChildren(element("p", { class: "error", role: "alert", text: message }));
}

function showReading(answer, source) {
  // A reading of numbers has `number` and `digits`; a single-digit reading has `digit` and `probabilities`.
  const digits = answer.digits || [
    { digit: answer.digit, confidence: answer.confidence, probabilities: answer.probabilities, low_confidence: answer.low_confidence },
  ];
  const number = answer.number ?? String(answer.digit);
  const inputs = answer.inputs || [];
  result.dataset.state = "done";
  result.dataset.number = number;

  const headline = element("div", { class: "headline" },
    element("output", { id: "number", class: "number", "aria-label": `read: ${number}`, text: number }),
    element("span", { class: "confidence", text: `${percent(answer.confidence)} sure` }));
  if (answer.low_confidence) headline.append(element("span", { class: "badge", text: "unsure" }));

  const from = element("p", { class: "source" });
  if (source) from.append(element("img", { src: source.url, alt: "" }), `read from ${source.name}`);
  else from.append(`read from the pad, ${digits.length === 1 ? "1 digit" : `${digits.length} digits`}`);
  if (answer.warning) from.append(` · ${answer.warning}`);

  const list = element("ol", { class: "digits", "aria-label": "each digit, left to right" });
  digits.forEach((digit, i) => list.append(digitCard(digit, inputs[i], i, digits.length)));
  result.replaceChildren(headline, from, list);
}

function digitCard(digit, input, index, count) {
  const name = count > 1 ? `${ordinal(index + 1)} digit` : "digit";
  const figure = element("figure");
  if (input) figure.append(inputCanvas(input, `the 28×28 input the model saw for the ${name}`));
  figure.append(element("figcaption", {}, element("strong", { text: String(digit.digit) }), `${percent(digit.confidence)}`));
  const bars = element("dl", { class: "bars", "aria-label": `probabilities of the ${name}` });
  const best = digit.probabilities.indexOf(Math.max(...digit.probabilities));
  digit.probabilities.forEach((p, k) => {
    const top = k === best ? { class: "top" } : {};
    const fill = element("span", { class: "fill" });
    fill.style.width = `${Math.max(0, Math.min(100, 100 * p))}%`;
    bars.append(element("dt", { ...top, text: String(k) }),
      element("dd", top, element("span", { class: "track" }, fill), element("span", { class: "pct", text: percent(p) })));
  });
  return element("li", { class: "digit" }, figure, bars);
}

function inputCanvas(rows, label) {
  const size = rows.length;
  const canvas = element("canvas", { width: size, height: size, role: "img", "aria-label": label });
  const image = new ImageData(size, size);
  rows.forEach((row, y) => row.forEach((v, x) => {
    const at = 4 * (y * size + x);
    image.data[at] = image.data[at + 1] = image.data[at + 2] = v;
    image.data[at + 3] = 255;
  }));
  canvas.getContext("2d").putImageData(image, 0, 0);
  return canvas;
}

// ---- runs ----------------------------------------------------------------------------------------------------

function describeRun(run) {
  const parts = [run.model_settings || run.model, `trained on ${run.dataset || "?"}`];
  parts.push(run.test_accuracy == null ? "no test score" : `test accuracy ${(100 * run.test_accuracy).toFixed(2)}%`);
  return parts.join(" · ");
}

function runLabel(run) {
  const score = run.test_accuracy == null ? "" : ` — ${(100 * run.test_accuracy).toFixed(2)}%`;
  const when = run.when ? ` (${run.when.slice(0, 16).replace("T", " ")})` : "";
  return `${run.model}${score}${when}`;
}

async function loadRuns() {
  try {
    const response = await fetch("/api/runs");
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || `error ${response.status}`);
    runs = new Map(answer.runs.map((run) => [run.id, run]));
    runId = answer.default;
    runSelect.replaceChildren(...answer.runs.map((run) => element("option", { value: run.id, text: runLabel(run) })));
    runSelect.value = runId;
    runInfo.textContent = describeRun(runs.get(runId) || { model: runId });
  } catch (error) {
    runInfo.textContent = `The runs could not be listed (${error.message}).`;
  }
}

runSelect.addEventListener("change", () => {
  runId = runSelect.value;
  runInfo.textContent = describeRun(runs.get(runId));
  if (upload || strokes.length) readNow();
});

// ---- start ---------------------------------------------------------------------------------------------------

new ResizeObserver(fitPad).observe(pad);
fitPad();
updateButtons();
loadRuns();
