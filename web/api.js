// Talking to this server: the API key (asked for once on a 401, kept in
// localStorage, sent as x-api-key), and a plain-words message for every
// error the server or the network can give.

const KEY_STORAGE = "pensieve.apiKey";

export function storedKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

// Headers for every API call: the key when one is stored.
export function apiHeaders(extra = {}) {
  const headers = { "anthropic-version": "2023-06-01", ...extra };
  const key = storedKey();
  if (key) headers["x-api-key"] = key;
  return headers;
}

// An error the page shows as it is. `kind` is the server's error type (or
// "unreachable"), `status` the HTTP status (0 when there was no reply).
export class ApiError extends Error {
  constructor(kind, status, message) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

// The plain-words message for an error envelope {type, error: {type, message}}.
export function describeError(status, envelope) {
  const type = envelope?.error?.type || "api_error";
  const detail = envelope?.error?.message || "";
  switch (type) {
    case "overloaded_error":
      return new ApiError(type, status,
        "The server is busy: every generation slot is taken. Try again in a moment." +
        (detail ? ` (${detail})` : ""));
    case "authentication_error":
      return new ApiError(type, status, "The API key was refused. " + detail);
    case "invalid_request_error":
      if (/too long|context|exceeds/i.test(detail)) {
        return new ApiError(type, status,
          "The conversation is too long for this model's context: start a new chat " +
          "or lower max tokens. (" + detail + ")");
      }
      return new ApiError(type, status, "The server refused the request: " + detail);
    case "permission_error":
      return new ApiError(type, status, "The server refused this page: " + detail);
    case "rate_limit_error":
      return new ApiError(type, status, "Too many requests: " + detail);
    default:
      return new ApiError(type, status, `Server error ${status} (${type})` +
        (detail ? `: ${detail}` : ""));
  }
}

export function unreachable() {
  return new ApiError("unreachable", 0,
    "The server is unreachable: is `pensieve serve` still running?");
}

// Reads an error reply's body (the JSON envelope, or whatever came).
async function errorOf(res) {
  let envelope = null;
  try {
    envelope = await res.json();
  } catch {
    envelope = { error: { type: "api_error", message: res.statusText } };
  }
  return describeError(res.status, envelope);
}

// --- the key prompt ---------------------------------------------------------

let pendingKey = null;  // one prompt at a time, shared by concurrent calls

// Shows the key form and resolves once a key is saved.
function askForKey(refused) {
  if (pendingKey) return pendingKey;
  const overlay = document.getElementById("key-overlay");
  const form = document.getElementById("key-form");
  const input = document.getElementById("key-input");
  const note = document.getElementById("key-error");
  note.hidden = !refused;
  note.textContent = refused ? "That key was refused; try again." : "";
  overlay.hidden = false;
  input.value = "";
  input.focus();
  pendingKey = new Promise((resolve) => {
    form.addEventListener("submit", function onSubmit(event) {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      localStorage.setItem(KEY_STORAGE, key);
      form.removeEventListener("submit", onSubmit);
      overlay.hidden = true;
      pendingKey = null;
      resolve(key);
    });
  });
  return pendingKey;
}

// fetch() against this server, with the key; a 401 asks for the key and
// tries again. Other errors throw an ApiError; a network failure is
// "unreachable"; an abort rethrows the AbortError.
export async function apiFetch(path, options = {}) {
  for (;;) {
    let res;
    try {
      res = await fetch(path, { ...options, headers: apiHeaders(options.headers) });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw unreachable();
    }
    if (res.status === 401) {
      await askForKey(storedKey() !== "");
      continue;
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }
}
