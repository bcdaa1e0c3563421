using Puffy.Streaming.Contracts;
using Puffy.Streaming.Pipeline.Ingest;
using Puffy.Streaming.Pipeline.Sessions;
using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.UnitTests.Restarts;

/// <summary>
/// A sessionizer that checkpoints its client states, crashes, restarts from the stored states and is handed
/// already-applied events again (at-least-once delivery) must end with exactly the sessions of an uninterrupted run.
/// </summary>
public sealed class SessionizerRestartUnitTests
{
    private static Dictionary<string, Session> Uninterrupted()
    {
        var sessions = new Dictionary<string, Session>(StringComparer.Ordinal);
        var core = new SessionizerCore(new SessionizerOptions()) { OnSessionClosed = s => sessions[s.SessionId] = s };
        foreach (var (_, e) in RealValidEvents.Value)
            core.Accept(e);
        core.Flush();
        return sessions;
    }

    // Checkpoints a day of data apart, or three days apart as when checkpoints lag on a busy machine: a client whose
    // session closed and whose last event passed the 24-hour redelivery horizon between two checkpoints must have its
    // stored state deleted, or the restart would reopen the session as stored before and close it again, incomplete.
    [Theory]
    [InlineData(3, 1000, 1)]
    [InlineData(7, 5000, 1)]
    [InlineData(12, 200, 1)]
    [InlineData(3, 1000, 3)]
    [InlineData(4, 200, 3)]
    public void Restart_FromCheckpointWithRedeliveredEvents_GivesTheUninterruptedSessions(int crashAfterCheckpoints, int redelivered, int filesPerCheckpoint)
    {
        var events = RealValidEvents.Value;
        var expected = Uninterrupted();
        var emitted = new Dictionary<string, Session>(StringComparer.Ordinal);
        var store = new Dictionary<string, ClientState>(StringComparer.Ordinal);
        var core = NewCore(emitted);
        var checkpoints = 0;
        var committed = 0;
        var files = 0;
        var i = 0;
        for (; i < events.Count && checkpoints < crashAfterCheckpoints; i++)
        {
            core.Accept(events[i].Event);
            if ((i + 1 == events.Count || events[i + 1].File != events[i].File) && ++files % filesPerCheckpoint == 0)
            {
                foreach (var state in core.TakeChanges())
                {
                    if (state.IsForgotten)
                        store.Remove(state.ClientId);
                    else
                        store[state.ClientId] = state;
                }

                committed = i + 1;
                checkpoints++;
            }
        }

        // Crash after a few more events that were applied (and maybe emitted) but not checkpointed.
        for (var extra = 0; extra < 300 && i < events.Count; extra++, i++)
            core.Accept(events[i].Event);

        var restarted = NewCore(emitted);
        restarted.Restore(store.Values);
        var resumeFrom = Math.Max(0, committed - redelivered);
        foreach (var (_, e) in events.Skip(resumeFrom))
            restarted.Accept(e);
        restarted.Flush();

        Assert.Equal(expected.Count, emitted.Count);
        foreach (var (id, session) in expected)
        {
            Assert.True(emitted.TryGetValue(id, out var got), $"session {id} missing after the restart");
            Assert.Equal(session with { TransactionIds = [] }, got with { TransactionIds = [] });
            Assert.Equal(session.TransactionIds, got.TransactionIds);
        }
    }

    /// <summary>
    /// Day metrics count sessions closed before and after the crash: the day tallies travel in the same checkpoint as
    /// the client states, so the restarted core publishes the uninterrupted run's day metrics (the monitor's input).
    /// </summary>
    [Fact]
    public void Restart_FromCheckpointWithDayTallies_PublishesTheUninterruptedDayMetrics()
    {
        var events = RealValidEvents.Value;
        var expected = new List<Metric>();
        var plain = new SessionizerCore(new SessionizerOptions()) { OnMetric = expected.Add };
        foreach (var (_, e) in events)
            plain.Accept(e);
        plain.Flush();

        var metrics = new Dictionary<(DateOnly?, string, string), Metric>();
        var states = new Dictionary<string, ClientState>(StringComparer.Ordinal);
        var days = new Dictionary<DateOnly, DayState>();
        var core = new SessionizerCore(new SessionizerOptions()) { TrackChanges = true, OnMetric = m => metrics[(m.Day, m.Name, m.Dimension)] = m };
        var half = events.Count / 2;
        for (var i = 0; i < half; i++)
            core.Accept(events[i].Event);
        foreach (var state in core.TakeChanges())
            states[state.ClientId] = state;
        foreach (var day in core.TakeDayChanges())
            days[day.Day] = day;
        for (var i = half; i < half + 500; i++)
            core.Accept(events[i].Event);

        var restarted = new SessionizerCore(new SessionizerOptions()) { TrackChanges = true, OnMetric = m => metrics[(m.Day, m.Name, m.Dimension)] = m };
        restarted.RestoreDays(days.Values);
        restarted.Restore(states.Values);
        foreach (var (_, e) in events.Skip(half - 100))
            restarted.Accept(e);
        restarted.Flush();

        Assert.Equal(expected.Count, metrics.Count);
        foreach (var m in expected)
            Assert.Equal(m, metrics[(m.Day, m.Name, m.Dimension)]);
        Assert.Contains(days.Values, d => !d.Completed && d.Sessions > 0);
    }

    [Fact]
    public void Accept_SameEventTwice_AppliesItOnce()
    {
        var closed = new List<Session>();
        var core = new SessionizerCore(new SessionizerOptions()) { TrackChanges = true, OnSessionClosed = closed.Add };
        var e = RealValidEvents.Value[0].Event;

        Assert.NotNull(core.Accept(e));
        var again = core.Accept(e);
        core.Flush();

        Assert.NotNull(again);
        Assert.True(again.IsSessionStart);
        Assert.Equal(1, Assert.Single(closed).EventCount);
    }

    private static SessionizerCore NewCore(Dictionary<string, Session> emitted) =>
        new(new SessionizerOptions()) { TrackChanges = true, OnSessionClosed = s => emitted[s.SessionId] = s };
}
