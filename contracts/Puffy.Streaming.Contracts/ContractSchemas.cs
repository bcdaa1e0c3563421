using System.Reflection;
using Avro;

namespace Puffy.Streaming.Contracts;

/// <summary>
/// The contract's Avro schemas, parsed by Apache Avro from the embedded <c>Schemas/*.avsc</c> files (the source of
/// truth of the wire format). The specific-record classes in <c>Records/</c> take their <c>_SCHEMA</c> from here.
/// </summary>
public static class ContractSchemas
{
    private static readonly string[] Files =
    [
        "raw-event.avsc", "valid-event.avsc", "sessionized-event.avsc", "dead-letter.avsc", "session.avsc",
        "attributed-order.avsc", "metric.avsc", "alert.avsc", "stream-mark.avsc",
    ];

    private static readonly Dictionary<string, NamedSchema> ByName = Load();

    /// <summary>The named schema (record or enum) with this full name, e.g. <c>puffy.streaming.v1.ValidEvent</c>.</summary>
    public static Schema Named(string fullName) =>
        ByName.TryGetValue(fullName, out var schema) ? schema : throw new ArgumentException($"no contract schema is named {fullName}", nameof(fullName));

    /// <summary>The text of an embedded resource of this assembly (a .avsc file or schema-ids.json).</summary>
    internal static string Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
                           ?? throw new InvalidOperationException($"embedded resource {name} is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static Dictionary<string, NamedSchema> Load()
    {
        var byName = new Dictionary<string, NamedSchema>(StringComparer.Ordinal);
        foreach (var file in Files)
            Collect(Schema.Parse(Resource(file)), byName);
        return byName;
    }

    private static void Collect(Schema schema, Dictionary<string, NamedSchema> byName)
    {
        switch (schema)
        {
            case RecordSchema record:
                // A record defined again inside another file (ValidEvent in SessionizedEvent) is the same definition.
                byName.TryAdd(record.Fullname, record);
                foreach (var field in record.Fields)
                    Collect(field.Schema, byName);
                break;
            case EnumSchema e:
                byName.TryAdd(e.Fullname, e);
                break;
            case UnionSchema union:
                foreach (var branch in union.Schemas)
                    Collect(branch, byName);
                break;
            case ArraySchema array:
                Collect(array.ItemSchema, byName);
                break;
        }
    }
}
