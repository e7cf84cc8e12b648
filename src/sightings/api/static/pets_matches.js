// The owner's page of a lost pet: matches from /v1/pets/lost/{id}/matches as a sortable table and a Leaflet map.
// Every visible string comes from the page config (the server's message catalogue); data go into the DOM as text.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("page-config").textContent);
  const S = config.strings;
  const $ = (id) => document.getElementById(id);
  const state = { matches: [], threshold: 0.91, key: "confidence", dir: -1, markers: new Map(), districts: new Set() };

  // ------------------------------------------------------------------ formatting
  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, k) => (k in values ? String(values[k]) : ""));
  }
  function strength(confidence) {
    if (confidence >= state.threshold) return "strong";
    if (confidence >= 0.6) return "good";
    if (confidence >= 0.3) return "fair";
    return "weak";
  }
  const COLOURS = { strong: "#1a7f37", good: "#7cb342", fair: "#f2a900", weak: "#9e9e9e" };
  function when(iso) {
    const d = new Date(iso);
    return d.toLocaleString(config.lang === "ru" ? "ru-RU" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
  }
  function km(value) {
    if (value === null || value === undefined) return "—";
    return fmt(S.km, { km: value < 10 ? value.toFixed(2) : value.toFixed(1) });
  }
  function placeOf(m) {
    if (m.target_kind === "sighting") return m.place ? `${S.camera}: ${m.place.replace(/^camera /, "")}` : S.camera;
    return m.place || S.found_post;
  }
  function speciesOf(m) {
    return m.species === "cat" ? S.cat : m.species === "dog" ? S.dog : S.unknown;
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  // ------------------------------------------------------------------ map
  const map = L.map("map", { zoomControl: true, attributionControl: Boolean(config.tilesUrl), fadeAnimation: false });
  if (config.tilesUrl) {
    L.tileLayer(config.tilesUrl, { maxZoom: 19, attribution: config.attribution || "" }).addTo(map);
  } else {
    $("map").classList.add("no-tiles");
  }
  const markerLayer = L.layerGroup().addTo(map);
  let radius = null;
  if (config.home) {
    L.circleMarker(config.home, { radius: 11, color: "#1f4fbf", weight: 3, fillColor: "#ffffff", fillOpacity: 1,
      className: "home-marker" }).bindTooltip(S.home).addTo(map);
    map.setView(config.home, 13);
  } else {
    map.setView([55.75, 37.62], 10);
  }

  function popupFor(m) {
    const box = el("div", { class: "popup", "data-match-id": m.match_id });
    if (m.photo_url) box.append(el("img", { src: m.photo_url, alt: S.photo, width: "160", loading: "lazy" }));
    const level = strength(m.confidence);
    box.append(
      el("p", { class: "popup-conf" }, el("strong", { text: `${Math.round(m.confidence * 100)} %` }),
        document.createTextNode(` · ${S[level]}${m.sure ? " · " + S.sure : ""}`)),
      el("p", { text: when(m.seen_at) }),
      el("p", { text: placeOf(m) + (m.district ? ` · ${m.district}` : "") }),
      el("p", { text: `${S.distance}: ${km(m.distance_from_home_km)}` }),
    );
    if (m.link) box.append(el("p", {}, el("a", { href: m.link, target: "_blank", rel: "noopener", text: S.open_post })));
    return box;
  }

  function drawMarkers(matches) {
    markerLayer.clearLayers();
    state.markers.clear();
    const points = [];
    for (const m of matches) {
      if (m.lat === null || m.lon === null) continue;
      const level = strength(m.confidence);
      const marker = L.circleMarker([m.lat, m.lon], {
        radius: 12, weight: 2, color: "#ffffff", fillColor: COLOURS[level], fillOpacity: 0.95,
        className: `match-marker strength-${level}`,
      });
      marker.bindPopup(() => popupFor(m), { maxWidth: 220 });
      marker.on("click", () => highlightRow(m.match_id));
      marker.addTo(markerLayer);
      state.markers.set(m.match_id, marker);
      points.push([m.lat, m.lon]);
    }
    if (config.home) points.push(config.home);
    map.invalidateSize({ animate: false });
    if (points.length > 1) map.fitBounds(points, { padding: [30, 30], maxZoom: 15, animate: false });
    else if (points.length === 1) map.setView(points[0], 14, { animate: false });
  }

  function drawRadius(maxKm) {
    if (radius) { radius.remove(); radius = null; }
    if (config.home && maxKm) {
      radius = L.circle(config.home, { radius: maxKm * 1000, color: "#1f4fbf", weight: 1, fill: false, dashArray: "6 6",
        interactive: false }).addTo(map);
    }
  }

  function openMarker(id) {
    const marker = state.markers.get(id);
    if (!marker) return;
    map.panTo(marker.getLatLng(), { animate: false });
    marker.openPopup();
    highlightRow(id);
  }

  // ------------------------------------------------------------------ table
  function highlightRow(id) {
    for (const row of document.querySelectorAll("#matches tbody tr")) {
      row.classList.toggle("selected", row.dataset.matchId === id);
    }
  }

  function compare(a, b) {
    const key = state.key;
    let x = a[key], y = b[key];
    if (key === "place") { x = placeOf(a); y = placeOf(b); }
    if (key === "seen_at") { x = Date.parse(x); y = Date.parse(y); }
    const missing = (v) => v === null || v === undefined || v === "";
    if (missing(x) && missing(y)) return 0;
    if (missing(x)) return 1;  // unknown values last, whatever the direction
    if (missing(y)) return -1;
    if (typeof x === "string") return state.dir * x.localeCompare(y, config.lang);
    return state.dir * (x - y);
  }

  function renderTable() {
    const rows = [...state.matches].sort(compare);
    const body = document.querySelector("#matches tbody");
    body.replaceChildren();
    for (const m of rows) {
      const level = strength(m.confidence);
      const photo = m.photo_url ? el("img", { src: m.photo_url, alt: S.photo, loading: "lazy" }) : el("span", { text: "—" });
      const bar = el("div", { class: "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
        "aria-valuenow": String(Math.round(m.confidence * 100)) }, el("i", { class: level }));
      bar.firstChild.style.width = `${Math.round(m.confidence * 100)}%`;
      const conf = el("td", { class: "conf", "data-label": S.confidence, "data-value": String(m.confidence) },
        el("span", { class: `pct ${level}`, text: `${Math.round(m.confidence * 100)} %` }), bar,
        m.sure ? el("span", { class: "badge", text: S.sure }) : null);
      const show = el("button", { type: "button", class: "show", text: S.show_on_map });
      show.addEventListener("click", (event) => { event.stopPropagation(); openMarker(m.match_id); });
      const row = el("tr", { "data-match-id": m.match_id, class: `row-${level}` },
        el("td", { class: "photo", "data-label": S.photo }, photo),
        conf,
        el("td", { class: "seen", "data-label": S.seen, "data-value": m.seen_at, text: when(m.seen_at) }),
        el("td", { class: "place", "data-label": S.place }, document.createTextNode(placeOf(m)),
          m.link ? el("a", { href: m.link, target: "_blank", rel: "noopener", class: "link", text: S.open_post }) : null),
        el("td", { class: "district", "data-label": S.district, text: m.district || "—" }),
        el("td", { class: "distance", "data-label": S.distance, "data-value": String(m.distance_from_home_km ?? ""),
          text: km(m.distance_from_home_km) }),
        el("td", { class: "species", "data-label": S.species }, document.createTextNode(speciesOf(m)), show),
      );
      row.addEventListener("click", () => openMarker(m.match_id));
      body.append(row);
    }
    for (const th of document.querySelectorAll("#matches th[data-key]")) {
      th.setAttribute("aria-sort", th.dataset.key === state.key ? (state.dir < 0 ? "descending" : "ascending") : "none");
    }
    $("status").textContent = rows.length ? fmt(S.count, { n: rows.length }) : S.no_matches;
  }

  for (const th of document.querySelectorAll("#matches th[data-key]")) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.dataset.key;
      if (state.key === key) state.dir = -state.dir;
      else { state.key = key; state.dir = key === "confidence" || key === "seen_at" ? -1 : 1; }
      renderTable();
    });
  }

  // ------------------------------------------------------------------ data
  function query() {
    const params = new URLSearchParams({ limit: "500", sort: $("sort").value });
    if ($("district").value) params.set("district", $("district").value);
    const maxKm = parseFloat($("max_km").value);
    if (maxKm > 0) params.set("max_km", String(maxKm));
    if ($("since").value) params.set("since", new Date(`${$("since").value}T00:00:00`).toISOString());
    return params;
  }

  function fillDistricts(matches) {
    const select = $("district");
    let added = false;
    for (const m of matches) {
      if (m.district && !state.districts.has(m.district)) { state.districts.add(m.district); added = true; }
    }
    if (!added) return;
    const chosen = select.value;
    const names = [...state.districts].sort((a, b) => a.localeCompare(b, config.lang));
    select.replaceChildren(el("option", { value: "", text: S.all_districts }),
      ...names.map((n) => el("option", { value: n, text: n })));
    select.value = chosen;
  }

  let latest = 0;  // only the answer to the latest request is shown (filters change faster than answers come)
  async function load() {
    const ticket = ++latest;
    $("status").textContent = S.loading;
    const params = query();
    try {
      const response = await fetch(`${config.matchesUrl}?${params}`, { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (ticket !== latest) return;
      if (!response.ok) throw new Error(body.error || response.statusText);
      state.threshold = body.precision_threshold;
      state.matches = body.matches;
      const sort = params.get("sort");
      state.key = sort === "time" ? "seen_at" : sort === "distance" ? "distance_from_home_km" : "confidence";
      state.dir = sort === "distance" ? 1 : -1;
      fillDistricts(body.matches);
      renderTable();
      drawMarkers(body.matches);
      drawRadius(parseFloat($("max_km").value) || null);
      document.body.dataset.loaded = String(Date.now());
    } catch (err) {
      if (ticket === latest) $("status").textContent = fmt(S.error, { error: err.message });
    }
  }

  $("filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("filters").addEventListener("reset", () => setTimeout(load, 0));
  for (const id of ["district", "sort", "since"]) $(id).addEventListener("change", load);
  load();
})();
