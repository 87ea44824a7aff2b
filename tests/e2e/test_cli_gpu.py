"""`pensieve gpu`: the Vulkan devices the loader lists (Mesa's lavapipe on a
machine without a GPU), and a clear line, not a crash, where there is none."""
import json
import os
import subprocess


def run(binary, *args, env=None):
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60,
                          env=env)


def test_gpu_lists_a_usable_device(pensieve_bin):
    result = run(pensieve_bin, "gpu", "--json")
    assert result.returncode == 0, result.stderr
    devices = json.loads(result.stdout)["devices"]
    assert devices, result.stdout
    usable = [d for d in devices if d["usable"]]
    assert usable, devices
    assert all(d["name"] and d["api_version"] for d in devices)
    text = run(pensieve_bin, "gpu")
    assert text.returncode == 0, text.stderr
    assert f"{usable[0]['index']}: {usable[0]['name']}" in text.stdout
    assert "usable" in text.stdout


def test_gpu_without_a_driver_says_so(pensieve_bin, tmp_path):
    # The loader reads its drivers from this list alone: an empty one.
    env = dict(os.environ, VK_DRIVER_FILES=str(tmp_path / "none.json"),
               VK_ICD_FILENAMES=str(tmp_path / "none.json"))
    result = run(pensieve_bin, "gpu", "--json", env=env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["devices"] == []
    assert "driver" in body["error"] or "no device" in body["error"], body["error"]
    text = run(pensieve_bin, "gpu", env=env)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("no GPU: ")


def generate(binary, *options):
    result = subprocess.run([str(binary), "run", "--raw", "--temperature", "0", "--max-tokens",
                             "18", *options, "def fibonacci(n):"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_greedy_with_the_model_on_the_gpu_equals_the_cpu(pensieve_bin, default_model):
    """The GPU's layers round differently from the CPU's kernels (its
    activations stay F32 where the CPU's products take them in 8 bits, as
    the CPU's own kernel variants differ among themselves), so a greedy
    continuation may part where two tokens are nearly tied; on a prompt
    whose continuation is clear, the texts are equal. (Partial offload is
    checked by its logits, in the unit and NumPy reference tests.)"""
    cpu = generate(pensieve_bin, "--model", default_model)
    assert "return" in cpu, cpu
    assert generate(pensieve_bin, "--model", default_model, "--gpu-layers", "-1") == cpu


def test_an_unknown_gpu_is_a_clear_error(pensieve_bin, default_model):
    result = subprocess.run([str(pensieve_bin), "run", "--model", str(default_model),
                             "--gpu-layers", "-1", "--gpu", "99", "hello"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "no GPU 99" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "terminate" not in result.stderr
