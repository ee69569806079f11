"""Where int8 pays and where it costs: a space's int8 table against its float table of the same
machine, op by op (no timing; reads the two tables).

    .venv/bin/python benchmarks/int8_ops.py latency_tables/demo-cpu.json latency_tables/demo-cpu-int8.json

Prints a Markdown table: per candidate op (and the stem and head), the median over the layers
where it occurs of int8 ms / float ms, with the range; then the same ratio for the reference
subnet and for the space's fastest and slowest arch, each as its table predicts it. A ratio
above 1 means the int8 model is slower. Ratios within one machine state (each table's entries
were timed together) are what compare; the two tables were timed minutes apart, so a uniform
factor of up to ~10% between them is the machine, not the precision (the reference row shows it).
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict

from hwnas.latency.table import load_table


def op_of(key: str) -> str:
    return key.split(" ")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("float_table")
    parser.add_argument("int8_table")
    args = parser.parse_args()
    floats, int8s = load_table(args.float_table), load_table(args.int8_table)
    if (floats.precision, int8s.precision) != ("float32", "int8"):
        raise SystemExit(f"need a float32 and an int8 table, got {floats.precision} and {int8s.precision}")
    if floats.space.fingerprint() != int8s.space.fingerprint():
        raise SystemExit("the two tables are of different spaces")
    ratios = defaultdict(list)
    for key, stats in floats.entries.items():
        ratios[op_of(key)].append(int8s.entries[key].median_ms / stats.median_ms)
    print(f"{floats.space.name}: int8 ms / float ms ({args.int8_table} / {args.float_table})\n")
    print("| op | entries | median ratio | min | max |\n|---|---|---|---|---|")
    for op, values in sorted(ratios.items(), key=lambda item: statistics.median(item[1])):
        print(f"| {op} | {len(values)} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")
    print("\n| subnet | ops | float ms | int8 ms | ratio |\n|---|---|---|---|---|")
    rows = {floats.reference_ops: ("reference (timed)", floats.reference_ms, int8s.reference_ms)}
    for table in (floats, int8s):  # each table's fastest and slowest arch, predicted by both
        for name, arch in zip(("fastest", "slowest"), table.extreme_archs()):
            rows.setdefault(arch.ops, (f"{name} for {table.precision} (predicted)", floats.predict_ms(arch),
                                       int8s.predict_ms(arch)))
    for ops, (name, float_ms, int8_ms) in rows.items():
        print(f"| {name} | {' '.join(ops)} | {float_ms:.4f} | {int8_ms:.4f} | {int8_ms / float_ms:.2f} |")


if __name__ == "__main__":
    main()
