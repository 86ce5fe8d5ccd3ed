"""The console command: `jaxfit demo` tells the parameters-vs-hyperparameters story."""

import io
import re
import subprocess
import sys

import pytest

from jaxfit._cli.demo import demo_command
from jaxfit._cli.main import main


def test_demo_tells_the_whole_story(tmp_path):
    out = io.StringIO()
    assert demo_command(seed=0, figures=str(tmp_path / "figs"), out=out) == 0
    text = out.getvalue()
    learned = re.search(r"learned\s+a = ([-\d.]+)\s+b = ([-\d.]+)", text)
    exact = re.search(r"least squares\s+a = ([-\d.]+)\s+b = ([-\d.]+)", text)
    assert learned and exact
    assert abs(float(learned[1]) - 2) < 0.1 and abs(float(learned[2]) - 1) < 0.1
    assert abs(float(learned[1]) - float(exact[1])) < 1e-3
    # The sweep table: a converged row recovers a and b, the large rates are marked.
    assert re.search(r"0\.1\s+2\.0\d+\s+0\.9\d+\s+[\d.]+ ± \S+\s+ok", text)
    assert re.search(r"\n\s+2\s+—\s+—\s+—\s+DIVERGED \(explode\) at step \d+ in 3 of 3", text)
    # Cross-validation: one compile per depth, a table, and the best setting.
    assert len(re.findall(r"depth \d: compiled in", text)) == 3
    best = re.search(
        r"best: hidden=\(([\d, ]+)\) learning_rate=([\d.]+)\s+val_accuracy ([\d.]+)", text
    )
    assert best and float(best[3]) > 0.9
    names = sorted(
        p.relative_to(tmp_path / "figs").as_posix() for p in (tmp_path / "figs").rglob("*.png")
    )
    assert names == [
        "lr_sweep/loss_curves.png",
        "lr_sweep/score_vs_learning_rate.png",
        "mlp_cv/heatmap_hidden_learning_rate.png",
        "mlp_cv/loss_curves.png",
        "mlp_cv/score_vs_hidden.png",
        "mlp_cv/score_vs_learning_rate.png",
    ]
    for p in (tmp_path / "figs").rglob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_without_matplotlib_says_how_to_get_figures(monkeypatch, tmp_path):
    from jaxfit._cli import demo as _demo

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = io.StringIO()
    _demo._figures(str(tmp_path), None, None, lambda line="": print(line, file=out))
    assert "pip install 'jaxfit[plot]'" in out.getvalue()
    assert not any(tmp_path.iterdir())


def test_spirals_are_balanced_and_labelled():
    from jaxfit._cli.demo import spirals

    x, y = spirals(50, classes=3, seed=1)
    assert x.shape == (150, 2) and x.dtype.name == "float32"
    assert sorted(set(y.tolist())) == [0, 1, 2] and all((y == c).sum() == 50 for c in range(3))


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


@pytest.mark.parametrize("module", ["jaxfit._cli", "jaxfit._cli.main"])
def test_runs_as_a_module(module):
    proc = subprocess.run(
        [sys.executable, "-m", module, "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.startswith("jaxfit ")
