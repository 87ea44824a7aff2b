"""Documents made under our grammar's token masks, validated by the PyPI
jsonschema package (an independent JSON Schema implementation).

The probe `<build>/tools/grammar_sample` compiles each schema, runs random
walks over the SmolLM2 vocabulary that sample only allowed tokens, and
prints each document's text. Every text must parse as JSON, validate
against its schema, and use the one layout the grammar forces (json.dumps
separators, schema key order).
"""
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from paths import REPO, build_dir, missing, model_path  # noqa: E402

DATA = REPO / "tests" / "data" / "grammar"


def schemas():
    out = []
    for name in ("claude_code_tools.json", "structured.json"):
        for tool in json.loads((DATA / name).read_text()):
            out.append(pytest.param(tool["input_schema"], id=tool["name"]))
    out.append(pytest.param({"type": "object"}, id="json_mode"))
    return out


def probe():
    path = build_dir() / "tools" / "grammar_sample"
    if not path.exists():
        missing(f"probe {path}")
    return path


def key_order_follows_schema(doc, schema, defs):
    """Declared keys appear in the order the schema lists them, extra keys after."""
    if "$ref" in schema:
        target = defs
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return key_order_follows_schema(doc, target, defs)
    if isinstance(doc, dict):
        declared = list(schema.get("properties", {}))
        positions = [declared.index(k) if k in declared else len(declared) for k in doc]
        if positions != sorted(positions):
            return False
        props = schema.get("properties", {})
        return all(key_order_follows_schema(v, props.get(k, {}), defs) for k, v in doc.items())
    if isinstance(doc, list) and isinstance(schema.get("items"), dict):
        return all(key_order_follows_schema(v, schema["items"], defs) for v in doc)
    return True


def has_float(doc):
    if isinstance(doc, float):
        return True
    if isinstance(doc, dict):
        return any(has_float(v) for v in doc.values())
    if isinstance(doc, list):
        return any(has_float(v) for v in doc)
    return False


@pytest.mark.parametrize("schema", schemas())
def test_sampled_documents_validate_with_jsonschema(schema, tmp_path):
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema))
    result = subprocess.run(
        [str(probe()), str(model_path("smollm2")), str(schema_file), "8", "20261204"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    texts = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(texts) == 8
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)(schema)
    for text in texts:
        doc = json.loads(text)
        errors = [e.message for e in validator.iter_errors(doc) if e.validator != "format"]
        assert not errors, f"{text!r}: {errors}"
        assert key_order_follows_schema(doc, schema, schema), text
        # The one layout: where the text has no escapes, floats or "-0",
        # it is exactly what json.dumps writes for the document.
        if "\\" not in text and "-0" not in text and not has_float(doc):
            assert text == json.dumps(doc, ensure_ascii=False)
