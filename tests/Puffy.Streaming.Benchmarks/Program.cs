using BenchmarkDotNet.Running;

// Every public benchmark class in this assembly; pick with --filter, e.g. --filter '*Csv*'. See README (Performance).
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
