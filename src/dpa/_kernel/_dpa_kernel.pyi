from typing import Any

class Chain:
    depth: int
    def __init__(self, salts: tuple[bytes, ...]) -> None: ...
    def fill_ids(
        self,
        ids: Any,
        prefix: bytes,
        ranges: bytes,
        values: Any,
        hashes: Any,
        start: int,
        end: int,
        seed_words: int,
    ) -> None: ...
    def fill_keys(
        self,
        keys: list[bytes],
        ranges: bytes,
        values: Any,
        hashes: Any,
        start: int,
        end: int,
        seed_words: int,
    ) -> None: ...
    def one(self, key: bytes | int, ranges: bytes, seed_words: int = 1) -> dict[str, Any]: ...

def features() -> dict[str, Any]: ...
def select(fast_sha: bool, fast_mt: bool) -> dict[str, Any]: ...
def draws(digests: bytes, seed_words: int) -> list[tuple[float, float, float, float, float]]: ...
def apply_images(
    src: Any,
    dst: Any,
    byte_input: bool,
    shape: tuple[int, int, int, int],
    xs: Any,
    ys: Any,
    gray: Any,
    numbers: Any,
    keys: Any,
    warp: Any,
    radius: Any,
    cossin: Any,
    start: int,
    end: int,
    cursor: Any = None,
) -> None: ...
def images_select(name: str) -> str: ...
def images_path() -> str: ...
