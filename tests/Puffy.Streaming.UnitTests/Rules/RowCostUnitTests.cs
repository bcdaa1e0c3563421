using System.Text;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Marketing;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>
/// The cheaper per-row paths give exactly what the plain ones give: ids as hex, pooled CSV values, remembered
/// user-agent answers, and the daily table's session counting without a record per session.
/// </summary>
public sealed class RowCostUnitTests
{
    public static TheoryData<string> Ids => new()
    {
        "0", "1", "ffffffffffffffffffffffffffffffff", "0123456789abcdef0123456789abcdef", "80000000000000000000000000000001",
    };

    [Theory]
    [MemberData(nameof(Ids))]
    public void ToText_AnyId_IsThirtyTwoLowerCaseHexDigitsOfTheNumber(string hex)
    {
        var id = UInt128.Parse(hex, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(id.ToString("x32", System.Globalization.CultureInfo.InvariantCulture), EventId.ToText(id));
        Assert.Equal("s-" + EventId.ToText(id), EventId.ToText("s-", id));
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void TryParse_FormattedId_GivesTheIdBack(string hex)
    {
        var id = UInt128.Parse(hex, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);

        Assert.True(EventId.TryParse(EventId.ToText(id), out var parsed));
        Assert.Equal(id, parsed);
        Assert.True(EventId.TryParse(EventId.ToText(id).ToUpperInvariant(), out var upper));
        Assert.Equal(id, upper);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0123456789abcdef0123456789abcde")]
    [InlineData("0123456789abcdef0123456789abcdef0")]
    [InlineData("0123456789abcdef0123456789abcdeg")]
    [InlineData(" 123456789abcdef0123456789abcdef")]
    public void TryParse_NotThirtyTwoHexDigits_Fails(string text)
    {
        Assert.False(EventId.TryParse(text, out var id));
        Assert.Equal(UInt128.Zero, id);
    }

    [Fact]
    public void Derive_SameParts_GivesPrefixAndTheSameThirtyTwoDigits()
    {
        var a = EventId.Derive("s-", "client", "event");
        var b = EventId.Derive("s-", "client", "event");

        Assert.Equal(a, b);
        Assert.Matches("^s-[0-9a-f]{32}$", a);
        Assert.NotEqual(a, EventId.Derive("s-", "client", "event2"));
    }

    [Fact]
    public void Get_SameTextTwice_ReturnsOneInstance()
    {
        var pool = new StringPool();

        var first = pool.Get("Mozilla/5.0 (iPhone)".AsSpan());
        var second = pool.Get("Mozilla/5.0 (iPhone)".ToCharArray());

        Assert.Equal("Mozilla/5.0 (iPhone)", first);
        Assert.Same(first, second);
        Assert.Same(string.Empty, pool.Get([]));
    }

    [Fact]
    public void Get_LongerThanMaxLength_IsNotKept()
    {
        var pool = new StringPool(capacity: 10, maxLength: 4);

        var first = pool.Get("abcde");
        var second = pool.Get("abcde");

        Assert.Equal("abcde", second);
        Assert.NotSame(first, second);
        Assert.Equal(0, pool.Count);
    }

    [Fact]
    public void Get_MoreDistinctValuesThanCapacity_StaysBounded()
    {
        var pool = new StringPool(capacity: 8);

        for (var i = 0; i < 100; i++)
            Assert.Equal($"v{i}", pool.Get($"v{i}"));

        Assert.InRange(pool.Count, 1, 8);
    }

    [Fact]
    public void PoolColumns_RepeatedValues_SameFieldsAsUnpooledAndOneInstancePerValue()
    {
        var csv = Encoding.UTF8.GetBytes("""
            id,agent,name
            1,"Mozilla/5.0 (X11, Linux)",page_viewed
            2,"Mozilla/5.0 (X11, Linux)",page_viewed
            3,curl/8.0,""
            4,"Mozilla/5.0 (X11, Linux)",page_viewed
            """.ReplaceLineEndings("\n"));
        var plain = new CsvRecordReader(csv);
        var pooled = new CsvRecordReader(csv);
        pooled.PoolColumns(new StringPool(), 1, 2);
        var agents = new List<string>();
        var ids = new List<string>();

        while (plain.TryRead(out var expected))
        {
            Assert.True(pooled.TryRead(out var actual));
            Assert.Equal(expected.Text, actual.Text);
            Assert.Equal(expected.Fields!, actual.Fields!);
            agents.Add(actual.Fields![1]);
            ids.Add(actual.Fields[0]);
        }

        Assert.False(pooled.TryRead(out _));
        Assert.Same(agents[1], agents[2]);
        Assert.Same(agents[1], agents[4]);
        Assert.Equal(["1", "2", "3", "4"], ids.Skip(1));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)")]
    [InlineData("Mozilla/5.0 (Linux; Android 14) Mobile Safari")]
    [InlineData("Mozilla/5.0 (compatible; GoogleBot/2.1)")]
    [InlineData("CURL/8.4.0")]
    [InlineData("Mozilla/5.0 HeadlessChrome/120 Tablet")]
    public void Traits_AnyUserAgent_SameAsBotMarkerAndDevice(string? userAgent)
    {
        for (var i = 0; i < 2; i++)
            Assert.Equal((UserAgents.BotMarker(userAgent), UserAgents.Device(userAgent)), UserAgents.Traits(userAgent));
    }

    [Fact]
    public void Traits_UserAgentLongerThanTheCacheKeeps_StillAnswered()
    {
        var userAgent = new string('x', 5000) + "Spider iPhone";

        Assert.Equal(("spider", Devices.Mobile), UserAgents.Traits(userAgent));
    }

    [Fact]
    public void Get_ManyKeysAsPooledAndAsFreshInstances_EachAnsweredForItsOwnText()
    {
        // More keys than the table by instance has slots, and more than the dictionary keeps: every answer must still
        // be the key's own, whether it comes from the slot, the dictionary or a fresh computation.
        var answers = new RecentAnswers<string>(capacity: 1000);
        var keys = Enumerable.Range(0, 5000).Select(i => "referrer-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var computed = 0;
        for (var round = 0; round < 3; round++)
        {
            foreach (var key in keys)
            {
                Assert.Equal(key.ToUpperInvariant(), answers.Get(key, k => { computed++; return k.ToUpperInvariant(); }));
                var copy = new string(key.AsSpan());
                Assert.Equal(key.ToUpperInvariant(), answers.Get(copy, k => { computed++; return k.ToUpperInvariant(); }));
            }
        }

        Assert.InRange(computed, keys.Length, 2 * 3 * keys.Length - 1);
    }

    private static Session NewSession(string id) =>
        new(id, "client", Fx.Day, Fx.Day.AddMinutes(1), 1, 1, 0, 0, 0, 0, Fx.Shop, "", Channels.Direct, Devices.Desktop, false, 0, 0m, []);

    [Fact]
    public void Add_SessionIdsOfEveryShape_EachCountsOnceAndNeverForAnother()
    {
        var table = new MarketingDaily();
        var lower = "s-" + new string('a', 32);
        var upper = "s-" + new string('A', 32);
        string[] ids = [lower, upper, "s1", "s-", "", "s-" + new string('a', 31)];

        foreach (var id in ids)
            Assert.True(table.Add(NewSession(id)), id);
        foreach (var id in ids)
            Assert.False(table.Add(NewSession(id)), id);

        Assert.Equal(ids.Length, table.RememberedIds);
        Assert.Equal(ids.Length, Assert.Single(table.Rows(), r => r.Model == AttributionModels.LastClick).Sessions);
    }
}
