using System.Reflection;
using System.Text.Json;
using Puffy.Streaming.Avro;

namespace Puffy.Streaming.Contracts;

/// <summary>
/// The messages' wire format: Avro binary in the Confluent framing (<c>0x00 | schema id (big-endian int32) | body</c>),
/// so any Confluent-compatible tool can read the topics. Schemas come from the embedded <c>Schemas/*.avsc</c> files;
/// schema ids from a Schema Registry when one is used, otherwise from the committed catalogue <c>Schemas/schema-ids.json</c>.
/// </summary>
public static class WireFormat
{
    /// <summary>The writer schema of each message type and the registry subject it is registered under.</summary>
    public static IReadOnlyDictionary<Type, (string Subject, AvroSchema Schema)> Schemas { get; } = new Dictionary<Type, (string, AvroSchema)>
    {
        [typeof(RawEvent)] = (Topics.RawEvents + "-value", Load("raw-event.avsc")),
        [typeof(ValidEvent)] = (Topics.ValidEvents + "-value", Load("valid-event.avsc")),
        [typeof(SessionizedEvent)] = (Topics.SessionizedEvents + "-value", Load("sessionized-event.avsc")),
        [typeof(DeadLetter)] = (Topics.DeadLetters + "-value", Load("dead-letter.avsc")),
        [typeof(Session)] = (Topics.Sessions + "-value", Load("session.avsc")),
        [typeof(AttributedOrder)] = (Topics.AttributedOrders + "-value", Load("attributed-order.avsc")),
        [typeof(Metric)] = (Topics.Metrics + "-value", Load("metric.avsc")),
        [typeof(Alert)] = (Topics.Alerts + "-value", Load("alert.avsc")),
        [typeof(StreamMark)] = (StreamMark.Subject, Load("stream-mark.avsc")),
    };

    /// <summary>The committed id catalogue: subject → schema id, used when no Schema Registry is configured.</summary>
    public static IReadOnlyDictionary<string, int> CatalogueIds { get; } =
        JsonSerializer.Deserialize<Dictionary<string, int>>(Resource("schema-ids.json"))!;

    public static AvroSchema SchemaOf<T>() => Schemas[typeof(T)].Schema;

    /// <summary>Encodes a message with the catalogue's schema id (or <paramref name="schemaId"/> from a registry).</summary>
    public static byte[] Serialize<T>(T message, int? schemaId = null)
        where T : notnull
    {
        var (subject, schema) = Schemas[typeof(T)];
        return AvroConfluent.Encode(schemaId ?? CatalogueIds[subject], schema, AvroMapping.ToAvro(schema, message));
    }

    /// <summary>
    /// Decodes a message. <paramref name="writerSchemaById"/> resolves the id in the frame (a registry lookup);
    /// without it the catalogue is used. Data written with an older compatible schema is resolved to the current one.
    /// </summary>
    public static T Deserialize<T>(ReadOnlyMemory<byte> frame, Func<int, AvroSchema?>? writerSchemaById = null)
    {
        var (subject, schema) = Schemas[typeof(T)];
        var id = AvroConfluent.ReadSchemaId(frame.Span);
        var writer = writerSchemaById?.Invoke(id)
                     ?? (CatalogueIds[subject] == id ? schema : throw new AvroException($"unknown schema id {id} for {subject}"));
        var value = AvroConfluent.Decode(writer, frame, schema) as AvroRecord
                    ?? throw new AvroException($"{subject}: the message is not a record");
        return AvroMapping.FromAvro<T>(value);
    }

    /// <summary>The schema id in a Confluent frame (no body is decoded).</summary>
    public static int SchemaIdOf(ReadOnlySpan<byte> frame) => AvroConfluent.ReadSchemaId(frame);

    private static AvroSchema Load(string name) => AvroSchema.Parse(Resource(name));

    private static string Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
                           ?? throw new InvalidOperationException($"embedded resource {name} is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
