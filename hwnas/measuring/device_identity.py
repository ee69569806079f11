"""Is a table's device this machine? A latency belongs to the machine that measured it.

A table records where it was measured (timing.runtime_metadata: kind, provider, threads,
ONNX Runtime version, CPU model; for a GPU also its name, driver and CUDA version). Another CPU
runs the same archs at another scale (docs/latency.md). So a measurement is compared with a table's
prediction only when every identity field matches, and every stage that predicts says so in
one line when they do not.
"""

from __future__ import annotations

from hwnas.latency.device import Device
from hwnas.measuring.timing import DeviceError, runtime_metadata

# A CPU table has no GPU fields, and a GPU table's host CPU still matters (it launches the kernels).
IDENTITY_FIELDS = ("kind", "provider", "threads", "onnxruntime", "cpu", "gpu", "gpu_driver", "cuda")
# A machine's speed moves ±25% within minutes, and two machines that report one CPU name can differ
# by more (docs/latency.md). Past this, a table is re-measured by --skip_if_current.
REFERENCE_TOLERANCE = 0.25
UNKNOWN = "unknown"  # a GPU field nvidia-smi could not tell (timing.gpu_identity): never the same device


def differences_from_here(recorded: Device) -> list[str]:
    """The identity fields in which the recorded device differs from this machine, in words;
    empty when this machine is the table's device."""
    try:
        here = runtime_metadata(recorded.kind, recorded.threads)
    except DeviceError as error:
        return [f"{recorded.kind} with {recorded.threads} thread(s) cannot run here ({error})"]
    return [f"{name} {recorded.get(name)!r} (here {here.get(name)!r})" for name in IDENTITY_FIELDS
            if recorded.get(name) != here.get(name) or recorded.get(name) == UNKNOWN]


def why_not_measured(table, asked: bool) -> str | None:
    """Why a stage does not measure against `table` (a LatencyTable) on this machine; None: it does."""
    if not asked:
        return "not asked to measure"
    differences = differences_from_here(table.device)
    return f"the table's device is not this machine: {'; '.join(differences)}" if differences else None


def describe_mismatch(table_path: str, recorded: Device) -> str | None:
    """One line for a table measured elsewhere (None when it was measured here)."""
    differences = differences_from_here(recorded)
    if not differences:
        return None
    return (f"note: {table_path} was measured on another device ({'; '.join(differences)}): its predictions "
            f"are that device's, not this machine's")


def speed_note(reference_table_ms: float, reference_now_ms: float) -> str | None:
    """One line for a stage that measured the reference beside its model (None when the speed is
    within REFERENCE_TOLERANCE of the table's)."""
    mismatch = speed_mismatch(reference_table_ms, reference_now_ms)
    return mismatch and (f"note: {mismatch}; measurements are judged at the table's speed (rescaled by the "
                         f"table's subnets nearest their size), but if this persists re-measure this machine "
                         f"(hwnas profile ... --skip_if_current, or hwnas onboard)")


def speed_mismatch(reference_table_ms: float, reference_now_ms: float) -> str | None:
    """Words for a reference subnet that runs at another speed now than in the table (None when
    within REFERENCE_TOLERANCE): the identity fields matched, the machine did not."""
    ratio = reference_now_ms / reference_table_ms
    if abs(ratio - 1) <= REFERENCE_TOLERANCE:
        return None
    return (f"the table's reference subnet takes {reference_now_ms:.4f} ms here, {ratio:.2f}x the table's "
            f"{reference_table_ms:.4f} ms (more than ±{REFERENCE_TOLERANCE:.0%}): this machine's speed this minute, "
            f"or another machine behind the same name")
