"""Latency: tables measured with ONNX Runtime, and the expected latency the search optimises."""
