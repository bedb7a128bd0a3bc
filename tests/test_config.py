"""AugmentationConfig: defaults, presets, validation, (de)serialisation, immutability."""

from __future__ import annotations

import dataclasses
import json
import math
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
from hypothesis import given

import dpa
from dpa import PARAM_NAMES, PRESETS, AugmentationConfig, get_preset
from dpa._config import MAX_AUGMENTATION_DEPTH
from strategies import valid_configs as _valid_configs

RANGE_FIELDS = [f"{name}_range" for name in PARAM_NAMES]

DEFAULTS: dict[str, Any] = {
    "rotation_range": (-30, 30),
    "brightness_range": (0.8, 1.2),
    "noise_range": (0, 0.1),
    "scale_range": (0.8, 1.2),
    "contrast_range": (0.7, 1.3),
    "augmentation_depth": 10,
}

EXPECTED_PRESETS: dict[str, dict[str, Any]] = {
    "mild": {
        "rotation_range": (-15, 15),
        "brightness_range": (0.9, 1.1),
        "noise_range": (0, 0.05),
        "scale_range": (0.9, 1.1),
        "contrast_range": (0.85, 1.15),
        "augmentation_depth": 10,
    },
    "moderate": DEFAULTS,
    "aggressive": {
        "rotation_range": (-45, 45),
        "brightness_range": (0.7, 1.3),
        "noise_range": (0, 0.15),
        "scale_range": (0.7, 1.3),
        "contrast_range": (0.6, 1.4),
        "augmentation_depth": 10,
    },
}


def as_fields(config: AugmentationConfig) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}


def typed(value: Any) -> Any:
    """A value with the type of every number spelled out, to compare int vs float."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


# Bounds: floats anywhere (finite), or ints small enough to be exact as floats.
valid_configs = _valid_configs(100)


# --- defaults and presets -------------------------------------------------------------


def test_defaults() -> None:
    config = AugmentationConfig()
    assert as_fields(config) == DEFAULTS
    assert typed(as_fields(config)) == typed(DEFAULTS)
    assert config.ranges == tuple(DEFAULTS[f] for f in RANGE_FIELDS)


def test_param_names_are_the_draw_order() -> None:
    assert PARAM_NAMES == ("rotation", "brightness", "noise", "scale", "contrast")


@pytest.mark.parametrize("name", sorted(EXPECTED_PRESETS))
def test_presets_exactly_as_specified(name: str) -> None:
    preset = get_preset(name)
    assert preset is PRESETS[name]
    assert typed(as_fields(preset)) == typed(EXPECTED_PRESETS[name])


def test_preset_names() -> None:
    assert set(PRESETS) == {"mild", "moderate", "aggressive"}


def test_moderate_is_the_default() -> None:
    assert get_preset("moderate") == AugmentationConfig()


def test_presets_match_the_vector_configs(configs: dict[str, AugmentationConfig]) -> None:
    for name in PRESETS:
        assert configs[name] == PRESETS[name]
    assert configs["default"] == AugmentationConfig()


def test_presets_mapping_is_read_only() -> None:
    assert isinstance(PRESETS, MappingProxyType)
    with pytest.raises(TypeError):
        PRESETS["extreme"] = AugmentationConfig()  # type: ignore[index]


def test_get_preset_unknown_name_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'wild'") as info:
        get_preset("wild")
    for name in PRESETS:  # the message lists what is available
        assert name in str(info.value)


@pytest.mark.parametrize("name", ["Mild", "mild ", ""])
def test_get_preset_is_exact(name: str) -> None:
    with pytest.raises(ValueError):
        get_preset(name)


@pytest.mark.parametrize("name", [None, 1, b"mild", ["mild"]])
def test_get_preset_non_string_is_a_type_error(name: Any) -> None:
    with pytest.raises(TypeError):
        get_preset(name)


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize("field", RANGE_FIELDS)
@pytest.mark.parametrize(
    "value",
    [(1, 1), (0.5, 0.5), (2, 1), (1.0, -1.0), (0, 0.0), (-0.0, 0.0)],
    ids=["equal-int", "equal-float", "reversed-int", "reversed-float", "0-0.0", "-0.0-0.0"],
)
def test_lo_must_be_below_hi(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        AugmentationConfig(**{field: value})


@pytest.mark.parametrize("field", RANGE_FIELDS)
@pytest.mark.parametrize(
    "value",
    [
        (math.nan, 1.0),
        (0.0, math.nan),
        (-math.inf, 0.0),
        (0.0, math.inf),
        (-math.inf, math.inf),
        (np.float64("nan"), 1.0),
        (0, 10**400),  # an int too large for a float
        (-1e308, 1e308),  # finite bounds whose width overflows
    ],
    ids=["nan-lo", "nan-hi", "-inf", "inf", "both-inf", "np-nan", "huge-int", "width-overflow"],
)
def test_bounds_must_be_finite(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        AugmentationConfig(**{field: value})


@pytest.mark.parametrize("field", RANGE_FIELDS)
@pytest.mark.parametrize("value", [(), (1,), (1, 2, 3), [0.0], np.zeros(3)], ids=repr)
def test_range_must_have_two_values(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        AugmentationConfig(**{field: value})


@pytest.mark.parametrize("field", RANGE_FIELDS)
@pytest.mark.parametrize(
    "value",
    [
        "01",
        b"01",
        ("0", "1"),
        (0, "1"),
        (False, True),
        (0, True),
        (np.False_, np.True_),
        (None, 1),
        (1j, 2j),
        5,
        None,
        iter((0, 1)),
    ],
    ids=repr,
)
def test_range_must_be_a_pair_of_real_numbers(field: str, value: Any) -> None:
    with pytest.raises(TypeError, match=field):
        AugmentationConfig(**{field: value})


@pytest.mark.parametrize("depth", [0, -1, -(10**20)])
def test_depth_below_one_is_a_value_error(depth: int) -> None:
    with pytest.raises(ValueError, match="augmentation_depth"):
        AugmentationConfig(augmentation_depth=depth)


@pytest.mark.parametrize("depth", [1.0, 10.0, 2.5, True, False, "10", None, np.float64(3)])
def test_depth_must_be_an_int(depth: Any) -> None:
    with pytest.raises(TypeError, match="augmentation_depth"):
        AugmentationConfig(augmentation_depth=depth)


def test_depth_accepts_numpy_ints_as_python_ints() -> None:
    config = AugmentationConfig(augmentation_depth=np.int64(3))
    assert config.augmentation_depth == 3
    assert type(config.augmentation_depth) is int


def test_integer_bounds_stay_ints() -> None:
    config = AugmentationConfig(rotation_range=(-10, 10), noise_range=(0, 1))
    assert typed(config.rotation_range) == [("int", -10), ("int", 10)]
    assert typed(config.noise_range) == [("int", 0), ("int", 1)]
    assert typed(config.to_dict()["rotation_range"]) == [("int", -10), ("int", 10)]
    # numpy integers become Python ints, numpy floats Python floats
    config = AugmentationConfig(rotation_range=np.array([-5, 5]), scale_range=np.array([0.5, 2.0]))
    assert typed(config.rotation_range) == [("int", -5), ("int", 5)]
    assert typed(config.scale_range) == [("float", 0.5), ("float", 2.0)]


def test_mixed_and_rational_bounds() -> None:
    config = AugmentationConfig(rotation_range=(-1, 2.5), brightness_range=(Fraction(1, 2), 1))
    assert typed(config.rotation_range) == [("int", -1), ("float", 2.5)]
    assert typed(config.brightness_range) == [("float", 0.5), ("int", 1)]


def test_lists_become_tuples() -> None:
    config = AugmentationConfig(contrast_range=[0.5, 1.5])  # type: ignore[arg-type]
    assert config.contrast_range == (0.5, 1.5)
    assert isinstance(config.contrast_range, tuple)


# --- to_dict / from_dict --------------------------------------------------------------


def test_to_dict_of_defaults() -> None:
    assert AugmentationConfig().to_dict() == {
        "rotation_range": [-30, 30],
        "brightness_range": [0.8, 1.2],
        "noise_range": [0, 0.1],
        "scale_range": [0.8, 1.2],
        "contrast_range": [0.7, 1.3],
        "augmentation_depth": 10,
    }


def test_vector_configs_round_trip(vectors: dict[str, Any]) -> None:
    for data in vectors["configs"].values():
        assert typed(AugmentationConfig.from_dict(data).to_dict()) == typed(data)


@given(valid_configs)
def test_to_dict_from_dict_round_trip(config: AugmentationConfig) -> None:
    data = config.to_dict()
    assert set(data) == {*RANGE_FIELDS, "augmentation_depth"}
    again = AugmentationConfig.from_dict(data)
    assert again == config
    assert typed(as_fields(again)) == typed(as_fields(config))
    # and through JSON text, as the files store it
    from_json = AugmentationConfig.from_dict(json.loads(json.dumps(data)))
    assert typed(as_fields(from_json)) == typed(as_fields(config))


@given(valid_configs)
def test_validated_config_invariants(config: AugmentationConfig) -> None:
    for lo, hi in config.ranges:
        assert lo < hi
        assert math.isfinite(lo) and math.isfinite(hi) and math.isfinite(hi - lo)
    assert config.augmentation_depth >= 1


def test_from_dict_missing_fields_take_defaults() -> None:
    config = AugmentationConfig.from_dict({"noise_range": [0, 0.2]})
    assert config == dataclasses.replace(AugmentationConfig(), noise_range=(0, 0.2))
    assert AugmentationConfig.from_dict({}) == AugmentationConfig()


def test_from_dict_unknown_field_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="rotation_rnage"):
        AugmentationConfig.from_dict({"rotation_rnage": [-1, 1]})
    with pytest.raises(ValueError, match="seed"):
        AugmentationConfig.from_dict({**AugmentationConfig().to_dict(), "seed": 3})


def test_from_dict_validates() -> None:
    with pytest.raises(ValueError, match="rotation_range"):
        AugmentationConfig.from_dict({"rotation_range": [1, -1]})
    with pytest.raises(TypeError, match="augmentation_depth"):
        AugmentationConfig.from_dict({"augmentation_depth": "3"})


@pytest.mark.parametrize("data", [None, [], [("augmentation_depth", 3)], "{}", 3], ids=repr)
def test_from_dict_non_mapping_is_a_type_error(data: Any) -> None:
    with pytest.raises(TypeError):
        AugmentationConfig.from_dict(data)


def test_from_dict_accepts_any_mapping() -> None:
    data = MappingProxyType({"augmentation_depth": 4})
    assert AugmentationConfig.from_dict(data).augmentation_depth == 4


# --- immutability, equality -----------------------------------------------------------


@pytest.mark.parametrize("field", [*RANGE_FIELDS, "augmentation_depth"])
def test_config_is_frozen(field: str) -> None:
    config = AugmentationConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(config, field, getattr(config, field))
    assert config == AugmentationConfig()


def test_replace_revalidates() -> None:
    config = dataclasses.replace(AugmentationConfig(), augmentation_depth=3)
    assert config.augmentation_depth == 3
    with pytest.raises(ValueError):
        dataclasses.replace(AugmentationConfig(), augmentation_depth=0)


def test_equal_configs_hash_equal() -> None:
    assert hash(AugmentationConfig()) == hash(AugmentationConfig.from_dict({}))
    assert {AugmentationConfig(), get_preset("moderate")} == {AugmentationConfig()}
    assert AugmentationConfig() != get_preset("mild")
    assert AugmentationConfig() != AugmentationConfig(augmentation_depth=9)


def test_the_chain_depth_has_a_documented_maximum() -> None:
    assert AugmentationConfig(augmentation_depth=MAX_AUGMENTATION_DEPTH).augmentation_depth == 4096
    for depth in (MAX_AUGMENTATION_DEPTH + 1, 10**7, 10**30):
        with pytest.raises(ValueError, match="augmentation_depth must be <= 4096"):
            AugmentationConfig(augmentation_depth=depth)
    with pytest.raises(ValueError, match="about 5001 digits"):  # not 5001 digits quoted
        AugmentationConfig(augmentation_depth=10**5000)
    with pytest.raises(ValueError, match="<= 4096"):
        AugmentationConfig.from_dict({"augmentation_depth": 10**7})


def test_a_file_claiming_a_huge_depth_is_refused_at_once(tmp_path: Path) -> None:
    """A 1 KB file whose metadata asks for depth 10**7 once stalled verify for ever."""
    path = tmp_path / "deep.json"
    dpa.save_augmentation_chain(dpa.generate_augmentation_chain(2), path)
    text = path.read_text().replace('"augmentation_depth": 10', '"augmentation_depth": 10000000')
    path.write_text(text)
    with pytest.raises(dpa.DPAFileError, match="augmentation_depth must be <= 4096"):
        dpa.verify_augmentation_file(path)
