// The ceph-zoo viewer: upload one cephalogram to the API of the server that served this page, draw
// the answer over the image exactly as returned (original pixels; integer values are pixel centres,
// hence the +0.5 into SVG's corner-based coordinates), and offer the JSON as a file. No libraries,
// no network beyond this server.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const state = { names: {}, imageUrl: null, jsonUrl: null, entry: null };

  function setStatus(text, isError) {
    $("status").textContent = text;
    $("status").className = isError ? "error" : "";
  }

  function fmt(value, digits) {
    return typeof value === "number" && isFinite(value) ? value.toFixed(digits) : "n/a";
  }

  async function loadModel() {
    try {
      const response = await fetch("v1/model");
      const info = await response.json();
      if (!response.ok) throw new Error(info.message || response.statusText);
      (info.landmarks || []).forEach((symbol, i) => { state.names[symbol] = (info.landmark_names || [])[i] || symbol; });
      $("model-line").textContent = `Model ${info.name} \u00b7 ${info.landmark_set}, ${info.landmarks.length} landmarks` +
        ` \u00b7 ${info.runtime} \u00b7 zoo ${info.version || "?"}` +
        ` \u00b7 uploads up to ${info.limits.max_upload_mb} MiB, ${info.limits.max_pixels / 1e6} MP`;
    } catch (err) {
      $("model-line").textContent = `Could not read the model information: ${err.message}`;
    }
  }

  function showTooltip(event, lines) {
    const tip = $("tooltip");
    tip.textContent = lines.join("\n");
    tip.hidden = false;
    const x = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 4);
    const y = Math.min(event.clientY + 14, window.innerHeight - tip.offsetHeight - 4);
    tip.style.left = `${Math.max(0, x)}px`;
    tip.style.top = `${Math.max(0, y)}px`;
  }

  function hideTooltip() { $("tooltip").hidden = true; }

  function landmarkLines(symbol, lm, coverage) {
    const lines = [`${symbol} \u2014 ${state.names[symbol] || symbol}`,
      `confidence ${fmt(lm.confidence, 3)}${lm.low_confidence ? " (low)" : ""}`,
      `x ${fmt(lm.x, 1)}, y ${fmt(lm.y, 1)} px`];
    if (typeof lm.x_mm === "number") lines.push(`x ${fmt(lm.x_mm, 2)}, y ${fmt(lm.y_mm, 2)} mm`);
    if (typeof lm.uncertainty_px === "number") {
      const mm = typeof lm.uncertainty_mm === "number" ? ` (${fmt(lm.uncertainty_mm, 2)} mm)` : "";
      const odds = typeof coverage === "number" ? `${Math.round(100 * coverage)}% ` : "";
      lines.push(`${odds}within ${fmt(lm.uncertainty_px, 1)} px${mm}`);
    }
    return lines;
  }

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  // Display scale: the whole image fits the page width and most of the window height, small images
  // are enlarged; markers and labels keep a constant size on screen whatever the image's resolution.
  function displayScale(entry) {
    const available = Math.max(200, $("result").clientWidth - 48);
    return Math.min(available / entry.width, (0.8 * window.innerHeight) / entry.height);
  }

  function layout(entry) {
    const scale = displayScale(entry);
    const w = `${entry.width * scale}px`, h = `${entry.height * scale}px`;
    for (const node of [$("image"), $("figure")]) { node.style.width = w; node.style.height = h; }
    return scale;
  }

  function drawLandmarks(entry, scale) {
    const svg = $("overlay");
    svg.replaceChildren();
    svg.setAttribute("viewBox", `0 0 ${entry.width} ${entry.height}`);
    const r = 4 / scale, fontSize = 13 / scale;
    for (const [symbol, lm] of Object.entries(entry.landmarks)) {
      const cx = lm.x + 0.5, cy = lm.y + 0.5;
      const g = el("g", { class: lm.low_confidence ? "lm low" : "lm", "data-symbol": symbol }, svg);
      // the radius that holds the true landmark with the entry's uncertainty_coverage (calibrated models)
      if (typeof lm.uncertainty_px === "number" && lm.uncertainty_px > 0) {
        el("circle", { class: "uncertainty", cx, cy, r: lm.uncertainty_px, "stroke-width": 1 / scale }, g);
      }
      el("circle", { class: "hit", cx, cy, r: 2.5 * r }, g);
      el("circle", { class: "dot", cx, cy, r, "stroke-width": r / 3 }, g);
      const label = el("text", { x: cx + 1.6 * r, y: cy - 1.2 * r, "font-size": fontSize, "stroke-width": fontSize / 6 }, g);
      label.textContent = symbol;
      const lines = landmarkLines(symbol, lm, entry.uncertainty_coverage);
      g.addEventListener("mouseenter", (ev) => { g.classList.add("active"); showTooltip(ev, lines); });
      g.addEventListener("mousemove", (ev) => showTooltip(ev, lines));
      g.addEventListener("mouseleave", () => { g.classList.remove("active"); hideTooltip(); });
    }
  }

  function render(entry) {
    drawLandmarks(entry, layout(entry));
  }

  function fillLandmarkTable(entry) {
    const body = $("landmark-table").querySelector("tbody");
    body.replaceChildren();
    for (const [symbol, lm] of Object.entries(entry.landmarks)) {
      const row = body.insertRow();
      row.dataset.symbol = symbol;
      if (lm.low_confidence) row.className = "low";
      [symbol, state.names[symbol] || symbol].forEach((t) => { row.insertCell().textContent = t; });
      [fmt(lm.x, 1), fmt(lm.y, 1), fmt(lm.confidence, 3) + (lm.low_confidence ? " (low)" : "")].forEach((t) => {
        const cell = row.insertCell();
        cell.textContent = t;
        cell.className = "num";
      });
      const marker = () => $("overlay").querySelector(`g[data-symbol="${CSS.escape(symbol)}"]`);
      row.addEventListener("mouseenter", () => marker() && marker().classList.add("active"));
      row.addEventListener("mouseleave", () => marker() && marker().classList.remove("active"));
    }
  }

  // The quality gate's verdict, above the image: a rejected image's landmarks are shown, never measured.
  function showQuality(entry) {
    const box = $("quality");
    const quality = entry.quality;
    if (!quality || !quality.status) { box.hidden = true; return; }
    const headline = {
      ok: "Quality gate: ok",
      suspect: "Quality gate: SUSPECT \u2014 check the landmarks before using the measurements",
      reject: "Quality gate: REJECTED \u2014 this does not read as a cephalogram the model knows; measurements unavailable",
      unchecked: "Quality gate: unchecked (this model has no quality calibration)",
    }[quality.status] || `Quality gate: ${quality.status}`;
    const reasons = Array.isArray(quality.reasons) ? quality.reasons : [];
    box.replaceChildren();
    box.appendChild(document.createElement("strong")).textContent = headline;
    if (reasons.length) {
      const list = box.appendChild(document.createElement("ul"));
      reasons.forEach((r) => { list.appendChild(document.createElement("li")).textContent = r; });
    }
    box.className = `quality ${quality.status}`;
    box.hidden = false;
  }

  function fillAnalysis(entry) {
    const analysis = entry.analysis;
    const rejected = Boolean(entry.quality && entry.quality.status === "reject");
    const box = $("analysis");
    const body = $("analysis-table").querySelector("tbody");
    body.replaceChildren();
    if (!analysis || !Array.isArray(analysis.measurements)) { box.hidden = true; return; }
    for (const m of analysis.measurements) {
      const row = body.insertRow();
      const available = m.available && !rejected;  // a rejected image shows no number, whatever the rows say
      if (!available) row.className = "unavailable";
      const value = available ? `${fmt(m.value, 2)} ${m.unit}` : "n/a";
      const reason = m.reason || (rejected ? "image rejected by the quality gate" : "");
      const meaning = available ? [m.class !== null && m.class !== undefined ? `class ${m.class}` : "", m.interpretation || ""]
        .filter(Boolean).join(": ") : `unavailable: ${reason}`;
      [m.analysis || "", m.name, value, m.normal_range || "", meaning].forEach((t) => { row.insertCell().textContent = t; });
    }
    box.hidden = false;
  }

  function offerJson(result, fileName) {
    if (state.jsonUrl) URL.revokeObjectURL(state.jsonUrl);
    const blob = new Blob([JSON.stringify(result, null, 2) + "\n"], { type: "application/json" });
    state.jsonUrl = URL.createObjectURL(blob);
    const link = $("download");
    link.href = state.jsonUrl;
    link.download = `${fileName.replace(/\.[^.]*$/, "") || "image"}.landmarks.json`;
  }

  function showImage(file, entry) {
    return new Promise((resolve) => {
      const img = $("image"), figure = $("figure"), note = $("image-note");
      if (state.imageUrl) URL.revokeObjectURL(state.imageUrl);
      state.imageUrl = URL.createObjectURL(file);
      figure.classList.remove("no-image");
      note.hidden = true;
      img.onload = () => {
        if (img.naturalWidth !== entry.width || img.naturalHeight !== entry.height) {
          note.textContent = `The browser shows this image at ${img.naturalWidth}x${img.naturalHeight}, the model read ` +
            `${entry.width}x${entry.height}: the overlay follows the model's pixels.`;
          note.hidden = false;
        }
        resolve();
      };
      img.onerror = () => {  // e.g. TIFF: the landmarks still come, on a blank canvas of the image's size
        figure.classList.add("no-image");
        note.textContent = "This browser cannot display the image format; the landmarks are drawn on a blank canvas.";
        note.hidden = false;
        resolve();
      };
      img.src = state.imageUrl;
    });
  }

  async function submit(event) {
    event.preventDefault();
    const file = $("file").files[0];
    if (!file) { setStatus("Choose an image first.", true); return; }
    const data = new FormData();
    data.append("file", file, file.name);
    for (const [id, field] of [["ruler-mm", "ruler_mm"], ["spacing-mm", "spacing_mm"]]) {
      if ($(id).value.trim()) data.append(field, $(id).value.trim());
    }
    data.append("analyze", $("analyze").checked ? "true" : "false");
    $("submit").disabled = true;
    setStatus(`Detecting landmarks on ${file.name}\u2026`);
    const started = performance.now();
    try {
      const response = await fetch("v1/landmarks", { method: "POST", body: data });
      let result;
      try { result = await response.json(); } catch (err) { result = { message: response.statusText }; }
      if (!response.ok) {
        setStatus(`Error ${response.status}: ${result.message || result.error || "request failed"}`, true);
        return;
      }
      const entry = result.predictions[0];
      $("result").hidden = false;
      await showImage(file, entry);
      state.entry = entry;
      render(entry);
      fillLandmarkTable(entry);
      showQuality(entry);
      fillAnalysis(entry);
      offerJson(result, file.name);
      const scale = entry.mm_per_pixel ? `, ${fmt(entry.mm_per_pixel, 4)} mm/px (${entry.mm_per_pixel_source})` : "";
      $("result-line").textContent = `${entry.image}: ${entry.width}x${entry.height} px, ` +
        `${Object.keys(entry.landmarks).length} landmarks${scale}. Hover a landmark for its confidence.`;
      $("result").hidden = false;
      setStatus(`Done in ${((performance.now() - started) / 1000).toFixed(2)} s.`);
    } catch (err) {
      setStatus(`Request failed: ${err.message}`, true);
    } finally {
      $("submit").disabled = false;
    }
  }

  $("upload-form").addEventListener("submit", submit);
  window.addEventListener("resize", () => { if (state.entry) render(state.entry); });
  loadModel();
})();
