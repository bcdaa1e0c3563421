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

    /// <summary>The user; sent as the <c>X-ClickHouse-User</c> header. A user name in <see cref="BaseUrl"/> also works.</summary>
    public string? User { get; set; }

    /// <summary>The password, sent as the <c>X-ClickHouse-Key</c> header; prefer <see cref="PasswordFile"/>.</summary>
    public string? Password { get; set; }

    /// <summary>A file whose content (trimmed) is the password, so the secret need not sit in the environment.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>
    /// The user's profile is <c>readonly=1</c> (an analyst): such a profile refuses any setting a request names, so
    /// the client sends none of its own and relies on the profile to set <c>output_format_json_quote_64bit_integers=0</c>.
    /// </summary>
    public bool ReadOnly { get; set; }

    /// <summary>Server settings sent as URL parameters with every request (must exist on the server's version).</summary>
    public Dictionary<string, string> Settings { get; } = new(StringComparer.Ordinal);

    /// <summary>How many times a request is retried after a connection failure (never after a SQL error).</summary>
    [Range(0, 100)]
    public int MaxRetries { get; set; } = 5;

    /// <summary>First retry delay; doubled on each further attempt.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);
}
