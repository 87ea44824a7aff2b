"""With several models served, the chat page shows a model picker filled
from /v1/models, and a message goes to the model picked: the server's
per-model generated-token counter moves for that model alone. With one
model, the picker stays hidden (the other browser tests)."""
import re

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from serve import Server
from web_page import open_fresh, set_field, type_message, wait_reply_done

SMOL = "smollm2-135m-instruct-q4_1"
GEMMA = "gemma3-270m-q4_k_m"


@pytest.fixture(scope="module")
def two_models(gemma_model):
    s = Server("-m", gemma_model)
    yield s
    s.stop()


def generated(server):
    """{model: generated tokens} from the per-model series of /metrics."""
    text = httpx.get(server.url + "/metrics", timeout=30).text
    found = re.findall(r'^pensieve_generated_tokens_total\{model="([^"]+)"\} (\S+)$', text, re.M)
    return {model: float(count) for model, count in found}


def test_the_picked_model_answers(browser, two_models):
    open_fresh(browser, two_models.url + "/")
    picker = browser.find_element(By.ID, "model-picker")
    assert picker.is_displayed(), "two models are served: the picker must show"
    select = Select(browser.find_element(By.ID, "model"))
    assert sorted(o.get_attribute("value") for o in select.options) == [GEMMA, SMOL]
    set_field(browser, "max-tokens", 8)
    for model in (GEMMA, SMOL):
        select.select_by_value(model)
        before = generated(two_models)
        type_message(browser, "Say hello.")
        wait_reply_done(browser, 1 if model == GEMMA else 2)
        after = generated(two_models)
        moved = {m: after.get(m, 0.0) - before.get(m, 0.0) for m in (GEMMA, SMOL)}
        assert moved[model] > 0 and sum(moved.values()) == moved[model], (model, moved)
