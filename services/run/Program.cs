using Puffy.Streaming.Cli;
using Puffy.Streaming.Embedded;

// A short run whose heap grows from nothing: let that growth land on 2 MiB pages (see HugePageHeap) before it starts.
HugePageHeap.Enable();

// `puffy run` alone (see the project file): the same command, options, output and exit codes as in the full command line.
return await CommandHost.RunAsync(CommandHost.Root(RunCommand.Create()), args, Console.Out, Console.Error);
