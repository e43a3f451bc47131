using BenchmarkDotNet.Running;

// Runs the benchmarks named on the command line, e.g. `--filter *Hit*`; see bench/README.md.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
