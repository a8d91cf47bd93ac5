"""Benchmark suites: instances and harnesses shared by `leadsolver bench` and benchmarks/."""
