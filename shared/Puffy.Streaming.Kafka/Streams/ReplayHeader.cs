using System.Text;
using Confluent.Kafka;

namespace Puffy.Streaming.Kafka.Streams;

/// <summary>The <c>puffy-replay</c> message header: the id of the replay a message's data comes from.</summary>
public sealed class ReplayHeader
{
    public const string Name = "puffy-replay";

    private byte[]? _bytes;

    /// <summary>The replay id of the last message seen that carried one.</summary>
    public string? Current { get; private set; }

    /// <summary>Takes the header of a consumed message (the id string is made only when it changes).</summary>
    public void Observe(Headers? headers)
    {
        if (headers is null || !headers.TryGetLastBytes(Name, out var bytes))
            return;
        if (_bytes is not null && bytes.AsSpan().SequenceEqual(_bytes))
            return;
        _bytes = bytes;
        Current = Encoding.UTF8.GetString(bytes);
    }
}
