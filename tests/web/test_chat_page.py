"""The chat page at /: a message typed in the browser streams a real reply
from the server; Stop frees the server's sequence; conversations survive a
reload and can be renamed and deleted; Markdown renders as DOM nodes."""
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from web_page import (health, open_fresh, replies, set_field, streaming, type_message,
                      wait_for, wait_reply_done)

# Records the streaming reply's text length at every change, to see it grow.
WATCH_STREAM = """
window.lengths = [];
new MutationObserver(() => {
  const body = document.querySelector('.message.streaming .body');
  if (body) window.lengths.push(body.textContent.length);
}).observe(document.getElementById('messages'),
           {childList: true, subtree: true, characterData: true});
"""


def test_a_message_streams_in_and_finishes(chat):
    set_field(chat, "max-tokens", 48)
    chat.execute_script(WATCH_STREAM)
    # Shift+Enter adds a line; Enter sends.
    type_message(chat, "Name three colors.", Keys.SHIFT, Keys.ENTER, Keys.NULL, "One per line.")
    user = wait_for(lambda: chat.find_elements(By.CSS_SELECTOR, ".message.user .body"),
                    "the user's message")
    assert user[0].text == "Name three colors.\nOne per line."
    reply = wait_reply_done(chat, 1)
    text = reply.find_element(By.CSS_SELECTOR, ".body").text
    assert text.strip(), "the reply is empty"
    lengths = [n for n in chat.execute_script("return window.lengths") if n > 0]
    assert len(set(lengths)) >= 2, f"the text did not arrive in pieces: {lengths}"
    meta = reply.find_element(By.CSS_SELECTOR, ".meta").text
    assert "tok/s" in meta and "first token" in meta and "tokens" in meta, meta
    assert not chat.find_elements(By.CSS_SELECTOR, ".message .error")
    # The conversation is named after its first message.
    assert chat.find_element(By.CSS_SELECTOR, "#conversations li.current .title").text \
        == "Name three colors."


def test_stop_aborts_the_stream_and_the_server_frees_the_sequence(chat, server):
    set_field(chat, "max-tokens", 3000)
    set_field(chat, "temperature", 0)  # greedy runs to max_tokens on this prompt
    type_message(chat, "Write a very long story about a lighthouse keeper and the sea.")
    wait_for(lambda: streaming(chat) and chat.find_element(
        By.CSS_SELECTOR, ".message.streaming .body").text.strip(), "the first streamed words")
    assert health(server)["in_flight"] == 1, "the reply should still be generating"
    chat.find_element(By.ID, "stop").click()
    reply = wait_reply_done(chat, 1)
    assert "stopped" in reply.find_element(By.CSS_SELECTOR, ".meta").text
    wait_for(lambda: health(server)["in_flight"] == 0, "the server to free the sequence",
             timeout=15)
    # The page is ready for the next message.
    assert chat.find_element(By.ID, "send").is_displayed()
    assert not chat.find_element(By.ID, "stop").is_displayed()


def test_conversations_survive_a_reload_and_can_be_renamed_and_deleted(chat, server):
    set_field(chat, "max-tokens", 8)
    type_message(chat, "Hello there")
    first = wait_reply_done(chat, 1).find_element(By.CSS_SELECTOR, ".body").text
    chat.find_element(By.ID, "new-chat").click()
    type_message(chat, "Second chat")
    wait_reply_done(chat, 1)

    chat.refresh()
    titles = lambda: [e.text for e in chat.find_elements(By.CSS_SELECTOR, "#conversations .title")]
    wait_for(lambda: titles() == ["Second chat", "Hello there"], "both conversations")
    # The settings were kept too.
    assert chat.find_element(By.ID, "max-tokens").get_attribute("value") == "8"
    chat.find_elements(By.CSS_SELECTOR, "#conversations .title")[1].click()
    wait_for(lambda: [e.text for e in chat.find_elements(By.CSS_SELECTOR, ".message .body")]
             == ["Hello there", first], "the first conversation's messages")

    chat.find_elements(By.CSS_SELECTOR, "#conversations .rename")[1].click()
    name = chat.find_element(By.CSS_SELECTOR, "#conversations .rename-input")
    name.send_keys(Keys.CONTROL, "a")
    name.send_keys("Greetings", Keys.ENTER)
    wait_for(lambda: titles() == ["Second chat", "Greetings"], "the new name")
    chat.find_elements(By.CSS_SELECTOR, "#conversations .delete")[0].click()
    wait_for(lambda: titles() == ["Greetings"], "the deletion")
    chat.refresh()
    wait_for(lambda: titles() == ["Greetings"], "the list after a reload")


def test_markdown_renders_as_elements(chat):
    """The renderer itself, in the browser, on fixed text (the model's own
    Markdown is not predictable enough to assert on)."""
    source = ("# Title\n\nSome **bold**, *italic* and `code`.\n\n- one\n- two\n\n"
              "1. first\n2. second\n\n```python\nprint('<b>hi</b>')\n```\n\n"
              "> quoted\n\n[web](https://example.com/a) and [js](javascript:alert(1))")
    html = chat.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import('/assets/markdown.js').then((m) => done(m.renderMarkdown(arguments[0]).outerHTML));
    """, source)
    assert "<h3>Title</h3>" in html
    assert "<strong>bold</strong>" in html and "<em>italic</em>" in html
    assert "<code>code</code>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html
    assert "<ol><li>first</li><li>second</li></ol>" in html
    assert "<pre><code data-lang=\"python\">print('&lt;b&gt;hi&lt;/b&gt;')</code></pre>" in html
    assert "<blockquote>quoted</blockquote>" in html
    assert 'href="https://example.com/a"' in html
    assert "javascript:" not in html.split("js (")[0] and "js (javascript:alert(1))" in html
