"""Writes small seed GGUF files for the fuzzer with the PyPI `gguf` package's
writer (an implementation independent of ours), covering every value type,
nested arrays, custom alignment and a few tensor types."""
import sys
from pathlib import Path

import numpy as np
import gguf


def write(path: Path, alignment=None, tensors=True):
    w = gguf.GGUFWriter(str(path), "llama")
    if alignment:
        w.add_custom_alignment(alignment)
    w.add_name("seed")
    w.add_context_length(64)
    w.add_uint8("u8", 1)
    w.add_int8("i8", -1)
    w.add_uint16("u16", 2)
    w.add_int16("i16", -2)
    w.add_int32("i32", -3)
    w.add_float32("f32", 0.5)
    w.add_bool("b", True)
    w.add_uint64("u64", 4)
    w.add_int64("i64", -4)
    w.add_float64("f64", 0.25)
    w.add_array("strs", ["a", "bc", ""])
    w.add_array("ints", [1, 2, 3])
    w.add_array("nested", [[1, 2], [3]])
    if tensors:
        w.add_tensor("a", np.arange(8, dtype=np.float32))
        w.add_tensor("b", np.ones((2, 4), dtype=np.float16))
        w.add_tensor("c", np.zeros((1, 34), dtype=np.uint8), raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main(out_dir: str):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write(out / "seed_tensors.gguf")
    write(out / "seed_align64.gguf", alignment=64)
    write(out / "seed_metadata_only.gguf", tensors=False)


if __name__ == "__main__":
    main(sys.argv[1])
