using System.Collections.ObjectModel;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Puffy.Streaming.Avro;

public sealed class AvroField
{
    // One reference write publishes the converted value, so concurrent readers never see a half-set pair of fields.
    private StrongBox<object?>? converted;

    internal AvroField(string name, AvroSchema schema, int position)
    {
        Name = name;
        Schema = schema;
        Position = position;
    }

    public string Name { get; }

    public AvroSchema Schema { get; }

    public int Position { get; }

    public string? Doc { get; internal set; }

    /// <summary>"ascending", "descending" or "ignore" when declared.</summary>
    public string? Order { get; internal set; }

    public IReadOnlyList<string> Aliases { get; internal set; } = ReadOnlyCollection<string>.Empty;

    public bool HasDefault { get; private set; }

    /// <summary>The default converted to the generic value model (a fresh copy is not made, so treat it as read-only).</summary>
    public object? DefaultValue
    {
        get
        {
            if (!HasDefault)
                throw new AvroException($"field '{Name}' has no default");
            converted ??= new StrongBox<object?>(AvroDefaults.FromJson(Schema, DefaultJson));
            return converted.Value;
        }
    }

    internal JsonElement DefaultJson { get; private set; }

    internal void SetDefault(JsonElement value)
    {
        DefaultJson = value;
        HasDefault = true;
    }
}
