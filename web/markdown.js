// A small Markdown renderer for model output that builds DOM nodes and sets
// only their text: model output is never parsed as HTML, so "<script>" or
// "<img onerror=...>" in a reply shows as those characters. Covers what
// chat models write: paragraphs, headings, lists, quotes, rules, fenced code,
// inline code, bold, italic and links (http(s) links become anchors; any
// other scheme stays text).

function el(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

// Renders `text` into a fresh element and returns it.
export function renderMarkdown(text) {
  const root = el("div", "md");
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  let paragraph = [];
  let list = null;  // the open <ul>/<ol>

  const flushParagraph = () => {
    if (paragraph.length === 0) return;
    const p = el("p");
    paragraph.forEach((line, n) => {
      if (n > 0) p.appendChild(el("br"));
      appendInline(p, line);
    });
    root.appendChild(p);
    paragraph = [];
  };
  const closeBlocks = () => {
    flushParagraph();
    list = null;
  };

  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(/^\s*(```+|~~~+)\s*([\w+#.-]*)\s*$/);
    if (fence) {
      closeBlocks();
      const code = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) {
        code.push(lines[i]);
        i += 1;
      }
      i += 1;  // the closing fence (or the end of a reply still streaming)
      const pre = el("pre");
      const codeNode = el("code");
      if (fence[2]) codeNode.dataset.lang = fence[2];
      codeNode.textContent = code.join("\n");
      pre.appendChild(codeNode);
      root.appendChild(pre);
      continue;
    }
    const heading = line.match(/^\s{0,3}(#{1,6})\s+(.*)$/);
    const bullet = line.match(/^\s*([-*+])\s+(.*)$/);
    const numbered = line.match(/^\s*(\d{1,9})[.)]\s+(.*)$/);
    if (line.trim() === "") {
      closeBlocks();
    } else if (heading) {
      closeBlocks();
      // Replies sit under the page's own headings: # becomes h3.
      const h = el("h" + Math.min(6, heading[1].length + 2));
      appendInline(h, headingText(heading[2]));
      root.appendChild(h);
    } else if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
      closeBlocks();
      root.appendChild(el("hr"));
    } else if (bullet || numbered) {
      flushParagraph();
      const tag = bullet ? "ul" : "ol";
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = el(tag);
        if (numbered && numbered[1] !== "1") list.start = Number(numbered[1]);
        root.appendChild(list);
      }
      const li = el("li");
      appendInline(li, (bullet || numbered)[2]);
      list.appendChild(li);
    } else if (/^\s*>/.test(line)) {
      closeBlocks();
      const quote = el("blockquote");
      appendInline(quote, line.replace(/^\s*>\s?/, ""));
      root.appendChild(quote);
    } else if (list && /^\s+\S/.test(line)) {
      // An indented line continues the last list item.
      const last = list.lastElementChild;
      last.appendChild(el("br"));
      appendInline(last, line.trim());
    } else {
      list = null;
      paragraph.push(line);
    }
    i += 1;
  }
  flushParagraph();
  return root;
}

// A heading's text without its closing run of #s and the spaces around it,
// found by walking back from the end: a regular expression for it
// ("(.*?)\s*#*\s*$") backtracked in cubic time on a long run of spaces
// inside the heading (22 s to render a 5 KB reply).
function headingText(text) {
  const space = (c) => c === " " || c === "\t";
  let end = text.length;
  while (end > 0 && space(text[end - 1])) end -= 1;
  while (end > 0 && text[end - 1] === "#") end -= 1;
  while (end > 0 && space(text[end - 1])) end -= 1;
  return text.slice(0, end);
}

// An http(s) URL, or null: javascript:, data: and the like stay text.
export function safeUrl(href) {
  try {
    const url = new URL(href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

// Inline spans, scanned left to right: `code`, **bold**, __bold__, *italic*,
// _italic_, [text](url). Anything unmatched is text.
const INLINE = /`([^`]+)`|\*\*(.+?)\*\*|__(.+?)__|\*(\S(?:.*?\S)?)\*|(?<![\w])_(\S(?:.*?\S)?)_(?![\w])|\[([^\]]+)\]\(([^)\s]+)\)/g;

export function appendInline(parent, text) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
    last = m.index + m[0].length;
    if (m[1] !== undefined) {
      const code = el("code");
      code.textContent = m[1];
      parent.appendChild(code);
    } else if (m[2] !== undefined || m[3] !== undefined) {
      const strong = el("strong");
      appendInline(strong, m[2] ?? m[3]);
      parent.appendChild(strong);
    } else if (m[4] !== undefined || m[5] !== undefined) {
      const em = el("em");
      appendInline(em, m[4] ?? m[5]);
      parent.appendChild(em);
    } else {
      const href = safeUrl(m[7]);
      if (href) {
        const a = el("a");
        a.href = href;
        a.rel = "noopener noreferrer nofollow";
        a.target = "_blank";
        a.textContent = m[6];
        parent.appendChild(a);
      } else {
        parent.appendChild(document.createTextNode(`${m[6]} (${m[7]})`));
      }
    }
  }
  if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
}
