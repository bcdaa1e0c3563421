using System.CommandLine;
using System.Runtime.InteropServices;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;

namespace Puffy.Streaming.Cli;

/// <summary>
/// <c>puffy broker</c>: hosts librdkafka's Kafka-protocol test cluster for the local stack (in memory, for as long as
/// this process lives), creates the pipeline's topics with the requested partitions and writes the bootstrap address
/// to a file once it is ready.
/// </summary>
internal static class BrokerCommand
{
    internal sealed record Options(int Partitions, int Brokers, string? BootstrapFile);

    public static Command Create()
    {
        var partitions = CliOptions.Partitions();
        var brokers = CliOptions.Count("--brokers", "Brokers in the test cluster", 1);
        var bootstrapFile = new Option<string?>("--bootstrap-file")
        {
            Description = "Write the bootstrap address into this file once the broker and its topics are ready",
            HelpName = "FILE",
        };
        var command = new Command("broker", "Hosts the Kafka-protocol test broker with the pipeline's topics (used by the stack) until SIGTERM or Ctrl+C.")
        {
            partitions, brokers, bootstrapFile,
        };
        command.SetAction(r => Execute(new Options(r.GetValue(partitions), r.GetValue(brokers), r.GetValue(bootstrapFile)), r.InvocationConfiguration.Output));
        return command;
    }

    public static int Execute(Options options, TextWriter output)
    {
        var (partitions, brokers, bootstrapFile) = options;
        using var cluster = new MockKafkaCluster(brokers);
        foreach (var topic in Topics.All)
            cluster.CreateTopic(topic, partitions);

        using var stop = new ManualResetEventSlim();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Set();
        });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            stop.Set();
        });
        if (bootstrapFile is not null)
        {
            // Written last and atomically: its presence means the broker and its topics are ready.
            File.WriteAllText(bootstrapFile + ".tmp", cluster.BootstrapServers);
            File.Move(bootstrapFile + ".tmp", bootstrapFile, overwrite: true);
        }

        output.WriteLine($"Kafka-protocol broker on {cluster.BootstrapServers} ({brokers} broker(s), {Topics.All.Count} topics x {partitions} partitions)");
        stop.Wait();
        output.WriteLine("broker stopping");
        return CommandLine.Ok;
    }
}
