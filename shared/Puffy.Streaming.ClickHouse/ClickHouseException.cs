using System.Globalization;
using System.Text.RegularExpressions;

namespace Puffy.Streaming.ClickHouse;

/// <summary>An error reported by the server (an exception code and its text), as opposed to a transport failure.</summary>
public sealed partial class ClickHouseException : Exception
{
    public ClickHouseException()
    {
    }

    public ClickHouseException(string message)
        : base(message)
    {
    }

    public ClickHouseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ClickHouseException(int code, string serverMessage, int httpStatus, string? sql)
        : base(string.Create(CultureInfo.InvariantCulture, $"ClickHouse error {code}: {serverMessage}"))
    {
        Code = code;
        ServerMessage = serverMessage;
        HttpStatus = httpStatus;
        Sql = sql;
    }

    /// <summary>The server's exception code (e.g. 60 unknown table, 62 syntax error); 0 when the server gave none.</summary>
    public int Code { get; }

    /// <summary>The error text after the code, as the server wrote it.</summary>
    public string ServerMessage { get; } = string.Empty;

    public int HttpStatus { get; }

    public string? Sql { get; }

    // 18.16: "Code: 60, e.displayText() = DB::Exception: ..., e.what() = DB::Exception"
    // current: "Code: 60. DB::Exception: ... (UNKNOWN_TABLE) (version 24.x)"
    [GeneratedRegex(@"^\s*Code: (\d+)[.,]\s*(?:e\.displayText\(\) = )?(.*?)(?:, e\.what\(\) = .*)?\s*$", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex CodePattern();

    /// <summary>Parses a response body that reports a server error; null when the text is not one.</summary>
    public static ClickHouseException? TryParse(string body, int httpStatus, string? sql)
    {
        var m = CodePattern().Match(body);
        if (!m.Success)
            return null;
        return new ClickHouseException(int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture), m.Groups[2].Value.Trim(), httpStatus, sql);
    }
}
