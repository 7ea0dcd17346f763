"""asv benchmarks of ``kit.kernels``: every backend at several sizes, the issue's targets included.

``bench_registry`` already times each kernel operation at the registry's
size classes; these classes add the sizes the kernels are judged at, in each
kernel's own unit, and the references of the targets beside them, so that
asv shows the ratios:

* ``Entropy`` (bytes, up to 100 MiB) and ``EntropyReference``
  (``numpy.copyto`` and one ``numpy.bincount`` call of the same size);
* ``BatchFingerprint`` (keys of 8-64 bytes in a pyarrow array built in
  ``setup``, up to 1,000,000) and ``BatchFingerprintReference`` (a Python
  loop of ``xxhash.xxh64_intdigest``, and the list -> Arrow-layout conversion);
* ``Bootstrap`` (samples x resamples, up to the target's 1000 x 10,000) and
  ``BootstrapReference`` (``rng.choice`` + ``numpy.median(axis=1)``).

Backends come from the registry. One that cannot run here (no GPU, library
absent) raises ``NotImplementedError`` in ``setup``, which asv records as
skipped. Each ``setup`` makes one call first, so JIT compilation is never
timed (``kit.kernels.compile_times()`` reports it).
"""

from __future__ import annotations

from typing import Any

from kit import registry as _registry

ENTROPY_SIZES = [1 << 10, 1 << 16, 1 << 20, 100 << 20]
KEY_COUNTS = [100, 10_000, 1_000_000]
#: "samples x resamples": bootstrap_ci's own use, a medium case, the target.
BOOTSTRAP_SHAPES = ["15x2000", "1000x2000", "1000x10000"]


def _backends(kernel: str) -> list[str]:
    return [b.name for b in _registry.backends(f"kernel.{kernel}")]


def _implementation(kernel: str, backend: str) -> Any:
    b = _registry.backend(f"kernel.{kernel}", backend)
    reason = b.unavailable_reason()
    if reason is not None:
        raise NotImplementedError(f"{b.key}: {reason}")
    import kit.kernels

    return kit.kernels.implementation(kernel, backend)


def _shape(text: str) -> tuple[int, int]:
    n, r = text.split("x")
    return int(n), int(r)


class Entropy:
    params = [_backends("entropy"), ENTROPY_SIZES]
    param_names = ["backend", "nbytes"]
    timeout = 300

    def setup(self, backend: str, nbytes: int) -> None:
        from kit.kernels._scaling import make_input

        self.fn = _implementation("entropy", backend)
        self.args, _ = make_input("entropy", nbytes)
        self.fn(*self.args)

    def time_entropy(self, backend: str, nbytes: int) -> None:
        self.fn(*self.args)


class EntropyReference:
    params = [["numpy.copyto", "numpy.bincount"], ENTROPY_SIZES]
    param_names = ["reference", "nbytes"]
    timeout = 300

    def setup(self, reference: str, nbytes: int) -> None:
        import numpy as np

        self.a = np.frombuffer(np.random.default_rng(0).bytes(nbytes), dtype=np.uint8)
        self.dst = np.empty_like(self.a)

    def time_reference(self, reference: str, nbytes: int) -> None:
        import numpy as np

        if reference == "numpy.copyto":
            np.copyto(self.dst, self.a)
        else:
            np.bincount(self.a, minlength=256)


def _arrow_keys(n: int) -> tuple[list[bytes], Any]:
    import pyarrow as pa

    from kit.targets.kernels import random_keys

    keys = random_keys(n)
    return keys, pa.array(keys, type=pa.binary())


class BatchFingerprint:
    params = [_backends("batch_fingerprint"), KEY_COUNTS, ["xxh64", "xxh3_64"]]
    param_names = ["backend", "keys", "algorithm"]
    timeout = 300

    def setup(self, backend: str, keys: int, algorithm: str) -> None:
        self.fn = _implementation("batch_fingerprint", backend)
        _, self.arr = _arrow_keys(keys)
        self.fn(self.arr, 0, algorithm)

    def time_batch_fingerprint(self, backend: str, keys: int, algorithm: str) -> None:
        self.fn(self.arr, 0, algorithm)


class BatchFingerprintReference:
    params = [["python loop of xxhash.xxh64_intdigest", "list -> (offsets, data)"], KEY_COUNTS]
    param_names = ["reference", "keys"]
    timeout = 300

    def setup(self, reference: str, keys: int) -> None:
        import xxhash

        import kit.kernels

        self.keys, _ = _arrow_keys(keys)
        self.f = xxhash.xxh64_intdigest
        self.convert = kit.kernels.pack_keys

    def time_reference(self, reference: str, keys: int) -> None:
        if reference.startswith("python loop"):
            f = self.f
            [f(k) for k in self.keys]
        else:
            self.convert(self.keys)


class Bootstrap:
    params = [_backends("bootstrap"), BOOTSTRAP_SHAPES, ["median", "mean"]]
    param_names = ["backend", "shape", "statistic"]
    timeout = 300

    def setup(self, backend: str, shape: str, statistic: str) -> None:
        import numpy as np

        self.fn = _implementation("bootstrap", backend)
        n, self.resamples = _shape(shape)
        self.samples = np.random.default_rng(2).normal(100.0, 15.0, n)
        self.fn(self.samples, statistic, self.resamples)

    def time_bootstrap(self, backend: str, shape: str, statistic: str) -> None:
        self.fn(self.samples, statistic, self.resamples)


class BootstrapReference:
    params = [BOOTSTRAP_SHAPES]
    param_names = ["shape"]
    timeout = 300

    def setup(self, shape: str) -> None:
        import numpy as np

        n, self.resamples = _shape(shape)
        self.samples = np.random.default_rng(2).normal(100.0, 15.0, n)

    def time_numpy_choice_median(self, shape: str) -> None:
        import numpy as np

        rng = np.random.default_rng(0)
        medians = np.median(rng.choice(self.samples, (self.resamples, self.samples.size)), axis=1)
        np.percentile(medians, [2.5, 97.5])
