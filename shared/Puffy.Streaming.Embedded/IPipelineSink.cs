using Puffy.Streaming.Contracts;

namespace Puffy.Streaming.Embedded;

/// <summary>Receives everything the embedded pipeline produces. Every method is optional.</summary>
public interface IPipelineSink
{
    void OnFileRead(string file, DateOnly? day, long rows, string? error) { }

    void OnDeadLetter(DeadLetter deadLetter) { }

    void OnEvent(SessionizedEvent sessionized) { }

    void OnSession(Session session) { }

    void OnOrder(AttributedOrder order) { }

    void OnMetric(Metric metric) { }

    void OnAlert(Alert alert) { }
}
