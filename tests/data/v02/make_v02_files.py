"""Write the DPA v0.2.1 files in this folder, with DPA v0.2.1 itself.

Run from anywhere, under Python 3.12 with psutil installed, naming a checkout of DPA
v0.2.1 (github.com/AdrianParedez/dpa, tag v0.2.1) and this folder:

    python make_v02_files.py /path/to/dpa-v0.2.1 tests/data/v02

These files are what v0.2's own writers produced; ``tests/test_v02_files.py`` checks
that dpa.v02 writes the same layout and that dpa reads and verifies them. ``api.json``
lists the public names of v0.2's four modules with their parameters (name, kind,
default), under the module of dpa.v02 that keeps them; ``tests/test_v02.py`` checks
dpa.v02's signatures against it.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from pathlib import Path


def main(checkout: str, folder: str) -> None:
    sys.path.insert(0, checkout)
    v02 = importlib.import_module("src.dpa")  # DPA v0.2.1's own module
    out = Path(folder)
    mild = v02.get_preset("mild")
    chain = v02.generate_augmentation_chain(6, mild)
    v02.save_augmentation_chain(chain, str(out / "chain_mild.json"), mild)
    v02.save_augmentation_chain(
        v02.generate_augmentation_chain(4),
        str(out / "chain_no_config_no_stats.json"),
        include_stats=False,
    )
    v02.save_augmentation_stream(
        v02.stream_augmentation_chain(5, mild), str(out / "stream_stats.json"), mild
    )
    # v0.2's records carry no sample id: readers number them from 0, so this file holds
    # ids 10 .. 14 but reads as 0 .. 4 (it loads; dpa cannot verify it as it stands)
    v02.save_augmentation_stream(
        v02.stream_augmentation_chain(5, mild, start_id=10), str(out / "stream_from_10.json"), mild
    )
    v02.save_augmentation_stream(
        v02.stream_augmentation_chain(7, mild),
        str(out / "stream_no_stats.json"),
        mild,
        include_stats=False,
        buffer_size=3,
    )


#: v0.2's modules and the modules of dpa.v02 that keep them.
MODULES = {
    "src.dpa": "dpa.v02",
    "src.distributed": "dpa.v02.distributed",
    "src.batch": "dpa.v02.batch",
    "src.benchmark": "dpa.v02.benchmark",
}
#: Names in v0.2's modules that are imports of the standard library, not its API.
NOT_API = {"annotations", "psutil", "P", "T", "Any", "Callable", "Generator", "Path"}


def api(folder: str) -> None:
    out: dict[str, dict[str, object]] = {}
    for old, new in MODULES.items():
        module = importlib.import_module(old)
        names: dict[str, object] = {}
        for name, value in vars(module).items():
            if name.startswith("_") or name in NOT_API or inspect.ismodule(value):
                continue
            if getattr(value, "__module__", "src").split(".")[0] not in ("src",):
                continue  # dataclass, wraps, contextmanager, ...
            parameters = None
            if callable(value) and not (inspect.isclass(value) and issubclass(value, Exception)):
                parameters = [
                    [p.name, p.kind.name, None if p.default is p.empty else repr(p.default)]
                    for p in inspect.signature(value).parameters.values()
                ]
            names[name] = parameters
        out[new] = names
    with open(Path(folder) / "api.json", "w", encoding="utf-8") as handle:
        json.dump(out, handle, indent=1, sort_keys=True)
        handle.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
    api(sys.argv[2])
