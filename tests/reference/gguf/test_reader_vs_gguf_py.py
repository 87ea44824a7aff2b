"""Files written by the PyPI `gguf` package (an independent writer) read back
by our reader with the same tensor table and metadata."""
import json
import subprocess

import gguf
import numpy as np


def write_sample(path, alignment=None):
    w = gguf.GGUFWriter(str(path), "llama")
    if alignment:
        w.add_custom_alignment(alignment)
    w.add_name("independent")
    w.add_context_length(4096)
    w.add_embedding_length(64)
    w.add_block_count(2)
    w.add_head_count(8)
    w.add_head_count_kv(2)
    w.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "a"])
    w.add_array("nested", [[1, 2], [3]])
    rng = np.random.default_rng(0)
    w.add_tensor("token_embd.weight", rng.standard_normal((3, 64), dtype=np.float32))
    w.add_tensor("blk.0.attn_norm.weight", np.ones(64, dtype=np.float16))
    q8 = np.zeros((64, 2 * 34), dtype=np.uint8)  # 64 rows of 64 q8_0 weights
    w.add_tensor("blk.0.attn_q.weight", q8, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    q4k = np.zeros((4, 144), dtype=np.uint8)  # 4 rows of 256 q4_K weights
    w.add_tensor("blk.0.ffn_up.weight", q4k, raw_dtype=gguf.GGMLQuantizationType.Q4_K)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_tensor_tables_agree(pensieve_bin, tmp_path):
    for alignment in (None, 64, 4096):
        path = tmp_path / f"sample_{alignment}.gguf"
        write_sample(path, alignment)
        result = subprocess.run([str(pensieve_bin), "info", "--json", "--tensors", str(path)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        info = json.loads(result.stdout)
        reader = gguf.GGUFReader(str(path))
        assert info["tensor_count"] == len(reader.tensors)
        assert info["head_count_kv"] == 2
        assert info["vocab_size"] == 3
        ours = {t["name"]: t for t in info["tensors"]}
        for t in reader.tensors:
            assert ours[t.name]["offset"] == t.data_offset
            assert ours[t.name]["shape"] == [int(d) for d in t.shape]
            assert ours[t.name]["type"].lower() == t.tensor_type.name.lower()
