using System.Collections.ObjectModel;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Puffy.Streaming.Avro;

public enum AvroType
{
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Record,
    Enum,
    Array,
    Map,
    Union,
    Fixed,
}

/// <summary>A parsed Avro schema. Named types are shared instances, so recursive schemas form a graph.</summary>
public sealed class AvroSchema
{
    private static readonly ReadOnlyCollection<string> NoStrings = ReadOnlyCollection<string>.Empty;

    private readonly List<AvroField> fields = [];
    private Dictionary<string, AvroField>? fieldIndex;
    private Dictionary<string, int>? symbolIndex;
    private int minEncodedSize = -1;
    private StrongBox<ulong>? fingerprint;

    internal AvroSchema(AvroType type) => Type = type;

    public AvroType Type { get; }

    /// <summary>Fully qualified name of a record, enum or fixed; null for other types.</summary>
    public string? FullName { get; private set; }

    public string? Name { get; private set; }

    public string? Namespace { get; private set; }

    public IReadOnlyList<string> Aliases { get; private set; } = NoStrings;

    public string? Doc { get; private set; }

    public IReadOnlyList<AvroField> Fields => fields;

    public IReadOnlyList<string> Symbols { get; private set; } = NoStrings;

    /// <summary>The enum's fallback symbol used during schema resolution, if declared.</summary>
    public string? EnumDefault { get; private set; }

    public AvroSchema? Items { get; private set; }

    public AvroSchema? Values { get; private set; }

    public IReadOnlyList<AvroSchema> Branches { get; private set; } = ReadOnlyCollection<AvroSchema>.Empty;

    public int Size { get; private set; }

    /// <summary>A recognised, valid logical type; per the spec an invalid or unknown one is ignored and left null.</summary>
    public string? LogicalType { get; private set; }

    public int Precision { get; private set; }

    public int Scale { get; private set; }

    public bool IsNamed => Type is AvroType.Record or AvroType.Enum or AvroType.Fixed;

    public static AvroSchema Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new AvroException("schema is not valid JSON: " + ex.Message, ex);
        }

        using (doc)
        {
            var parser = new Parser();
            var schema = parser.ParseSchema(doc.RootElement, null);
            parser.ValidateDefaults();
            return schema;
        }
    }

    public static AvroSchema Primitive(AvroType type) =>
        IsPrimitive(type) ? new AvroSchema(type) : throw new ArgumentException(type + " is not a primitive type", nameof(type));

    /// <summary>Parsing Canonical Form as defined by the specification.</summary>
    public string ToCanonicalForm()
    {
        var sb = new StringBuilder();
        WriteCanonical(this, sb, new HashSet<string>(StringComparer.Ordinal));
        return sb.ToString();
    }

    /// <summary>CRC-64-AVRO (Rabin) fingerprint of the UTF-8 canonical form.</summary>
    public ulong Fingerprint64()
    {
        // Schemas are immutable once parsed, and single-object encoding asks for the fingerprint on every message.
        fingerprint ??= new StrongBox<ulong>(AvroFingerprint.Compute(Encoding.UTF8.GetBytes(ToCanonicalForm())));
        return fingerprint.Value;
    }

    /// <summary>Full JSON form, keeping defaults, aliases, docs and logical types (used for container file headers).</summary>
    public string ToJson()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
            WriteJson(this, writer, null, new HashSet<string>(StringComparer.Ordinal));
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public override string ToString() => ToJson();

    public AvroField? GetField(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (fieldIndex is null)
        {
            var index = new Dictionary<string, AvroField>(StringComparer.Ordinal);
            foreach (var f in fields)
                index[f.Name] = f;
            fieldIndex = index;
        }

        return fieldIndex.GetValueOrDefault(name);
    }

    internal int SymbolIndex(string symbol)
    {
        if (symbolIndex is null)
        {
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < Symbols.Count; i++)
                index[Symbols[i]] = i;
            symbolIndex = index;
        }

        return symbolIndex.GetValueOrDefault(symbol, -1);
    }

    /// <summary>Smallest number of bytes one value can occupy; bounds block counts so a forged count cannot make the reader spin or allocate.</summary>
    internal int MinEncodedSize
    {
        get
        {
            if (minEncodedSize < 0)
                minEncodedSize = ComputeMinSize(this, []);
            return minEncodedSize;
        }
    }

    internal static bool IsPrimitive(AvroType type) => type <= AvroType.String;

    internal static string TypeName(AvroType type) => type switch
    {
        AvroType.Null => "null",
        AvroType.Boolean => "boolean",
        AvroType.Int => "int",
        AvroType.Long => "long",
        AvroType.Float => "float",
        AvroType.Double => "double",
        AvroType.Bytes => "bytes",
        AvroType.String => "string",
        AvroType.Record => "record",
        AvroType.Enum => "enum",
        AvroType.Array => "array",
        AvroType.Map => "map",
        AvroType.Union => "union",
        _ => "fixed",
    };

    /// <summary>Short description for error messages.</summary>
    internal string Describe() => FullName ?? TypeName(Type);

    private static int ComputeMinSize(AvroSchema s, HashSet<AvroSchema> visiting)
    {
        switch (s.Type)
        {
            case AvroType.Null:
                return 0;
            case AvroType.Float:
                return 4;
            case AvroType.Double:
                return 8;
            case AvroType.Fixed:
                return s.Size;
            case AvroType.Record:
                if (!visiting.Add(s))
                    return 0;
                long total = 0;
                foreach (var f in s.fields)
                    total += ComputeMinSize(f.Schema, visiting);
                visiting.Remove(s);
                return (int)Math.Min(total, int.MaxValue);
            default:
                // Every other type starts with at least one byte (a varint, a boolean, a length or a count).
                return 1;
        }
    }

    private static bool TryPrimitive(string name, out AvroType type)
    {
        switch (name)
        {
            case "null": type = AvroType.Null; return true;
            case "boolean": type = AvroType.Boolean; return true;
            case "int": type = AvroType.Int; return true;
            case "long": type = AvroType.Long; return true;
            case "float": type = AvroType.Float; return true;
            case "double": type = AvroType.Double; return true;
            case "bytes": type = AvroType.Bytes; return true;
            case "string": type = AvroType.String; return true;
            default: type = default; return false;
        }
    }

    private static void WriteCanonical(AvroSchema s, StringBuilder sb, HashSet<string> seen)
    {
        if (IsPrimitive(s.Type))
        {
            sb.Append('"').Append(TypeName(s.Type)).Append('"');
            return;
        }

        switch (s.Type)
        {
            case AvroType.Array:
                sb.Append("{\"type\":\"array\",\"items\":");
                WriteCanonical(s.Items!, sb, seen);
                sb.Append('}');
                return;
            case AvroType.Map:
                sb.Append("{\"type\":\"map\",\"values\":");
                WriteCanonical(s.Values!, sb, seen);
                sb.Append('}');
                return;
            case AvroType.Union:
                sb.Append('[');
                for (var i = 0; i < s.Branches.Count; i++)
                {
                    if (i > 0)
                        sb.Append(',');
                    WriteCanonical(s.Branches[i], sb, seen);
                }

                sb.Append(']');
                return;
        }

        // Named types: the first occurrence is written in full, later ones by fullname only.
        if (!seen.Add(s.FullName!))
        {
            AppendJsonString(sb, s.FullName!);
            return;
        }

        sb.Append("{\"name\":");
        AppendJsonString(sb, s.FullName!);
        sb.Append(",\"type\":\"").Append(TypeName(s.Type)).Append('"');
        switch (s.Type)
        {
            case AvroType.Record:
                sb.Append(",\"fields\":[");
                for (var i = 0; i < s.fields.Count; i++)
                {
                    if (i > 0)
                        sb.Append(',');
                    sb.Append("{\"name\":");
                    AppendJsonString(sb, s.fields[i].Name);
                    sb.Append(",\"type\":");
                    WriteCanonical(s.fields[i].Schema, sb, seen);
                    sb.Append('}');
                }

                sb.Append(']');
                break;
            case AvroType.Enum:
                sb.Append(",\"symbols\":[");
                for (var i = 0; i < s.Symbols.Count; i++)
                {
                    if (i > 0)
                        sb.Append(',');
                    AppendJsonString(sb, s.Symbols[i]);
                }

                sb.Append(']');
                break;
            default:
                sb.Append(",\"size\":").Append(s.Size.ToString(CultureInfo.InvariantCulture));
                break;
        }

        sb.Append('}');
    }

    // [STRINGS]: names and symbols are restricted to [A-Za-z0-9_.], but escape defensively so the output stays valid JSON.
    private static void AppendJsonString(StringBuilder sb, string value)
    {
        sb.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20)
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        sb.Append(c);
                    break;
            }
        }

        sb.Append('"');
    }

    private static void WriteJson(AvroSchema s, Utf8JsonWriter w, string? enclosingNs, HashSet<string> seen)
    {
        if (IsPrimitive(s.Type) && s.LogicalType is null)
        {
            w.WriteStringValue(TypeName(s.Type));
            return;
        }

        switch (s.Type)
        {
            case AvroType.Union:
                w.WriteStartArray();
                foreach (var b in s.Branches)
                    WriteJson(b, w, enclosingNs, seen);
                w.WriteEndArray();
                return;
            case AvroType.Array:
                w.WriteStartObject();
                w.WriteString("type", "array");
                w.WritePropertyName("items");
                WriteJson(s.Items!, w, enclosingNs, seen);
                w.WriteEndObject();
                return;
            case AvroType.Map:
                w.WriteStartObject();
                w.WriteString("type", "map");
                w.WritePropertyName("values");
                WriteJson(s.Values!, w, enclosingNs, seen);
                w.WriteEndObject();
                return;
        }

        if (IsPrimitive(s.Type))
        {
            w.WriteStartObject();
            w.WriteString("type", TypeName(s.Type));
            WriteLogical(s, w);
            w.WriteEndObject();
            return;
        }

        if (!seen.Add(s.FullName!))
        {
            w.WriteStringValue(s.FullName);
            return;
        }

        w.WriteStartObject();
        w.WriteString("type", TypeName(s.Type));
        // A fullname is unambiguous; only a null namespace inside a namespaced parent needs an explicit empty namespace.
        w.WriteString("name", s.FullName);
        if (s.Namespace is null && enclosingNs is not null)
            w.WriteString("namespace", string.Empty);
        if (s.Doc is not null)
            w.WriteString("doc", s.Doc);
        if (s.Aliases.Count > 0)
        {
            w.WriteStartArray("aliases");
            foreach (var a in s.Aliases)
                w.WriteStringValue(a);
            w.WriteEndArray();
        }

        switch (s.Type)
        {
            case AvroType.Record:
                w.WriteStartArray("fields");
                foreach (var f in s.fields)
                {
                    w.WriteStartObject();
                    w.WriteString("name", f.Name);
                    w.WritePropertyName("type");
                    WriteJson(f.Schema, w, s.Namespace, seen);
                    if (f.Doc is not null)
                        w.WriteString("doc", f.Doc);
                    if (f.HasDefault)
                    {
                        w.WritePropertyName("default");
                        f.DefaultJson.WriteTo(w);
                    }

                    if (f.Order is not null)
                        w.WriteString("order", f.Order);
                    if (f.Aliases.Count > 0)
                    {
                        w.WriteStartArray("aliases");
                        foreach (var a in f.Aliases)
                            w.WriteStringValue(a);
                        w.WriteEndArray();
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
                break;
            case AvroType.Enum:
                w.WriteStartArray("symbols");
                foreach (var sym in s.Symbols)
                    w.WriteStringValue(sym);
                w.WriteEndArray();
                if (s.EnumDefault is not null)
                    w.WriteString("default", s.EnumDefault);
                break;
            default:
                w.WriteNumber("size", s.Size);
                WriteLogical(s, w);
                break;
        }

        w.WriteEndObject();
    }

    private static void WriteLogical(AvroSchema s, Utf8JsonWriter w)
    {
        if (s.LogicalType is null)
            return;
        w.WriteString("logicalType", s.LogicalType);
        if (s.LogicalType == "decimal")
        {
            w.WriteNumber("precision", s.Precision);
            w.WriteNumber("scale", s.Scale);
        }
    }

    private sealed class Parser
    {
        private readonly Dictionary<string, AvroSchema> named = new(StringComparer.Ordinal);
        private readonly List<AvroSchema> records = [];

        public AvroSchema ParseSchema(JsonElement e, string? ns)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.String:
                    return Reference(e.GetString()!, ns);
                case JsonValueKind.Array:
                    return ParseUnion(e, ns);
                case JsonValueKind.Object:
                    return ParseObject(e, ns);
                default:
                    throw new AvroException("a schema must be a JSON string, object or array, not " + e.ValueKind);
            }
        }

        public void ValidateDefaults()
        {
            // Checked after the whole schema is known, because a default may involve a recursive type still being parsed.
            foreach (var r in records)
            {
                foreach (var f in r.fields)
                {
                    if (!f.HasDefault)
                        continue;
                    try
                    {
                        _ = f.DefaultValue;
                    }
                    catch (AvroException ex)
                    {
                        throw new AvroException($"invalid default for field '{f.Name}' of {r.FullName}: {ex.Message}", ex);
                    }
                }
            }
        }

        private AvroSchema Reference(string name, string? ns)
        {
            if (TryPrimitive(name, out var p))
                return new AvroSchema(p);
            if (!name.Contains('.', StringComparison.Ordinal) && ns is not null && named.TryGetValue(ns + "." + name, out var inNs))
                return inNs;
            if (named.TryGetValue(name, out var s))
                return s;
            throw new AvroException($"undefined type name '{name}'");
        }

        private AvroSchema ParseUnion(JsonElement e, string? ns)
        {
            var branches = new List<AvroSchema>();
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in e.EnumerateArray())
            {
                var b = ParseSchema(item, ns);
                if (b.Type == AvroType.Union)
                    throw new AvroException("unions may not immediately contain other unions");
                var key = b.FullName ?? TypeName(b.Type);
                if (!keys.Add(key))
                    throw new AvroException($"union contains '{key}' more than once");
                branches.Add(b);
            }

            return new AvroSchema(AvroType.Union) { Branches = branches.AsReadOnly() };
        }

        private AvroSchema ParseObject(JsonElement e, string? ns)
        {
            if (!e.TryGetProperty("type", out var typeEl))
                throw new AvroException("schema object has no 'type'");
            if (typeEl.ValueKind != JsonValueKind.String)
            {
                // Tolerate {"type": {...}} / {"type": [...]}: the nested value is itself a schema.
                return ParseSchema(typeEl, ns);
            }

            var typeName = typeEl.GetString()!;
            if (TryPrimitive(typeName, out var p))
            {
                var prim = new AvroSchema(p);
                ApplyLogical(prim, e);
                return prim;
            }

            switch (typeName)
            {
                case "record":
                case "error":
                    return ParseRecord(e, ns);
                case "enum":
                    return ParseEnum(e, ns);
                case "fixed":
                    return ParseFixed(e, ns);
                case "array":
                    if (!e.TryGetProperty("items", out var items))
                        throw new AvroException("array schema has no 'items'");
                    return new AvroSchema(AvroType.Array) { Items = ParseSchema(items, ns) };
                case "map":
                    if (!e.TryGetProperty("values", out var values))
                        throw new AvroException("map schema has no 'values'");
                    return new AvroSchema(AvroType.Map) { Values = ParseSchema(values, ns) };
                default:
                    return Reference(typeName, ns);
            }
        }

        private AvroSchema ParseRecord(JsonElement e, string? ns)
        {
            var s = new AvroSchema(AvroType.Record);
            Name(s, e, ns);
            records.Add(s);
            if (!e.TryGetProperty("fields", out var fieldsEl) || fieldsEl.ValueKind != JsonValueKind.Array)
                throw new AvroException($"record {s.FullName} has no 'fields' array");
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var fe in fieldsEl.EnumerateArray())
            {
                if (fe.ValueKind != JsonValueKind.Object)
                    throw new AvroException($"field of record {s.FullName} is not an object");
                var name = RequiredString(fe, "name", "field");
                ValidateName(name);
                if (!names.Add(name))
                    throw new AvroException($"record {s.FullName} has more than one field named '{name}'");
                if (!fe.TryGetProperty("type", out var ft))
                    throw new AvroException($"field '{name}' has no 'type'");
                var field = new AvroField(name, ParseSchema(ft, s.Namespace), s.fields.Count)
                {
                    Doc = OptionalString(fe, "doc"),
                    Order = OptionalString(fe, "order"),
                    Aliases = StringList(fe, "aliases"),
                };
                if (fe.TryGetProperty("default", out var def))
                    field.SetDefault(def.Clone());
                s.fields.Add(field);
            }

            return s;
        }

        private AvroSchema ParseEnum(JsonElement e, string? ns)
        {
            var s = new AvroSchema(AvroType.Enum);
            Name(s, e, ns);
            if (!e.TryGetProperty("symbols", out var symEl) || symEl.ValueKind != JsonValueKind.Array)
                throw new AvroException($"enum {s.FullName} has no 'symbols' array");
            var symbols = new List<string>();
            foreach (var se in symEl.EnumerateArray())
            {
                if (se.ValueKind != JsonValueKind.String)
                    throw new AvroException($"enum {s.FullName} has a non-string symbol");
                var sym = se.GetString()!;
                ValidateName(sym);
                if (symbols.Contains(sym))
                    throw new AvroException($"enum {s.FullName} repeats symbol '{sym}'");
                symbols.Add(sym);
            }

            s.Symbols = symbols.AsReadOnly();
            var def = OptionalString(e, "default");
            if (def is not null && !symbols.Contains(def))
                throw new AvroException($"enum {s.FullName} default '{def}' is not one of its symbols");
            s.EnumDefault = def;
            return s;
        }

        private AvroSchema ParseFixed(JsonElement e, string? ns)
        {
            var s = new AvroSchema(AvroType.Fixed);
            Name(s, e, ns);
            if (!e.TryGetProperty("size", out var sizeEl) || !sizeEl.TryGetInt32(out var size) || size < 0)
                throw new AvroException($"fixed {s.FullName} needs a non-negative integer 'size'");
            s.Size = size;
            ApplyLogical(s, e);
            return s;
        }

        private void Name(AvroSchema s, JsonElement e, string? enclosingNs)
        {
            var name = RequiredString(e, "name", TypeName(s.Type));
            string? space;
            string shortName;
            var dot = name.LastIndexOf('.');
            if (dot >= 0)
            {
                space = name[..dot];
                shortName = name[(dot + 1)..];
            }
            else
            {
                space = e.TryGetProperty("namespace", out var nsEl) && nsEl.ValueKind != JsonValueKind.Null
                    ? nsEl.ValueKind == JsonValueKind.String ? nsEl.GetString() : throw new AvroException("'namespace' must be a string")
                    : enclosingNs;
                shortName = name;
            }

            if (string.IsNullOrEmpty(space))
                space = null;
            ValidateName(shortName);
            if (space is not null)
            {
                foreach (var part in space.Split('.'))
                    ValidateName(part);
            }

            var full = space is null ? shortName : space + "." + shortName;
            if (space is null && TryPrimitive(shortName, out _))
                throw new AvroException($"'{shortName}' is a primitive type name and cannot be redefined");
            if (!named.TryAdd(full, s))
                throw new AvroException($"type '{full}' is defined more than once");
            s.Name = shortName;
            s.Namespace = space;
            s.FullName = full;
            s.Doc = OptionalString(e, "doc");
            var aliases = StringList(e, "aliases");
            if (aliases.Count > 0)
            {
                s.Aliases = aliases
                    .Select(a => a.Contains('.', StringComparison.Ordinal) || space is null ? a : space + "." + a)
                    .ToList()
                    .AsReadOnly();
            }
        }

        private static void ApplyLogical(AvroSchema s, JsonElement e)
        {
            var logical = OptionalString(e, "logicalType");
            if (logical is null)
                return;
            var valid = logical switch
            {
                "date" or "time-millis" => s.Type == AvroType.Int,
                "time-micros" or "timestamp-millis" or "timestamp-micros" or "timestamp-nanos"
                    or "local-timestamp-millis" or "local-timestamp-micros" or "local-timestamp-nanos" => s.Type == AvroType.Long,
                "uuid" => s.Type == AvroType.String || (s.Type == AvroType.Fixed && s.Size == 16),
                "duration" => s.Type == AvroType.Fixed && s.Size == 12,
                "decimal" => ValidDecimal(s, e),
                _ => false,
            };
            if (valid)
                s.LogicalType = logical;
        }

        private static bool ValidDecimal(AvroSchema s, JsonElement e)
        {
            if (s.Type is not (AvroType.Bytes or AvroType.Fixed))
                return false;
            if (!e.TryGetProperty("precision", out var pEl) || !pEl.TryGetInt32(out var precision) || precision <= 0)
                return false;
            var scale = 0;
            if (e.TryGetProperty("scale", out var sEl) && (!sEl.TryGetInt32(out scale) || scale < 0))
                return false;
            if (scale > precision)
                return false;
            if (s.Type == AvroType.Fixed)
            {
                // A signed two's complement value of n bytes holds at most floor(log10(2^(8n-1) - 1)) decimal digits.
                var maxDigits = s.Size == 0 ? 0 : (int)Math.Floor(((8.0 * s.Size) - 1) * Math.Log10(2));
                if (precision > maxDigits)
                    return false;
            }

            s.Precision = precision;
            s.Scale = scale;
            return true;
        }

        private static void ValidateName(string name)
        {
            var ok = name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_');
            for (var i = 1; ok && i < name.Length; i++)
                ok = char.IsAsciiLetterOrDigit(name[i]) || name[i] == '_';
            if (!ok)
                throw new AvroException($"'{name}' is not a valid Avro name");
        }

        private static string RequiredString(JsonElement e, string property, string what) =>
            e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String
                ? v.GetString()!
                : throw new AvroException($"{what} needs a string '{property}'");

        private static string? OptionalString(JsonElement e, string property) =>
            e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        private static ReadOnlyCollection<string> StringList(JsonElement e, string property)
        {
            if (!e.TryGetProperty(property, out var v))
                return NoStrings;
            if (v.ValueKind != JsonValueKind.Array)
                throw new AvroException($"'{property}' must be an array of strings");
            var list = new List<string>();
            foreach (var item in v.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                    throw new AvroException($"'{property}' must be an array of strings");
                list.Add(item.GetString()!);
            }

            return list.AsReadOnly();
        }
    }
}
