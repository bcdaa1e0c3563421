using Puffy.Streaming.Pipeline.Validation;

namespace Puffy.Streaming.UnitTests.Rules;

/// <summary>
/// Event and session ids are stored (Redis state, ClickHouse and SQLite tables, Kafka keys): the ids of one real row are
/// pinned, so a change of the hashing cannot go unnoticed.
/// </summary>
public sealed class EventIdUnitTests
{
    private const string ClientId = "1740268798-lvfV1k5nHCN8";
    private const string Timestamp = "2025-02-23T00:00:01.750Z";

    [Fact]
    public void Compute_FirstRowOfTheRealData_IsItsStoredId()
    {
        var id = EventId.Compute(ClientId, Timestamp, "page_viewed", "https://puffy.com/blogs/best-sleep/heating-pad-vs-electric-blanket",
            "https://source-afb1343a.com/", string.Empty, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36");

        Assert.Equal("e682af10a6fbdd8185c25c13167ef158", EventId.ToText(id));
    }

    [Fact]
    public void Derive_SessionOfTheFirstRowOfTheRealData_IsItsStoredId() =>
        Assert.Equal("s-b14c4d56a827f02cf4cac0fb38dad696", EventId.Derive("s-", ClientId, "e682af10a6fbdd8185c25c13167ef158"));
}
