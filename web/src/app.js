// Pedigree's web UI: progressive enhancement of the server-rendered pages. The pages work
// without it; this adds metric charts (uPlot) and the interactive lineage graph (Cytoscape.js,
// dagre layout). Every request goes to the page's own server (the JSON routes under /api/v1/ui).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";

cytoscape.use(dagre);

const PALETTE = ["#1f5fa8", "#b3541e", "#1e6b34", "#7b2d8e", "#a4161a", "#00707a", "#8a5300", "#4a535c"];

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
  return body;
}

// Series of columns {x: [...], y: [...]} -> uPlot's aligned data (x ascending, null where a
// series has no point). One series (a run page) is used as it is.
function align(series) {
  if (series.length === 1) return [series[0].x, series[0].y];
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const columns = series.map((s) => {
    const col = new Array(xs.length).fill(null);
    s.x.forEach((x, i) => { col[index.get(x)] = s.y[i]; });
    return col;
  });
  return [xs, ...columns];
}

function drawChart(container, chart, width) {
  const box = document.createElement("figure");
  box.className = "chart";
  const title = document.createElement("h3");
  title.textContent = chart.key;
  box.appendChild(title);
  container.appendChild(box);
  const opts = {
    width,
    height: 220,
    scales: { x: { time: false } },
    axes: [{ label: chart.x }, {}],
    cursor: { drag: { x: true, y: false } },
    series: [
      { label: chart.x },
      ...chart.series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true })),
    ],
  };
  const plot = new uPlot(opts, align(chart.series), box);
  box.dataset.points = String(chart.series.reduce((n, s) => n + s.x.length, 0));
  return plot;
}

async function charts() {
  for (const container of document.querySelectorAll("[data-charts]")) {
    try {
      const data = await getJSON(container.dataset.charts);
      const width = data.charts.length > 1 ? 440 : 720;
      for (const chart of data.charts) drawChart(container, chart, width);
      container.dataset.ready = "true";
    } catch (err) {
      container.textContent = `charts unavailable: ${err.message}`;
    }
  }
}

function graphElements(data) {
  return [
    ...data.nodes.map((n) => ({ group: "nodes", data: { ...n, label: n.label.length > 28 ? n.label.slice(0, 27) + "…" : n.label }, classes: [n.kind, n.stale ? "stale" : "", n.root ? "root" : ""].join(" ") })),
    ...data.edges.map((e) => ({ group: "edges", data: { id: e.id, source: e.source, target: e.target, rel: e.rel } })),
  ];
}

function panel(node, cy) {
  const aside = document.getElementById("graph-panel");
  aside.replaceChildren();
  const h = document.createElement("h2");
  h.textContent = node.data("label");
  const kind = document.createElement("p");
  kind.textContent = `${node.data("kind")}${node.data("status") ? " · " + node.data("status") : ""}${node.data("stale") ? " · stale" : ""}`;
  const open = document.createElement("a");
  open.href = node.data("url");
  open.id = "graph-open";
  open.textContent = "Open";
  const expand = document.createElement("button");
  expand.type = "button";
  expand.id = "graph-expand";
  expand.textContent = "Expand neighbours";
  expand.addEventListener("click", async () => {
    const more = await getJSON(`/api/v1/ui/lineage?target=${encodeURIComponent(node.data("ref"))}&depth=1`);
    cy.add(graphElements(more).filter((el) => cy.getElementById(el.data.id).length === 0));
    cy.layout({ name: "dagre", rankDir: "LR", animate: false }).run();
    document.getElementById("graph").dataset.nodes = String(cy.nodes().length);
  });
  aside.append(h, kind, open, document.createTextNode(" "), expand);
}

async function graph() {
  const el = document.getElementById("graph");
  if (!el) return;
  const data = await getJSON(el.dataset.graph);
  const cy = cytoscape({
    container: el,
    elements: graphElements(data),
    style: [
      { selector: "node", style: { label: "data(label)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 4, width: 22, height: 22, "background-color": "#b3541e", shape: "round-rectangle" } },
      { selector: "node.run", style: { "background-color": "#1f5fa8", shape: "ellipse" } },
      { selector: "node.root", style: { "border-width": 3, "border-color": "#1b1f23" } },
      { selector: "node.stale", style: { "border-width": 3, "border-style": "dashed", "border-color": "#a4161a" } },
      { selector: "node:selected", style: { "overlay-opacity": 0.2 } },
      { selector: "edge", style: { width: 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle", "line-color": "#8c959f", "target-arrow-color": "#8c959f", label: "data(rel)", "font-size": 8, color: "#4a535c" } },
    ],
    maxZoom: 2,
    layout: { name: "dagre", rankDir: "LR", nodeSep: 30, rankSep: 80, animate: false },
  });
  cy.on("tap", "node", (evt) => panel(evt.target, cy));
  cy.on("dbltap", "node", (evt) => { window.location.href = evt.target.data("url"); });
  window.pedigreeGraph = cy; // for the tests, which click nodes at their rendered positions
  el.dataset.ready = "true";
  el.dataset.nodes = String(cy.nodes().length);
}

function enhance() {
  charts();
  graph().catch((err) => {
    const el = document.getElementById("graph");
    if (el) el.textContent = `graph unavailable: ${err.message}`;
  });
  // The runs table: pressing a column header keeps the filters (plain links already do).
  const compare = document.getElementById("compare-form");
  if (compare) {
    compare.addEventListener("submit", (evt) => {
      const n = compare.querySelectorAll("input[name=runs]:checked").length;
      if (n < 2) {
        evt.preventDefault();
        let note = document.getElementById("compare-note");
        if (!note) {
          note = document.createElement("span");
          note.id = "compare-note";
          note.className = "error";
          note.setAttribute("role", "alert");
          document.getElementById("compare-button").after(note);
        }
        note.textContent = " select at least two runs to compare";
      }
    });
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", enhance);
else enhance();
