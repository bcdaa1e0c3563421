using Puffy.Streaming.Avro;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Kafka;

/// <summary>
/// Encodes and decodes the contract's messages in the Confluent wire format with the schema ids in use: the ones a
/// Schema Registry handed out (<see cref="CreateAsync"/> with a registry) or the committed catalogue.
/// </summary>
public sealed class MessageCodec
{
    private readonly IReadOnlyDictionary<Type, int> _ids;
    private readonly Func<int, AvroSchema?>? _lookup;

    private MessageCodec(IReadOnlyDictionary<Type, int> ids, Func<int, AvroSchema?>? lookup)
    {
        _ids = ids;
        _lookup = lookup;
        MarkSchemaId = ids[typeof(StreamMark)];
    }

    /// <summary>The committed catalogue's ids; no registry involved.</summary>
    public static MessageCodec Catalogue { get; } = new(
        WireFormat.Schemas.ToDictionary(kv => kv.Key, kv => WireFormat.CatalogueIds[kv.Value.Subject]), null);

    /// <summary>With a registry, registers every subject first (idempotent) and resolves unknown ids through it.</summary>
    public static async Task<MessageCodec> CreateAsync(SchemaRegistryClient? registry, CancellationToken cancellationToken = default)
    {
        if (registry is null)
            return Catalogue;
        var ids = await registry.RegisterAllAsync(cancellationToken);
        return new MessageCodec(ids, registry.Lookup);
    }

    public int MarkSchemaId { get; }

    public byte[] Serialize<T>(T message)
        where T : notnull => WireFormat.Serialize(message, _ids[typeof(T)]);

    public T Deserialize<T>(ReadOnlyMemory<byte> frame) => WireFormat.Deserialize<T>(frame, _lookup ?? Catalogue.LookupCatalogue);

    /// <summary>True when the frame carries a <see cref="StreamMark"/> (by its schema id); false for anything else.</summary>
    public bool IsMark(ReadOnlySpan<byte> frame) =>
        frame.Length >= 5 && frame[0] == 0 && WireFormat.SchemaIdOf(frame) == MarkSchemaId;

    private AvroSchema? LookupCatalogue(int id)
    {
        foreach (var (type, known) in _ids)
        {
            if (known == id)
                return WireFormat.Schemas[type].Schema;
        }

        return null;
    }
}
