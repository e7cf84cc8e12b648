// Retail dashboard: plain JS over /v1/retail/... ; charts are inline SVG drawn here (no library, no CDN).
"use strict";

const $ = (sel) => document.querySelector(sel);
const SVG = "http://www.w3.org/2000/svg";
// the page's sentences, from the message catalogue (the server renders them in the page's language)
const S = JSON.parse($("#page-strings").textContent);
const say = (text, vars = {}) => text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
const SERIES = [["customers", "customers"], ["interactions", "interactions"], ["successful", "successful_interactions"]];

function fmt(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
const pct = (v) => (v === null || v === undefined ? "–" : `${fmt(100 * v, 0)} %`);
const secs = (v) => (v === null || v === undefined ? "–" : v >= 120 ? `${fmt(v / 60, 1)} min` : `${fmt(v, 0)} s`);

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

async function api(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== null));
  const response = await fetch(`/v1/retail/${path}?${query}`);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || body.detail || `HTTP ${response.status}`);
  return body;
}

function filters() {
  return { day: $("#day").value, store: $("#store").value, camera: $("#camera").value };
}

function setStatus(text, error = false) {
  const status = $("#status");
  status.textContent = text;
  status.classList.toggle("error", error);
}

function fillSelect(select, values, keepFirst = true) {
  const first = keepFirst ? select.querySelector("option") : null;
  select.replaceChildren(...(first ? [first] : []));
  for (const [value, label] of values) select.append(el("option", { value }, label));
}

function renderKpis(report) {
  const t = report.store_totals || {};
  const cards = [
    ["customers", fmt(t.customers)],
    ["served customers", fmt(t.served_customers)],
    ["interaction ratio", pct(t.interaction_ratio)],
    ["interactions", fmt(t.interactions)],
    ["success rate", pct(t.success_rate)],
    ["avg interaction", secs(t.avg_interaction_s)],
    ["revenue", fmt(t.revenue, 2)],
    ["avg purchase, consulted", fmt(t.avg_purchase_with_consultation, 2)],
    ["avg purchase, not consulted", fmt(t.avg_purchase_without_consultation, 2)],
    ["videos · gaps · alerts", `${report.runs} · ${report.gaps} · ${report.alerts}`],
  ];
  $("#kpis").replaceChildren(
    ...cards.map(([k, v]) => {
      const card = el("div", { class: "kpi", "data-kpi": k });
      card.append(el("div", { class: "v" }, v), el("div", { class: "k" }, S.kpis[k] || k));
      return card;
    }),
  );
}

function renderChart(hours) {
  const W = 960, H = 260, left = 36, bottom = 24, top = 10;
  const plotW = W - left - 8, plotH = H - top - bottom;
  const max = Math.max(1, ...hours.flatMap((h) => SERIES.map(([, key]) => h[key])));
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, "data-max": max });
  const ticks = 4;
  for (let i = 0; i <= ticks; i++) {
    const value = (max * i) / ticks, y = top + plotH - (plotH * i) / ticks;
    root.append(svg("line", { x1: left, x2: W - 8, y1: y, y2: y, class: "axis", "stroke-opacity": i ? 0.25 : 1 }));
    root.append(svg("text", { x: left - 4, y: y + 4, "text-anchor": "end" }, fmt(value, max < 10 ? 1 : 0)));
  }
  const slot = plotW / 24, barW = (slot - 4) / SERIES.length;
  hours.forEach((h, i) => {
    SERIES.forEach(([cls, key], k) => {
      const value = h[key], height = (plotH * value) / max;
      const bar = svg("rect", {
        class: `bar ${cls}`, x: left + i * slot + 2 + k * barW, y: top + plotH - height, width: barW - 1,
        height, "data-hour": h.hour, "data-value": value,
      });
      bar.append(svg("title", {}, `${String(h.hour).padStart(2, "0")}:00 UTC — ${cls}: ${fmt(value, 1)}`));
      root.append(bar);
    });
    if (i % 2 === 0) {
      root.append(svg("text", { x: left + i * slot + slot / 2, y: H - 6, "text-anchor": "middle" }, String(h.hour).padStart(2, "0")));
    }
  });
  $("#chart").replaceChildren(root);
}

function renderSellers(sellers) {
  const body = $("#sellers tbody");
  if (!sellers.length) {
    body.replaceChildren(el("tr", {}, null));
    body.firstChild.append(el("td", { colspan: 8, class: "empty" }, S.no_sellers));
    return;
  }
  body.replaceChildren(
    ...sellers.map((s) => {
      const row = el("tr", { "data-seller": s.seller_id });
      const cells = [s.seller_id, fmt(s.interactions), fmt(s.successful_interactions), pct(s.success_rate),
        fmt(s.served_customers), pct(s.interaction_ratio), secs(s.avg_interaction_s), fmt(s.revenue, 2)];
      row.append(...cells.map((c) => el("td", {}, c)));
      return row;
    }),
  );
}

function renderAlerts(items) {
  $("#alert-count").textContent = items.length ? `${items.length}` : "";
  if (!items.length) {
    $("#alerts").replaceChildren(el("li", { class: "empty" }, S.no_alerts));
    return;
  }
  $("#alerts").replaceChildren(
    ...items.map((a) => {
      const li = el("li", { class: a.severity, "data-kind": a.kind });
      li.append(el("span", { class: "when" }, `${a.ts.slice(11, 16)} ${a.camera}`), el("strong", {}, a.kind), document.createTextNode(` — ${a.message}`));
      return li;
    }),
  );
}

function renderInteractions(items) {
  const body = $("#interactions tbody");
  if (!items.length) {
    body.replaceChildren(el("tr"));
    body.firstChild.append(el("td", { colspan: 7, class: "empty" }, S.no_interactions));
    return;
  }
  body.replaceChildren(
    ...items.map((i) => {
      const row = el("tr");
      const bought = i.purchased ? say(S.bought, { amount: fmt(i.amount, 2) }) : S.not_bought;
      row.append(
        el("td", {}, i.started_at.slice(11, 19)), el("td", {}, i.camera), el("td", {}, i.seller_id),
        el("td", {}, `#${i.customer_track}`), el("td", {}, secs(i.duration_s)), el("td", {}, i.zone || "–"),
        el("td", { class: i.purchased ? "yes" : "no" }, bought),
      );
      return row;
    }),
  );
}

async function loadChart() {
  const data = await api("hours", { ...filters(), seller: $("#seller").value });
  renderChart(data.hours);
}

async function loadDay() {
  if (!$("#day").value) {
    setStatus(S.no_video);
    document.body.dataset.ready = "1";
    return;
  }
  setStatus(S.loading);
  document.body.dataset.ready = "0";
  try {
    const f = filters();
    const [report, inter, alerts] = await Promise.all([api("sellers", f), api("interactions", f), api("alerts", f)]);
    const chosen = $("#seller").value;
    fillSelect($("#seller"), report.sellers.map((s) => [s.seller_id, s.seller_id]));
    if (report.sellers.some((s) => s.seller_id === chosen)) $("#seller").value = chosen;
    renderKpis(report);
    renderSellers(report.sellers);
    renderAlerts(alerts.items);
    renderInteractions(inter.items);
    await loadChart();
    setStatus(say(S.day_status, { day: f.day, runs: report.runs, sellers: report.sellers.length, interactions: inter.items.length }));
  } catch (err) {
    setStatus(say(S.could_not_load, { error: err.message }), true);
  }
  document.body.dataset.ready = "1";
}

// the camera and day lists of the chosen store (all stores when none): choices that would show nothing are not offered
async function fillForStore() {
  const store = $("#store").value;
  const [opts, days] = await Promise.all([api("filters", { store }), api("days", { store })]);
  const camera = $("#camera").value;
  const day = $("#day").value;
  fillSelect($("#camera"), opts.cameras.map((c) => [c, c]));
  if (opts.cameras.includes(camera)) $("#camera").value = camera;
  fillSelect($("#day"), days.days.map((d) => [d.day, say(S.day_option, { day: d.day, runs: d.runs })]), false);
  if (days.days.some((d) => d.day === day)) $("#day").value = day;
  return opts;
}

async function init() {
  try {
    const opts = await fillForStore();
    fillSelect($("#store"), opts.stores.map((s) => [s, s]));
  } catch (err) {
    setStatus(say(S.could_not_load, { error: err.message }), true);
    document.body.dataset.ready = "1";
    return;
  }
  $("#store").addEventListener("change", () =>
    fillForStore()
      .then(loadDay)
      .catch((err) => setStatus(say(S.could_not_load, { error: err.message }), true)),
  );
  for (const id of ["#day", "#camera"]) $(id).addEventListener("change", loadDay);
  $("#seller").addEventListener("change", () => loadChart().catch((err) => setStatus(err.message, true)));
  await loadDay();
}

init();
