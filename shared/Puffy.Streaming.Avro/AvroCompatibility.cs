namespace Puffy.Streaming.Avro;

/// <summary>Schema resolution rules of the specification, applied statically (can a reader read a writer's data?).</summary>
public static class AvroCompatibility
{
    public static bool CanRead(AvroSchema writer, AvroSchema reader) => CanRead(writer, reader, out _);

    public static bool CanRead(AvroSchema writer, AvroSchema reader, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(reader);
        reason = Check(writer, reader, [], "$");
        return reason is null;
    }

    /// <summary>Whether two schemas "match" in the spec's sense, used to pick a reader union branch.</summary>
    internal static bool Matches(AvroSchema writer, AvroSchema reader, bool allowPromotion)
    {
        if (writer.Type == reader.Type)
        {
            return writer.Type switch
            {
                AvroType.Record or AvroType.Enum or AvroType.Fixed => NamesMatch(writer, reader),
                _ => true,
            };
        }

        return allowPromotion && IsPromotable(writer.Type, reader.Type);
    }

    /// <summary>The first reader branch matching the writer exactly, else the first one it promotes to.</summary>
    internal static AvroSchema? SelectReaderBranch(AvroSchema readerUnion, AvroSchema writer) =>
        readerUnion.Branches.FirstOrDefault(b => Matches(writer, b, allowPromotion: false))
        ?? readerUnion.Branches.FirstOrDefault(b => Matches(writer, b, allowPromotion: true));

    internal static bool IsPromotable(AvroType writer, AvroType reader) => (writer, reader) switch
    {
        (AvroType.Int, AvroType.Long or AvroType.Float or AvroType.Double) => true,
        (AvroType.Long, AvroType.Float or AvroType.Double) => true,
        (AvroType.Float, AvroType.Double) => true,
        (AvroType.String, AvroType.Bytes) => true,
        (AvroType.Bytes, AvroType.String) => true,
        _ => false,
    };

    /// <summary>Named types match on unqualified name (as the spec states) or when a reader alias names the writer.</summary>
    internal static bool NamesMatch(AvroSchema writer, AvroSchema reader) =>
        writer.FullName == reader.FullName
        || writer.Name == reader.Name
        || reader.Aliases.Contains(writer.FullName!);

    /// <summary>The reader field that receives a writer field: same name, or a reader field alias naming it.</summary>
    internal static AvroField? ReaderFieldFor(AvroSchema readerRecord, AvroField writerField) =>
        readerRecord.GetField(writerField.Name)
        ?? readerRecord.Fields.FirstOrDefault(f => f.Aliases.Contains(writerField.Name));

    internal static string Describe(AvroSchema s) => s.Type switch
    {
        AvroType.Array => "array<" + Describe(s.Items!) + ">",
        AvroType.Map => "map<" + Describe(s.Values!) + ">",
        AvroType.Union => "[" + string.Join(", ", s.Branches.Select(Describe)) + "]",
        _ => s.Describe(),
    };

    private static string? Check(AvroSchema w, AvroSchema r, HashSet<(AvroSchema, AvroSchema)> inProgress, string path)
    {
        if (w.Type == AvroType.Union)
        {
            // Any writer branch may occur in the data, so every one must be readable.
            for (var i = 0; i < w.Branches.Count; i++)
            {
                var reason = Check(w.Branches[i], r, inProgress, $"{path}[branch {i}]");
                if (reason is not null)
                    return reason;
            }

            return null;
        }

        if (r.Type == AvroType.Union)
        {
            var branch = SelectReaderBranch(r, w);
            return branch is null
                ? $"{path}: reader union {Describe(r)} has no branch for writer type {Describe(w)}"
                : Check(w, branch, inProgress, path);
        }

        if (w.Type != r.Type)
        {
            return IsPromotable(w.Type, r.Type)
                ? null
                : $"{path}: writer type {Describe(w)} cannot be read as {Describe(r)}";
        }

        switch (r.Type)
        {
            case AvroType.Array:
                return Check(w.Items!, r.Items!, inProgress, path + "[]");
            case AvroType.Map:
                return Check(w.Values!, r.Values!, inProgress, path + "{}");
            case AvroType.Fixed:
                if (!NamesMatch(w, r))
                    return $"{path}: fixed names differ ({w.FullName} vs {r.FullName})";
                return w.Size == r.Size ? null : $"{path}: fixed {r.FullName} size {w.Size} vs {r.Size}";
            case AvroType.Enum:
                if (!NamesMatch(w, r))
                    return $"{path}: enum names differ ({w.FullName} vs {r.FullName})";
                if (r.EnumDefault is not null)
                    return null;
                var missing = w.Symbols.FirstOrDefault(sym => r.SymbolIndex(sym) < 0);
                return missing is null ? null : $"{path}: writer symbol '{missing}' is not in reader enum {r.FullName}, which has no default";
            case AvroType.Record:
                if (!NamesMatch(w, r))
                    return $"{path}: record names differ ({w.FullName} vs {r.FullName})";

                // Recursive types: assume compatible while the same pair is being checked further up.
                if (!inProgress.Add((w, r)))
                    return null;
                try
                {
                    foreach (var rf in r.Fields)
                    {
                        var wf = w.GetField(rf.Name) ?? w.Fields.FirstOrDefault(f => rf.Aliases.Contains(f.Name));
                        if (wf is null)
                        {
                            if (!rf.HasDefault)
                                return $"{path}.{rf.Name}: reader field is missing from the writer and has no default";
                            continue;
                        }

                        var reason = Check(wf.Schema, rf.Schema, inProgress, path + "." + rf.Name);
                        if (reason is not null)
                            return reason;
                    }

                    return null;
                }
                finally
                {
                    inProgress.Remove((w, r));
                }

            default:
                return null;
        }
    }
}

/// <summary>Decodes writer-schema data into reader-schema values following the spec's resolution rules.</summary>
internal sealed class ResolvingReader(AvroBinaryReader r)
{
    private readonly Dictionary<(AvroSchema Writer, AvroSchema Reader), AvroField?[]> plans = [];

    public object? Read(AvroSchema w, AvroSchema rs)
    {
        if (ReferenceEquals(w, rs))
            return DatumReader.Read(r, w);

        if (w.Type == AvroType.Union)
        {
            r.Enter();
            var value = Read(w.Branches[DatumReader.ReadUnionIndex(r, w)], rs);
            r.Exit();
            return value;
        }

        if (rs.Type == AvroType.Union)
        {
            var branch = AvroCompatibility.SelectReaderBranch(rs, w)
                ?? throw new AvroException($"reader union {AvroCompatibility.Describe(rs)} has no branch for writer type {AvroCompatibility.Describe(w)}");
            return Read(w, branch);
        }

        if (w.Type != rs.Type)
            return Promote(w, rs);

        switch (rs.Type)
        {
            case AvroType.Record:
                return ReadRecord(w, rs);
            case AvroType.Enum:
                if (!AvroCompatibility.NamesMatch(w, rs))
                    throw new AvroException($"enum names differ ({w.FullName} vs {rs.FullName})");
                var symbol = w.Symbols[DatumReader.ReadEnumIndex(r, w)];
                if (rs.SymbolIndex(symbol) >= 0)
                    return new AvroEnum(rs, symbol);
                return rs.EnumDefault is not null
                    ? new AvroEnum(rs, rs.EnumDefault)
                    : throw new AvroException($"writer symbol '{symbol}' is not in reader enum {rs.FullName}, which has no default");
            case AvroType.Fixed:
                if (!AvroCompatibility.NamesMatch(w, rs) || w.Size != rs.Size)
                    throw new AvroException($"fixed {w.FullName}({w.Size}) cannot be read as {rs.FullName}({rs.Size})");
                return new AvroFixed(rs, r.ReadSpan(w.Size).ToArray());
            case AvroType.Array:
                r.Enter();
                var list = new List<object?>();
                long count;
                while ((count = r.ReadBlockCount(w.Items!.MinEncodedSize, out _)) != 0)
                {
                    for (long i = 0; i < count; i++)
                        list.Add(Read(w.Items, rs.Items!));
                }

                r.Exit();
                return list;
            case AvroType.Map:
                r.Enter();
                var map = new Dictionary<string, object?>(StringComparer.Ordinal);
                while ((count = r.ReadBlockCount(1 + w.Values!.MinEncodedSize, out _)) != 0)
                {
                    for (long i = 0; i < count; i++)
                    {
                        var key = r.ReadString();
                        map[key] = Read(w.Values, rs.Values!);
                    }
                }

                r.Exit();
                return map;
            default:
                return DatumReader.Read(r, w);
        }
    }

    private object Promote(AvroSchema w, AvroSchema rs)
    {
        if (!AvroCompatibility.IsPromotable(w.Type, rs.Type))
            throw new AvroException($"writer type {AvroCompatibility.Describe(w)} cannot be read as {AvroCompatibility.Describe(rs)}");
        var value = DatumReader.Read(r, w);
        return (value, rs.Type) switch
        {
            (int i, AvroType.Long) => (long)i,
            (int i, AvroType.Float) => (float)i,
            (int i, AvroType.Double) => (double)i,
            (long l, AvroType.Float) => (float)l,
            (long l, AvroType.Double) => (double)l,
            (float f, AvroType.Double) => (double)f,
            (string s, AvroType.Bytes) => System.Text.Encoding.UTF8.GetBytes(s),
            (byte[] b, AvroType.String) => DecodeUtf8(b),
            _ => throw new AvroException($"unsupported promotion {w.Type} to {rs.Type}"),
        };
    }

    private static string DecodeUtf8(byte[] bytes)
    {
        try
        {
            return new System.Text.UTF8Encoding(false, true).GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException ex)
        {
            throw new AvroException("bytes promoted to string are not valid UTF-8", ex);
        }
    }

    private AvroRecord ReadRecord(AvroSchema w, AvroSchema rs)
    {
        if (!AvroCompatibility.NamesMatch(w, rs))
            throw new AvroException($"record names differ ({w.FullName} vs {rs.FullName})");
        if (!plans.TryGetValue((w, rs), out var plan))
        {
            plan = w.Fields.Select(wf => AvroCompatibility.ReaderFieldFor(rs, wf)).ToArray();
            plans[(w, rs)] = plan;
        }

        r.Enter();
        var record = new AvroRecord(rs);
        var filled = new bool[rs.Fields.Count];
        for (var i = 0; i < w.Fields.Count; i++)
        {
            var target = plan[i];
            if (target is null)
            {
                // Writer-only field: consume its bytes and drop it.
                DatumReader.Skip(r, w.Fields[i].Schema);
                continue;
            }

            record[target.Position] = Read(w.Fields[i].Schema, target.Schema);
            filled[target.Position] = true;
        }

        foreach (var f in rs.Fields)
        {
            if (filled[f.Position])
                continue;
            if (!f.HasDefault)
                throw new AvroException($"reader field '{f.Name}' of {rs.FullName} is not in the writer schema and has no default");

            // Converted afresh for each record so callers never share a mutable default list or map.
            record[f.Position] = AvroDefaults.FromJson(f.Schema, f.DefaultJson);
        }

        r.Exit();
        return record;
    }
}
