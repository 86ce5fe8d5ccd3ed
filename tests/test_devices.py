"""use_cpu_devices: one CPU device per core, set before JAX starts."""

import subprocess
import sys

import jax
import pytest

import jaxfit


def test_in_a_fresh_process_it_sets_the_count():
    code = "import jax, jaxfit; print(jaxfit.use_cpu_devices(3), len(jax.devices('cpu')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", "3"]


def test_after_start_only_the_current_count_is_accepted():
    n = len(jax.devices("cpu"))
    assert jaxfit.use_cpu_devices(n) == n
    with pytest.raises(RuntimeError, match="right after `import jax`"):
        jaxfit.use_cpu_devices(n + 1)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "4"])
def test_bad_counts_are_refused(bad):
    with pytest.raises(ValueError, match="positive int"):
        jaxfit.use_cpu_devices(bad)
