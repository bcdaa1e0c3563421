using System.Collections;
using System.Numerics;

namespace Puffy.Streaming.Avro;

/// <summary>
/// Binary encoding and decoding of the generic value model: null, bool, int, long, float, double, byte[], string,
/// <see cref="AvroRecord"/>, <see cref="AvroEnum"/> (or a symbol string when writing), List&lt;object?&gt;,
/// Dictionary&lt;string, object?&gt;, <see cref="AvroFixed"/>. Logical types decode to their underlying type.
/// </summary>
public static class AvroDatum
{
    public static byte[] Encode(AvroSchema schema, object? value)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var writer = new AvroBinaryWriter();
        DatumWriter.Write(writer, schema, value, 0);
        return writer.ToArray();
    }

    /// <summary>Decodes exactly one datum; trailing bytes are an error because they mean the schema does not describe the data.</summary>
    public static object? Decode(AvroSchema schema, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var reader = new AvroBinaryReader(data);
        var value = DatumReader.Read(reader, schema);
        EnsureConsumed(reader);
        return value;
    }

    /// <summary>Decodes data written with <paramref name="writerSchema"/> into the shape of <paramref name="readerSchema"/> (schema resolution).</summary>
    public static object? Decode(AvroSchema writerSchema, AvroSchema readerSchema, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(writerSchema);
        ArgumentNullException.ThrowIfNull(readerSchema);
        var reader = new AvroBinaryReader(data);
        var value = new ResolvingReader(reader).Read(writerSchema, readerSchema);
        EnsureConsumed(reader);
        return value;
    }

    /// <summary>True when the value can be written with the schema (shape, names, enum symbols, fixed sizes, integer ranges).</summary>
    public static bool IsValid(AvroSchema schema, object? value)
    {
        ArgumentNullException.ThrowIfNull(schema);
        return DatumWriter.IsValid(schema, value, 0);
    }

    /// <summary>Structural equality over the generic value model (byte arrays, records, lists and maps by content).</summary>
    public static bool DeepEquals(object? a, object? b)
    {
        switch (a)
        {
            case null:
                return b is null;
            case byte[] x:
                return b is byte[] y && x.AsSpan().SequenceEqual(y);
            case string x:
                return b is string ys && string.Equals(x, ys, StringComparison.Ordinal);
            case AvroRecord x:
                if (b is not AvroRecord r || x.Schema.FullName != r.Schema.FullName || x.Schema.Fields.Count != r.Schema.Fields.Count)
                    return false;
                foreach (var f in x.Schema.Fields)
                {
                    if (!r.TryGetValue(f.Name, out var other) || !DeepEquals(x[f.Position], other))
                        return false;
                }

                return true;
            case AvroEnum x:
                return b is AvroEnum e && x.Schema.FullName == e.Schema.FullName && x.Symbol == e.Symbol;
            case AvroFixed x:
                return b is AvroFixed fx && x.Schema.FullName == fx.Schema.FullName && x.Value.AsSpan().SequenceEqual(fx.Value);
            case IDictionary x:
                if (b is not IDictionary d || x.Count != d.Count)
                    return false;
                foreach (DictionaryEntry entry in x)
                {
                    if (!d.Contains(entry.Key) || !DeepEquals(entry.Value, d[entry.Key]))
                        return false;
                }

                return true;
            case IEnumerable x:
                if (b is not IEnumerable ye || b is IDictionary)
                    return false;
                var left = x.Cast<object?>().ToList();
                var right = ye.Cast<object?>().ToList();
                return left.Count == right.Count && left.Zip(right).All(p => DeepEquals(p.First, p.Second));
            default:
                return a.Equals(b);
        }
    }

    internal static void EnsureConsumed(AvroBinaryReader reader)
    {
        if (!reader.AtEnd)
            throw new AvroException($"{reader.Remaining} unexpected trailing bytes after the datum at offset {reader.Position}");
    }
}

internal static class DatumWriter
{
    private const int MaxDepth = 512;

    public static void Write(AvroBinaryWriter w, AvroSchema s, object? v, int depth)
    {
        if (depth > MaxDepth)
            throw new AvroException($"value nests deeper than {MaxDepth} levels (is it cyclic?)");
        switch (s.Type)
        {
            case AvroType.Null:
                if (v is not null)
                    throw Mismatch(s, v);
                break;
            case AvroType.Boolean:
                w.WriteBoolean(v is bool b ? b : throw Mismatch(s, v));
                break;
            case AvroType.Int:
                w.WriteInt(ToInt(s, v));
                break;
            case AvroType.Long:
                w.WriteLong(ToLong(s, v));
                break;
            case AvroType.Float:
                w.WriteFloat(v is float f ? f : throw Mismatch(s, v));
                break;
            case AvroType.Double:
                w.WriteDouble(v switch
                {
                    double d => d,
                    float single => single,
                    _ => throw Mismatch(s, v),
                });
                break;
            case AvroType.Bytes:
                switch (v)
                {
                    case byte[] bytes: w.WriteBytes(bytes); break;
                    case ReadOnlyMemory<byte> mem: w.WriteBytes(mem.Span); break;
                    case decimal dec when s.LogicalType == "decimal": w.WriteBytes(AvroLogical.DecimalToBytes(s, dec, -1)); break;
                    default: throw Mismatch(s, v);
                }

                break;
            case AvroType.String:
                w.WriteString(v switch
                {
                    string str => str,
                    Guid g when s.LogicalType == "uuid" => g.ToString("D"),
                    _ => throw Mismatch(s, v),
                });
                break;
            case AvroType.Fixed:
                var fixedBytes = v switch
                {
                    AvroFixed fx when fx.Schema.FullName == s.FullName => fx.Value,
                    byte[] raw => raw,
                    decimal dec when s.LogicalType == "decimal" => AvroLogical.DecimalToBytes(s, dec, s.Size),
                    _ => throw Mismatch(s, v),
                };
                if (fixedBytes.Length != s.Size)
                    throw new AvroException($"fixed {s.FullName} needs {s.Size} bytes, got {fixedBytes.Length}");
                w.WriteFixed(fixedBytes);
                break;
            case AvroType.Enum:
                var symbol = v switch
                {
                    AvroEnum e when e.Schema.FullName == s.FullName => e.Symbol,
                    string str => str,
                    _ => throw Mismatch(s, v),
                };
                var index = s.SymbolIndex(symbol);
                w.WriteInt(index >= 0 ? index : throw new AvroException($"'{symbol}' is not a symbol of enum {s.FullName}"));
                break;
            case AvroType.Record:
                if (v is not AvroRecord record || record.Schema.FullName != s.FullName)
                    throw Mismatch(s, v);
                foreach (var field in s.Fields)
                {
                    // Looked up by name so a record built against another instance of the same schema still writes correctly.
                    if (!record.TryGetValue(field.Name, out var fv))
                        throw new AvroException($"record {s.FullName} value lacks field '{field.Name}'");
                    try
                    {
                        Write(w, field.Schema, fv, depth + 1);
                    }
                    catch (AvroException ex)
                    {
                        throw new AvroException($"field '{field.Name}' of {s.FullName}: {ex.Message}", ex);
                    }
                }

                break;
            case AvroType.Array:
                if (v is not IEnumerable items || v is string or byte[] or IDictionary)
                    throw Mismatch(s, v);
                var list = items as ICollection ?? items.Cast<object?>().ToList();
                if (list.Count > 0)
                {
                    w.WriteLong(list.Count);
                    foreach (var item in list)
                        Write(w, s.Items!, item, depth + 1);
                }

                w.WriteLong(0);
                break;
            case AvroType.Map:
                if (v is not IDictionary map)
                    throw Mismatch(s, v);
                if (map.Count > 0)
                {
                    w.WriteLong(map.Count);
                    foreach (DictionaryEntry entry in map)
                    {
                        w.WriteString(entry.Key as string ?? throw new AvroException("map keys must be strings"));
                        Write(w, s.Values!, entry.Value, depth + 1);
                    }
                }

                w.WriteLong(0);
                break;
            default:
                var branch = SelectBranch(s, v);
                w.WriteLong(branch);
                Write(w, s.Branches[branch], v, depth + 1);
                break;
        }
    }

    public static bool IsValid(AvroSchema s, object? v, int depth)
    {
        if (depth > MaxDepth)
            return false;
        switch (s.Type)
        {
            case AvroType.Record:
                return v is AvroRecord r && r.Schema.FullName == s.FullName
                    && s.Fields.All(f => r.TryGetValue(f.Name, out var fv) && IsValid(f.Schema, fv, depth + 1));
            case AvroType.Enum:
                return Score(s, v) > 0;
            case AvroType.Fixed:
                return v switch
                {
                    AvroFixed fx => fx.Schema.FullName == s.FullName && fx.Value.Length == s.Size,
                    byte[] raw => raw.Length == s.Size,
                    decimal => s.LogicalType == "decimal",
                    _ => false,
                };
            case AvroType.Array:
                return Score(s, v) > 0 && ((IEnumerable)v!).Cast<object?>().All(i => IsValid(s.Items!, i, depth + 1));
            case AvroType.Map:
                return v is IDictionary m && m.Keys.Cast<object>().All(k => k is string)
                    && m.Values.Cast<object?>().All(x => IsValid(s.Values!, x, depth + 1));
            case AvroType.Union:
                return s.Branches.Any(b => IsValid(b, v, depth + 1));
            default:
                return Score(s, v) > 0;
        }
    }

    /// <summary>Picks the union branch for a value: the first exact type match, else the first branch the value converts to.</summary>
    public static int SelectBranch(AvroSchema union, object? v)
    {
        var best = -1;
        var bestScore = 0;
        for (var i = 0; i < union.Branches.Count; i++)
        {
            var score = Score(union.Branches[i], v);
            if (score > bestScore)
            {
                best = i;
                bestScore = score;
                if (score == 2)
                    break;
            }
        }

        return best >= 0 ? best : throw new AvroException($"no branch of union {AvroCompatibility.Describe(union)} accepts a value of type {v?.GetType().Name ?? "null"}");
    }

    /// <summary>2 = the natural .NET type for the schema, 1 = convertible, 0 = not accepted. Only the value's outer shape is checked.</summary>
    private static int Score(AvroSchema s, object? v) => s.Type switch
    {
        AvroType.Null => v is null ? 2 : 0,
        AvroType.Boolean => v is bool ? 2 : 0,
        AvroType.Int => v is int || (v is DateOnly && s.LogicalType == "date") ? 2 : v is short or byte or sbyte or ushort ? 1 : 0,
        AvroType.Long => v is long || (v is DateTimeOffset or DateTime && IsTimestamp(s)) ? 2 : v is int or uint or short or byte or sbyte or ushort ? 1 : 0,
        AvroType.Float => v is float ? 2 : 0,
        AvroType.Double => v is double ? 2 : v is float ? 1 : 0,
        AvroType.Bytes => v is byte[] or ReadOnlyMemory<byte> || (v is decimal && s.LogicalType == "decimal") ? 2 : 0,
        AvroType.String => v is string || (v is Guid && s.LogicalType == "uuid") ? 2 : 0,
        AvroType.Record => v is AvroRecord r && r.Schema.FullName == s.FullName ? 2 : 0,
        AvroType.Enum => v is AvroEnum e && e.Schema.FullName == s.FullName ? 2 : v is string str && s.SymbolIndex(str) >= 0 ? 1 : 0,
        AvroType.Fixed => (v is AvroFixed fx && fx.Schema.FullName == s.FullName) || (v is decimal && s.LogicalType == "decimal") ? 2
            : v is byte[] raw && raw.Length == s.Size ? 1 : 0,
        AvroType.Map => v is IDictionary ? 2 : 0,
        AvroType.Array => v is IEnumerable and not (string or byte[] or IDictionary) ? 2 : 0,
        _ => 0,
    };

    private static bool IsTimestamp(AvroSchema s) => s.LogicalType is not null && s.LogicalType.Contains("timestamp", StringComparison.Ordinal);

    private static int ToInt(AvroSchema s, object? v) => v switch
    {
        int i => i,
        short i => i,
        byte i => i,
        sbyte i => i,
        ushort i => i,
        DateOnly d when s.LogicalType == "date" => AvroLogical.FromDate(d),
        _ => throw Mismatch(s, v),
    };

    private static long ToLong(AvroSchema s, object? v) => v switch
    {
        long l => l,
        int i => i,
        uint i => i,
        short i => i,
        byte i => i,
        sbyte i => i,
        ushort i => i,
        DateTimeOffset t when IsTimestamp(s) => AvroLogical.FromTimestamp(s, t),
        DateTime t when IsTimestamp(s) => AvroLogical.FromTimestamp(s, t),
        _ => throw Mismatch(s, v),
    };

    private static AvroException Mismatch(AvroSchema s, object? v) =>
        new($"a value of type {v?.GetType().Name ?? "null"} does not match schema {AvroCompatibility.Describe(s)}");
}

internal static class DatumReader
{
    public static object? Read(AvroBinaryReader r, AvroSchema s)
    {
        switch (s.Type)
        {
            case AvroType.Null:
                return null;
            case AvroType.Boolean:
                return r.ReadBoolean();
            case AvroType.Int:
                return r.ReadInt();
            case AvroType.Long:
                return r.ReadLong();
            case AvroType.Float:
                return r.ReadFloat();
            case AvroType.Double:
                return r.ReadDouble();
            case AvroType.Bytes:
                return r.ReadBytes();
            case AvroType.String:
                return r.ReadString();
            case AvroType.Fixed:
                return new AvroFixed(s, r.ReadSpan(s.Size).ToArray());
            case AvroType.Enum:
                return new AvroEnum(s, s.Symbols[ReadEnumIndex(r, s)]);
            case AvroType.Record:
                r.Enter();
                var record = new AvroRecord(s);
                foreach (var f in s.Fields)
                    record[f.Position] = Read(r, f.Schema);
                r.Exit();
                return record;
            case AvroType.Array:
                r.Enter();
                var list = new List<object?>();
                long count;
                while ((count = r.ReadBlockCount(s.Items!.MinEncodedSize, out _)) != 0)
                {
                    for (long i = 0; i < count; i++)
                        list.Add(Read(r, s.Items));
                }

                r.Exit();
                return list;
            case AvroType.Map:
                r.Enter();
                var map = new Dictionary<string, object?>(StringComparer.Ordinal);
                while ((count = r.ReadBlockCount(1 + s.Values!.MinEncodedSize, out _)) != 0)
                {
                    for (long i = 0; i < count; i++)
                    {
                        var key = r.ReadString();
                        map[key] = Read(r, s.Values);
                    }
                }

                r.Exit();
                return map;
            default:
                r.Enter();
                var value = Read(r, s.Branches[ReadUnionIndex(r, s)]);
                r.Exit();
                return value;
        }
    }

    public static void Skip(AvroBinaryReader r, AvroSchema s)
    {
        switch (s.Type)
        {
            case AvroType.Null:
                return;
            case AvroType.Boolean:
                r.ReadBoolean();
                return;
            case AvroType.Int:
                r.ReadInt();
                return;
            case AvroType.Long:
                r.ReadLong();
                return;
            case AvroType.Float:
                r.Skip(4);
                return;
            case AvroType.Double:
                r.Skip(8);
                return;
            case AvroType.Bytes:
            case AvroType.String:
                r.SkipLengthPrefixed();
                return;
            case AvroType.Fixed:
                r.Skip(s.Size);
                return;
            case AvroType.Enum:
                ReadEnumIndex(r, s);
                return;
            case AvroType.Record:
                r.Enter();
                foreach (var f in s.Fields)
                    Skip(r, f.Schema);
                r.Exit();
                return;
            case AvroType.Array:
            case AvroType.Map:
                r.Enter();
                var isMap = s.Type == AvroType.Map;
                var item = isMap ? s.Values! : s.Items!;
                long count;
                while ((count = r.ReadBlockCount(item.MinEncodedSize + (isMap ? 1 : 0), out var byteSize)) != 0)
                {
                    // A block written with its byte size can be skipped without decoding its items.
                    if (byteSize >= 0)
                    {
                        r.Skip((int)byteSize);
                        continue;
                    }

                    for (long i = 0; i < count; i++)
                    {
                        if (isMap)
                            r.SkipLengthPrefixed();
                        Skip(r, item);
                    }
                }

                r.Exit();
                return;
            default:
                r.Enter();
                Skip(r, s.Branches[ReadUnionIndex(r, s)]);
                r.Exit();
                return;
        }
    }

    public static int ReadUnionIndex(AvroBinaryReader r, AvroSchema union)
    {
        var index = r.ReadLong();
        return index >= 0 && index < union.Branches.Count
            ? (int)index
            : throw new AvroException($"union index {index} is out of range for a union of {union.Branches.Count} branches");
    }

    public static int ReadEnumIndex(AvroBinaryReader r, AvroSchema s)
    {
        var index = r.ReadInt();
        return index >= 0 && index < s.Symbols.Count
            ? index
            : throw new AvroException($"enum index {index} is out of range for enum {s.FullName} with {s.Symbols.Count} symbols");
    }
}

/// <summary>Conversions for logical types; decoded data keeps the underlying type, these turn it into .NET types.</summary>
public static class AvroLogical
{
    private static readonly int EpochDay = DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;

    public static DateOnly ToDate(int daysSinceEpoch) => DateOnly.FromDayNumber(EpochDay + daysSinceEpoch);

    public static int FromDate(DateOnly date) => date.DayNumber - EpochDay;

    /// <summary>Interprets a timestamp-millis/-micros/-nanos (or local-) long as an instant in UTC.</summary>
    public static DateTimeOffset ToTimestamp(AvroSchema schema, long value)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var per = TicksPerUnit(schema);
        try
        {
            var ticks = per > 0 ? checked(value * per) : value / 100;
            return new DateTimeOffset(checked(DateTime.UnixEpoch.Ticks + ticks), TimeSpan.Zero);
        }
        catch (Exception ex) when (ex is OverflowException or ArgumentOutOfRangeException)
        {
            throw new AvroException($"timestamp {value} is outside the range of DateTimeOffset", ex);
        }
    }

    public static long FromTimestamp(AvroSchema schema, DateTimeOffset value)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var ticks = value.UtcTicks - DateTime.UnixEpoch.Ticks;
        var per = TicksPerUnit(schema);
        if (per < 0)
            return checked(ticks * 100);
        // Floor division keeps instants before 1970 on the earlier unit, as other implementations do.
        var q = Math.DivRem(ticks, per, out var rem);
        return rem < 0 ? q - 1 : q;
    }

    public static long FromTimestamp(AvroSchema schema, DateTime value) =>
        FromTimestamp(schema, value.Kind == DateTimeKind.Local ? new DateTimeOffset(value) : new DateTimeOffset(value.Ticks, TimeSpan.Zero));

    /// <summary>Decodes a decimal logical value (bytes or fixed: big-endian two's complement unscaled integer).</summary>
    public static decimal ToDecimal(AvroSchema schema, object? value)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var bytes = value switch
        {
            byte[] b => b,
            AvroFixed f => f.Value,
            _ => throw new AvroException("a decimal is stored as bytes or fixed"),
        };
        if (schema.LogicalType != "decimal")
            throw new AvroException("schema is not a decimal logical type");
        var unscaled = new BigInteger(bytes, isUnsigned: false, isBigEndian: true);
        var magnitude = BigInteger.Abs(unscaled);
        if (magnitude >= BigInteger.One << 96 || schema.Scale > 28)
            throw new AvroException("decimal value does not fit System.Decimal");
        var words = magnitude.ToByteArray(isUnsigned: true, isBigEndian: false);
        Span<byte> padded = stackalloc byte[12];
        words.CopyTo(padded);
        return new decimal(
            BitConverter.ToInt32(padded[..4]),
            BitConverter.ToInt32(padded[4..8]),
            BitConverter.ToInt32(padded[8..12]),
            unscaled.Sign < 0,
            (byte)schema.Scale);
    }

    internal static byte[] DecimalToBytes(AvroSchema schema, decimal value, int fixedSize)
    {
        var scaled = value;
        for (var i = 0; i < schema.Scale; i++)
        {
            try
            {
                scaled *= 10;
            }
            catch (OverflowException ex)
            {
                throw new AvroException($"decimal {value} overflows at scale {schema.Scale}", ex);
            }
        }

        if (scaled != decimal.Truncate(scaled))
            throw new AvroException($"decimal {value} has more fractional digits than scale {schema.Scale}");
        var unscaled = new BigInteger(scaled);
        if (BigInteger.Abs(unscaled).ToString(System.Globalization.CultureInfo.InvariantCulture).Length > schema.Precision)
            throw new AvroException($"decimal {value} exceeds precision {schema.Precision}");
        var minimal = unscaled.ToByteArray(isUnsigned: false, isBigEndian: true);
        if (fixedSize < 0)
            return minimal;
        if (minimal.Length > fixedSize)
            throw new AvroException($"decimal {value} does not fit fixed size {fixedSize}");
        var result = new byte[fixedSize];
        // Sign-extend into the leading bytes.
        result.AsSpan(0, fixedSize - minimal.Length).Fill(unscaled.Sign < 0 ? (byte)0xff : (byte)0);
        minimal.CopyTo(result, fixedSize - minimal.Length);
        return result;
    }

    private static long TicksPerUnit(AvroSchema schema) => schema.LogicalType switch
    {
        "timestamp-millis" or "local-timestamp-millis" => TimeSpan.TicksPerMillisecond,
        "timestamp-micros" or "local-timestamp-micros" => TimeSpan.TicksPerMicrosecond,
        "timestamp-nanos" or "local-timestamp-nanos" => -1,
        _ => throw new AvroException("schema is not a timestamp logical type"),
    };
}
