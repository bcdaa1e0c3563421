using System.Buffers.Binary;
using Avro;
using Avro.Generic;
using Avro.IO;
using Avro.Specific;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Kafka;
using Schema = Avro.Schema;
using Wire = puffy.streaming.v1;

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

    private static readonly MessageCodec Codec = MessageCodec.Catalogue;

    private static object RoundTrip(object message) => message switch
    {
        RawEvent m => Codec.Deserialize<RawEvent>(Codec.Serialize(m)),
        ValidEvent m => Codec.Deserialize<ValidEvent>(Codec.Serialize(m)),
        SessionizedEvent m => Codec.Deserialize<SessionizedEvent>(Codec.Serialize(m)),
        DeadLetter m => Codec.Deserialize<DeadLetter>(Codec.Serialize(m)),
        Session m => Codec.Deserialize<Session>(Codec.Serialize(m)),
        AttributedOrder m => Codec.Deserialize<AttributedOrder>(Codec.Serialize(m)),
        Metric m => Codec.Deserialize<Metric>(Codec.Serialize(m)),
        Alert m => Codec.Deserialize<Alert>(Codec.Serialize(m)),
        _ => throw new ArgumentOutOfRangeException(nameof(message)),
    };

    private static byte[] Serialize(object message) => message switch
    {
        RawEvent m => Codec.Serialize(m),
        ValidEvent m => Codec.Serialize(m),
        SessionizedEvent m => Codec.Serialize(m),
        DeadLetter m => Codec.Serialize(m),
        Session m => Codec.Serialize(m),
        AttributedOrder m => Codec.Serialize(m),
        Metric m => Codec.Serialize(m),
        Alert m => Codec.Serialize(m),
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
        var bytes = Codec.Serialize(Valid);
        Assert.Equal(0, bytes[0]);
        Assert.Equal(WireFormat.CatalogueIds[Topics.ValidEvents + "-value"], WireFormat.SchemaIdOf(bytes));
    }

    [Fact]
    public void Deserialize_UnknownSchemaId_ThrowsInvalidMessage()
    {
        var bytes = Codec.Serialize(Valid);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(1), 999);
        var e = Assert.Throws<InvalidMessageException>(() => Codec.Deserialize<ValidEvent>(bytes));
        Assert.Contains("999", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StreamMark_RoundTrips_AndIsToldApartByItsSchemaId()
    {
        var mark = new StreamMark(StreamMarkKind.FileEnd, "ingestor", new DateTime(2025, 3, 1, 10, 0, 0, 123, DateTimeKind.Utc), "events_20250301.csv", 42, 4,
            "events_20250301.csv", new DateOnly(2025, 3, 1), 3489);

        var bytes = Codec.Serialize(mark);

        Assert.True(Codec.IsMark(bytes));
        Assert.Equal(WireFormat.CatalogueIds[StreamMark.Subject], WireFormat.SchemaIdOf(bytes));
        Assert.False(Codec.IsMark(Codec.Serialize(Valid)));
        Assert.False(Codec.IsMark("garbage"u8));
        Assert.Equal(mark, Codec.Deserialize<StreamMark>(bytes));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(20)]
    public void Deserialize_TruncatedFrame_ThrowsInvalidMessage(int length)
    {
        var bytes = Codec.Serialize(Valid);
        Assert.Throws<InvalidMessageException>(() => Codec.Deserialize<ValidEvent>(bytes.AsMemory(0, length)));
    }

    [Fact]
    public void Deserialize_NotConfluentFramed_ThrowsInvalidMessage()
    {
        var bytes = Codec.Serialize(Valid);
        bytes[0] = 1;
        Assert.Throws<InvalidMessageException>(() => Codec.Deserialize<ValidEvent>(bytes));
    }

    [Fact]
    public void Deserialize_AnotherTypesFrame_ThrowsInvalidMessage()
    {
        // A metric frame on a topic whose consumer expects valid events: the id resolves, the schemas do not match.
        var bytes = Codec.Serialize(new Metric(null, MetricNames.Heartbeat, "", 1, ""));
        Assert.Throws<InvalidMessageException>(() => Codec.Deserialize<ValidEvent>(bytes));
    }

    /// <summary>Any Confluent-compatible consumer reads the topics without our classes: as generic records.</summary>
    [Theory]
    [MemberData(nameof(Samples))]
    public async Task Serialize_IsReadableByConfluentsGenericAvroDeserializer(string sample)
    {
        var message = SampleMessages[sample];
        var type = WireFormat.Types[message.GetType()];
        using var registry = new CatalogueSchemaRegistry();
        var generic = await new AvroDeserializer<GenericRecord>(registry)
            .DeserializeAsync(Serialize(message), isNull: false, new SerializationContext(MessageComponentType.Value, type.Topic!));

        Assert.Equal(type.Schema.Fullname, generic.Schema.Fullname);
        Assert.Equal(type.Schema.Fields.Select(f => f.Name), generic.Schema.Fields.Select(f => f.Name));
        var required = type.Schema.Fields.First(f => f.Schema.Tag != Avro.Schema.Type.Union).Name;
        Assert.True(generic.TryGetValue(required, out var value));
        Assert.NotNull(value);
    }

    [Fact]
    public void Catalogue_HasOneDistinctIdPerMessageSubject()
    {
        var subjects = WireFormat.Types.Values.Select(s => s.Subject).ToList();
        Assert.Equal(subjects.Order(StringComparer.Ordinal), WireFormat.CatalogueIds.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(WireFormat.CatalogueIds.Count, WireFormat.CatalogueIds.Values.Distinct().Count());
    }

    [Fact]
    public async Task Catalogue_RefusesASchemaItDoesNotHold()
    {
        using var registry = new CatalogueSchemaRegistry();
        var changed = WireFormat.SchemaOf<Metric>().ToString().Replace("\"fields\":[", "\"fields\":[{\"name\":\"unit\",\"type\":\"string\"},", StringComparison.Ordinal);
        var e = await Assert.ThrowsAsync<SchemaRegistryException>(() =>
            registry.RegisterSchemaAsync(Topics.Metrics + "-value", new Confluent.SchemaRegistry.Schema(changed, SchemaType.Avro)));
        Assert.Equal(40403, e.ErrorCode);
    }

    [Fact]
    public void SessionizedEventSchema_EmbedsExactlyTheValidEventSchema()
    {
        var nested = WireFormat.SchemaOf<SessionizedEvent>().Fields.Single(f => f.Name == "event").Schema;
        Assert.Equal(SchemaNormalization.ToParsingForm(WireFormat.SchemaOf<ValidEvent>()), SchemaNormalization.ToParsingForm(nested));
    }

    public static TheoryData<string> SchemaFiles() => new(Directory.GetFiles(SchemaFolder, "*.avsc").Select(Path.GetFileNameWithoutExtension)!);

    private static string SchemaFolder => Path.Combine(RepoPaths.Root, "contracts", "Puffy.Streaming.Contracts", "Schemas");

    /// <summary>
    /// Evolution rule: only fields with defaults may be added. Every published version under Schemas/history must stay
    /// readable by the current schema and the current one by it, so producers and consumers can upgrade in any order.
    /// Checked twice: by Apache Avro's schema rules, and by resolving a datum of each schema with the other.
    /// </summary>
    [Theory]
    [MemberData(nameof(SchemaFiles))]
    public void CommittedSchema_IsCompatibleBothWaysWithEveryPublishedVersion(string name)
    {
        var current = Schema.Parse(File.ReadAllText(Path.Combine(SchemaFolder, name + ".avsc")));
        var history = Directory.GetFiles(Path.Combine(SchemaFolder, "history", name), "*.avsc");
        Assert.NotEmpty(history);
        foreach (var file in history)
        {
            var published = Schema.Parse(File.ReadAllText(file));
            Assert.True(current.CanRead(published), $"{name}: cannot read {Path.GetFileName(file)} data");
            Assert.True(published.CanRead(current), $"{name}: {Path.GetFileName(file)} readers cannot read current data");
            Resolve(SampleDatum.For(published), published, current);
            Resolve(SampleDatum.For(current), current, published);
        }
    }

    [Fact]
    public void Compatibility_AddingAFieldWithoutDefault_IsCaught()
    {
        var published = WireFormat.SchemaOf<Metric>();
        var changed = Schema.Parse(published.ToString().Replace("\"fields\":[", "\"fields\":[{\"name\":\"unit\",\"type\":\"string\"},", StringComparison.Ordinal));
        Assert.NotEqual(SchemaNormalization.ToParsingForm(published), SchemaNormalization.ToParsingForm(changed));
        Assert.False(changed.CanRead(published));
        Assert.ThrowsAny<AvroException>(() => Resolve(SampleDatum.For(published), published, changed));
    }

    [Fact]
    public void Deserialize_DataWrittenWithAnOlderSchema_FillsNewFieldsFromDefaults()
    {
        // ValidEvent without landing_channel, as an older producer would have written it.
        var current = WireFormat.SchemaOf<ValidEvent>();
        var json = System.Text.Json.Nodes.JsonNode.Parse(current.ToString())!;
        var fields = json["fields"]!.AsArray();
        fields.Remove(fields.Single(f => (string?)f!["name"] == "landing_channel"));
        var older = (RecordSchema)Schema.Parse(json.ToJsonString());
        Assert.Equal(current.Fields.Count - 1, older.Fields.Count);
        var full = (GenericRecord)Decode(Codec.Serialize(Valid).AsSpan(WireFormat.HeaderLength).ToArray(), current, current);
        var record = new GenericRecord(older);
        foreach (var field in older.Fields)
            record.Add(field.Name, full[field.Name]);
        var body = Encode(record, older);

        var back = new SpecificDatumReader<Wire.ValidEvent>(older, current).Read(null!, new BinaryDecoder(new MemoryStream(body)));

        Assert.Equal(Valid with { LandingChannel = null }, WireMapping.FromRecord(back));
    }

    private static void Resolve(object datum, Schema writer, Schema reader) => Decode(Encode(datum, writer), writer, reader);

    private static byte[] Encode(object datum, Schema schema)
    {
        using var stream = new MemoryStream();
        new GenericDatumWriter<object>(schema).Write(datum, new BinaryEncoder(stream));
        return stream.ToArray();
    }

    private static object Decode(byte[] body, Schema writer, Schema reader) =>
        new GenericDatumReader<object>(writer, reader).Read(null!, new BinaryDecoder(new MemoryStream(body)));
}
