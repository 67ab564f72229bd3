// coopqa workspace: chat (streamed answers), source reader, visit cards, briefing. No dependencies.
"use strict";

const $ = (sel) => document.querySelector(sel);
const docs = new Map(); // doc_id -> Promise of /api/docs/{id}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

async function getJSON(url, options) {
  const resp = await fetch(url, options);
  const data = await resp.json().catch(() => ({ error: `${resp.status} ${resp.statusText}` }));
  if (!resp.ok) throw new Error(data.error || `${resp.status}`);
  return data;
}

function docIdOf(sid) {
  return sid.slice(0, sid.lastIndexOf(":s"));
}

// A link that opens sentence `sid` in the reader.
function sentenceLink(sid, text, cls = "ev") {
  return el("a", { class: cls, href: `#doc=${encodeURIComponent(docIdOf(sid))}&s=${encodeURIComponent(sid)}`,
                   "data-sid": sid, title: sid }, text);
}

// ---------------------------------------------------------------- views

function showView(name) {
  for (const b of document.querySelectorAll("nav button")) b.setAttribute("aria-selected", String(b.dataset.view === name));
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== `view-${name}`;
  if (name === "visits") loadVisits();
  if (name === "brief") loadBrief();
}

// ---------------------------------------------------------------- reader

function loadDoc(docId) {
  if (!docs.has(docId)) {
    const p = getJSON(`/api/docs/${encodeURIComponent(docId)}`);
    p.catch(() => docs.delete(docId));
    docs.set(docId, p);
  }
  return docs.get(docId);
}

async function openReader(docId, sid) {
  let doc;
  try {
    doc = await loadDoc(docId);
  } catch (e) {
    $("#reader-empty").hidden = false;
    $("#reader-doc").hidden = true;
    $("#reader-empty p").textContent = `Cannot open ${docId}: ${e.message}`;
    return;
  }
  const article = $("#reader-text");
  if (article.dataset.doc !== doc.doc_id) {
    article.replaceChildren();
    let pos = 0;
    for (const s of doc.sentences) {
      if (s.start > pos) article.append(doc.text.slice(pos, s.start));
      article.append(el("span", { class: s.boilerplate ? "sent boilerplate" : "sent", "data-sid": s.id, dir: "auto" },
                        s.text));
      pos = s.end;
    }
    if (pos < doc.text.length) article.append(doc.text.slice(pos));
    article.dir = doc.direction;
    article.lang = doc.language;
    article.dataset.doc = doc.doc_id;
    $("#reader-title").textContent = doc.title || doc.doc_id;
    $("#reader-meta").textContent = [doc.doc_id, doc.language, doc.date || "undated",
                                     `${doc.sentences.length} sentences`].join(" · ");
  }
  $("#reader-empty").hidden = true;
  $("#reader-doc").hidden = false;
  for (const old of article.querySelectorAll(".sent.hl")) old.classList.remove("hl");
  const target = sid && article.querySelector(`.sent[data-sid="${CSS.escape(sid)}"]`);
  if (target) {
    target.classList.add("hl");
    target.scrollIntoView({ block: "center" });
  } else {
    $("#reader").scrollTop = 0;
  }
}

function openFromHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("doc")) openReader(params.get("doc"), params.get("s"));
}

window.addEventListener("hashchange", openFromHash);

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-sid], a[data-doc]");
  if (!link) return;
  event.preventDefault();
  const sid = link.dataset.sid || null;
  const docId = link.dataset.doc || docIdOf(sid);
  history.replaceState(null, "", link.getAttribute("href"));
  openReader(docId, sid);
});

async function loadDocList() {
  try {
    const rows = await getJSON("/api/docs");
    $("#doc-list").replaceChildren(...rows.map((r) => el("li", {},
      el("a", { href: `#doc=${encodeURIComponent(r.doc_id)}`, "data-doc": r.doc_id, dir: "auto" }, r.title || r.doc_id),
      el("span", { class: "muted" }, ` · ${r.language} · ${r.date || "undated"}`))));
  } catch (e) {
    $("#doc-list").replaceChildren(el("li", { class: "muted" }, e.message));
  }
}

// ---------------------------------------------------------------- chat

function renderAnswer(result) {
  const byMarker = new Map(result.citations.map((c) => [c.marker, c]));
  const answer = el("p", { class: "answer", dir: "auto" });
  let last = 0;
  for (const m of result.answer.matchAll(/\[(\d+)\]/g)) {
    const c = byMarker.get(Number(m[1]));
    if (!c) continue;
    answer.append(result.answer.slice(last, m.index), sentenceLink(c.id, `[${c.marker}]`, "cite"));
    last = m.index + m[0].length;
  }
  answer.append(result.answer.slice(last));
  const nodes = [answer];
  if (result.citations.length) {
    nodes.push(el("ol", { class: "sources" }, result.citations.map((c) =>
      el("li", { value: c.marker }, sentenceLink(c.id, el("bdi", {}, c.text)), " ", el("code", {}, c.id)))));
  }
  return nodes;
}

async function* serverEvents(resp) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      yield { event, data: JSON.parse(data.join("\n") || "null") };
    }
  }
}

async function ask(question) {
  const chat = $("#chat");
  chat.append(el("div", { class: "msg user", dir: "auto" }, question));
  const state = el("div", { class: "state" }, "sending…");
  const draft = el("p", { class: "draft", dir: "auto" });
  const bubble = el("div", { class: "msg bot", "data-state": "pending" }, state, draft);
  chat.append(bubble);
  bubble.scrollIntoView({ block: "end" });
  const finish = (status, nodes) => {
    bubble.dataset.state = status;
    bubble.classList.toggle(status, status !== "done");
    bubble.replaceChildren(...nodes);
    bubble.scrollIntoView({ block: "end" });
  };
  try {
    const resp = await fetch("/api/ask/stream", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ question }),
    });
    if (!resp.ok) {
      const data = await resp.json().catch(() => ({}));
      throw new Error(data.error || `${resp.status} ${resp.statusText}`);
    }
    for await (const { event, data } of serverEvents(resp)) {
      if (event === "queued") state.textContent = `waiting for the model (${data.ahead} ahead)…`;
      else if (event === "start") state.textContent = "the model is writing (draft, not yet checked)…";
      else if (event === "draft") {
        draft.append(data.text);
        bubble.dataset.state = "streaming";
        bubble.dataset.drafts = String(Number(bubble.dataset.drafts || 0) + 1);
      }
      else if (event === "answer") {
        const meta = el("div", { class: "state" },
          `${data.abstained ? "abstained" : `${data.citations.length} citation(s), verified`} · ${data.elapsed_s} s`);
        return finish(data.abstained ? "abstained" : "done", [...renderAnswer(data), meta]);
      } else if (event === "error") throw new Error(data.error);
    }
    throw new Error("the server closed the stream without an answer");
  } catch (e) {
    finish("error", [el("p", { class: "answer" }, `error: ${e.message}`)]);
  }
}

$("#ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("#question");
  const question = input.value.trim();
  if (!question) return;
  const button = $("#ask-button");
  button.disabled = true;
  input.value = "";
  try { await ask(question); } finally { button.disabled = false; input.focus(); }
});

$("#question").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("#ask-form").requestSubmit();
  }
});

// ---------------------------------------------------------------- visits

// The value (text or nodes), linked to its first evidence sentence; further evidence as small numbered links.
function evidenced(value, evidence) {
  const ids = evidence || [];
  const shown = typeof value === "string" ? el("bdi", {}, value) : el("span", {}, value);
  if (!ids.length) return [shown];
  return [sentenceLink(ids[0], shown),
          ...ids.slice(1).map((sid, i) => sentenceLink(sid, `[${i + 2}]`, "ev more"))];
}

function joined(items) {
  const out = [];
  items.forEach((nodes, i) => { if (i) out.push(", "); out.push(...nodes); });
  return out;
}

function card(s) {
  const fields = [];
  const add = (label, nodes) => { if (nodes.length) fields.push(el("dt", {}, label), el("dd", {}, nodes)); };
  if (s.date) add("Date", evidenced(s.date_text && s.date_text !== s.date ? `${s.date} (${s.date_text})` : s.date,
                                    s.date_evidence));
  const loc = s.location || {};
  const place = [loc.city, loc.country].filter(Boolean).join(", ");
  if (place) add("Place", evidenced(place, loc.evidence));
  add("Parties", joined([
    ...s.countries.map((c) => evidenced(c.name, c.evidence)),
    ...s.participants.map((p) => evidenced([
      el("bdi", {}, p.name),
      ...(p.name_original && p.name_original !== p.name ? [" (", el("bdi", {}, p.name_original), ")"] : []),
      ...(p.role ? [" — ", el("bdi", {}, p.role)] : []),
    ], p.evidence)),
  ]));
  add("Organizations", joined(s.organizations.map((o) => evidenced(o.name, o.evidence))));
  add("Agreements", joined(s.agreements.map((a) => evidenced(
    `${a.kind} (${a.status})${a.parties.length ? ` — ${a.parties.join(", ")}` : ""}${a.description ? `: ${a.description}` : ""}`,
    a.evidence))));
  add("Areas", joined(s.cooperation_areas.map((a) => evidenced(a.area.replaceAll("_", " "), a.evidence))));
  add("Next steps", joined(s.follow_ups.map((f) => evidenced(f.text, f.evidence))));
  const head = el("summary", {}, el("bdi", {}, s.title || s.doc_id),
                  el("span", { class: "muted" }, ` · ${s.date || "undated"}${place ? ` · ${place}` : ""}`));
  const body = [el("dl", {}, fields)];
  if (s.summary) body.unshift(el("p", { dir: "auto" }, ...evidenced(s.summary, s.summary_evidence)));
  body.push(el("p", {}, el("a", { href: `#doc=${encodeURIComponent(s.doc_id)}`, "data-doc": s.doc_id }, "Read the article"),
               el("span", { class: "muted" }, ` · ${s.doc_id} · ${s.language}`)));
  return el("details", { class: "card", "data-doc": s.doc_id }, head, ...body);
}

async function loadVisits() {
  const cards = $("#cards");
  try {
    const summaries = await getJSON("/api/visits");
    cards.replaceChildren(...(summaries.length ? summaries.map(card)
      : [el("p", { class: "muted" }, "No summaries yet: run `coopqa summarize --all`.")]));
  } catch (e) {
    cards.replaceChildren(el("p", { class: "muted" }, e.message));
  }
}

// ---------------------------------------------------------------- briefing

async function loadBrief() {
  const country = $("#brief-country").value.trim();
  const query = (fmt) => `/api/brief?${new URLSearchParams({ format: fmt, ...(country ? { country } : {}) })}`;
  $("#download-md").href = `${query("md")}&download=true`;
  $("#download-html").href = `${query("html")}&download=true`;
  const message = $("#brief-message");
  try {
    const resp = await fetch(query("html"));
    if (!resp.ok) throw new Error((await resp.json().catch(() => ({}))).error || resp.statusText);
    $("#brief-frame").srcdoc = await resp.text();
    message.hidden = true;
  } catch (e) {
    message.textContent = e.message;
    message.hidden = false;
    $("#brief-frame").srcdoc = "";
  }
}

$("#brief-form").addEventListener("submit", (event) => { event.preventDefault(); loadBrief(); });

// ---------------------------------------------------------------- start

for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => showView(b.dataset.view));

(async () => {
  loadDocList();
  openFromHash();
  try {
    const h = await getJSON("/healthz");
    $("#status").textContent = `${h.documents} articles · ${h.summaries} summaries`;
  } catch (e) {
    $("#status").textContent = `server: ${e.message}`;
  }
})();
