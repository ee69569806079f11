"""Time ONNX models with ONNX Runtime the one way hwnas trusts: interleaved rounds.

This file imports only the standard library, numpy and onnxruntime, so that it can be
copied verbatim into the profiling kit that runs on phones and boards without torch.

Why interleaved: a CPU's speed switches between states for seconds at a time. Timing one
model after another puts each model in whichever state the machine was in during its turn.
With all sessions open and every round running each model once, in an order shuffled per
round, every model sees the same mix of states, and medians over rounds agree between repeats.
What remains is a uniform scale of the whole run (the machine's state that minute), which
ratios between entries do not see.

Why one untimed call before each timed one: interleaving alone evicts each model's weights
from the cache between its turns, so a model's median would grow with the number of models in
the rotation; a deployed model serving requests runs warm (benchmarks/warm_calls.py compares
the two; BENCHMARKS.md, "What changed the fidelity", has the figures).
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

_CUDA = "CUDAExecutionProvider"

# The protocol of every table and every measurement compared with one: timed rounds, and the rounds
# run first and discarded (allocations, caches, the CPU ramping up).
ROUNDS, WARMUP_ROUNDS = 300, 30

# How time_interleaved orders its calls, recorded with every measurement.
INTERLEAVED = "interleaved: every round runs each model once, shuffled; each timed call after one untimed warm call"


# Explicit CUDA settings, recorded in every GPU table. session.run returns host arrays, so each
# timed call includes the device synchronisation and the output copy, as a deployed model's would.
CUDA_OPTIONS = {"device_id": "0", "cudnn_conv_algo_search": "EXHAUSTIVE"}


class DeviceError(RuntimeError):
    """The requested device cannot be used here; the message says what to install or change."""


def check_device(device: str, threads: int) -> None:
    """Reject an unknown device kind or a thread count it cannot use (no provider needed)."""
    if device not in ("cpu", "gpu", "mobile"):
        raise DeviceError(f"unknown device {device!r}: use 'cpu', 'gpu' or 'mobile'")
    if threads < 1:
        raise DeviceError(f"threads must be at least 1, got {threads}")
    cores = os.cpu_count() or 1
    if threads > 4 * cores:  # ONNX Runtime starts every one of them: 100,000 threads never got to the first run
        raise DeviceError(f"threads must be at most {4 * cores} on this machine ({cores} cores), got {threads}")
    if device == "mobile" and threads != 1:
        # The PyPI wheel has no XNNPACK/NNAPI: 'mobile' means ORT-format models on one thread,
        # a stand-in for a phone; the real phone table comes from the kit run on the phone.
        raise DeviceError(f"device 'mobile' runs on one thread, got --threads {threads}")


def provider_for(device: str, threads: int) -> str:
    """The execution provider for a device kind, which must be available here."""
    check_device(device, threads)
    if device == "gpu":
        if _CUDA not in ort.get_available_providers():
            raise DeviceError("device 'gpu' needs onnxruntime-gpu's CUDA provider, which this onnxruntime "
                              "lacks: `pip uninstall onnxruntime && pip install .[gpu]` on a machine with CUDA")
        return _CUDA
    return "CPUExecutionProvider"


def make_session(path: str, device: str = "cpu", threads: int = 1) -> ort.InferenceSession:
    """An inference session with every setting that affects speed set explicitly.

    - intra-op threads = `threads` (ORT's default, one per core, differs between machines),
      one inter-op thread and sequential execution: the models are single chains;
    - all graph optimisations, so Conv+BN+Clip+Add fuse as they will when deployed;
    - with several threads, no spinning: many open sessions whose idle pools spin would
      steal the cores from the one that is running.
    `.onnx` and ORT-format `.ort` files load the same way.
    """
    provider = provider_for(device, threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 1:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = [(provider, CUDA_OPTIONS)] if provider == _CUDA else [provider]
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as error:  # ORT raises several unrelated types (Fail, InvalidGraph, …) for unloadable files
        said = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise DeviceError(f"{path}: ONNX Runtime cannot load it as a model ({said}): pass an .onnx or .ort file "
                          f"written by `hwnas export`") from None
    if provider not in session.get_providers():  # ORT falls back to the CPU when CUDA fails to load
        raise DeviceError(f"{path}: ONNX Runtime could not start {provider} (check the CUDA and cuDNN libraries)")
    return session


def random_input(session: ort.InferenceSession, rng: np.random.Generator, batch_size: int = 1) -> np.ndarray:
    """A float32 input for a single-input model: a dynamic first (batch) axis gets
    `batch_size`, any other dynamic axis 1."""
    inputs = session.get_inputs()
    if len(inputs) != 1 or inputs[0].type != "tensor(float)":
        raise ValueError(f"expected a model with one float input, got {[(i.name, i.type) for i in inputs]}")
    shape = [dim if isinstance(dim, int) else 1 for dim in inputs[0].shape]
    if isinstance(inputs[0].shape[0], int):
        if batch_size != shape[0]:
            raise ValueError(f"the model's batch axis is fixed at {shape[0]}, cannot time batch {batch_size}")
    else:
        shape[0] = batch_size
    return rng.standard_normal(shape, dtype=np.float32)


class Progress:
    """Lines such as "timing round 40/330, 2.1 min so far, about 15 min left" for long loops: at most
    one per `every_s` seconds, and one at the end. The time left extrapolates the pace since the
    previous line, not since the start: first steps can be many times slower than the rest (a GPU
    provider's first runs search its kernels), and would otherwise inflate every later estimate."""

    def __init__(self, label: str, total: int, log: Callable[[str], None] = print, every_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self.label, self.total, self.log, self.every_s, self.clock = label, total, log, every_s, clock
        self.start = self.last = clock()
        self.last_done = 0

    def __call__(self, done: int) -> None:
        now = self.clock()
        if done < self.total and now - self.last < self.every_s:
            return
        pace_s = (now - self.last) / max(done - self.last_done, 1)  # seconds a step, lately
        self.last, self.last_done = now, done
        left = f", about {_minutes(pace_s * (self.total - done))} left" if done < self.total else ""
        self.log(f"{self.label} {done}/{self.total}, {_minutes(now - self.start)} so far{left}")


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def time_interleaved(paths: dict[str, str], inputs: dict[str, np.ndarray] | None = None, *, device: str = "cpu",
                     threads: int = 1, rounds: int = ROUNDS, warmup_rounds: int = WARMUP_ROUNDS, batch_size: int = 1,
                     seed: int = 0, warm_calls: int = 1, log: Callable[[str], None] | None = None) -> dict[str, dict]:
    """Median and quartiles in ms of each model's `session.run`, timed in interleaved rounds.

    All sessions are built first; then each of `warmup_rounds + rounds` rounds runs every
    model once in an order shuffled per round, and the warm-up rounds (allocations, caches,
    the CPU ramping up) are discarded. Each timed call follows `warm_calls` untimed calls of
    the same model, so it finds its own weights in the cache. `inputs` maps a model's name to
    its input; missing ones are random (see `random_input`). The module docstring says why.
    With `log`, progress through the rounds is reported to it (`Progress`).
    """
    if rounds < 1 or warmup_rounds < 0 or warm_calls < 0:
        raise ValueError(f"need rounds >= 1, warmup_rounds >= 0 and warm_calls >= 0, "
                         f"got {rounds}, {warmup_rounds} and {warm_calls}")
    rng = np.random.default_rng(seed)
    names = list(paths)
    sessions = {name: make_session(paths[name], device, threads) for name in names}
    feeds = {}
    for name, session in sessions.items():
        array = inputs[name] if inputs and name in inputs else random_input(session, rng, batch_size)
        feeds[name] = {session.get_inputs()[0].name: array}
    elapsed_ns = {name: np.empty(rounds, dtype=np.int64) for name in names}
    progress = Progress("timing round", warmup_rounds + rounds, log) if log else None
    for round_index in range(warmup_rounds + rounds):
        for name in rng.permutation(names):
            session, feed = sessions[name], feeds[name]
            for _ in range(warm_calls):
                session.run(None, feed)
            start = time.perf_counter_ns()
            session.run(None, feed)
            stop = time.perf_counter_ns()
            if round_index >= warmup_rounds:
                elapsed_ns[name][round_index - warmup_rounds] = stop - start
        if progress:
            progress(round_index + 1)
    stats = {}
    for name, samples in elapsed_ns.items():
        p25, median, p75 = np.percentile(samples / 1e6, [25, 50, 75])  # ns → ms
        stats[name] = {"median_ms": float(median), "p25_ms": float(p25), "p75_ms": float(p75)}
    return stats


def runtime_metadata(device: str, threads: int) -> dict:
    """What a measurement depends on besides the model: where, with what, when."""
    return {
        "kind": device, "provider": provider_for(device, threads), "threads": threads,
        **({"provider_options": CUDA_OPTIONS, **gpu_identity()} if device == "gpu" else {}),
        "onnxruntime": ort.__version__, "cpu": _cpu_model(), "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def gpu_identity() -> dict:
    """The GPU that CUDA_OPTIONS' device_id names: its name, driver and the driver's CUDA version.

    Two GPU tables are the same device only if all three match: a driver update changes kernel
    choices and so the latency. Read from nvidia-smi, which comes with the driver; "unknown" where it
    does not answer (the provider check has already refused a machine without CUDA)."""
    query = ["nvidia-smi", f"--id={_physical_gpu(CUDA_OPTIONS['device_id'])}", "--query-gpu=name,driver_version",
             "--format=csv,noheader"]
    try:
        name_and_driver = subprocess.run(query, capture_output=True, text=True, timeout=30, check=True).stdout
        banner = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {"gpu": "unknown", "gpu_driver": "unknown", "cuda": "unknown"}
    return parse_nvidia_smi(name_and_driver, banner)


def _physical_gpu(device_id: str) -> str:
    """nvidia-smi's id of CUDA's device `device_id`: CUDA counts only the CUDA_VISIBLE_DEVICES
    (indices or UUIDs, both of which nvidia-smi's --id takes), nvidia-smi counts every GPU."""
    visible = [entry.strip() for entry in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if entry.strip()]
    return visible[int(device_id)] if int(device_id) < len(visible) else device_id


def parse_nvidia_smi(name_and_driver: str, banner: str) -> dict:
    """{"gpu", "gpu_driver", "cuda"} from `nvidia-smi --query-gpu=name,driver_version --format=csv,noheader`
    ("NVIDIA H100 80GB HBM3, 550.54.15") and plain `nvidia-smi`'s banner ("... CUDA Version: 12.4 |")."""
    first_gpu = name_and_driver.strip().splitlines()[0] if name_and_driver.strip() else ","
    name, _, driver = first_gpu.rpartition(",")
    cuda = banner.split("CUDA Version:", 1)[1].split()[0] if "CUDA Version:" in banner else "unknown"
    return {"gpu": name.strip() or "unknown", "gpu_driver": driver.strip() or "unknown", "cuda": cuda}


def _cpu_model() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()  # Linux and Android
    except OSError:
        cpuinfo = ""  # no /proc (macOS, Windows): ask platform below
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
