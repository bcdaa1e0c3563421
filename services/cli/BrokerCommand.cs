using System.Globalization;
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
    public static int Execute(Dictionary<string, string?> options)
    {
        var partitions = int.Parse(CommandLine.Optional(options, "partitions") ?? "4", CultureInfo.InvariantCulture);
        var brokers = int.Parse(CommandLine.Optional(options, "brokers") ?? "1", CultureInfo.InvariantCulture);
        var bootstrapFile = CommandLine.Optional(options, "bootstrap-file");
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

        Console.Out.WriteLine($"Kafka-protocol broker on {cluster.BootstrapServers} ({brokers} broker(s), {Topics.All.Count} topics x {partitions} partitions)");
        stop.Wait();
        Console.Out.WriteLine("broker stopping");
        return CommandLine.Ok;
    }
}
