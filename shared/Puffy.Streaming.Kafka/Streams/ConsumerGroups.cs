namespace Puffy.Streaming.Kafka.Streams;

/// <summary>The services' consumer groups (also what upstream services watch for back-pressure and --wait).</summary>
public static class ConsumerGroups
{
    public const string Validator = "puffy-validator";
    public const string Sessionizer = "puffy-sessionizer";
    public const string Attribution = "puffy-attribution";
    public const string Monitor = "puffy-monitor";
}
