// Conversations and settings, kept in the browser's localStorage so they
// survive a reload. A conversation: {id, title, created, messages: [{role,
// content, stats?, error?, stopped?}]}.

const CONVERSATIONS = "pensieve.conversations";
const CURRENT = "pensieve.current";
const SETTINGS = "pensieve.settings";

function read(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key));
    return value ?? fallback;
  } catch {
    return fallback;  // a damaged entry is dropped, not fatal
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the chat still works, it just is not kept.
  }
}

function newId() {
  return Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
}

export class Store {
  constructor() {
    const list = read(CONVERSATIONS, []);
    this.conversations = Array.isArray(list) ? list.filter((c) => c && c.id) : [];
    this.currentId = read(CURRENT, null);
    if (!this.find(this.currentId)) this.currentId = this.conversations[0]?.id ?? null;
  }

  find(id) {
    return this.conversations.find((c) => c.id === id) || null;
  }

  current() {
    return this.find(this.currentId);
  }

  // Newest first.
  create() {
    const conversation = { id: newId(), title: "New chat", created: Date.now(), messages: [] };
    this.conversations.unshift(conversation);
    this.select(conversation.id);
    return conversation;
  }

  select(id) {
    this.currentId = id;
    this.save();
  }

  rename(id, title) {
    const c = this.find(id);
    if (c && title.trim()) c.title = title.trim().slice(0, 200);
    this.save();
  }

  remove(id) {
    this.conversations = this.conversations.filter((c) => c.id !== id);
    if (this.currentId === id) this.currentId = this.conversations[0]?.id ?? null;
    this.save();
  }

  save() {
    write(CONVERSATIONS, this.conversations);
    write(CURRENT, this.currentId);
  }
}

export const DEFAULT_SETTINGS = { system: "", temperature: 0.7, maxTokens: 1024, schema: "", model: "" };

export function loadSettings() {
  return { ...DEFAULT_SETTINGS, ...read(SETTINGS, {}) };
}

export function saveSettings(settings) {
  write(SETTINGS, settings);
}
