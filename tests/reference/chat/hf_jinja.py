"""Python jinja2 configured the way Hugging Face transformers configures it
(transformers.utils.chat_template_utils._compile_jinja_template): the reference our C++
renderer must match byte for byte."""

import json
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class AssistantTracker(Extension):
    """transformers' {% generation %} ... {% endgeneration %} tag; renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    @jinja2.pass_eval_context
    def _generation_support(self, context, caller):
        return caller()


def _raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers overrides jinja2's tojson: no HTML escaping, json.dumps options exposed.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(format):
    return datetime.now().strftime(format)


def make_environment():
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols]
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


def render(env, request):
    """Renders one chat_render request; returns ("ok", text) or (error kind, message)."""
    try:
        template = env.from_string(request["template"])
    except jinja2.exceptions.TemplateSyntaxError as e:
        return ("syntax", str(e))
    except jinja2.exceptions.TemplateAssertionError as e:
        return ("syntax", str(e))
    kwargs = {
        "messages": request.get("messages", []),
        "tools": request.get("tools"),
        "documents": None,
        "add_generation_prompt": request.get("add_generation_prompt", False),
        "bos_token": request.get("bos_token", ""),
        "eos_token": request.get("eos_token", ""),
    }
    kwargs.update(request.get("extra", {}))
    try:
        return ("ok", template.render(**kwargs))
    except jinja2.exceptions.TemplateError as e:
        if type(e) is jinja2.exceptions.TemplateError:  # raise_exception()
            return ("raised", e.message)
        return ("render", str(e))
    except Exception as e:  # TypeError, ValueError, ... from Python operations
        return ("render", f"{type(e).__name__}: {e}")
