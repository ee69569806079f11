# hwnas: every stage is a recipe. `make demo` and `make test` set up .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.installed

# stage parameters (override: make search RECIPE=recipes/my_search.yaml)
SPACE   ?= recipes/spaces/demo.yaml
DEVICE  ?= cpu
THREADS ?= 1
PRECISION ?= float32
# Tables measured on this machine live in latency_tables/local/, which git ignores: the committed
# tables beside it are the reference machine's, and a user's clone is not ours to edit.
LOCAL   := latency_tables/local
TABLE   ?= $(LOCAL)/$(basename $(notdir $(SPACE)))-$(DEVICE)$(if $(filter int8,$(PRECISION)),-int8).json
RECIPE  ?= recipes/search_demo.yaml
RETRAIN_RECIPE ?= recipes/retrain_demo.yaml
RUN     ?= runs/demo
ARGS    ?=

.PHONY: install demo test profile search retrain export bench bench-int8 bench-search bench-ranking clean

# torch 2.14.1 / torchvision 0.29.1 come from this machine's disk (pinned in pyproject.toml).
$(READY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(READY)

# this machine's table (profiled here in under a minute, kept while it is current: onboarding from the
# committed table missed its own subnets by 8% on average on a machine 5x slower than the one that made
# it, a profile by 1.3%: BENCHMARKS.md, "Hit rate") → search at the middle of this machine's latency
# range → retrain → export
DEMO_TABLE := $(LOCAL)/demo-cpu.json
demo: $(READY)
	$(BIN)/hwnas profile --space recipes/spaces/demo.yaml --device cpu --threads 1 --out $(DEMO_TABLE) --skip_if_current
	T=$$($(BIN)/python -c "from hwnas.latency.table import load_table; lo, hi = load_table('$(DEMO_TABLE)').latency_range_ms(); print(round((lo + hi) / 2, 4))") && \
	$(BIN)/hwnas search --config recipes/search_demo.yaml --model.table $(DEMO_TABLE) --model.target_ms $$T --run_dir $(RUN)/search
	$(BIN)/hwnas retrain --config recipes/retrain_demo.yaml --arch $(RUN)/search/arch.json --run_dir $(RUN)/retrain
	$(BIN)/hwnas export --run $(RUN)/retrain --out $(RUN)/export

test: $(READY)
	$(BIN)/pytest -q

profile: $(READY)
	$(BIN)/hwnas profile --space $(SPACE) --device $(DEVICE) --threads $(THREADS) --precision $(PRECISION) \
		--out $(TABLE) $(ARGS)

# DEVICES > 1: DDP, one process per device (gloo on CPUs, NCCL on GPUs; pick GPUs with
# ARGS="--trainer.accelerator gpu"). hwnas sets DDP's find_unused_parameters (stage_cli.py).
DEVICES ?= 1
search: $(READY)
	$(BIN)/hwnas search --config $(RECIPE) --run_dir $(RUN)/search --trainer.devices $(DEVICES) $(ARGS)

retrain: $(READY)
	$(BIN)/hwnas retrain --config $(RETRAIN_RECIPE) --arch $(RUN)/search/arch.json --run_dir $(RUN)/retrain $(ARGS)

export: $(READY)
	$(BIN)/hwnas export --run $(RUN)/retrain --out $(RUN)/export --device $(DEVICE) --threads $(THREADS) $(ARGS)

# BENCHMARKS.md's numbers, ~25 min: the committed CPU tables' fidelity (30 fresh subnets timed
# twice each; rewrites each table's "fidelity" and its .fidelity.png), the timing protocol's
# warm calls, and the search modes' step time and memory.
bench: $(READY)
	$(BIN)/hwnas validate-table latency_tables/demo-cpu.json --samples 30
	$(BIN)/hwnas validate-table latency_tables/proxyless_cifar-cpu.json --samples 30
	$(BIN)/hwnas validate-table latency_tables/proxyless_mobile-cpu.json --samples 30
	$(BIN)/python benchmarks/warm_calls.py
	$(BIN)/python benchmarks/search_modes.py

# int8 tables (BENCHMARKS.md, ~10 min): the demo and proxyless_cifar spaces profiled as int8 models
# on this machine, their fidelity, and int8/float per op against float tables timed here too (the
# committed float tables may come from another machine; a ratio needs both sides from this one).
bench-int8: $(READY)
	for space in demo proxyless_cifar; do \
		$(BIN)/hwnas profile --space recipes/spaces/$$space.yaml --out $(LOCAL)/$$space-cpu.json --skip_if_current && \
		$(BIN)/hwnas profile --space recipes/spaces/$$space.yaml --precision int8 \
			--out latency_tables/$$space-cpu-int8.json --skip_if_current && \
		$(BIN)/hwnas validate-table latency_tables/$$space-cpu-int8.json --samples 30 && \
		$(BIN)/python benchmarks/int8_ops.py $(LOCAL)/$$space-cpu.json latency_tables/$$space-cpu-int8.json \
		|| exit 1; \
	done

# Supernet ranking and search quality (BENCHMARKS.md) on the fashion space, 28×28 gray. DATA: an image
# folder root (train/ + test/); the default is the Fashion-MNIST subset beside this project on its
# development machines (not in a clone). Retrains are cached in benchmarks/ground_truth/ (shared by both).
DATA ?= ../shared/data/fashion-7k
BENCH_SPACE := recipes/spaces/fashion.yaml
BENCH_TABLE := $(LOCAL)/fashion-cpu.json
CHECK_DATA = @test -d $(DATA)/train || { echo "error: $(DATA)/train not found: pass DATA=an image folder root with train/ and test/"; exit 2; }

# ~6 h on 2 cores: 36 archs of the fashion space retrained with 3 seeds, against supernet scores,
# short-training scores and counting baselines (parameters, weight MB, MACs).
bench-ranking: $(READY)
	$(CHECK_DATA)
	$(BIN)/python benchmarks/ranking.py --data-root $(DATA) --space $(BENCH_SPACE) \
		--table latency_tables/fashion-cpu.json --out runs/bench_ranking $(ARGS)

# 0.5-1 h per target on 2 cores (45 retrains, two at a time): the delivered, selected, most-parameters and 12 random archs at 25/50/75%
# of the range, each retrained with 3 seeds and measured here (this machine's table: onboarded if need be).
bench-search: $(READY)
	$(CHECK_DATA)
	$(BIN)/hwnas onboard --from latency_tables/fashion-cpu.json --out $(BENCH_TABLE) --skip_if_current
	$(BIN)/python benchmarks/search_quality.py --data-root $(DATA) --space $(BENCH_SPACE) --table $(BENCH_TABLE) \
		--out runs/bench_search $(ARGS)

clean:
	rm -rf runs lightning_logs .pytest_cache
