"""Model output never becomes markup, and the page never leaves the server.

The markup test needs model output that contains "<script>" and
"<img onerror>" every time. The page's structured-output setting (a JSON
schema, sent as output_format) makes that deterministic without mocking
anything: the server's grammar forces the real model to write the one
string the schema's enum allows, and the page renders that real streamed
reply like any other."""
import json
import re

import httpx
from selenium.webdriver.common.by import By

from web_page import open_fresh, requested_urls, set_field, type_message, wait_reply_done

HOSTILE = ("<script>window.pwned = 1</script> <img src=x onerror=window.pwned=2> "
           "**bold** [bad](javascript:window.pwned=3) [good](https://example.com/)")
SCHEMA = {"type": "object", "properties": {"html": {"type": "string", "enum": [HOSTILE]}},
          "required": ["html"], "additionalProperties": False}


def test_model_output_with_script_and_img_onerror_renders_as_text(chat):
    set_field(chat, "max-tokens", 200)
    set_field(chat, "temperature", 0)
    set_field(chat, "schema", json.dumps(SCHEMA))
    type_message(chat, "Give me the html.")
    reply = wait_reply_done(chat, 1)
    body = reply.find_element(By.CSS_SELECTOR, ".body")
    text = body.text
    assert "<script>window.pwned = 1</script>" in text, text
    assert "<img src=x onerror=window.pwned=2>" in text, text
    # None of it became an element, and nothing ran.
    assert not chat.find_elements(By.CSS_SELECTOR, "#messages script, #messages img")
    assert chat.execute_script("return window.pwned === undefined")
    # The Markdown around it still renders, and only the http(s) link is one.
    assert body.find_element(By.TAG_NAME, "strong").text == "bold"
    links = body.find_elements(By.TAG_NAME, "a")
    assert [a.get_attribute("href") for a in links] == ["https://example.com/"]
    assert "bad (javascript:window.pwned=3)" in text
    # A reload renders the stored reply through the same path.
    chat.refresh()
    body = wait_reply_done(chat, 1).find_element(By.CSS_SELECTOR, ".body")
    assert "<script>window.pwned = 1</script>" in body.text
    assert not chat.find_elements(By.CSS_SELECTOR, "#messages script, #messages img")
    assert chat.execute_script("return window.pwned === undefined")


def test_markdown_a_reply_can_craft_renders_in_linear_time(chat):
    """Model output is steerable by prompt injection, and the page renders a
    streaming reply on every frame: a heading line with a long run of spaces
    took cubic time (22 s for 5 KB) in a backtracking regular expression.
    100,000 spaces must render well inside the browser's script timeout."""
    source = "# Title" + " " * 100_000 + "end ##\n\n## C" + " " * 50_000 + "#"
    html = chat.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import('/assets/markdown.js').then((m) => done(m.renderMarkdown(arguments[0]).outerHTML));
    """, source)
    assert html.startswith("<div class=\"md\"><h3>Title" + " " * 100_000 + "end</h3>"), html[:80]
    assert "<h4>C</h4>" in html


def test_the_page_requests_nothing_outside_the_server(browser, server):
    requested_urls(browser)  # drop what earlier tests caused
    browser.get_log("browser")
    open_fresh(browser, server.url + "/")
    set_field(browser, "max-tokens", 8)
    type_message(browser, "Hi")
    wait_reply_done(browser, 1)
    browser.get(server.url + "/status")
    browser.execute_async_script("setTimeout(arguments[0], 2500)")  # two refreshes
    urls = requested_urls(browser)
    assert any(u.endswith("/v1/messages") for u in urls), urls
    assert any(u.endswith("/metrics") for u in urls), urls
    outside = [u for u in urls if not u.startswith(server.url + "/")]
    assert outside == [], outside
    # No CSP violation or script error on the way.
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def test_pages_carry_a_strict_content_security_policy(server):
    for path in ("/", "/status", "/assets/chat.js", "/assets/style.css"):
        r = httpx.get(server.url + path, timeout=30)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "connect-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        again = httpx.get(server.url + path, headers={"if-none-match": r.headers["etag"]},
                          timeout=30)
        assert again.status_code == 304 and again.content == b""
    assert httpx.get(server.url + "/assets/chat.js", timeout=30).headers["content-type"] \
        .startswith("text/javascript")


def test_no_script_writes_html():
    """The page's code never parses strings as HTML (the renderer builds
    nodes), and its pages hold no inline script or style for the CSP to
    block."""
    from paths import REPO
    for path in sorted((REPO / "web").glob("*.js")):
        code = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in code, f"{path.name} uses {sink}"
    for path in sorted((REPO / "web").glob("*.html")):
        page = path.read_text()
        assert "<script>" not in page and "style=" not in page and "<style" not in page
        assert not re.search(r"\son[a-z]+\s*=", page), f"{path.name} has an inline handler"
