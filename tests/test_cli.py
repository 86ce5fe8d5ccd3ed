"""The console command: `jaxfit demo` tells the parameters-vs-hyperparameters story."""

import io
import re
import subprocess
import sys

from jaxfit._cli import main
from jaxfit._demo import demo_command


def test_demo_recovers_parameters_and_marks_divergence():
    out = io.StringIO()
    assert demo_command(seed=0, out=out) == 0
    text = out.getvalue()
    learned = re.search(r"learned\s+a = ([-\d.]+)\s+b = ([-\d.]+)", text)
    exact = re.search(r"least squares\s+a = ([-\d.]+)\s+b = ([-\d.]+)", text)
    assert learned and exact
    assert abs(float(learned[1]) - 2) < 0.1 and abs(float(learned[2]) - 1) < 0.1
    assert abs(float(learned[1]) - float(exact[1])) < 1e-3
    assert "DIVERGED" in text and re.search(r"0\.1\s+2\.0\d+\s+0\.9\d+\s+[\d.]+\s+ok", text)


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_console_script_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "jaxfit._cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.startswith("jaxfit ")
