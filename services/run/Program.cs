using Puffy.Streaming.Cli;

// `puffy run` alone (see the project file): the same command, options, output and exit codes as in the full command line.
return await CommandHost.RunAsync(CommandHost.Root(RunCommand.Create()), args, Console.Out, Console.Error);
