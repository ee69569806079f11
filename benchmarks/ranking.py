"""Ranking: does a score order archs as retraining them from scratch does?

    .venv/bin/python benchmarks/ranking.py --data-root ../shared/data/fashion-7k \
        [--space recipes/spaces/fashion.yaml] [--table latency_tables/fashion-cpu.json] \
        [--spread 24] [--window 12] [--target-share 0.5] [--seeds 0 1 2] [--spread-seeds 0] [--out runs/ranking] \
        [--supernets NAME ...] [--supernet-seeds 0 1 2] [--proxy-epochs 1 2 4] [--proxy-seeds 0] \
        [--zero-cost-seeds 0 1 2] \
        [--ground-truth-only] [--window-only] [--retrain-options "..."] [--score-by-retrain "OPTIONS" ...] \
        [--report runs/ranking/ranking.json]

The archs: --spread archs whose predicted latencies spread over the table's range (of 20,000 seeded
random archs and the uniform ones, the nearest to each of --spread evenly spaced latencies) and
--window archs predicted inside [0.95 T, T], T = --target-share of the range: the equal-latency group a
search at T chooses among (drawn from the same archs, and where too few of them land there, as near the range's
ends, from further seeded draws). The truth: each retrained from scratch with benchmarks/retrain_bench.yaml
for every seed (benchmarks/ground_truth.py: cached, two one-thread processes at a time; the window's
first, and the spread group's with --spread-seeds where time is short), its test accuracy the mean over seeds;
--retrain-options adds `hwnas retrain` options to every retrain (a variant of the recipe, cached apart).

The scores, each computed on the train/arch split only (the test split is the truth's alone):
  counting baselines   parameters, weight MB and MACs of the deployed net (net/memory.py, net/macs.py), and its
                       depth: the searchable layers that compute (not `zero`)
  supernets            for each --supernets entry (SUPERNETS below: a one-shot rule and its options), a
                       supernet trained by `hwnas search` with the OneShotOnly algorithm, then every arch
                       scored as `hwnas select` scores it (BN recalibrated; arch-split accuracy) and by
                       arch-split cross-entropy (negated, so higher is better); with --supernet-seeds, each
                       trained once per seed, and the report adds τ's mean and sd over the seeds
  few-shot supernets   for each FEW_SHOT entry among --supernets: its parent supernet, then one sub-supernet
                       per op of the first searchable layer (hwnas/search/few_shot.py: the parent's weights,
                       trained on with that layer pinned to the op); each arch scored by its op's sub-supernet
  zero-cost proxies    naswot, synflow, snip, grad_norm of each arch's net at initialisation (zero_cost.py), on
                       one seeded batch of the train split, each the mean over --zero-cost-seeds initialisations
  rank averages        each supernet score's and proxy's rank averaged with the parameter count's, and with the depth's
  other truths         for each --score-by-retrain variant, the archs' mean accuracy retrained that way
  short training       for each --proxy-epochs E, the final check's own measure (final_check/contest.py):
                       the arch trained from scratch for E epochs on the train split, scored on the arch split by
                       accuracy and by negated cross-entropy, each the mean over --proxy-seeds
Reported per score: Kendall τ against the retrained means over all archs and inside the window, each
with a 95% bootstrap interval (archs resampled 2,000 times); inside the window, its gain in τ over the
parameter count with a paired interval (both on the same resamples: does it beat counting?); what choosing
by it delivers inside the window (best_of_k: the score's favourite of every K-subset, judged by its
retrained mean); with 16 or more equal-latency archs, τ in each half of their draw apart (does a score's τ
on one draw hold on the next?); and the truth's own noise: the split-seed τ (seeds' means against each
other), the pooled seed sd, and at equal latency the archs' own spread and the τ ceiling it allows
(equal_latency_spread). Writes OUT/ranking.json.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, rankdata

from ground_truth import Cache, Retrain, cache_path, retrain_all
from zero_cost import train_batch, zero_cost_scores
from hwnas.cli import main as hwnas
from hwnas.files.atomic import write_json
from hwnas.latency.table import load_table
from hwnas.net.arch import Arch, random_arch
from hwnas.net.macs import arch_macs
from hwnas.net.memory import arch_memory, arch_weight_count
from hwnas.net.space import load_space, parse_op
from hwnas.records.arch_record import in_window
from hwnas.records.search_checkpoint import load_search_checkpoint
from hwnas.scoring.subnet_eval import scorer_of_search

POOL = 20_000  # random archs the spread is picked from
MAX_DRAWS = 2_000_000  # uniform archs drawn at most for a window group the pool holds too few of
BEST_OF = (4, 8)  # subset sizes of the best-of-K report, beside all of the window
SPREAD = 24  # archs spread over the range (--spread); the window group is drawn beside them
WINDOW_FLOOR = 0.95  # the equal-latency group: predicted inside [0.95 T, T], as search_quality.py draws its random archs
BOOTSTRAP = 2_000
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
# One-shot supernets to score with: name → `hwnas search` options beside --model.algorithm OneShotOnly.
SUPERNETS = {
    "average": ["--model.one_shot", "Average"],
    "average-long": ["--model.one_shot", "Average", "--trainer.max_epochs", "30"],
    "fair": ["--model.one_shot", "Fair"],
    "spos": ["--model.one_shot", "SinglePath"],
    "spos-long": ["--model.one_shot", "SinglePath", "--trainer.max_epochs", "30"],
    "spos-wd0-clip": ["--model.one_shot", "SinglePath", "--model.one_shot.weight_decay", "0",
                      "--model.one_shot.grad_clip", "5"],
    "sandwich": ["--model.one_shot", "Sandwich"],
    "sandwich-long": ["--model.one_shot", "Sandwich", "--trainer.max_epochs", "30"],
    "sandwich-wd0-clip": ["--model.one_shot", "Sandwich", "--model.one_shot.weight_decay", "0",
                          "--model.one_shot.grad_clip", "5"],
}
SEARCH_EPOCHS = 15
# Few-shot supernets (hwnas/search/few_shot.py): name → (the parent, a SUPERNETS entry; the epochs of each
# sub-supernet, one per candidate of the first searchable layer, each started from the parent's weights).
FEW_SHOT = {"spos-few-shot": ("spos", 5), "sandwich-few-shot": ("sandwich", 5)}
SPLIT_LAYER = 0


def choose_archs(space, table, spread: int, window: int, target_ms: float, seed: int) -> list[tuple[str, Arch]]:
    rng = random.Random(seed)
    pool = list(dict.fromkeys(random_arch(space, rng) for _ in range(POOL)))
    pool += [Arch(space, tuple(op for _ in space.layers())) for op in space.ops]  # the extremes random rarely hits
    latency = {arch: table.predict_ms(arch) for arch in pool}
    spread_archs: list[Arch] = []
    for point in np.linspace(min(latency.values()), max(latency.values()), spread):
        spread_archs.append(min((a for a in pool if a not in spread_archs), key=lambda a: abs(latency[a] - point)))
    inside = [a for a in pool if in_window(latency[a], WINDOW_FLOOR, target_ms) and a not in spread_archs]
    draws = POOL
    while len(inside) < window and draws < MAX_DRAWS:  # near the range's ends few uniform archs land in the window
        arch, draws = random_arch(space, rng), draws + 1
        if in_window(table.predict_ms(arch), WINDOW_FLOOR, target_ms) and arch not in inside and arch not in spread_archs:
            inside.append(arch)
    if len(inside) < window:
        raise SystemExit(f"{len(inside)} of {draws:,} uniform archs are predicted inside [{WINDOW_FLOOR} T, T] at "
                         f"T = {target_ms} ms, fewer than {window}: choose a target further inside the range")
    return [("spread", arch) for arch in spread_archs] + [("window", arch) for arch in rng.sample(inside, window)]


def window_group(space, table, window: int, target_ms: float, seed: int) -> list[Arch]:
    """The equal-latency group at target_ms exactly as this benchmark draws it (beside its default spread),
    so other benchmarks that judge against it reuse its retrains."""
    return [arch for group, arch in choose_archs(space, table, SPREAD, window, target_ms, seed) if group == "window"]


def target_at_share(table, share: float) -> float:
    """The target in ms at `share` of the table's predicted range (0: its fastest arch, 1: its slowest)."""
    fastest, slowest = table.latency_range_ms()
    return round(fastest + share * (slowest - fastest), 4)


def resampled_taus(scores, truth, seed: int) -> list[float]:
    """τ of the score on BOOTSTRAP resamples of the archs (with replacement; the same resamples for every
    score of one seed and group size), NaN where a resample holds a single distinct arch and so has no order."""
    scores, truth = np.asarray(scores, float), np.asarray(truth, float)
    rng = np.random.default_rng(seed)
    picks = (rng.integers(len(scores), size=len(scores)) for _ in range(BOOTSTRAP))
    return [kendalltau(scores[pick], truth[pick]).statistic for pick in picks]


def tau_with_interval(scores, truth, resampled: list[float]) -> dict:
    """Kendall τ (tau-b) and its 95% bootstrap interval from the score's resampled τ (resampled_taus)."""
    low, high = np.percentile([tau for tau in resampled if np.isfinite(tau)], [2.5, 97.5])
    return {"tau": float(kendalltau(scores, truth).statistic), "low": float(low), "high": float(high)}


def tau_gain_with_interval(ranking: dict, resampled: list[float], baseline: dict, baseline_resampled: list[float]) -> dict:
    """τ(score) − τ(baseline) on the same archs (their tau_with_interval and resampled_taus, one seed), and its
    paired 95% bootstrap interval: does the score order these archs better than the baseline beyond the luck of
    their draw?"""
    gains = np.array(resampled) - np.array(baseline_resampled)
    gains = gains[np.isfinite(gains)]
    low, high = np.percentile(gains, [2.5, 97.5])
    return {"gain": ranking["tau"] - baseline["tau"], "low": float(low), "high": float(high),
            "share_above": float(np.mean(gains > 0))}


def best_of_k(scores, truth, sizes) -> list[dict]:
    """What choosing by a score delivers among archs of one latency: for every K-subset of them, the arch
    the score puts first, judged by its retrained mean; per K, the picks' mean gain over the median of all
    (points) and their share at or above the 80th percentile (search_quality.py's first condition); where
    archs tie for first, each is the pick equally often. The subsets are counted, not listed: arch i is the
    pick of the subsets holding it, j of the archs tied with it and K − 1 − j of those scored below it, in
    a 1/(1 + j) share."""
    median, p80 = statistics.median(truth), float(np.percentile(truth, 80))
    below = [sum(other < score for other in scores) for score in scores]
    tied = [sum(other == score for other in scores) - 1 for score in scores]
    results = []
    for size in sizes:
        share_of_picks = [  # per arch: the subsets it is the pick of, as a share of all of them
            sum(math.comb(ties, j) * math.comb(lower, size - 1 - j) / (1 + j) for j in range(min(ties, size - 1) + 1))
            / math.comb(len(scores), size) for lower, ties in zip(below, tied)]
        results.append({"size": size,
                        "gain_points": 100 * sum(w * (t - median) for w, t in zip(share_of_picks, truth)),
                        "at_or_above_p80": sum(w for w, t in zip(share_of_picks, truth) if t >= p80)})
    return results


def train_supernet(name: str, seed: int, args, out: Path, split: tuple[str, Path, int] | None = None) -> tuple[Path, float]:
    """A one-shot supernet (SUPERNETS[name]) on the benchmark's data, its weights' initialisation and its paths
    drawn from `seed`; (checkpoint, seconds), reused if there. split (op, parent checkpoint, epochs): instead the
    few-shot sub-supernet of that first-layer op."""
    label = name if split is None else f"{name}-few-shot"
    folder = out / (f"supernet_{label}" if seed == 0 else f"supernet_{label}@{seed}")
    folder = folder if split is None else folder / split[0]
    started = time.perf_counter()
    if not (folder / "search.json").exists():
        options = ["--trainer.max_epochs", str(SEARCH_EPOCHS), *SUPERNETS[name], "--seed_everything", str(seed),
                   "--model.seed", str(seed)]
        if split is not None:  # after the rule's own options: its epochs are the sub-supernet's
            op, parent, epochs = split
            options += ["--trainer.max_epochs", str(epochs), "--model.algorithm.split",
                        json.dumps({"parent": str(parent), "layer": SPLIT_LAYER, "op": op})]
        if hwnas(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(folder), "--model.space", args.space,
                  "--model.table", args.table, "--model.target_ms", str(args.target_ms), "--model.algorithm",
                  "OneShotOnly", "--data.class_path", "hwnas.data.ImageFolderDataModule", "--data.init_args.root",
                  args.data_root, *options, *QUIET]) != 0:
            raise SystemExit(f"the {name} supernet failed to train")
    return folder / "checkpoints/last.ckpt", time.perf_counter() - started


def few_shot_scores(name: str, seed: int, archs: list[Arch], args, out: Path) -> tuple[dict[str, list[float]], float]:
    """Each arch scored by the sub-supernet of its first-layer op (trained if missing: the parent, then the
    sub-supernets of the ops the archs hold); (scores as supernet_scores gives them, seconds of all trainings)."""
    parent_name, epochs = FEW_SHOT[name]
    parent, seconds = train_supernet(parent_name, seed, args, out)
    scores: dict[str, list[float]] = {"accuracy": [0.0] * len(archs), "neg_ce": [0.0] * len(archs)}
    for op in dict.fromkeys(arch.ops[SPLIT_LAYER] for arch in archs):
        held = [i for i, arch in enumerate(archs) if arch.ops[SPLIT_LAYER] == op]
        checkpoint, sub_seconds = train_supernet(parent_name, seed, args, out, split=(op, parent.resolve(), epochs))
        seconds += sub_seconds
        for kind, values in supernet_scores(checkpoint, [archs[i] for i in held]).items():
            for i, value in zip(held, values):
                scores[kind][i] = value
    return scores, seconds


def supernet_scores(checkpoint_path: Path, archs: list[Arch]) -> dict[str, list[float]]:
    """Per arch, the supernet's arch-split accuracy and negated cross-entropy, BN recalibrated per arch."""
    scorer = scorer_of_search(load_search_checkpoint(checkpoint_path), calibration_batches=8)
    neg_ce = [scorer(arch) for arch in archs]
    return {"accuracy": [scorer.accuracy[arch] for arch in archs], "neg_ce": neg_ce}


def search_splits(space, args):
    """The search's splits of the benchmark's data: its data module with the recipe's arch_fraction, set up."""
    from hwnas.data import ImageFolderDataModule

    data = ImageFolderDataModule(args.data_root, resolution=space.resolution, channels=space.in_channels,
                                 arch_fraction=0.2, num_workers=0)
    data.setup("fit")
    return data


def short_training_scores(archs: list[Arch], epochs: int, seeds: list[int], args, out: Path) -> dict[str, list[float]]:
    """Arch-split accuracy and negated cross-entropy after `epochs` of training from scratch, as the final
    check trains, each the mean over `seeds` (the final check's `trainings`); cached per seed in
    OUT/short_training.json, saved after every training."""
    from hwnas.final_check.contest import train_on_the_arch_split

    cache_path = out / "short_training.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    data = None
    for arch, seed in [(arch, seed) for seed in seeds for arch in archs]:
        key = f"{' '.join(arch.ops)}|{epochs} epochs|seed {seed}"
        if key not in cache:
            if data is None:
                data = search_splits(archs[0].space, args)
            training = train_on_the_arch_split(arch, data, epochs, seed, "cpu")
            cache[key] = {"accuracy": training.accuracy, "neg_ce": -training.cross_entropy}
            write_json(cache_path, cache)
    return {kind: [statistics.mean(cache[f"{' '.join(arch.ops)}|{epochs} epochs|seed {seed}"][kind] for seed in seeds)
                   for arch in archs] for kind in ("accuracy", "neg_ce")}


def counting_scores(archs: list[Arch]) -> dict[str, list[float]]:
    return {"parameters": [float(arch_weight_count(a)) for a in archs],
            "weight_mb": [arch_memory(a)[0] for a in archs], "macs": [float(arch_macs(a)) for a in archs],
            "layers that compute": [float(sum(not parse_op(op).runs_nothing(layer.shape)
                                              for op, layer in zip(a.ops, a.space.layers()))) for a in archs]}


def with_baselines(scores: dict[str, list[float]], name: str) -> None:
    """Adds the score's rank averaged with the parameter count's, and with the depth's."""
    for baseline in ("parameters", "layers that compute"):
        scores[f"{name} + {baseline}"] = list(rankdata(scores[name]) + rankdata(scores[baseline]))


def truth_noise(rows: list[dict]) -> dict:
    """How well the truth orders itself: τ between the mean of the seeds with even and odd index, and the
    pooled seed sd (points)."""
    several = [r for r in rows if len(r["accuracies"]) > 1]
    halves = [(statistics.mean(r["accuracies"][0::2]), statistics.mean(r["accuracies"][1::2])) for r in several]
    pooled = statistics.mean(statistics.variance(r["accuracies"]) for r in several) ** 0.5
    return {"split_seed_tau": float(kendalltau(*zip(*halves)).statistic), "pooled_seed_sd_points": 100 * pooled,
            **equal_latency_spread([r for r in several if r["group"] == "window"])}


def equal_latency_spread(window: list[dict]) -> dict:
    """How much of the equal-latency archs' spread is theirs and not the seeds' (points): the sd of their
    means; the archs' own sd, what is left of its square after a mean's seed noise (pooled sd² / seeds) is
    taken out; and the τ ceiling, the τ against these noisy means of a score that knew every arch's true
    mean: (2/π)·arcsin(ρ) for normal noise (Greiner's relation), ρ² the share of the means' variance that
    is the archs' own. A score's τ at equal latency is judged against this, not against 1."""
    if len(window) < 3:
        return {}
    seeds = min(len(r["accuracies"]) for r in window)
    means_variance = statistics.variance(r["mean"] for r in window)
    noise_variance = statistics.mean(statistics.variance(r["accuracies"]) for r in window) / seeds
    own_variance = max(0.0, means_variance - noise_variance)
    return {"window_means_sd_points": 100 * means_variance ** 0.5, "window_arch_sd_points": 100 * own_variance ** 0.5,
            "window_tau_ceiling": 2 / math.pi * math.asin((own_variance / means_variance) ** 0.5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", required=True, help="ImageFolder root (train/ + test/)")
    parser.add_argument("--space", default="recipes/spaces/fashion.yaml")
    parser.add_argument("--table", default="latency_tables/fashion-cpu.json")
    parser.add_argument("--spread", type=int, default=SPREAD)
    parser.add_argument("--window", type=int, default=12)
    parser.add_argument("--target-share", type=float, default=0.5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--spread-seeds", type=int, nargs="+", default=None,
                        help="seeds of the spread group (default --seeds): archs far apart differ by more than a seed")
    parser.add_argument("--supernets", nargs="*", default=list(SUPERNETS), choices=[*SUPERNETS, *FEW_SHOT])
    parser.add_argument("--supernet-seeds", type=int, nargs="+", default=[0],
                        help="train each supernet once per seed (its initialisation and paths): how far τ moves with it")
    parser.add_argument("--proxy-epochs", type=int, nargs="*", default=[1, 2, 4], help="short-training scores")
    parser.add_argument("--proxy-seeds", type=int, nargs="+", default=[0],
                        help="train each arch once per seed for the short-training scores, scored by the mean")
    parser.add_argument("--zero-cost-seeds", type=int, nargs="*", default=[0, 1, 2],
                        help="initialisations each zero-cost proxy is averaged over (none: no proxies)")
    parser.add_argument("--ground-truth-only", action="store_true", help="retrain the archs, score nothing")
    parser.add_argument("--window-only", action="store_true",
                        help="retrain and score the equal-latency group alone (no τ over the range): where time is short")
    parser.add_argument("--scores-only", action="store_true",
                        help="train the supernets and the short-training scores (cached), retrain nothing, report nothing")
    parser.add_argument("--retrain-options", default="",
                        help="more `hwnas retrain` options for the ground truth, one string (a retrain variant)")
    parser.add_argument("--score-by-retrain", action="append", default=[], metavar="OPTIONS",
                        help="another retrain variant's mean accuracy as a score (\"\" for the recipe as written): "
                             "how far two truths agree; repeatable")
    parser.add_argument("--cache", default=None, help="retrain cache (default benchmarks/ground_truth/DATA.json)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the arch draws and the bootstrap")
    parser.add_argument("--out", default="runs/ranking")
    parser.add_argument("--report", default=None, help="print the tables of a finished run's ranking.json")
    args = parser.parse_args()
    if args.report:
        report(json.loads(Path(args.report).read_text()))
        return
    space = load_space(args.space)
    table = load_table(args.table, space)
    args.target_ms = target_at_share(table, args.target_share)
    out = Path(args.out)
    chosen = choose_archs(space, table, args.spread, args.window, args.target_ms, args.seed)
    if args.window_only:  # drawn with the spread group all the same, so the window is the same archs
        chosen = [(group, arch) for group, arch in chosen if group == "window"]
    archs = [arch for _, arch in chosen]
    if args.scores_only:  # beside a ground-truth run: its caches fill, the report waits for both
        for epochs in args.proxy_epochs:
            short_training_scores(archs, epochs, args.proxy_seeds, args, out)
        for name in args.supernets:
            for seed in args.supernet_seeds:
                if name in FEW_SHOT:
                    few_shot_scores(name, seed, archs, args, out)
                else:
                    supernet_scores(train_supernet(name, seed, args, out)[0], archs)
        return
    cache = Cache(args.cache or cache_path(args.data_root))
    seeds = {"spread": args.spread_seeds or args.seeds, "window": args.seeds}
    options = tuple(args.retrain_options.split())
    accuracies = retrain_all([Retrain(arch, seed, args.data_root, options=options) for group in ("window", "spread")
                              for seed in seeds[group] for g, arch in chosen if g == group], cache)
    rows = [{"group": group, "ops": list(arch.ops), "predicted_ms": table.predict_ms(arch),
             "accuracies": [accuracies[Retrain(arch, seed, args.data_root, options=options)] for seed in seeds[group]]}
            for group, arch in chosen]
    for row in rows:
        row["mean"] = statistics.mean(row["accuracies"])
    if args.ground_truth_only:
        return
    scores = counting_scores(archs)
    for epochs in args.proxy_epochs:
        trained = short_training_scores(archs, epochs, args.proxy_seeds, args, out)
        label = f"short training, {epochs} epoch(s)" + (f" × seeds {args.proxy_seeds}" if args.proxy_seeds != [0] else "")
        scores[f"{label}: accuracy"], scores[f"{label}: cross-entropy"] = trained["accuracy"], trained["neg_ce"]
    for variant in args.score_by_retrain:
        variant_options = tuple(variant.split())
        other = retrain_all([Retrain(arch, seed, args.data_root, options=variant_options)
                             for group, arch in chosen for seed in seeds[group]], cache)
        scores[f"retrained with {variant or 'the recipe as written'}"] = [
            statistics.mean(other[Retrain(arch, seed, args.data_root, options=variant_options)]
                            for seed in seeds[group]) for group, arch in chosen]
    if args.zero_cost_seeds:
        started = time.perf_counter()
        images, labels = train_batch(search_splits(archs[0].space, args).train_set, args.seed)
        for proxy, values in zero_cost_scores(archs, images, labels, args.zero_cost_seeds).items():
            scores[f"zero-cost: {proxy}"] = values
            with_baselines(scores, f"zero-cost: {proxy}")
        print(f"zero-cost proxies: {time.perf_counter() - started:.0f} s for {len(archs)} archs")
    seconds = {}
    for name, seed in [(name, seed) for name in args.supernets for seed in args.supernet_seeds]:
        label = name if args.supernet_seeds == [0] else f"{name}@{seed}"
        if name in FEW_SHOT:
            supernet, seconds[label] = few_shot_scores(name, seed, archs, args, out)
        else:
            checkpoint, seconds[label] = train_supernet(name, seed, args, out)
            supernet = supernet_scores(checkpoint, archs)
        for kind, values in supernet.items():
            scores[f"{label}: {kind}"] = values
            with_baselines(scores, f"{label}: {kind}")
    groups = ("window",) if args.window_only else ("all", "window")
    members = {group: [i for i, r in enumerate(rows) if group == "all" or r["group"] == group] for group in groups}
    truth = {group: [rows[i]["mean"] for i in members[group]] for group in groups}
    resampled = {(name, group): resampled_taus([values[i] for i in members[group]], truth[group], args.seed)
                 for name, values in scores.items() for group in groups}
    rankings = {name: {group: tau_with_interval([values[i] for i in members[group]], truth[group],
                                                resampled[name, group])
                       for group in groups} for name, values in scores.items()}
    over_parameters = {name: tau_gain_with_interval(rankings[name]["window"], resampled[name, "window"],
                                                    rankings["parameters"]["window"], resampled["parameters", "window"])
                       for name in scores if name != "parameters"}
    window = members["window"]
    picks = {name: best_of_k([values[i] for i in window], truth["window"],
                             sorted({*BEST_OF, len(window)} & set(range(1, len(window) + 1))))
             for name, values in scores.items()}
    result = {"settings": {k: v for k, v in vars(args).items()}, "target_ms": args.target_ms,
              "truth": truth_noise(rows), "archs": rows, "scores": scores, "rankings": rankings,
              "over_parameters": over_parameters, "picks": picks, "supernet_seconds": seconds}
    write_json(out / "ranking.json", result)
    report(result)


def report(result: dict) -> None:
    noise = result["truth"]
    print(f"truth: {len(result['archs'])} archs, split-seed τ {noise['split_seed_tau']:.3f}, pooled seed sd "
          f"{noise['pooled_seed_sd_points']:.2f} points; window T = {result['target_ms']} ms")
    if "window_tau_ceiling" in noise:
        print(f"equal latency: the means' sd {noise['window_means_sd_points']:.2f} points, the archs' own "
              f"{noise['window_arch_sd_points']:.2f} (seed noise taken out); τ ceiling {noise['window_tau_ceiling']:.3f}")
    print("| score | τ, all archs | τ, equal latency |\n|---|---|---|")
    for name, ranking in result["rankings"].items():
        cells = [f"{r['tau']:.3f} [{r['low']:.2f}, {r['high']:.2f}]" if r else "not run"
                 for r in (ranking.get("all"), ranking["window"])]
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    if "over_parameters" in result:
        print("\n| score | τ gain over the parameter count at equal latency [paired 95% interval] (share of resamples "
              "above 0) |\n|---|---|")
        for name, gain in result["over_parameters"].items():
            print(f"| {name} | {gain['gain']:+.3f} [{gain['low']:+.2f}, {gain['high']:+.2f}] ({gain['share_above']:.0%}) |")
    if "picks" in result:
        print("\n| score | best of K at equal latency, judged on the retrained means: gain over the median, points "
              "(share ≥ p80) |\n|---|---|")
        for name, picks in result["picks"].items():
            print(f"| {name} | " + "; ".join(f"K={p['size']}: {p['gain_points']:+.2f} ({p['at_or_above_p80']:.0%})"
                                            for p in picks) + " |")
    window = [i for i, row in enumerate(result["archs"]) if row["group"] == "window"]
    if len(window) >= 16:  # each half large enough for a τ worth printing
        halves = window[:len(window) // 2], window[len(window) // 2:]
        print(f"\n| score | τ, the first {len(halves[0])} equal-latency archs drawn | τ, the {len(halves[1])} drawn "
              f"after them |\n|---|---|---|")
        for name, values in result["scores"].items():
            taus = [kendalltau([values[i] for i in half], [result["archs"][i]["mean"] for i in half]).statistic
                    for half in halves]
            print(f"| {name} | {taus[0]:.3f} | {taus[1]:.3f} |")
    over_seeds: dict[str, list[dict]] = {}  # "rule: kind" → its rankings, one per supernet seed
    for name, ranking in result["rankings"].items():
        if "@" in name:
            rule, rest = name.split("@", 1)
            over_seeds.setdefault(f"{rule}{rest[rest.index(':'):]}", []).append(ranking)
    if over_seeds:
        print("\n| score, over supernet seeds | τ, all archs: mean ± sd | τ, equal latency: mean ± sd (each seed) |")
        print("|---|---|---|")
    for name, rankings in over_seeds.items():
        cells = []
        for group in ("all", "window"):
            taus = [r[group]["tau"] for r in rankings if r.get(group)]
            cells.append(f"{statistics.mean(taus):.3f} ± {statistics.stdev(taus) if len(taus) > 1 else 0:.3f}"
                         + (f" ({', '.join(f'{t:.2f}' for t in taus)})" if group == "window" else "") if taus else "not run")
        print(f"| {name} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
