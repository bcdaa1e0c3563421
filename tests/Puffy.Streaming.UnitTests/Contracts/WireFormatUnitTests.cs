using Puffy.Streaming.Avro;
using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.UnitTests.Contracts;

/// <summary>The Avro wire format of the messages: round trips, framing, ids and schema evolution.</summary>
public sealed class WireFormatUnitTests
{
    private static readonly DateTime T0 = new(2025, 3, 1, 10, 15, 30, 250, DateTimeKind.Utc);

    private static readonly ValidEvent Valid = new("0123456789abcdef0123456789abcdef", "c-1", T0, EventNames.CheckoutCompleted,
        "https://puffy.com/?utm_source=ABC123", null, "Mozilla/5.0 (iPhone) «ü»", Devices.Mobile, "{\"transaction_id\":\"T1\"}",
        "T1", 1234.56m, "events_20250301.csv", 42, T0.AddMinutes(3), Channels.PaidSearch);

    public static TheoryData<string> Samples() => new(SampleMessages.Keys);

    private static readonly Dictionary<string, object> SampleMessages = new()
    {
        ["raw"] = new RawEvent("events_20250301.csv", 7, new DateOnly(2025, 3, 1), "a,b,\"c\"", null, "c-1", "https://puffy.com/", "",
            "2025-03-01T10:15:30.250Z", "page_viewed", null, "UA", T0),
        ["raw-broken"] = new RawEvent("x.csv", 3, null, "\"broken", "unterminated quoted field", null, null, null, null, null, null, null, DateTime.UnixEpoch),
        ["valid"] = Valid,
        ["valid-minimal"] = Valid with { PageUrl = null, Referrer = "", TransactionId = null, Revenue = null, LandingChannel = null },
        ["sessionized"] = new SessionizedEvent(Valid, "s-0123456789abcdef0123456789abcdef", T0.AddMinutes(-5), false, Channels.Direct),
        ["dead-letter"] = new DeadLetter(DeadLetterReasons.LateEvent, Severity.Warning, "late by 20 min", "events_20250301.csv", 9,
            new DateOnly(2025, 3, 1), "row", "id", "c-1", T0, Topics.RawEvents, 3, 12345),
        ["dead-letter-minimal"] = new DeadLetter(DeadLetterReasons.UnparseableRow, Severity.Error, "bad", "f.csv", 2, null, "row"),
        ["session"] = new Session("s-1", "c-1", T0, T0.AddMinutes(12), 5, 3, 0, 1, 1, 1, "https://puffy.com/", null, Channels.Email,
            Devices.Desktop, true, 1, 99.99m, ["T1"]),
        ["session-empty"] = new Session("s-2", "c-2", T0, T0, 1, 1, 0, 0, 0, 0, null, "", Channels.Unattributed, Devices.Tablet, false, 0, 0m, []),
        ["order"] = new AttributedOrder("T1", "c-1", "e-1", T0, 0.01m, "s-3", 3, 6.25,
            new Touch(Channels.PaidSearch, "s-1", T0.AddDays(-6)), new Touch(Channels.Direct, "s-3", T0.AddMinutes(-1)),
            new Touch(Channels.Email, "s-2", T0.AddDays(-2))),
        ["metric"] = new Metric(new DateOnly(2025, 3, 2), MetricNames.FileDeadLettered, DeadLetterReasons.MissingClientId, 685, "events_20250302.csv"),
        ["metric-no-day"] = new Metric(null, MetricNames.Heartbeat, "", 1.5e9, ""),
        ["alert"] = new Alert(new DateOnly(2025, 3, 4), "schema_change", Severity.Critical, 1, 0, "column 'referrer' missing"),
    };

    private static object RoundTrip(object message) => message switch
    {
        RawEvent m => WireFormat.Deserialize<RawEvent>(WireFormat.Serialize(m)),
        ValidEvent m => WireFormat.Deserialize<ValidEvent>(WireFormat.Serialize(m)),
        SessionizedEvent m => WireFormat.Deserialize<SessionizedEvent>(WireFormat.Serialize(m)),
        DeadLetter m => WireFormat.Deserialize<DeadLetter>(WireFormat.Serialize(m)),
        Session m => WireFormat.Deserialize<Session>(WireFormat.Serialize(m)),
        AttributedOrder m => WireFormat.Deserialize<AttributedOrder>(WireFormat.Serialize(m)),
        Metric m => WireFormat.Deserialize<Metric>(WireFormat.Serialize(m)),
        Alert m => WireFormat.Deserialize<Alert>(WireFormat.Serialize(m)),
        _ => throw new ArgumentOutOfRangeException(nameof(message)),
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void Serialize_ThenDeserialize_GivesAnEqualMessage(string sample)
    {
        var message = SampleMessages[sample];
        var back = RoundTrip(message);
        if (message is Session s)
        {
            var b = (Session)back;
            Assert.Equal(s.TransactionIds, b.TransactionIds);
            Assert.Equal(s with { TransactionIds = [] }, b with { TransactionIds = [] });
        }
        else
        {
            Assert.Equal(message, back);
        }
    }

    [Fact]
    public void Serialize_UsesConfluentFramingWithTheCatalogueId()
    {
        var bytes = WireFormat.Serialize(Valid);
        Assert.Equal(0, bytes[0]);
        Assert.Equal(WireFormat.CatalogueIds[Topics.ValidEvents + "-value"], AvroConfluent.ReadSchemaId(bytes));
        Assert.Equal(77, AvroConfluent.ReadSchemaId(WireFormat.Serialize(Valid, schemaId: 77)));
    }

    [Fact]
    public void Deserialize_UnknownSchemaId_ThrowsAvroException()
    {
        var bytes = WireFormat.Serialize(Valid, schemaId: 999);
        Assert.Throws<AvroException>(() => WireFormat.Deserialize<ValidEvent>(bytes));
    }

    [Fact]
    public void StreamMark_RoundTrips_AndIsToldApartByItsSchemaId()
    {
        var mark = new StreamMark(StreamMarkKind.FileEnd, "ingestor", new DateTime(2025, 3, 1, 10, 0, 0, 123, DateTimeKind.Utc), "events_20250301.csv", 42, 4,
            "events_20250301.csv", new DateOnly(2025, 3, 1), 3489);
        var codec = Puffy.Streaming.Kafka.MessageCodec.Catalogue;

        var bytes = codec.Serialize(mark);

        Assert.True(codec.IsMark(bytes));
        Assert.False(codec.IsMark(codec.Serialize(Valid)));
        Assert.False(codec.IsMark("garbage"u8));
        Assert.Equal(mark, codec.Deserialize<StreamMark>(bytes));
    }

    [Fact]
    public void Deserialize_Garbage_ThrowsAvroException()
    {
        var bytes = WireFormat.Serialize(Valid);
        Assert.Throws<AvroException>(() => WireFormat.Deserialize<ValidEvent>(bytes.AsMemory(0, bytes.Length / 2)));
    }

    [Fact]
    public void Catalogue_HasOneDistinctIdPerMessageSubject()
    {
        var subjects = WireFormat.Schemas.Values.Select(s => s.Subject).ToList();
        Assert.Equal(subjects.Order(StringComparer.Ordinal), WireFormat.CatalogueIds.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(WireFormat.CatalogueIds.Count, WireFormat.CatalogueIds.Values.Distinct().Count());
    }

    [Fact]
    public void SessionizedEventSchema_EmbedsExactlyTheValidEventSchema()
    {
        var nested = WireFormat.SchemaOf<SessionizedEvent>().Fields.Single(f => f.Name == "event").Schema;
        Assert.Equal(WireFormat.SchemaOf<ValidEvent>().ToCanonicalForm(), nested.ToCanonicalForm());
    }

    public static TheoryData<string> SchemaFiles() => new(Directory.GetFiles(SchemaFolder, "*.avsc").Select(Path.GetFileNameWithoutExtension)!);

    private static string SchemaFolder => Path.Combine(RepoPaths.Root, "contracts", "Puffy.Streaming.Contracts", "Schemas");

    /// <summary>
    /// Evolution rule: only fields with defaults may be added. Every published version under Schemas/history must stay
    /// readable by the current schema and the current one by it, so producers and consumers can upgrade in any order.
    /// </summary>
    [Theory]
    [MemberData(nameof(SchemaFiles))]
    public void CommittedSchema_IsCompatibleBothWaysWithEveryPublishedVersion(string name)
    {
        var current = AvroSchema.Parse(File.ReadAllText(Path.Combine(SchemaFolder, name + ".avsc")));
        var history = Directory.GetFiles(Path.Combine(SchemaFolder, "history", name), "*.avsc");
        Assert.NotEmpty(history);
        foreach (var file in history)
        {
            var published = AvroSchema.Parse(File.ReadAllText(file));
            Assert.True(AvroCompatibility.CanRead(published, current, out var readOld), $"{name}: cannot read {Path.GetFileName(file)} data: {readOld}");
            Assert.True(AvroCompatibility.CanRead(current, published, out var readNew), $"{name}: {Path.GetFileName(file)} readers cannot read current data: {readNew}");
        }
    }

    [Fact]
    public void Compatibility_AddingAFieldWithoutDefault_IsCaught()
    {
        var published = WireFormat.SchemaOf<Metric>();
        var json = published.ToJson().Replace("\"fields\":[", "\"fields\":[{\"name\":\"unit\",\"type\":\"string\"},", StringComparison.Ordinal);
        var changed = AvroSchema.Parse(json);
        Assert.NotEqual(published.ToCanonicalForm(), changed.ToCanonicalForm());
        Assert.False(AvroCompatibility.CanRead(published, changed));
    }

    [Fact]
    public void Deserialize_DataWrittenWithAnOlderSchema_FillsNewFieldsFromDefaults()
    {
        // ValidEvent without landing_channel, as an older producer would have written it.
        var current = WireFormat.SchemaOf<ValidEvent>();
        var older = AvroSchema.Parse(current.ToJson().Replace(
            ",{\"name\":\"landing_channel\",\"type\":[\"null\",\"string\"],\"default\":null}", string.Empty, StringComparison.Ordinal));
        Assert.Equal(current.Fields.Count - 1, older.Fields.Count);
        var full = ToRecord(current);
        var record = new AvroRecord(older);
        foreach (var field in older.Fields)
            record[field.Name] = full[field.Name];
        var frame = AvroConfluent.Encode(500, older, record);

        var back = WireFormat.Deserialize<ValidEvent>(frame, id => id == 500 ? older : null);

        Assert.Equal(Valid with { LandingChannel = null }, back);
    }

    private static AvroRecord ToRecord(AvroSchema schema)
    {
        var bytes = WireFormat.Serialize(Valid);
        return Assert.IsType<AvroRecord>(AvroDatum.Decode(schema, bytes.AsMemory(AvroConfluent.HeaderLength)));
    }
}
