"""dpa.v02's files: v0.2's layout key for key (the files in data/v02 were written by
DPA v0.2.1 itself, see make_v02_files.py), read back by dpa.v02 and by dpa, verified
by dpa; and v0.2's file behaviour, with dpa's atomic writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import dpa
import dpa.v02 as v02

DATA = Path(__file__).parent / "data" / "v02"
MILD = dpa.get_preset("mild")


def _write_as_v02_did(folder: Path) -> None:
    """The calls of make_v02_files.py, made with dpa.v02."""
    v02.save_augmentation_chain(
        v02.generate_augmentation_chain(6, MILD), str(folder / "chain_mild.json"), MILD
    )
    v02.save_augmentation_chain(
        v02.generate_augmentation_chain(4),
        str(folder / "chain_no_config_no_stats.json"),
        include_stats=False,
    )
    v02.save_augmentation_stream(
        v02.stream_augmentation_chain(5, MILD), str(folder / "stream_stats.json"), MILD
    )
    v02.save_augmentation_stream(
        v02.stream_augmentation_chain(5, MILD, start_id=10),
        str(folder / "stream_from_10.json"),
        MILD,
    )
    v02.save_augmentation_stream(
        v02.stream_augmentation_chain(7, MILD),
        str(folder / "stream_no_stats.json"),
        MILD,
        include_stats=False,
        buffer_size=3,
    )


def _pairs(text: str) -> Any:
    """The JSON document with every object as a list of (key, value) pairs: its keys
    in their order."""
    return json.loads(text, object_pairs_hook=list)


FILES = sorted(p.name for p in DATA.glob("*.json") if p.name != "api.json")


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ours")
    _write_as_v02_did(folder)
    return folder


@pytest.mark.parametrize("name", FILES)
def test_dpa_v02_writes_v02s_layout(name: str, ours: Path) -> None:
    theirs = (DATA / name).read_text()
    mine = (ours / name).read_text()
    if "statistics" not in _pairs(theirs)[-1][0]:
        assert mine == theirs  # byte for byte
        return
    # the same bytes outside the statistics, whose last digits may differ
    assert mine[: mine.index('"statistics"')] == theirs[: theirs.index('"statistics"')]
    stats_theirs, stats_mine = json.loads(theirs)["statistics"], json.loads(mine)["statistics"]
    assert [list(f) for f in stats_mine.values()] == [list(f) for f in stats_theirs.values()]
    for param, figures in stats_theirs.items():
        for figure, value in figures.items():
            assert stats_mine[param][figure] == pytest.approx(value, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", FILES)
def test_v02s_files_load_through_both_apis(name: str) -> None:
    path = str(DATA / name)
    records = json.loads((DATA / name).read_text())["augmentations"]
    assert v02.load_augmentation_chain(path) == records
    assert list(v02.load_augmentation_stream(path, chunk_size=1)) == records
    loaded = dpa.load_augmentation_chain(path)
    assert [r["sample_id"] for r in loaded] == list(range(len(records)))
    assert [{k: v for k, v in r.items() if k != "sample_id"} for r in loaded] == records


@pytest.mark.parametrize("name", ["chain_mild.json", "stream_stats.json", "stream_no_stats.json"])
def test_dpa_verifies_v02s_files(name: str, ours: Path) -> None:
    assert dpa.verify_augmentation_file(DATA / name).ok
    assert dpa.verify_augmentation_file(ours / name).ok


def test_what_v02s_files_do_not_say() -> None:
    # saved without a config: v0.2 generated with the default one, which verify assumes
    assert dpa.verify_augmentation_file(DATA / "chain_no_config_no_stats.json").ok
    # records without sample ids are numbered from 0: a stream from id 10 is not
    # recognised (its records are right for ids 10 .. 14)
    assert not dpa.verify_augmentation_file(DATA / "stream_from_10.json").ok
    stored = v02.load_augmentation_chain(str(DATA / "stream_from_10.json"))
    assert stored == list(v02.stream_augmentation_range(10, 15, MILD))


def test_the_metadata_keys(ours: Path) -> None:
    chain = json.loads((ours / "chain_mild.json").read_text())
    assert list(chain) == ["metadata", "augmentations", "statistics"]
    assert chain["metadata"] == {"num_samples": 6, "config": MILD.to_dict()}
    stream = json.loads((ours / "stream_stats.json").read_text())
    assert stream["metadata"] == {"num_samples": 5, "config": MILD.to_dict(), "streaming": True}
    incremental = json.loads((ours / "stream_no_stats.json").read_text())
    assert list(incremental) == ["metadata", "augmentations"]
    assert incremental["metadata"]["num_samples"] is None
    assert incremental["metadata"]["streaming"] is True


# --------------------------------------------------------------------------- behaviour


def test_saves_create_missing_folders(tmp_path: Path) -> None:
    chain_path = tmp_path / "a" / "b" / "chain.json"
    v02.save_augmentation_chain(v02.generate_augmentation_chain(2), str(chain_path))
    stream_path = tmp_path / "c" / "d" / "stream.json"
    v02.save_augmentation_stream(v02.stream_augmentation_chain(2), str(stream_path))
    assert chain_path.exists() and stream_path.exists()


@pytest.mark.parametrize("include_stats", [True, False])
@pytest.mark.parametrize("buffer_size", [1, 3, 1000])
def test_stream_round_trips_whatever_the_buffer(
    tmp_path: Path, include_stats: bool, buffer_size: int
) -> None:
    records = v02.generate_augmentation_chain(10)
    path = str(tmp_path / "s.json")
    v02.save_augmentation_stream(
        iter(records), path, include_stats=include_stats, buffer_size=buffer_size
    )
    assert v02.load_augmentation_chain(path) == records
    chunks = list(v02.load_augmentation_stream(path, chunk_size=4))
    assert [len(c) for c in chunks] == [4, 4, 2]


@pytest.mark.parametrize("include_stats", [True, False])
def test_an_empty_stream_saves(tmp_path: Path, include_stats: bool) -> None:
    path = tmp_path / "empty.json"
    v02.save_augmentation_stream(iter([]), str(path), MILD, include_stats=include_stats)
    data = json.loads(path.read_text())
    assert data["augmentations"] == []
    if include_stats:
        assert data["metadata"]["num_samples"] == 0
        assert data["statistics"]["rotation"] == {
            "mean": 0.0,
            "stdev": 0.0,
            "min": 0.0,
            "max": 0.0,
            "count": 0,
        }


def _failing(after: int) -> Any:
    yield from v02.generate_augmentation_chain(after)
    raise RuntimeError("the stream broke")


@pytest.mark.parametrize(("include_stats", "written"), [(True, 0), (False, 4)])
def test_a_failed_save_leaves_nothing(tmp_path: Path, include_stats: bool, written: int) -> None:
    path = tmp_path / "out.json"
    with pytest.raises(v02.PartialWriteError, match="the stream broke") as caught:
        v02.save_augmentation_stream(
            _failing(5), str(path), include_stats=include_stats, buffer_size=2
        )
    assert caught.value.samples_written == written
    assert list(tmp_path.iterdir()) == []  # no partial file, no temporary file


def test_a_failed_save_keeps_the_file_that_was_there(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    v02.save_augmentation_chain(v02.generate_augmentation_chain(3), str(path))
    before = path.read_bytes()
    with pytest.raises(v02.PartialWriteError):
        v02.save_augmentation_stream(_failing(2), str(path), include_stats=False)
    assert path.read_bytes() == before


def test_a_bad_buffer_size_is_a_streaming_io_error(tmp_path: Path) -> None:
    with pytest.raises(v02.StreamingIOError, match="buffer_size must be positive"):
        v02.save_augmentation_stream(iter([]), str(tmp_path / "x.json"), buffer_size=0)


def test_errors_of_the_loaders(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ invalid json")
    with pytest.raises(json.JSONDecodeError, match="Invalid JSON in"):
        v02.load_augmentation_chain(str(bad))
    with pytest.raises(v02.StreamingIOError, match="Invalid JSON"):
        list(v02.load_augmentation_stream(str(bad)))
    with pytest.raises(FileNotFoundError, match="Augmentation file not found"):
        v02.load_augmentation_chain(str(tmp_path / "none.json"))
    with pytest.raises(FileNotFoundError, match="Augmentation file not found"):
        list(v02.load_augmentation_stream(str(tmp_path / "none.json")))
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"wrong": "format"}')
    with pytest.raises(v02.StreamingIOError, match="missing 'augmentations' key"):
        list(v02.load_augmentation_stream(str(wrong)))
    wrong.write_text('{"augmentations": [1]}')
    with pytest.raises(v02.StreamingIOError, match="expected dict"):
        list(v02.load_augmentation_stream(str(wrong), chunk_size=1))


def test_saves_and_loads_say_what_they_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(tmp_path / "said.json")
    v02.save_augmentation_chain(v02.generate_augmentation_chain(3), path)
    v02.load_augmentation_chain(path)
    assert capsys.readouterr().out == (
        f"Saved 3 augmentations to {path}\nLoaded 3 augmentations from {path}\n"
    )


def test_recovery_of_a_file_cut_short(tmp_path: Path) -> None:
    text = (DATA / "stream_no_stats.json").read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(text[: text.index('"hash"', text.index("-1.52444"))])  # inside record 3
    info = v02.recover_partial_write(str(cut))
    assert (info["recoverable"], info["samples_found"]) == (True, 2)
    assert info["metadata"]["config"] == MILD.to_dict()
    whole = v02.recover_partial_write(str(DATA / "chain_mild.json"))
    assert (whole["recoverable"], whole["samples_found"], whole["error"]) == (True, 6, None)
    assert v02.recover_partial_write(str(tmp_path / "none.json"))["error"] == "File does not exist"


def test_resume_skips_what_was_saved(tmp_path: Path) -> None:
    path = tmp_path / "resumed.json"
    v02.resume_streaming_save(
        v02.stream_augmentation_chain(10), str(path), resume_from_sample=6, include_stats=False
    )
    assert v02.load_augmentation_chain(str(path)) == list(v02.stream_augmentation_range(6, 10))
