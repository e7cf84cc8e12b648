// Wildlife photo-ID page: upload → /v1/predict-single (one photo) or /v1/predict-batch (NDJSON), render cards,
// review with /v1/review. No build step.
"use strict";
const $ = (sel, root = document) => root.querySelector(sel);
// the page's sentences, from the message catalogue (the server renders them in the page's language)
const S = JSON.parse($("#page-strings").textContent);
// the answers' sentences in the page's language too (the API says them again from the catalogue)
const LANG = new URLSearchParams({ lang: document.documentElement.lang || "en" }).toString();
const QUALITY_REASONS = new Set(["too_small", "too_dark", "too_bright", "too_blurry"]);
const fmt = (text, vars) => text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
const keyInput = $("#apikey");
keyInput.value = localStorage.getItem("sightings-api-key") || "";
keyInput.addEventListener("change", () => localStorage.setItem("sightings-api-key", keyInput.value));

function headers() {
  return keyInput.value ? { "X-API-Key": keyInput.value } : {};
}

async function errorText(resp) {
  try { const body = await resp.json(); return body.error || body.detail || resp.statusText; }
  catch { return resp.statusText; }
}

async function loadSpecies() {
  const select = $("#species");
  const resp = await fetch("/v1/species");
  const list = resp.ok ? await resp.json() : [];
  select.innerHTML = "";
  for (const s of list) {
    const opt = document.createElement("option");
    opt.value = s.name; opt.textContent = s.vernacular_name || s.name;
    select.append(opt);
  }
  if (!list.length) $("#status").textContent = S.no_species;
}

function gauge(card, confidence, low) {
  const pct = Math.round((confidence || 0) * 100);
  const g = $(".gauge", card);
  g.setAttribute("aria-valuenow", String(pct));
  g.classList.toggle("low", low);
  $(".fill", g).style.width = pct + "%";
  $(".gauge-label", g).textContent = fmt(S.confidence, { pct });
}

function render(line) {
  const card = $("#card").content.firstElementChild.cloneNode(true);
  card.dataset.filename = line.filename;
  if (!line.ok) {
    card.classList.add("failed", "rejected");
    card.dataset.status = "failed";
    $(".photo", card).remove();
    $(".title", card).textContent = fmt(S.unreadable, { name: line.filename });
    $(".message", card).textContent = line.error;
    for (const el of [".gauge", ".topk", ".review"]) $(el, card).remove();
    return card;
  }
  const p = line.prediction;
  card.dataset.status = p.status;
  card.dataset.predictionId = p.id;
  card.classList.add(p.status);
  $(".photo", card).src = p.photo_url;
  $(".message", card).textContent = p.message;
  if (p.status === "rejected") {
    card.classList.add("rejection");
    $(".title", card).textContent = fmt(S.rejected, { reason: S[`reason_${p.reason}`] || p.reason.replaceAll("_", " ") });
    card.dataset.reason = p.reason;
    for (const el of [".gauge", ".topk", ".confirm"]) $(el, card).remove();
    // a photo too small, dark, bright or blurry cannot be enrolled, so nothing to correct it to: only the gate's
    // judgement of the content (no animal, unlike the gallery, another species) can be overruled by a reviewer
    if (QUALITY_REASONS.has(p.reason)) $(".review", card).remove();
  } else {
    $(".title", card).textContent = p.status === "accepted" ? p.individual_id : S.new_individual;
    gauge(card, p.confidence, p.status !== "accepted");
    const list = $(".topk", card);
    for (const m of p.matches) {
      const li = document.createElement("li");
      const img = document.createElement("img");
      img.src = m.thumbnail_url; img.alt = fmt(S.gallery_photo, { id: m.individual_id }); img.loading = "lazy";
      li.append(img, document.createTextNode(`${m.rank + 1}. ${m.individual_id} · ${Math.round(m.confidence * 100)}%`));
      list.append(li);
    }
    if (p.matches.length && p.matches[0].evidence_url) {
      const fig = $(".evidence", card);
      $("img", fig).src = p.matches[0].evidence_url;
      fig.hidden = false;
    }
    if (!p.best_candidate) $(".confirm", card).remove();
  }
  if ($(".review", card)) wireReview(card, p);
  return card;
}

function wireReview(card, p) {
  const status = $(".review-status", card);
  async function send(decision, individual) {
    status.textContent = S.saving;
    const resp = await fetch("/v1/review", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers() },
      body: JSON.stringify({ prediction_id: p.id, decision, individual_id: individual || null }),
    });
    if (!resp.ok) { status.textContent = fmt(S.not_saved, { error: await errorText(resp) }); return; }
    const body = await resp.json();
    status.textContent = fmt(decision === "confirm" ? S.confirmed : S.corrected, { id: body.individual_id });
    card.dataset.reviewed = decision;
  }
  const confirm = $(".confirm", card);
  if (confirm) confirm.addEventListener("click", () => send("confirm", p.best_candidate));
  $(".correct", card).addEventListener("click", () => {
    const id = $(".correct-id", card).value.trim();
    if (!id) { status.textContent = S.type_id; return; }
    send("correct", id);
  });
}

async function predictSingle(file, species) {
  const form = new FormData();
  form.append("file", file); form.append("species", species);
  const resp = await fetch(`/v1/predict-single?${LANG}`, { method: "POST", body: form, headers: headers() });
  if (!resp.ok) return { index: 0, filename: file.name, ok: false, error: await errorText(resp) };
  return { index: 0, filename: file.name, ok: true, prediction: await resp.json() };
}

async function predictBatch(files, species, onLine) {
  const form = new FormData();
  for (const f of files) form.append("files", f);
  form.append("species", species);
  const resp = await fetch(`/v1/predict-batch?${LANG}`, { method: "POST", body: form, headers: headers() });
  if (!resp.ok) { onLine({ index: 0, filename: "batch", ok: false, error: await errorText(resp) }); return; }
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const text = buffer.slice(0, nl).trim(); buffer = buffer.slice(nl + 1);
      if (text) onLine(JSON.parse(text));
    }
  }
}

$("#upload").addEventListener("submit", async (event) => {
  event.preventDefault();
  const files = Array.from($("#files").files);
  const species = $("#species").value;
  const results = $("#results");
  const button = $("#submit");
  if (!files.length || !species) return;
  results.innerHTML = "";
  button.disabled = true;
  $("#status").textContent = fmt(S.identifying, { n: files.length });
  try {
    if (files.length === 1 && !files[0].name.toLowerCase().endsWith(".zip")) {
      results.append(render(await predictSingle(files[0], species)));
    } else {
      await predictBatch(files, species, (line) => results.append(render(line)));
    }
    $("#status").textContent = fmt(S.done, { n: results.children.length });
  } catch (err) {
    $("#status").textContent = fmt(S.failed, { error: err });
  } finally {
    button.disabled = false;
  }
});

loadSpecies();
