namespace Puffy.Streaming.Cli;

/// <summary><c>puffy COMMAND [options]</c>: the whole command tree.</summary>
internal static class CommandLine
{
    public const int Ok = ExitCode.Ok;
    public const int Failed = ExitCode.Failed;
    public const int UsageError = ExitCode.UsageError;
    public const int AlertsFired = ExitCode.AlertsFired;

    public static string Version => CommandHost.Version;

    /// <summary>Parses and runs <paramref name="args"/>; output and errors go to the given writers (default: the console).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null) =>
        CommandHost.RunAsync(
            CommandHost.Root(
                RunCommand.Create(),
                SummaryCommand.Create(),
                ReportCommand.Create(),
                StackCommand.Create(),
                StackCommand.CreateReplay(),
                BrokerCommand.Create(),
                BenchCommand.Create()),
            args, output ?? Console.Out, error ?? Console.Error, e => e is Confluent.Kafka.KafkaException);
}
