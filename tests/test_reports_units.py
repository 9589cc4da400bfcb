"""Human units, plain values and the column vocabulary."""

import pytest

from convcost.reports.columns import LAYER_COLUMNS, SUMMARY_COLUMNS, Column, column, conventions
from convcost.reports.units import Unit, human, human_bytes, human_count, plain, shape_text


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (999, "999"), (1_000, "1.00K"), (5_288_548, "5.29M"), (385_814_752, "385.81M"),
    (37_745_884_192, "37.75G"), (999_995, "1.00M"),  # rounds up into the next prefix, not "1000.00K"
    (-2_500, "-2.50K"),
])
def test_human_count(value: int, text: str) -> None:
    assert human_count(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (512, "512 B"), (1024, "1.00 KiB"), (88_886_016, "84.77 MiB"), (3 * 2**30, "3.00 GiB"),
])
def test_human_bytes_are_binary(value: int, text: str) -> None:
    assert human_bytes(value) == text


def test_compact_form_is_for_chart_ticks() -> None:
    assert human_count(20_000_000, compact=True) == "20M"
    assert human_bytes(2**28, compact=True) == "256 MiB"


def test_zero_costs_show_as_dashes_on_screen_and_stay_raw_in_files() -> None:
    assert human(Unit.COUNT, 0) == "--"
    assert human(Unit.BYTES, 0) == "--"
    assert plain(Unit.COUNT, 0) == 0
    assert plain(Unit.COUNT, 5_288_548) == 5_288_548


def test_shapes_and_operator_tallies_become_text() -> None:
    assert shape_text((1, 3, 224, 224)) == "1x3x224x224"
    assert shape_text(None) == ""
    assert plain(Unit.OPS, {"aten::foo": 3, "aten::bar": 1}) == "aten::foo×3; aten::bar×1"


def test_columns_share_one_vocabulary() -> None:
    keys = [c.key for c in Column]
    assert len(keys) == len(set(keys))
    assert column("macs") is Column.MACS
    assert column("not a column") is None
    assert [c.key for c in LAYER_COLUMNS] == ["name", "type", "kind", "depth", "output_shape", "params",
                                             "trainable_params", "frozen_params", "buffers", "macs", "flops",
                                             "output_bytes", "saved_bytes", "subtree_params", "subtree_macs",
                                             "subtree_flops", "subtree_output_bytes", "subtree_saved_bytes",
                                             "macs_share"]
    assert {"model", "input_shape", "params", "macs", "flops", "activation_bytes", "training_bytes", "peak_bytes",
            "unsupported_ops"} <= {c.key for c in SUMMARY_COLUMNS}


def test_conventions_define_mac_flop_and_every_memory_column() -> None:
    terms = dict(conventions("float32"))
    assert "multiply-accumulate" in terms["MACs"]
    assert "2·MACs" in terms["FLOPs"]
    for title in ("Output", "Saved", "Activations", "Training", "Inference peak"):
        assert f"{title} (float32)" in terms


def test_milliseconds_keep_three_significant_digits_and_never_an_exponent() -> None:
    from convcost.reports.units import human_ms

    cases = {1315.84: "1320", 99.99: "100", 12.345: "12.3", 1.5: "1.50", 0.1: "0.100", 0.01234: "0.0123",
             0.000012345: "0.0000123", 0.0: "0", -2.5: "-2.50"}
    assert {value: human_ms(value) for value in cases} == cases
    assert human_ms(None) == human_ms(float("nan")) == "--"
    assert human(Unit.MS, 1.5) == "1.50"


def test_ratios_changes_and_bytes_have_one_format() -> None:
    from convcost.reports.units import human_change, human_ratio

    assert [human_ratio(v) for v in (96.93, 0.13123, 1234.5, 1.0)] == ["96.9×", "0.131×", "1230×", "1.00×"]
    assert [human_change(v) for v in (0.123, 0.0512, 0.0026, -0.00052, 0.0)] == [
        "+12.3%", "+5.1%", "+0.26%", "-0.052%", "0%"]
    assert [human(Unit.BYTES, v) for v in (999, 1000, 1008 * 1024, 1010 * 2**20)] == [
        "999 B", "0.98 KiB", "0.98 MiB", "0.99 GiB"]  # never four digits before the point
    assert human(Unit.FLOAT, 0.25) == "0.250" and human(Unit.FLOAT, 1234) == "1,234"
