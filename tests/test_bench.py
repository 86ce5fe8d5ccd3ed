"""`jaxfit bench`: its JSON document, the arithmetic of its rates, FLOPs against XLA, the CLI.

No test here asserts on speed: the machines that run the tests are small and shared.
"""

import contextlib
import dataclasses
import io
import json
import re
import statistics

import jax
import pytest

from jaxfit._cli.bench import _json_path, bench_workload, run_bench
from jaxfit._cli.bench_workloads import WORKLOADS, default_settings
from jaxfit._cli.main import main

MACHINE_KEYS = {
    "platform": str, "device_kind": str, "device_count": int, "cpu_count": int,
    "jax": str, "jaxfit": str, "date": str,
}  # fmt: skip
ROW_KEYS = {
    "workload": str, "n_settings": int, "system": str, "wall_s": float, "compile_s": float,
    "flops": float, "score": type(None), "memory_bytes": (int, float),
    "settings_per_s": float, "steps_per_s": float, "flops_per_s": float,
    "peak_fraction": float,
}  # fmt: skip


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """One quick run through the command line, shared by the tests: (document, stdout)."""
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    out = io.StringIO()
    argv = ["bench", "--quick", "--workloads", "linear,mlp-digits", "--settings", "4",
            "--repeats", "2", "--json", str(path)]  # fmt: skip
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return json.loads(path.read_text()), out.getvalue()


def test_json_has_the_documented_keys_and_types(bench):
    doc, _ = bench
    assert doc["benchmark"] == "jaxfit_bench" and doc["mode"] == "quick"
    for key, kind in MACHINE_KEYS.items():
        assert isinstance(doc["machine"][key], kind), key
    assert doc["machine"]["device_count"] == len(jax.devices())
    assert isinstance(doc["peak_flops"], float) and doc["peak_flops"] > 0
    assert [r["workload"] for r in doc["rows"]] == ["linear", "mlp-digits"]
    for row in doc["rows"]:
        for key, kind in ROW_KEYS.items():
            assert isinstance(row[key], kind), (row["workload"], key, row[key])
        assert row["system"] == "jaxfit" and row["n_settings"] == 4
        assert row["memory_bytes"] > 0 and row["diverged"] == 0
    assert set(doc["workloads"]) == {"linear", "mlp-digits"}


def test_rates_follow_from_the_measured_numbers(bench):
    doc, _ = bench
    for row in doc["rows"]:
        wall = row["wall_s"]
        assert wall == statistics.median(row["samples"]) and len(row["samples"]) == 2
        assert row["flops_per_s"] == pytest.approx(row["flops"] / wall, rel=1e-12)
        assert row["peak_fraction"] == pytest.approx(
            row["flops_per_s"] / doc["peak_flops"], rel=1e-12
        )
        assert row["settings_per_s"] == pytest.approx(row["n_settings"] / wall, rel=1e-12)
        assert row["steps_per_s"] == pytest.approx(
            row["n_settings"] * row["steps"] / wall, rel=1e-12
        )
        w = WORKLOADS[row["workload"]]
        hand = w.flop_count(len(w.data()[0]))
        per_setting = row["steps"] * hand["total"] + hand["forward"]
        assert row["flops"] == pytest.approx(row["n_settings"] * per_setting, rel=1e-12)


def _assert_agrees(check, tolerance):
    assert check["xla"] is not None, "XLA gave no cost analysis"
    assert check["tolerance"] == tolerance
    assert abs(check["hand"] / check["xla"] - 1) <= tolerance, check
    assert check["agrees"] is True


def test_hand_flops_agree_with_xla_cost_analysis(bench):
    doc, _ = bench
    linear, digits = doc["rows"]
    # The stated tolerance: 3% where matmuls dominate the step.
    assert WORKLOADS["mlp-digits"].flop_tolerance == WORKLOADS["mlp-large"].flop_tolerance == 0.03
    _assert_agrees(digits["flop_check"], 0.03)
    # The elementwise linear step is reported, not checked; XLA counts at least the hand
    # count's work there (sample weights, guards and fused recomputations come on top).
    check = linear["flop_check"]
    assert check["tolerance"] is None and check["agrees"] is None and check["note"]
    assert 0 < check["hand_over_xla"] <= 1


def test_mlp_large_hand_flops_agree_with_xla_cost_analysis():
    # XLA counts the scan body once, so one step checks the count of every step count.
    w = WORKLOADS["mlp-large"]
    short = dataclasses.replace(w, base=w.base.replace(steps=1))
    row = bench_workload(short, 1, 1, lambda line: None, devices=jax.devices()[:1])
    _assert_agrees(row["flop_check"], 0.03)


def test_table_goes_to_stdout(bench):
    _, out = bench
    assert "settings/s" in out and "% peak" in out and "hand/XLA" in out
    assert "\nlinear " in out and "\nmlp-digits " in out
    assert "JSON results written to" in out


def test_cli_writes_json_and_says_it_overwrites(tmp_path, capsys):
    path = tmp_path / "result.json"
    path.write_text("{}")
    assert main(["bench", "--quick", "--workloads", "linear", "--json", str(path)]) == 0
    doc = json.loads(path.read_text())
    assert doc["benchmark"] == "jaxfit_bench" and doc["rows"][0]["workload"] == "linear"
    captured = capsys.readouterr()
    assert f"overwriting the existing {path}" in captured.err
    assert "linear: compiling" in captured.err.replace("64 settings x 1000 steps; ", "")
    assert "repeat 3/3" in captured.err
    assert str(path) in captured.out


def test_json_path_defaults_to_the_platform_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _json_path(None, "gpu") == tmp_path / "jaxfit-bench-gpu.json"
    assert _json_path(str(tmp_path), "cpu") == tmp_path / "jaxfit-bench-cpu.json"
    assert _json_path("x.json", "cpu").name == "x.json"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--workloads", "linear,mlp-huge"], "unknown workload(s) 'mlp-huge'"),
        (["--workloads", ","], "empty"),
        (["--settings", "0"], "argument --settings: must be a positive integer; got '0'"),
        (["--settings", "many"], "argument --settings: must be a positive integer; got 'many'"),
        (["--repeats", "-1"], "argument --repeats: must be a positive integer; got '-1'"),
        (["--cpu-devices", "0"], "argument --cpu-devices: must be a positive integer"),
    ],
)
def test_cli_rejects_bad_arguments(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    if "workload" in message or "empty" in message:
        assert "allowed are linear, mlp-digits, mlp-large" in err


def test_cli_cpu_devices_after_jax_started_is_a_clear_error(capsys):
    n = len(jax.devices())  # JAX has started: the device count is fixed
    assert main(["bench", "--cpu-devices", str(n + 1), "--workloads", "linear"]) == 2
    err = capsys.readouterr().err
    assert f"--cpu-devices {n + 1}" in err and "before any JAX computation" in err


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"workloads": ["linear", "resnet"]}, ValueError, "unknown workload(s) ['resnet']"),
        ({"workloads": []}, ValueError, "no workloads given; allowed are"),
        ({"workloads": "linear"}, TypeError, "such as ['linear']"),
        ({"n_settings": 0}, ValueError, "n_settings must be a positive int; got 0"),
        ({"n_settings": True}, ValueError, "n_settings must be a positive int; got True"),
        ({"repeats": 0}, ValueError, "repeats must be a positive int; got 0"),
    ],
)
def test_run_bench_validates_before_measuring(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        run_bench(**{"progress": False, **kwargs})


def test_default_settings_fill_every_device():
    large = WORKLOADS["mlp-large"]
    assert default_settings(large, "cpu", 1, quick=True) == 1
    assert default_settings(large, "cpu", 4, quick=True) == 4
    assert default_settings(large, "gpu", 1, quick=False) == 128
    assert default_settings(WORKLOADS["linear"], "tpu", 8, quick=True) == 1024
