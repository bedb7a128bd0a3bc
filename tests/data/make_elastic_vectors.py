"""Writes elastic-known-answers.json: known answers of dpa's elastic mode, made by a
plain inline implementation of its definition (not by dpa), so the file checks dpa.

Elastic key: "dpa-elastic-v1:{base_seed}:{epoch}:{sample_id}"; the chain of DPA v0.2;
the generator seeded with the whole digest, random.Random(int(h, 16)).

    python tests/data/make_elastic_vectors.py
"""

import hashlib
import json
import random
from pathlib import Path

CONFIGS = {
    "default": {"rotation_range": [-30, 30], "brightness_range": [0.8, 1.2],
                "noise_range": [0, 0.1], "scale_range": [0.8, 1.2],
                "contrast_range": [0.7, 1.3], "augmentation_depth": 10},
    "aggressive_depth3": {"rotation_range": [-45, 45], "brightness_range": [0.7, 1.3],
                          "noise_range": [0, 0.15], "scale_range": [0.7, 1.3],
                          "contrast_range": [0.6, 1.4], "augmentation_depth": 3},
}  # fmt: skip
NAMES = ("rotation", "brightness", "noise", "scale", "contrast")


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def params(sample_id: int, base_seed: int, epoch: int, config: dict) -> dict:
    h = hashlib.sha256(f"dpa-elastic-v1:{base_seed}:{epoch}:{sample_id}".encode()).hexdigest()
    for i in range(config["augmentation_depth"]):
        h = hashlib.sha256((h + str(fib(i))).encode()).hexdigest()
    generator = random.Random(int(h, 16))
    out = {name: generator.uniform(*config[f"{name}_range"]) for name in NAMES}
    out["hash"] = h
    return out


def main() -> None:
    cases = []
    for config in CONFIGS:
        for base_seed, epoch in ((0, 0), (0, 1), (12345, 0), (12345, 7)):
            for sample_id in (0, 1, 2, 999, 2**64 + 1):
                result = params(sample_id, base_seed, epoch, CONFIGS[config])
                cases.append({"config": config, "sample_id": sample_id, "base_seed": base_seed,
                              "epoch": epoch, "params": result})  # fmt: skip
    about = ("Known answers of dpa's elastic mode (key 'dpa-elastic-v1:{base_seed}:{epoch}:"
             "{sample_id}', generator seeded with the whole digest). Made by "
             "make_elastic_vectors.py.")  # fmt: skip
    data = {"about": about, "configs": CONFIGS, "elastic": cases}
    target = Path(__file__).with_name("elastic-known-answers.json")
    target.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
