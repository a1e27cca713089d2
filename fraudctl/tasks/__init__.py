"""What operator commands run: replay, monitor, the demo and its checks, the benchmarks."""
