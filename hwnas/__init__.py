"""hwnas: hardware-aware one-shot neural architecture search."""
