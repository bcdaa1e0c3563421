using System.ComponentModel.DataAnnotations;

namespace Puffy.Streaming.ClickHouse;

/// <summary>Where the ClickHouse HTTP interface is and how to talk to it.</summary>
public sealed class ClickHouseOptions
{
    public const string Section = "ClickHouse";

    /// <summary>The HTTP interface, e.g. <c>http://localhost:8123/</c>.</summary>
    [Required]
    public Uri BaseUrl { get; set; } = new("http://localhost:8123/");

    /// <summary>Database of the analyst tables; substituted for <c>{db}</c> in the DDL files.</summary>
    [Required]
    [RegularExpression("^[A-Za-z_][A-Za-z0-9_]*$")]
    public string Database { get; set; } = "puffy";

    public string? User { get; set; }

    public string? Password { get; set; }

    /// <summary>Server settings sent as URL parameters with every request (must exist on the server's version).</summary>
    public Dictionary<string, string> Settings { get; } = new(StringComparer.Ordinal);

    /// <summary>How many times a request is retried after a connection failure (never after a SQL error).</summary>
    [Range(0, 100)]
    public int MaxRetries { get; set; } = 5;

    /// <summary>First retry delay; doubled on each further attempt.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);
}
