// The chat page: conversations in the side bar, the current one's messages,
// and a composer that streams a reply from POST /v1/messages. Replies are
// rendered by markdown.js (text nodes only, never HTML).
import { ApiError, apiFetch } from "./api.js";
import { renderMarkdown } from "./markdown.js";
import { readEvents } from "./sse.js";
import { Store, loadSettings, saveSettings } from "./store.js";

const $ = (id) => document.getElementById(id);
const store = new Store();
const settings = loadSettings();
let running = null;  // {controller} while a reply streams

// --- conversations -------------------------------------------------------------

function titleFrom(text) {
  const line = text.trim().split("\n")[0];
  return line.length > 40 ? line.slice(0, 40) + "…" : line || "New chat";
}

function renderSidebar() {
  const list = $("conversations");
  list.replaceChildren();
  for (const c of store.conversations) {
    const li = document.createElement("li");
    li.className = c.id === store.currentId ? "current" : "";
    li.dataset.id = c.id;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "title";
    open.textContent = c.title;
    open.addEventListener("click", () => {
      if (running) return;
      store.select(c.id);
      renderAll();
      document.body.classList.remove("sidebar-open");
    });
    const rename = document.createElement("button");
    rename.type = "button";
    rename.className = "rename icon";
    rename.title = "Rename";
    rename.setAttribute("aria-label", "Rename");
    rename.textContent = "✎";
    rename.addEventListener("click", () => startRename(li, c));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "delete icon";
    remove.title = "Delete";
    remove.setAttribute("aria-label", "Delete");
    remove.textContent = "✕";
    remove.addEventListener("click", () => {
      if (running && c.id === store.currentId) return;
      store.remove(c.id);
      renderAll();
    });
    li.append(open, rename, remove);
    list.appendChild(li);
  }
}

// Replaces the title with an input: Enter or leaving it saves, Escape cancels.
function startRename(li, conversation) {
  const input = document.createElement("input");
  input.className = "rename-input";
  input.value = conversation.title;
  input.setAttribute("aria-label", "New name");
  let done = false;
  const finish = (save) => {
    if (done) return;
    done = true;
    if (save) store.rename(conversation.id, input.value);
    renderSidebar();
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") finish(true);
    if (event.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true));
  li.querySelector(".title").replaceWith(input);
  input.focus();
  input.select();
}

// --- messages --------------------------------------------------------------------

function statsText(stats) {
  const parts = [`${stats.outputTokens} tokens`];
  if (stats.tokensPerSecond !== null) parts.push(`${stats.tokensPerSecond.toFixed(1)} tok/s`);
  if (stats.ttftMs !== null) parts.push(`first token ${Math.round(stats.ttftMs)} ms`);
  if (stats.stopReason) parts.push(stats.stopReason);
  return parts.join(" · ");
}

// One message's element: the text (a user's as typed, a reply as Markdown),
// then the reply's numbers or error.
function messageNode(message) {
  const node = document.createElement("article");
  node.className = "message " + message.role;
  const body = document.createElement("div");
  body.className = "body";
  if (message.role === "user") {
    body.textContent = message.content;
  } else {
    body.appendChild(renderMarkdown(message.content));
  }
  // A reply that ended before its first word shows only why.
  const ended = message.error || message.stopped;
  if (message.role === "user" || message.content || !ended) node.appendChild(body);
  if (message.role === "assistant") {
    const meta = document.createElement("div");
    meta.className = "meta";
    if (message.stats) meta.textContent = statsText(message.stats);
    if (message.stopped) meta.textContent += (meta.textContent ? " · " : "") + "stopped";
    node.appendChild(meta);
    if (message.error) {
      const error = document.createElement("div");
      error.className = "error";
      error.setAttribute("role", "alert");
      error.textContent = message.error;
      node.appendChild(error);
    }
  }
  return node;
}

function renderMessages() {
  const box = $("messages");
  box.replaceChildren();
  const conversation = store.current();
  if (!conversation || conversation.messages.length === 0) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "Ask the model something.";
    box.appendChild(empty);
    return;
  }
  for (const message of conversation.messages) box.appendChild(messageNode(message));
  box.scrollTop = box.scrollHeight;
}

function renderAll() {
  renderSidebar();
  renderMessages();
}

function showError(text) {
  const box = $("error");
  box.textContent = text || "";
  box.hidden = !text;
}

// --- sending ---------------------------------------------------------------------

// The Messages API's turns: a reply that failed with no text is left out,
// with the question it answered, so turns still alternate.
function apiMessages(messages) {
  const out = [];
  for (const m of messages) {
    if (m.role === "assistant" && !m.content) {
      if (out.length && out[out.length - 1].role === "user") out.pop();
      continue;
    }
    out.push({ role: m.role, content: m.content });
  }
  return out;
}

function requestBody(conversation) {
  const body = {
    model: settings.model || "default",
    max_tokens: Math.max(1, Math.floor(Number(settings.maxTokens) || 1024)),
    temperature: Math.min(2, Math.max(0, Number(settings.temperature) || 0)),
    stream: true,
    messages: apiMessages(conversation.messages),
  };
  if (settings.system.trim()) body.system = settings.system;
  if (settings.schema.trim()) {
    body.output_format = { type: "json_schema", schema: JSON.parse(settings.schema) };
  }
  return body;
}

function setRunning(on) {
  $("send").hidden = on;
  $("stop").hidden = !on;
  $("prompt").disabled = false;
}

async function send() {
  const text = $("prompt").value;
  if (running || !text.trim()) return;
  showError("");
  let conversation = store.current() || store.create();
  if (conversation.messages.length === 0) conversation.title = titleFrom(text);
  let body;
  try {
    conversation.messages.push({ role: "user", content: text });
    body = requestBody(conversation);
  } catch (err) {
    conversation.messages.pop();
    showError("The JSON schema in Settings is not valid JSON: " + err.message);
    return;
  }
  $("prompt").value = "";
  const reply = { role: "assistant", content: "" };
  conversation.messages.push(reply);
  store.save();
  renderAll();
  const node = $("messages").lastElementChild;
  node.classList.add("streaming");

  const controller = new AbortController();
  running = { controller };
  setRunning(true);
  const started = performance.now();
  let firstToken = null;
  let outputTokens = 0;
  let stopReason = "";
  let drawPending = false;
  const draw = () => {
    drawPending = false;
    node.querySelector(".body").replaceChildren(renderMarkdown(reply.content));
    const box = $("messages");
    box.scrollTop = box.scrollHeight;
  };
  try {
    const res = await apiFetch("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    for await (const { event, data } of readEvents(res.body)) {
      if (event === "content_block_delta" && data?.delta?.type === "text_delta") {
        if (firstToken === null) firstToken = performance.now();
        reply.content += data.delta.text;
        if (!drawPending) {
          drawPending = true;
          requestAnimationFrame(draw);
        }
      } else if (event === "message_delta") {
        outputTokens = data?.usage?.output_tokens ?? outputTokens;
        stopReason = data?.delta?.stop_reason ?? stopReason;
      } else if (event === "error") {
        throw new ApiError(data?.error?.type || "api_error", 200,
          "The reply broke off: " + (data?.error?.message || "server error"));
      }
    }
  } catch (err) {
    if (err.name === "AbortError") {
      reply.stopped = true;
    } else {
      reply.error = err instanceof ApiError ? err.message : "Unexpected error: " + err.message;
    }
  } finally {
    const ended = performance.now();
    if (firstToken !== null || outputTokens > 0) {
      const seconds = firstToken === null ? 0 : (ended - firstToken) / 1000;
      reply.stats = {
        outputTokens,
        ttftMs: firstToken === null ? null : firstToken - started,
        tokensPerSecond: seconds > 0 && outputTokens > 1 ? (outputTokens - 1) / seconds : null,
        stopReason,
      };
    }
    running = null;
    setRunning(false);
    store.save();
    renderAll();
    $("prompt").focus();
  }
}

function stop() {
  if (running) running.controller.abort();
}

// --- models and settings ---------------------------------------------------------

async function loadModels() {
  try {
    const res = await apiFetch("/v1/models");
    const models = (await res.json()).data || [];
    const select = $("model");
    select.replaceChildren();
    for (const m of models) {
      const option = document.createElement("option");
      option.value = m.id;
      option.textContent = m.display_name || m.id;
      select.appendChild(option);
    }
    if (!models.some((m) => m.id === settings.model)) settings.model = models[0]?.id || "";
    select.value = settings.model;
    $("model-picker").hidden = models.length < 2;
    $("model-name").textContent = models.length === 1 ? models[0].id : "";
  } catch (err) {
    showError(err.message);
  }
}

function bindSettings() {
  $("system").value = settings.system;
  $("temperature").value = settings.temperature;
  $("max-tokens").value = settings.maxTokens;
  $("schema").value = settings.schema;
  const update = () => {
    settings.system = $("system").value;
    settings.temperature = Number($("temperature").value);
    settings.maxTokens = Number($("max-tokens").value);
    settings.schema = $("schema").value;
    settings.model = $("model").value || settings.model;
    saveSettings(settings);
  };
  for (const id of ["system", "temperature", "max-tokens", "schema", "model"]) {
    $(id).addEventListener("input", update);
    $(id).addEventListener("change", update);
  }
  $("toggle-settings").addEventListener("click", () => {
    $("settings").hidden = !$("settings").hidden;
  });
}

// --- wiring ----------------------------------------------------------------------

function init() {
  bindSettings();
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  $("stop").addEventListener("click", stop);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && running) stop();
  });
  $("new-chat").addEventListener("click", () => {
    if (running) return;
    store.create();
    renderAll();
    document.body.classList.remove("sidebar-open");
    $("prompt").focus();
  });
  $("toggle-sidebar").addEventListener("click", () => {
    document.body.classList.toggle("sidebar-open");
  });
  renderAll();
  loadModels();
  $("prompt").focus();
}

init();
