using System.Text.Json;

namespace Puffy.Streaming.Avro;

/// <summary>Converts JSON default values (as written in schemas) into the generic value model.</summary>
internal static class AvroDefaults
{
    public static object? FromJson(AvroSchema schema, JsonElement json)
    {
        switch (schema.Type)
        {
            case AvroType.Null:
                return json.ValueKind == JsonValueKind.Null ? null : throw Mismatch(schema, json);
            case AvroType.Boolean:
                return json.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => throw Mismatch(schema, json),
                };
            case AvroType.Int:
                return json.ValueKind == JsonValueKind.Number && json.TryGetInt32(out var i) ? i : throw Mismatch(schema, json);
            case AvroType.Long:
                return json.ValueKind == JsonValueKind.Number && json.TryGetInt64(out var l) ? l : throw Mismatch(schema, json);
            case AvroType.Float:
                return json.ValueKind == JsonValueKind.Number ? (float)json.GetDouble() : throw Mismatch(schema, json);
            case AvroType.Double:
                return json.ValueKind == JsonValueKind.Number ? json.GetDouble() : throw Mismatch(schema, json);
            case AvroType.String:
                return json.ValueKind == JsonValueKind.String ? json.GetString() : throw Mismatch(schema, json);
            case AvroType.Bytes:
                return Latin1Bytes(schema, json);
            case AvroType.Fixed:
                var fixedBytes = Latin1Bytes(schema, json);
                return fixedBytes.Length == schema.Size
                    ? new AvroFixed(schema, fixedBytes)
                    : throw new AvroException($"default for fixed {schema.FullName} has {fixedBytes.Length} bytes, expected {schema.Size}");
            case AvroType.Enum:
                return json.ValueKind == JsonValueKind.String && schema.SymbolIndex(json.GetString()!) >= 0
                    ? new AvroEnum(schema, json.GetString()!)
                    : throw Mismatch(schema, json);
            case AvroType.Array:
                if (json.ValueKind != JsonValueKind.Array)
                    throw Mismatch(schema, json);
                var list = new List<object?>();
                foreach (var item in json.EnumerateArray())
                    list.Add(FromJson(schema.Items!, item));
                return list;
            case AvroType.Map:
                if (json.ValueKind != JsonValueKind.Object)
                    throw Mismatch(schema, json);
                var map = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var p in json.EnumerateObject())
                    map[p.Name] = FromJson(schema.Values!, p.Value);
                return map;
            case AvroType.Record:
                if (json.ValueKind != JsonValueKind.Object)
                    throw Mismatch(schema, json);
                var record = new AvroRecord(schema);
                foreach (var f in schema.Fields)
                {
                    if (json.TryGetProperty(f.Name, out var fv))
                        record[f.Position] = FromJson(f.Schema, fv);
                    else if (f.HasDefault)
                        record[f.Position] = FromJson(f.Schema, f.DefaultJson);
                    else
                        throw new AvroException($"default for record {schema.FullName} lacks field '{f.Name}'");
                }

                return record;
            default:
                // The 1.11 spec ties a union default to the first branch; later branches are accepted too, as the Java library does when validating.
                foreach (var branch in schema.Branches)
                {
                    try
                    {
                        return FromJson(branch, json);
                    }
                    catch (AvroException)
                    {
                        // try the next branch
                    }
                }

                throw Mismatch(schema, json);
        }
    }

    private static byte[] Latin1Bytes(AvroSchema schema, JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.String)
            throw Mismatch(schema, json);
        var text = json.GetString()!;
        var bytes = new byte[text.Length];
        for (var i = 0; i < text.Length; i++)
        {
            // Bytes defaults map each code point 0-255 to one byte.
            if (text[i] > 0xff)
                throw new AvroException("bytes default contains a character above U+00FF");
            bytes[i] = (byte)text[i];
        }

        return bytes;
    }

    private static AvroException Mismatch(AvroSchema schema, JsonElement json) =>
        new($"default {json.GetRawText()} does not match {schema.Describe()}");
}
