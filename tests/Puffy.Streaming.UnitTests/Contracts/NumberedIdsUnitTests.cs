using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Puffy.Streaming.Contracts;
using Puffy.Streaming.Embedded;
using Puffy.Streaming.Pipeline.Marketing;
using Puffy.Streaming.Pipeline.Validation;
using Puffy.Streaming.UnitTests.Rules;

namespace Puffy.Streaming.UnitTests.Contracts;

/// <summary>
/// Event and session ids made by the pipeline stay numbers until something asks for their text. A message made from a
/// number must be the message made from its text: equal, serialised the same, and sessionized, attributed, counted and
/// written the same.
/// </summary>
public sealed class NumberedIdsUnitTests : IDisposable
{
    private static readonly DateTime T = Fx.Day.AddHours(9);
    private readonly string _dir = Directory.CreateTempSubdirectory("puffy-ids-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ValidEvent_MadeFromItsIdNumber_EqualsTheOneMadeFromItsText()
    {
        var numbered = Fx.Valid(Fx.View("client-a", T));
        Assert.True(numbered.TryGetIdNumber(out var number));
        var text = numbered with { EventId = EventId.ToText(number) };

        Assert.False(text.TryGetIdNumber(out _));
        Assert.Equal(EventId.ToText(number), numbered.EventId);
        Assert.Equal(text.GetHashCode(), numbered.GetHashCode());
        Assert.Equal(text, numbered);
        Assert.NotEqual(text, numbered with { EventId = EventId.ToText(number + 1) });
        Assert.NotEqual(numbered, ValidEvent.WithIdNumber(number + 1, numbered.ClientId, numbered.Timestamp, numbered.EventName,
            numbered.PageUrl, numbered.Referrer, numbered.UserAgent, numbered.Device, numbered.EventData, numbered.TransactionId,
            numbered.Revenue, numbered.SourceFile, numbered.Line, numbered.StreamTime, numbered.LandingChannel));
        Assert.True((numbered with { Line = 3 }).TryGetIdNumber(out var kept));
        Assert.Equal(number, kept);
        // Stored state (JSON) and the wire (Avro) carry the text.
        Assert.Equal(text, JsonSerializer.Deserialize<ValidEvent>(JsonSerializer.Serialize(numbered)));
        Assert.Equal(text, WireMapping.FromRecord(WireMapping.ToRecord(numbered)) with { LandingChannel = numbered.LandingChannel });
    }

    [Fact]
    public void SessionMessages_MadeFromTheSessionNumber_EqualThoseMadeFromItsText()
    {
        var ev = Fx.Valid(Fx.View("client-a", T));
        var number = EventId.DeriveNumber("client-a", UInt128.MaxValue - 5);
        var id = EventId.ToText(Session.IdPrefix, number);

        var numbered = SessionizedEvent.WithSessionNumber(ev, number, T, true, Channels.Direct);
        var text = new SessionizedEvent(ev, id, T, true, Channels.Direct);
        Assert.True(numbered.TryGetSessionNumber(out var n) && n == number);
        Assert.False(text.TryGetSessionNumber(out _));
        Assert.Equal(id, numbered.SessionId);
        Assert.Equal(text.GetHashCode(), numbered.GetHashCode());
        Assert.Equal(text, numbered);
        Assert.NotEqual(text, SessionizedEvent.WithSessionNumber(ev, number + 1, T, true, Channels.Direct));
        Assert.Equal(text, WireMapping.FromRecord(WireMapping.ToRecord(numbered)) with { Event = ev });

        var session = Session.WithIdNumber(number, "client-a", T, T, 1, 1, 0, 0, 0, 0, Fx.Shop, "", Channels.Direct, "desktop", false, 0, 0m, []);
        var sessionText = session with { SessionId = id };
        Assert.True(session.TryGetIdNumber(out n) && n == number);
        Assert.False(sessionText.TryGetIdNumber(out _));
        Assert.Equal(id, session.SessionId);
        Assert.Equal(sessionText.GetHashCode(), session.GetHashCode());
        Assert.Equal(sessionText, session);
        Assert.NotEqual(sessionText, session with { SessionId = EventId.ToText(Session.IdPrefix, number + 1) });
    }

    [Fact]
    public void DeriveNumber_FromAnEventIdsNumber_IsTheIdDerivedFromItsText()
    {
        var random = new Random(11);
        for (var i = 0; i < 200; i++)
        {
            var eventId = new UInt128((ulong)random.NextInt64(), (ulong)random.NextInt64());
            var client = $"{random.Next()}-ü{i}";

            Assert.Equal(EventId.Derive(Session.IdPrefix, client, EventId.ToText(eventId)),
                EventId.ToText(Session.IdPrefix, EventId.DeriveNumber(client, eventId)));
        }
    }

    [Fact]
    public void Pipeline_EventsWithNumberedOrTextIds_GivesTheSameSessionsOrdersTableAndRows()
    {
        Row[] rows =
        [
            Fx.View("client-a", T), Fx.View("client-a", T.AddMinutes(10), referrer: "https://www.google.com/"),
            Fx.View("client-b", T.AddMinutes(1)), Fx.View("client-a", T.AddHours(2)),
            Fx.Buy("client-a", T.AddHours(2).AddMinutes(5), "tx-1", 120m), Fx.View("client-b", T.AddDays(1)),
        ];
        var numberedEvents = SessionHarness.Sorted(rows);
        Assert.All(numberedEvents, e => Assert.True(e.TryGetIdNumber(out _)));

        var numbered = Run(numberedEvents);
        var text = Run(numberedEvents.Select(e => e with { EventId = e.EventId }).ToList());
        // As the embedded run makes them: the page url kept as UTF-8 too.
        var utf8 = Run(numberedEvents.Select(WithPageUrlBytes).ToList());
        Assert.All(utf8.Sessions, s => Assert.True(s.TryGetLandingPageUtf8(out _)));
        Assert.All(numbered.Sessions, s => Assert.False(s.TryGetLandingPageUtf8(out _)));
        Assert.Equal(numbered.Events, utf8.Events);
        Assert.Equivalent(numbered.Sessions, utf8.Sessions, strict: true);
        Assert.Equal(numbered.Orders, utf8.Orders);

        Assert.All(numbered.Events, e => Assert.True(e.TryGetSessionNumber(out _)));
        Assert.All(numbered.Sessions, s => Assert.True(s.TryGetIdNumber(out _)));
        Assert.All(text.Events, e => Assert.False(e.TryGetSessionNumber(out _)));
        Assert.All(text.Sessions, s => Assert.False(s.TryGetIdNumber(out _)));
        Assert.Equal(4, numbered.Sessions.Count);
        Assert.Equal(text.Events, numbered.Events);
        Assert.Equivalent(text.Sessions, numbered.Sessions, strict: true);
        Assert.Single(numbered.Orders);
        Assert.Equal(text.Orders, numbered.Orders);

        // The daily table counts a session once, whichever way it comes; ids that differ only in case are two sessions.
        var table = new MarketingDaily();
        Assert.All(numbered.Sessions, s => Assert.True(table.Add(s)));
        Assert.All(text.Sessions, s => Assert.False(table.Add(s)));
        var upper = text.Sessions[0] with { SessionId = Session.IdPrefix + text.Sessions[0].SessionId[Session.IdPrefix.Length..].ToUpperInvariant() };
        Assert.NotEqual(text.Sessions[0].SessionId, upper.SessionId);
        Assert.True(table.Add(upper));
        Assert.False(table.Add(upper));
        Assert.True(table.Add(text.Sessions[0] with { SessionId = "s-1" }));
        Assert.Equal(6, table.Rows().Where(r => r.Model == AttributionModels.LastClick).Sum(r => r.Sessions));

        Assert.Equal(Rows(text, "text"), Rows(numbered, "numbered"));
        Assert.Equal(Rows(text, "text-again"), Rows(utf8, "utf8"));
    }

    private static ValidEvent WithPageUrlBytes(ValidEvent e)
    {
        Assert.True(e.TryGetIdNumber(out var id));
        return ValidEvent.WithIdNumber(id, e.ClientId, e.Timestamp, e.EventName, null, e.Referrer, e.UserAgent, e.Device, e.EventData,
            e.TransactionId, e.Revenue, e.SourceFile, e.Line, e.StreamTime, e.LandingChannel, Encoding.UTF8.GetBytes(e.PageUrl!));
    }

    private static SessionHarness Run(List<ValidEvent> events)
    {
        var h = new SessionHarness();
        foreach (var e in events)
            h.Sessionizer.Accept(e);
        h.Sessionizer.Flush();
        return h;
    }

    private List<string> Rows(SessionHarness h, string name)
    {
        var path = Path.Combine(_dir, name + ".db");
        using (var sink = new SqliteSink(path))
        {
            h.Events.ForEach(sink.OnEvent);
            h.Sessions.ForEach(sink.OnSession);
            sink.Complete(new SummaryBuilder().Complete());
        }

        using var db = new SqliteConnection($"Data Source={path};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT event_id || ' ' || session_id || ' ' || ts || ' ' || page_url FROM events"
                          + " UNION ALL SELECT session_id || ' ' || start || ' ' || landing_page FROM sessions";
        using var reader = cmd.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
            rows.Add(reader.GetString(0));
        Assert.Equal(h.Events.Count + h.Sessions.Count, rows.Count);
        return rows;
    }
}
