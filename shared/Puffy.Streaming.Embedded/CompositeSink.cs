using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Embedded;

/// <summary>Hands everything to several sinks, in order.</summary>
public sealed class CompositeSink(params IPipelineSink[] sinks) : IPipelineSink
{
    public void OnFileRead(string file, DateOnly? day, long rows, string? error)
    {
        foreach (var s in sinks)
            s.OnFileRead(file, day, rows, error);
    }

    public void OnDeadLetter(DeadLetter deadLetter)
    {
        foreach (var s in sinks)
            s.OnDeadLetter(deadLetter);
    }

    public void OnEvent(SessionizedEvent sessionized)
    {
        foreach (var s in sinks)
            s.OnEvent(sessionized);
    }

    public void OnSession(Session session)
    {
        foreach (var s in sinks)
            s.OnSession(session);
    }

    public void OnOrder(AttributedOrder order)
    {
        foreach (var s in sinks)
            s.OnOrder(order);
    }

    public void OnMetric(Metric metric)
    {
        foreach (var s in sinks)
            s.OnMetric(metric);
    }

    public void OnAlert(Alert alert)
    {
        foreach (var s in sinks)
            s.OnAlert(alert);
    }
}
