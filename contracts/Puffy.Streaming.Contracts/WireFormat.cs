using System.Text.Json;
using Avro;
using Avro.Specific;
using Wire = puffy.streaming.v1;

namespace Puffy.Streaming.Contracts;

/// <summary>How one message type travels: its specific record, topic, registry subject and Avro schema.</summary>
/// <param name="Topic">The topic it is written to; null for <see cref="StreamMark"/>, which goes to several.</param>
/// <param name="Subject">Its Schema Registry subject: <c>&lt;topic&gt;-value</c> (Confluent's topic-name strategy), or the
/// record's full name for <see cref="StreamMark"/> (record-name strategy, as it shares topics with other records).</param>
public sealed record MessageType(Type Message, Type Record, string? Topic, string Subject, RecordSchema Schema);

/// <summary>
/// The messages' wire format: Avro binary in the Confluent framing (<c>0x00 | schema id (big-endian int32) | body</c>),
/// written and read by Confluent's Avro serdes over the specific records generated from <c>Schemas/*.avsc</c>.
/// Schema ids come from a Schema Registry when one is used, otherwise from the committed catalogue
/// <c>Schemas/schema-ids.json</c>.
/// </summary>
public static class WireFormat
{
    /// <summary>Bytes before the Avro body: the magic byte 0 and the schema id.</summary>
    public const int HeaderLength = 5;

    /// <summary>Every message type, by its contract record type.</summary>
    public static IReadOnlyDictionary<Type, MessageType> Types { get; } = new[]
    {
        Type<RawEvent, Wire.RawEvent>(Topics.RawEvents),
        Type<ValidEvent, Wire.ValidEvent>(Topics.ValidEvents),
        Type<SessionizedEvent, Wire.SessionizedEvent>(Topics.SessionizedEvents),
        Type<DeadLetter, Wire.DeadLetter>(Topics.DeadLetters),
        Type<Session, Wire.Session>(Topics.Sessions),
        Type<AttributedOrder, Wire.AttributedOrder>(Topics.AttributedOrders),
        Type<Metric, Wire.Metric>(Topics.Metrics),
        Type<Alert, Wire.Alert>(Topics.Alerts),
        Type<StreamMark, Wire.StreamMark>(null),
    }.ToDictionary(t => t.Message);

    /// <summary>The committed id catalogue: subject → schema id, used when no Schema Registry is configured.</summary>
    public static IReadOnlyDictionary<string, int> CatalogueIds { get; } =
        JsonSerializer.Deserialize<Dictionary<string, int>>(ContractSchemas.Resource("schema-ids.json"))!;

    public static MessageType Of<T>() => Types[typeof(T)];

    public static RecordSchema SchemaOf<T>() => Types[typeof(T)].Schema;

    /// <summary>The schema id in a Confluent frame, or null when the bytes are not one.</summary>
    public static int? SchemaIdOf(ReadOnlySpan<byte> frame) =>
        frame.Length >= HeaderLength && frame[0] == 0 ? System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(frame[1..]) : null;

    private static MessageType Type<TMessage, TRecord>(string? topic)
        where TRecord : ISpecificRecord, new()
    {
        var schema = (RecordSchema)new TRecord().Schema;
        return new MessageType(typeof(TMessage), typeof(TRecord), topic, topic is null ? schema.Fullname : topic + "-value", schema);
    }
}
