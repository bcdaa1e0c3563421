using Puffy.Streaming.Cli;

return await CommandLine.RunAsync(args);
