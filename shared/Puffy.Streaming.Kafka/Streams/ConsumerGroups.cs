namespace Puffy.Streaming.Kafka.Streams;

/// <summary>The services' consumer groups (also what upstream services watch for back-pressure and --wait).</summary>
public static class ConsumerGroups
{
    public const string Validator = "puffy-validator";
    public const string Sessionizer = "puffy-sessionizer";
    public const string Attribution = "puffy-attribution";
    public const string Monitor = "puffy-monitor";

    /// <summary>
    /// The group under which a stage of group <paramref name="groupId"/> keeps its resume offsets (where a restart
    /// reads from), apart from its progress (what back-pressure and lag read); see <see cref="OrderedTopicConsumer{T}"/>.
    /// </summary>
    public static string Resume(string groupId) => groupId + ".resume";
}
