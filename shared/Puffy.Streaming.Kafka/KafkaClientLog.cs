using System.Globalization;
using Confluent.Kafka;

namespace Puffy.Streaming.Kafka;

/// <summary>
/// Where librdkafka's own log lines go: connection failures, requests that time out, a coordinator that stops answering.
/// Without a handler librdkafka prints them to stderr as raw text (<c>%4|1796089139.341|REQTMOUT|…</c>), beside a
/// service's structured log and never in Seq. Every client this project builds takes <see cref="Handler"/>; a service
/// routes the lines into its logger once at start-up (<see cref="Route"/>). Until then, and in the command line, they are
/// printed to stderr as librdkafka would print them.
/// </summary>
public static class KafkaClientLog
{
    private static volatile Action<LogMessage>? s_route;

    /// <summary>Sends every client's log lines to <paramref name="route"/> from now on.</summary>
    public static void Route(Action<LogMessage> route) => s_route = route ?? throw new ArgumentNullException(nameof(route));

    /// <summary>Back to stderr, unless another route was installed after <paramref name="route"/>.</summary>
    public static void Unroute(Action<LogMessage> route) => Interlocked.CompareExchange(ref s_route, null, route);

    /// <summary>The log handler for a client builder (<c>SetLogHandler(KafkaClientLog.Handler)</c>).</summary>
    public static void Handler(IClient client, LogMessage message) => Write(message);

    /// <summary>Hands one line to the route (called on librdkafka's threads).</summary>
    public static void Write(LogMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (s_route is { } route)
        {
            route(message);
            return;
        }

        var seconds = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"%{(int)message.Level}|{seconds:0.000}|{message.Facility}|{message.Name}| {message.Message}"));
    }
}
