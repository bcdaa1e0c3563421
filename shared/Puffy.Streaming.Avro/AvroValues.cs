namespace Puffy.Streaming.Avro;

/// <summary>A generic record: the schema plus one value per field, kept in field order.</summary>
public sealed class AvroRecord
{
    private readonly object?[] values;

    public AvroRecord(AvroSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (schema.Type != AvroType.Record)
            throw new ArgumentException("schema is not a record", nameof(schema));
        Schema = schema;
        values = new object?[schema.Fields.Count];
    }

    public AvroSchema Schema { get; }

    public object? this[string fieldName]
    {
        get => values[IndexOf(fieldName)];
        set => values[IndexOf(fieldName)] = value;
    }

    public object? this[int position]
    {
        get => values[position];
        set => values[position] = value;
    }

    public bool TryGetValue(string fieldName, out object? value)
    {
        var field = Schema.GetField(fieldName);
        value = field is null ? null : values[field.Position];
        return field is not null;
    }

    public override string ToString() =>
        "{" + string.Join(", ", Schema.Fields.Select(f => f.Name + ": " + Format(values[f.Position]))) + "}";

    private static string Format(object? v) => v switch
    {
        null => "null",
        string s => "\"" + s + "\"",
        byte[] b => Convert.ToHexString(b),
        System.Collections.IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(Format)) + "]",
        _ => v.ToString() ?? string.Empty,
    };

    private int IndexOf(string fieldName) =>
        Schema.GetField(fieldName)?.Position ?? throw new KeyNotFoundException($"record {Schema.FullName} has no field '{fieldName}'");
}

/// <summary>An enum value as read from data; writers also accept a plain symbol string.</summary>
public sealed class AvroEnum
{
    public AvroEnum(AvroSchema schema, string symbol)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(symbol);
        if (schema.Type != AvroType.Enum)
            throw new ArgumentException("schema is not an enum", nameof(schema));
        if (schema.SymbolIndex(symbol) < 0)
            throw new AvroException($"'{symbol}' is not a symbol of enum {schema.FullName}");
        Schema = schema;
        Symbol = symbol;
    }

    public AvroSchema Schema { get; }

    public string Symbol { get; }

    public override string ToString() => Symbol;
}

public sealed class AvroFixed
{
    public AvroFixed(AvroSchema schema, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(value);
        if (schema.Type != AvroType.Fixed)
            throw new ArgumentException("schema is not a fixed", nameof(schema));
        if (value.Length != schema.Size)
            throw new AvroException($"fixed {schema.FullName} needs {schema.Size} bytes, got {value.Length}");
        Schema = schema;
        Value = value;
    }

    public AvroSchema Schema { get; }

    public byte[] Value { get; }

    public override string ToString() => Convert.ToHexString(Value);
}
