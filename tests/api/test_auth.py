"""API keys: both header forms, with and without --api-key."""
import anthropic
import httpx
import pytest

ARGS = dict(model="claude-x", max_tokens=2, messages=[{"role": "user", "content": "Hi"}])


def client(url, **auth):
    return anthropic.Anthropic(base_url=url, max_retries=0, timeout=120, **auth)


@pytest.mark.parametrize("auth", [{"api_key": "secret-key"}, {"auth_token": "secret-key"}])
def test_the_configured_key_works_in_either_header(keyed_server, auth):
    assert client(keyed_server.url, **auth).messages.create(**ARGS).content


@pytest.mark.parametrize("auth", [{"api_key": "wrong"}, {"auth_token": "wrong"}])
def test_a_wrong_key_is_an_authentication_error(keyed_server, auth):
    with pytest.raises(anthropic.AuthenticationError):
        client(keyed_server.url, **auth).messages.create(**ARGS)


def test_a_missing_key_is_rejected_everywhere_but_health(keyed_server):
    r = httpx.post(keyed_server.url + "/v1/messages", json=ARGS)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"
    assert httpx.get(keyed_server.url + "/v1/models").status_code == 401
    assert httpx.get(keyed_server.url + "/health").status_code == 200


def test_the_web_page_loads_without_the_key_but_its_api_calls_need_it(keyed_server):
    for path in ("/", "/status", "/assets/chat.js"):
        assert httpx.get(keyed_server.url + path).status_code == 200, path
    assert httpx.get(keyed_server.url + "/metrics").status_code == 401
    assert httpx.get(keyed_server.url + "/assets/missing.js").status_code == 404


@pytest.mark.parametrize("auth", [{"api_key": "anything"}, {"auth_token": "anything"}])
def test_without_a_configured_key_anything_is_accepted(server, auth):
    assert client(server.url, **auth).messages.create(**ARGS).content
    assert httpx.post(server.url + "/v1/messages", json=ARGS, timeout=120).status_code == 200
